//! From [`InvoiceDocument`] to PDF bytes: build the view (every text already
//! formatted), hand it to the embedded typst template as JSON through
//! `sys.inputs`, typeset, export.

use std::sync::OnceLock;

use abo_core::Money;
use serde::Serialize;
use typst::foundations::{Bytes, Dict, Str, Value};
use typst_as_lib::{TypstAsLibError, TypstEngine, TypstTemplateMainFile};

use crate::i18n::{self, Labels};
use crate::model::{
    BuyerIdentity, DocumentKind, InvoiceDocument, LogoFormat, MAX_FOOTER_LINES, PaymentStatus,
};

/// The page layout. Data comes in as `sys.inputs.data` (a JSON string) and
/// `sys.inputs.logo` (raw image bytes, or absent).
const TEMPLATE: &str = include_str!("../templates/invoice.typ");

/// How many compilations a memoised typst result survives unused before it
/// is evicted. typst-as-lib's default (0) empties the cache after every
/// render, which throws away the warm template; a few keeps repeated renders
/// fast while bounding memory.
const CACHE_MAX_AGE: usize = 8;

/// Why a document could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The document breaks a rule of the input (too many footer lines, a
    /// logo that is neither PNG nor SVG...).
    #[error("invalid invoice document: {0}")]
    Invalid(String),
    /// typst rejected the template or the data (a bug in the template, or an
    /// unreadable logo).
    #[error("typesetting failed: {0}")]
    Typeset(String),
    /// The typeset document could not be written as PDF.
    #[error("PDF export failed: {0}")]
    Export(String),
}

static ENGINE: OnceLock<TypstEngine<TypstTemplateMainFile>> = OnceLock::new();

/// The engine, built once: the template source and the bundled fonts
/// (typst-assets: Libertinus Serif, New Computer Modern, DejaVu Sans Mono) are
/// parsed a single time per process, and typst's memoisation stays warm
/// between renders.
fn engine() -> &'static TypstEngine<TypstTemplateMainFile> {
    ENGINE.get_or_init(|| {
        TypstEngine::builder()
            .main_file(TEMPLATE)
            .fonts(typst_assets::fonts())
            .comemo_evict_max_age(Some(CACHE_MAX_AGE))
            .build()
    })
}

/// Builds the engine now (fonts and template), so the first real render does
/// not pay for it. Optional.
pub fn warm_up() {
    engine();
}

/// Typesets `document` as an A4 PDF with selectable text.
pub fn render_pdf(document: &InvoiceDocument) -> Result<Vec<u8>, PdfError> {
    let view = View::of(document)?;
    let json = serde_json::to_string(&view)
        .map_err(|e| PdfError::Invalid(format!("cannot serialise the document: {e}")))?;
    let mut inputs = Dict::new();
    inputs.insert(Str::from("data"), Value::Str(Str::from(json)));
    if let Some(logo) = &document.seller.logo {
        inputs.insert(
            Str::from("logo"),
            Value::Bytes(Bytes::new(logo.bytes.clone())),
        );
    }
    let compiled = engine().compile_with_input(inputs);
    let pdf_document = compiled.output.map_err(typeset_error)?;
    let options = typst_pdf::PdfOptions {
        ident: typst::foundations::Smart::Custom(document.number.clone()),
        ..Default::default()
    };
    typst_pdf::pdf(&pdf_document, &options).map_err(|diagnostics| {
        PdfError::Export(
            diagnostics
                .iter()
                .map(|d| d.message.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}

fn typeset_error(error: TypstAsLibError) -> PdfError {
    let message = match error {
        TypstAsLibError::TypstSource(diagnostics) => diagnostics
            .iter()
            .map(|d| {
                let hints = d.hints.iter().map(|h| format!(" (hint: {})", h.v));
                format!("{}{}", d.message, hints.collect::<String>())
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    };
    PdfError::Typeset(message)
}

/// What the template reads: every value is a ready-to-print string.
#[derive(Serialize)]
struct View<'a> {
    lang: &'static str,
    title: &'static str,
    number: &'a str,
    labels: &'static Labels,
    dates: Vec<LabelledValue>,
    credit: Option<CreditView<'a>>,
    seller: SellerView<'a>,
    buyer: BuyerView<'a>,
    has_discount: bool,
    lines: Vec<LineView<'a>>,
    taxes: Vec<TaxView>,
    totals: TotalsView,
    payment: PaymentView<'a>,
    legal_mentions: &'a [String],
    footer_lines: &'a [String],
}

#[derive(Serialize)]
struct LabelledValue {
    label: &'static str,
    value: String,
}

#[derive(Serialize)]
struct CreditView<'a> {
    invoice: &'a str,
    reason: Option<&'a str>,
}

#[derive(Serialize)]
struct SellerView<'a> {
    name: &'a str,
    address_lines: &'a [String],
    country: &'a str,
    vat_number: Option<&'a str>,
    /// typst image format of `sys.inputs.logo`, when there is a logo.
    logo_format: Option<&'static str>,
}

#[derive(Serialize)]
struct BuyerView<'a> {
    name: &'a str,
    contact: Option<&'a str>,
    address_lines: &'a [String],
    country: &'a str,
    vat_number: Option<&'a str>,
}

#[derive(Serialize)]
struct LineView<'a> {
    label: &'a str,
    period: Option<String>,
    quantity: String,
    unit_price: String,
    discount: String,
    tax_rate: String,
    amount: String,
}

#[derive(Serialize)]
struct TaxView {
    rate: String,
    base: String,
    amount: String,
}

#[derive(Serialize)]
struct TotalsView {
    subtotal: String,
    tax: String,
    total: String,
}

#[derive(Serialize)]
struct PaymentView<'a> {
    /// Badge text.
    status: &'static str,
    /// Badge colour family: `paid`, `due`, `refunded` or `neutral`.
    tone: &'static str,
    sentence: String,
    details: &'a [String],
}

