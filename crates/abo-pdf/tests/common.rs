//! Shared fixtures and PDF inspection helpers (poppler-utils' `pdftotext`
//! and `pdftoppm`).

#![allow(dead_code)]

use std::io::ErrorKind;
use std::path::PathBuf;
use std::process::Command;

use abo_core::{Currency, LegalMention, Locale};
use abo_pdf::{
    Buyer, BuyerIdentity, DocumentDates, DocumentKind, DocumentLine, InvoiceDocument, Logo,
    LogoFormat, Payment, PaymentMethod, PaymentStatus, Seller, TaxBreakdown, Totals,
};
use jiff::civil::date;
use rust_decimal::dec;

pub const LOGO_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40"><rect x="0" y="0" width="40" height="40" rx="8" fill="#1f4e79"/><circle cx="20" cy="20" r="9" fill="#ffffff"/><rect x="50" y="14" width="64" height="12" rx="3" fill="#9db4cc"/></svg>"##;

fn seller(footer_fr: bool) -> (Seller, Vec<String>) {
    let seller = Seller {
        name: "Abo Demo SAS".into(),
        address_lines: vec!["12 rue de la Paix".into(), "75002 Paris".into()],
        country: "France".into(),
        vat_number: Some("FR40123456789".into()),
        logo: Some(Logo {
            format: LogoFormat::Svg,
            bytes: LOGO_SVG.as_bytes().to_vec(),
        }),
    };
    let footer = if footer_fr {
        vec![
            "Abo Demo SAS – SAS au capital de 10 000 € – RCS Paris 123 456 789".into(),
            "Pénalités de retard : trois fois le taux d’intérêt légal".into(),
            "Indemnité forfaitaire pour frais de recouvrement : 40 €".into(),
        ]
    } else {
        vec![
            "Abo Demo SAS – share capital €10,000 – Paris trade register 123 456 789".into(),
            "Late payment: interest at three times the legal rate, plus a €40 recovery fee".into(),
            "Questions? billing@abo.example".into(),
        ]
    };
    (seller, footer)
}

/// An English invoice with two tax rates (20 % and 5.5 %), a discount, paid
/// by card.
pub fn invoice_en_two_rates() -> InvoiceDocument {
    let (seller, footer_lines) = seller(false);
    InvoiceDocument {
        kind: DocumentKind::Invoice,
        number: "S-7.00001673".into(),
        language: Locale::En,
        currency: Currency::EUR,
        dates: DocumentDates {
            issue: date(2026, 11, 30),
            due: Some(date(2026, 11, 30)),
            payment: Some(date(2026, 11, 30)),
        },
        seller,
        buyer: Buyer {
            identity: BuyerIdentity::Company {
                name: "Globex Corporation".into(),
                contact: Some("Hank Scorpio".into()),
            },
            address_lines: vec!["1 Cypress Creek Road".into(), "69001 Lyon".into()],
            country: "France".into(),
            vat_number: Some("FR55987654321".into()),
        },
        lines: vec![
            DocumentLine {
                label: "Pro plan (monthly)".into(),
                period_start: Some(date(2026, 11, 1)),
                period_end: Some(date(2026, 11, 30)),
                quantity: dec!(1),
                unit_price: Some(19000),
                discount: None,
                amount: 19000,
                tax_rate: dec!(20),
            },
            DocumentLine {
                label: "Additional seats".into(),
                period_start: Some(date(2026, 11, 1)),
                period_end: Some(date(2026, 11, 30)),
                quantity: dec!(3),
                unit_price: Some(1500),
                discount: Some(500),
                amount: 4000,
                tax_rate: dec!(20),
            },
            DocumentLine {
                label: "Training e-book".into(),
                period_start: None,
                period_end: None,
                quantity: dec!(2),
                unit_price: Some(1250),
                discount: None,
                amount: 2500,
                tax_rate: dec!(5.5),
            },
        ],
        taxes: vec![
            TaxBreakdown {
                rate: dec!(20),
                base: 23000,
                amount: 4600,
            },
            TaxBreakdown {
                rate: dec!(5.5),
                base: 2500,
                amount: 138,
            },
        ],
        totals: Totals {
            subtotal: 25500,
            tax: 4738,
            total: 30238,
        },
        payment: Payment {
            status: PaymentStatus::Paid,
            method: Some(PaymentMethod::Card {
                last4: "4242".into(),
            }),
            details: vec![],
        },
        legal_mentions: vec![],
        footer_lines,
    }
}

