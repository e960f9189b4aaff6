//! Rough render timings: `cargo run --release -p abo-pdf --example render_timing`.
//! Renders the test invoice once cold (engine, fonts, template) and then
//! warm, and writes the last PDF to the path given as first argument, if any.

use std::time::Instant;

use abo_core::{Currency, Locale};
use abo_pdf::{
    Buyer, BuyerIdentity, DocumentDates, DocumentKind, DocumentLine, InvoiceDocument, Payment,
    PaymentMethod, PaymentStatus, Seller, TaxBreakdown, Totals, render_pdf,
};
use jiff::civil::date;
use rust_decimal::dec;

fn document(counter: u32) -> InvoiceDocument {
    InvoiceDocument {
        kind: DocumentKind::Invoice,
        number: format!("S-7.{counter:08}"),
        language: Locale::En,
        currency: Currency::EUR,
        dates: DocumentDates {
            issue: date(2026, 11, 30),
            due: Some(date(2026, 11, 30)),
            payment: Some(date(2026, 11, 30)),
        },
        seller: Seller {
            name: "Abo Demo SAS".into(),
            address_lines: vec!["12 rue de la Paix".into(), "75002 Paris".into()],
            country: "France".into(),
            vat_number: Some("FR40123456789".into()),
            logo: None,
        },
        buyer: Buyer {
            identity: BuyerIdentity::Company {
                name: "Globex Corporation".into(),
                contact: None,
            },
            address_lines: vec!["1 Cypress Creek Road".into(), "69001 Lyon".into()],
            country: "France".into(),
            vat_number: None,
        },
        lines: vec![DocumentLine {
            label: "Pro plan (monthly)".into(),
            period_start: Some(date(2026, 11, 1)),
            period_end: Some(date(2026, 11, 30)),
            quantity: dec!(1),
            unit_price: Some(19000),
            discount: None,
            amount: 19000,
            tax_rate: dec!(20),
        }],
        taxes: vec![TaxBreakdown {
            rate: dec!(20),
            base: 19000,
            amount: 3800,
        }],
        totals: Totals {
            subtotal: 19000,
            tax: 3800,
            total: 22800,
        },
        payment: Payment {
            status: PaymentStatus::Paid,
            method: Some(PaymentMethod::Card {
                last4: "4242".into(),
            }),
            details: vec![],
        },
        legal_mentions: vec![],
        footer_lines: vec!["Abo Demo SAS – RCS Paris 123 456 789".into()],
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let pdf = render_pdf(&document(1))?;
    println!("cold render: {:?} ({} bytes)", start.elapsed(), pdf.len());
    let mut last = pdf;
    let runs = 20;
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs {
        let start = Instant::now();
        last = render_pdf(&document(2 + i as u32))?;
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "warm renders ({runs}, each a new number): min {:?}, median {:?}, max {:?} ({} bytes)",
        times[0],
        times[runs / 2],
        times[runs - 1],
        last.len()
    );
    if let Some(path) = std::env::args().nth(1) {
        std::fs::write(path, &last)?;
    }
    Ok(())
}