impl<'a> View<'a> {
    fn of(doc: &'a InvoiceDocument) -> Result<View<'a>, PdfError> {
        if doc.footer_lines.len() > MAX_FOOTER_LINES {
            return Err(PdfError::Invalid(format!(
                "{} footer lines, at most {MAX_FOOTER_LINES} are allowed",
                doc.footer_lines.len()
            )));
        }
        let locale = doc.language;
        let labels = Labels::of(locale);
        let money = |minor: i64| Money::new(minor, doc.currency).format(locale);
        let date = |d| i18n::format_date(d, locale);
        let credit_note = matches!(doc.kind, DocumentKind::CreditNote { .. });

        let logo_format = match &doc.seller.logo {
            None => None,
            Some(logo) => match LogoFormat::sniff(&logo.bytes) {
                Some(found) if found == logo.format => Some(found.typst_name()),
                Some(found) => {
                    return Err(PdfError::Invalid(format!(
                        "the logo is declared {:?} but its bytes are {found:?}",
                        logo.format
                    )));
                }
                None => {
                    return Err(PdfError::Invalid(
                        "the logo is neither a PNG nor an SVG image".into(),
                    ));
                }
            },
        };

        let mut dates = vec![LabelledValue {
            label: labels.issue_date,
            value: date(doc.dates.issue),
        }];
        if let Some(due) = doc.dates.due {
            dates.push(LabelledValue {
                label: labels.due_date,
                value: date(due),
            });
        }
        if let Some(paid) = doc.dates.payment {
            let label = if doc.payment.status == PaymentStatus::Refunded {
                labels.refund_date
            } else {
                labels.payment_date
            };
            dates.push(LabelledValue {
                label,
                value: date(paid),
            });
        }

        let credit = match &doc.kind {
            DocumentKind::Invoice => None,
            DocumentKind::CreditNote {
                credited_invoice,
                reason,
            } => Some(CreditView {
                invoice: credited_invoice,
                reason: reason.as_deref(),
            }),
        };

        let (buyer_name, contact) = match &doc.buyer.identity {
            BuyerIdentity::Company { name, contact } => (name.as_str(), contact.as_deref()),
            BuyerIdentity::Person { name } => (name.as_str(), None),
        };

        let lines = doc
            .lines
            .iter()
            .map(|line| LineView {
                label: &line.label,
                period: i18n::format_period(line.period_start, line.period_end, locale),
                quantity: i18n::format_decimal(line.quantity, locale),
                unit_price: line.unit_price.map(money).unwrap_or_default(),
                discount: line
                    .discount
                    .filter(|d| *d != 0)
                    .map(|d| money(-d.abs()))
                    .unwrap_or_default(),
                tax_rate: i18n::format_rate(line.tax_rate, locale),
                amount: money(line.amount),
            })
            .collect();

        Ok(View {
            lang: locale.as_str(),
            title: i18n::title(&doc.kind, locale),
            number: &doc.number,
            labels,
            dates,
            credit,
            seller: SellerView {
                name: &doc.seller.name,
                address_lines: &doc.seller.address_lines,
                country: &doc.seller.country,
                vat_number: doc.seller.vat_number.as_deref(),
                logo_format,
            },
            buyer: BuyerView {
                name: buyer_name,
                contact,
                address_lines: &doc.buyer.address_lines,
                country: &doc.buyer.country,
                vat_number: doc.buyer.vat_number.as_deref(),
            },
            has_discount: doc.lines.iter().any(|l| l.discount.is_some_and(|d| d != 0)),
            lines,
            taxes: doc
                .taxes
                .iter()
                .map(|t| TaxView {
                    rate: i18n::format_rate(t.rate, locale),
                    base: money(t.base),
                    amount: money(t.amount),
                })
                .collect(),
            totals: TotalsView {
                subtotal: money(doc.totals.subtotal),
                tax: money(doc.totals.tax),
                total: money(doc.totals.total),
            },
            payment: PaymentView {
                status: i18n::status_label(doc.payment.status, credit_note, locale),
                tone: match doc.payment.status {
                    PaymentStatus::Paid => "paid",
                    PaymentStatus::Due => "due",
                    PaymentStatus::Refunded => "refunded",
                    PaymentStatus::NothingDue => "neutral",
                },
                sentence: i18n::payment_sentence(
                    doc.payment.status,
                    doc.payment.method.as_ref(),
                    credit_note,
                    locale,
                ),
                details: &doc.payment.details,
            },
            legal_mentions: &doc.legal_mentions,
            footer_lines: &doc.footer_lines,
        })
    }
}