/// A French credit note refunding a €228.00 invoice to the card.
pub fn credit_note_fr() -> InvoiceDocument {
    let (mut seller, footer_lines) = seller(true);
    seller.logo = None;
    InvoiceDocument {
        kind: DocumentKind::CreditNote {
            credited_invoice: "S-7.00001673".into(),
            reason: Some("Résiliation anticipée".into()),
        },
        number: "AV-7.00000012".into(),
        language: Locale::Fr,
        currency: Currency::EUR,
        dates: DocumentDates {
            issue: date(2026, 12, 1),
            due: None,
            payment: Some(date(2026, 12, 2)),
        },
        seller,
        buyer: Buyer {
            identity: BuyerIdentity::Person {
                name: "Camille Durand".into(),
            },
            address_lines: vec!["8 avenue Jean Jaurès".into(), "33000 Bordeaux".into()],
            country: "France".into(),
            vat_number: None,
        },
        lines: vec![DocumentLine {
            label: "Abonnement Pro (mensuel)".into(),
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
            status: PaymentStatus::Refunded,
            method: Some(PaymentMethod::Card {
                last4: "4242".into(),
            }),
            details: vec![],
        },
        legal_mentions: vec![],
        footer_lines,
    }
}

/// An English invoice to an EU business in another country: reverse charge
/// (0 %, legal mention), collected by SEPA direct debit.
pub fn reverse_charge_invoice() -> InvoiceDocument {
    let (seller, footer_lines) = seller(false);
    InvoiceDocument {
        kind: DocumentKind::Invoice,
        number: "S-7.00001674".into(),
        language: Locale::En,
        currency: Currency::EUR,
        dates: DocumentDates {
            issue: date(2026, 11, 30),
            due: Some(date(2026, 12, 3)),
            payment: None,
        },
        seller,
        buyer: Buyer {
            identity: BuyerIdentity::Company {
                name: "Müller Software GmbH".into(),
                contact: None,
            },
            address_lines: vec!["Friedrichstraße 100".into(), "10117 Berlin".into()],
            country: "Germany".into(),
            vat_number: Some("DE123456789".into()),
        },
        lines: vec![DocumentLine {
            label: "Business plan (yearly)".into(),
            period_start: Some(date(2026, 11, 30)),
            period_end: Some(date(2027, 11, 29)),
            quantity: dec!(1),
            unit_price: Some(190000),
            discount: None,
            amount: 190000,
            tax_rate: dec!(0),
        }],
        taxes: vec![TaxBreakdown {
            rate: dec!(0),
            base: 190000,
            amount: 0,
        }],
        totals: Totals {
            subtotal: 190000,
            tax: 0,
            total: 190000,
        },
        payment: Payment {
            status: PaymentStatus::Due,
            method: Some(PaymentMethod::DirectDebit {
                date: Some(date(2026, 12, 3)),
            }),
            details: vec!["SEPA mandate ABO-MDT-000042".into()],
        },
        legal_mentions: vec![LegalMention::ReverseCharge.text(Locale::En).into()],
        footer_lines,
    }
}

/// Where test artefacts go: `target/tmp` (Cargo's per-target scratch dir).
pub fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("abo-pdf");
    std::fs::create_dir_all(&dir).expect("create the test output directory");
    dir
}

const MISSING_POPPLER: &str = "is not installed: the PDF tests need poppler-utils \
     (`apt-get install -y poppler-utils`) to read the rendered PDFs back";

/// Writes the PDF to `target/tmp/abo-pdf/{name}.pdf` and returns its path.
pub fn save(pdf: &[u8], name: &str) -> PathBuf {
    let path = out_dir().join(format!("{name}.pdf"));
    std::fs::write(&path, pdf).expect("write the PDF");
    path
}

/// The PDF's text as `pdftotext` extracts it (`-layout` keeps each table
/// row on one line). Panics with a clear message if poppler-utils is
/// missing: a PDF test must never pass without reading the PDF.
pub fn pdftotext(pdf: &[u8], name: &str, layout: bool) -> String {
    let path = save(pdf, name);
    let mut command = Command::new("pdftotext");
    command.args(["-enc", "UTF-8"]);
    if layout {
        command.arg("-layout");
    }
    let output = match command.arg(&path).arg("-").output() {
        Ok(output) => output,
        Err(e) if e.kind() == ErrorKind::NotFound => panic!("pdftotext {MISSING_POPPLER}"),
        Err(e) => panic!("cannot run pdftotext: {e}"),
    };
    assert!(
        output.status.success(),
        "pdftotext failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("pdftotext prints UTF-8")
}

/// Renders page 1 as `target/tmp/abo-pdf/{name}-1.png` at 80 dpi.
pub fn pdftoppm(pdf: &[u8], name: &str) -> PathBuf {
    let path = save(pdf, name);
    let prefix = out_dir().join(name);
    let status = match Command::new("pdftoppm")
        .args(["-png", "-r", "80", "-f", "1", "-l", "1"])
        .arg(&path)
        .arg(&prefix)
        .status()
    {
        Ok(status) => status,
        Err(e) if e.kind() == ErrorKind::NotFound => panic!("pdftoppm {MISSING_POPPLER}"),
        Err(e) => panic!("cannot run pdftoppm: {e}"),
    };
    assert!(status.success(), "pdftoppm failed on {}", path.display());
    let png = out_dir().join(format!("{name}-1.png"));
    assert!(png.exists(), "pdftoppm wrote no {}", png.display());
    png
}

/// Spaces of every kind (no-break, narrow no-break, thin) and line breaks
/// become one plain space, so "228,00\u{a0}€" matches "228,00 €".
pub fn normalize(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || matches!(c, '\u{a0}' | '\u{202f}' | '\u{2009}'))
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Asserts that every expected text appears in the extracted text (both
/// normalised).
#[track_caller]
pub fn assert_contains_all(text: &str, expected: &[&str]) {
    let haystack = normalize(text);
    let missing: Vec<&&str> = expected
        .iter()
        .filter(|e| !haystack.contains(&normalize(e)))
        .collect();
    assert!(
        missing.is_empty(),
        "missing from the PDF text: {missing:?}\n--- extracted text ---\n{text}"
    );
}

/// Asserts that one line of the `-layout` text holds all `cells`, in order.
#[track_caller]
pub fn assert_row(layout_text: &str, cells: &[&str]) {
    let cells: Vec<String> = cells.iter().map(|c| normalize(c)).collect();
    let found = layout_text.lines().map(normalize).any(|line| {
        let mut rest = line.as_str();
        cells.iter().all(|cell| match rest.find(cell.as_str()) {
            Some(at) => {
                rest = &rest[at + cell.len()..];
                true
            }
            None => false,
        })
    });
    assert!(
        found,
        "no line holds {cells:?} in order\n--- extracted text ---\n{layout_text}"
    );
}
