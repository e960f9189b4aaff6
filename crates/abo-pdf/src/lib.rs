//! `abo-pdf`: invoice and credit-note PDFs, typeset with [typst].
//!
//! This crate is kept apart from the rest of the workspace because typst is
//! slow to build: only the crates that really produce PDFs depend on it.
//!
//! The input is a plain [`InvoiceDocument`] (no store types): the issued
//! document's frozen data, amounts in minor units. [`render_pdf`] formats
//! every amount with [`abo_core::Money::format`] and every date in the
//! document's language, passes the result as JSON to an embedded `.typ`
//! template through `sys.inputs`, and exports an A4 PDF with real,
//! selectable text. Fonts are bundled (typst-assets): no system font and no
//! network access are needed at run time.
//!
//! One typst engine is built per process and kept in a `OnceLock`, so only
//! the first render pays for loading fonts and parsing the template.

mod i18n;
mod model;
mod render;

pub use i18n::{format_date, format_month_year, format_rate};
pub use model::{
    Buyer, BuyerIdentity, DocumentDates, DocumentKind, DocumentLine, InvoiceDocument, Logo,
    LogoFormat, MAX_FOOTER_LINES, Payment, PaymentMethod, PaymentStatus, Seller, TaxBreakdown,
    Totals,
};
pub use render::{PdfError, render_pdf, warm_up};
