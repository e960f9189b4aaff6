//! The catalogue as a file: parse (`file`), check (`convert`), store
//! (`import`), and the core↔store mapping (`mapping`).

pub mod convert;
pub mod file;
mod import;
pub mod mapping;

pub use import::{
    ImportReport, import_catalog, import_catalog_file, import_catalog_in, parse_catalog,
};
