//! Renders invoices and credit notes, then reads the PDFs back with
//! poppler-utils (`pdftotext`, `pdftoppm`) to check what a reader sees.

mod common;

use abo_core::{Currency, LegalMention, Locale, Money};
use abo_pdf::{Logo, LogoFormat, PdfError, render_pdf};
use common::*;

fn eur(minor: i64, locale: Locale) -> String {
    Money::new(minor, Currency::EUR).format(locale)
}

fn assert_pdf(pdf: &[u8]) {
    assert!(
        pdf.starts_with(b"%PDF-"),
        "not a PDF: starts with {:?}",
        &pdf[..pdf.len().min(8)]
    );
}

#[test]
fn english_invoice_with_two_tax_rates() {
    let doc = invoice_en_two_rates();
    let pdf = render_pdf(&doc).expect("render");
    assert_pdf(&pdf);
    let text = pdftotext(&pdf, "invoice-en", false);
    let layout = pdftotext(&pdf, "invoice-en", true);
    pdftoppm(&pdf, "invoice-en");

    let amounts: Vec<String> = [19000, 1500, 4000, 1250, 2500, 4600, 138, 25500, 4738, 30238]
        .into_iter()
        .map(|m| eur(m, Locale::En))
        .collect();
    assert_eq!(amounts[9], "€302.38");
    let mut expected = vec![
        "INVOICE",
        "S-7.00001673",
        "Globex Corporation",
        "Hank Scorpio",
        "Abo Demo SAS",
        "FR40123456789",
        "FR55987654321",
        "Pro plan (monthly)",
        "Additional seats",
        "Training e-book",
        "1 November 2026 – 30 November 2026",
        "30 November 2026",
        "-€5.00",
        "Subtotal excl. tax",
        "Total incl. tax",
        "VAT BREAKDOWN",
        "Paid by card ****4242",
    ];
    expected.extend(amounts.iter().map(String::as_str));
    expected.extend(doc.footer_lines.iter().map(String::as_str));
    assert_contains_all(&text, &expected);

    // One breakdown row per rate: rate, base, tax.
    assert_row(&layout, &["20%", "€230.00", "€46.00"]);
    assert_row(&layout, &["5.5%", "€25.00", "€1.38"]);
    // A full line row: label, quantity, unit price, discount, rate, amount.
    assert_row(
        &layout,
        &["Additional seats", "3", "€15.00", "-€5.00", "20%", "€40.00"],
    );
    assert_row(&layout, &["Total incl. tax", "€302.38"]);
    assert!(
        !normalize(&text).contains("Reverse charge"),
        "no reverse-charge mention on a taxed invoice"
    );
}

#[test]
fn french_credit_note() {
    let doc = credit_note_fr();
    let pdf = render_pdf(&doc).expect("render");
    assert_pdf(&pdf);
    let text = pdftotext(&pdf, "credit-note-fr", false);
    let layout = pdftotext(&pdf, "credit-note-fr", true);
    pdftoppm(&pdf, "credit-note-fr");

    assert_eq!(eur(22800, Locale::Fr), "228,00\u{a0}€");
    let total = eur(22800, Locale::Fr);
    let base = eur(19000, Locale::Fr);
    let tax = eur(3800, Locale::Fr);
    let mut expected = vec![
        "AVOIR",
        "AV-7.00000012",
        "AVOIR SUR LA FACTURE",
        "S-7.00001673",
        "Résiliation anticipée",
        "Camille Durand",
        "Abonnement Pro (mensuel)",
        "Du 1er novembre 2026 au 30 novembre 2026",
        "1er décembre 2026",
        "2 décembre 2026",
        "Date de remboursement",
        "Désignation",
        "Montant HT",
        "Total HT",
        "Total TTC",
        "DÉTAIL DE LA TVA",
        "Remboursé sur la carte ****4242",
        total.as_str(),
        base.as_str(),
        tax.as_str(),
    ];
    expected.extend(doc.footer_lines.iter().map(String::as_str));
    assert_contains_all(&text, &expected);

    assert_row(&layout, &["20 %", "190,00 €", "38,00 €"]);
    assert_row(&layout, &["Total TTC", "228,00 €"]);
}

#[test]
fn reverse_charge_invoice_carries_the_legal_mention() {
    let doc = reverse_charge_invoice();
    let pdf = render_pdf(&doc).expect("render");
    assert_pdf(&pdf);
    let text = pdftotext(&pdf, "reverse-charge-en", false);
    let layout = pdftotext(&pdf, "reverse-charge-en", true);
    pdftoppm(&pdf, "reverse-charge-en");

    let mention = LegalMention::ReverseCharge.text(Locale::En);
    let mut expected = vec![
        "S-7.00001674",
        "Müller Software GmbH",
        "Germany",
        "DE123456789",
        "Business plan (yearly)",
        "30 November 2026 – 29 November 2027",
        "3 December 2026",
        "Direct debit on 3 December 2026",
        "SEPA mandate ABO-MDT-000042",
        "€1,900.00",
        "€0.00",
        mention,
    ];
    expected.extend(doc.footer_lines.iter().map(String::as_str));
    assert_contains_all(&text, &expected);
    assert_row(&layout, &["0%", "€1,900.00", "€0.00"]);
    assert_row(&layout, &["Total incl. tax", "€1,900.00"]);
}

#[test]
fn png_logo_and_repeated_renders() {
    let mut doc = invoice_en_two_rates();
    doc.seller.logo = Some(Logo {
        format: LogoFormat::Png,
        bytes: include_bytes!("fixtures/logo.png").to_vec(),
    });
    let first = render_pdf(&doc).expect("render with a PNG logo");
    assert_pdf(&first);
    let text = pdftotext(&first, "invoice-png-logo", false);
    assert_contains_all(&text, &["S-7.00001673", "Globex Corporation"]);
    // The engine is reused: a second render of another document still
    // reflects its own data.
    doc.number = "S-7.00001675".into();
    let second = render_pdf(&doc).expect("second render");
    let text = pdftotext(&second, "invoice-png-logo-2", false);
    assert_contains_all(&text, &["S-7.00001675"]);
    assert!(!text.contains("S-7.00001673"));
}

#[test]
fn invalid_documents_are_rejected() {
    let mut doc = invoice_en_two_rates();
    doc.footer_lines = (1..=6).map(|i| format!("line {i}")).collect();
    assert!(matches!(render_pdf(&doc), Err(PdfError::Invalid(_))));

    let mut doc = invoice_en_two_rates();
    doc.seller.logo = Some(Logo {
        format: LogoFormat::Png,
        bytes: LOGO_SVG.as_bytes().to_vec(),
    });
    assert!(matches!(render_pdf(&doc), Err(PdfError::Invalid(_))));

    let mut doc = invoice_en_two_rates();
    doc.seller.logo = Some(Logo {
        format: LogoFormat::Png,
        bytes: b"GIF89a".to_vec(),
    });
    assert!(matches!(render_pdf(&doc), Err(PdfError::Invalid(_))));
}

#[test]
fn document_round_trips_through_json() {
    let doc = reverse_charge_invoice();
    let json = serde_json::to_string(&doc).expect("serialise");
    let back: abo_pdf::InvoiceDocument = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(back, doc);
}
