//! Collections: `Page` (1-based), `SizePage` (default 10, at most 1000, 0 =
//! count only), the envelope, a `next` link, and **204 with no body** for an
//! empty collection, as ProAbono answers.

use super::dates;
use super::error::{ApiError, ApiResult};
use super::links::Link;
use super::params::Params;
use abo_store::PageRequest;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub const DEFAULT_SIZE: i64 = 10;
pub const MAX_SIZE: i64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: i64,
    pub size: i64,
}

impl Paging {
    pub fn from_params(p: &Params) -> ApiResult<Paging> {
        let page = p.i64("Page")?.unwrap_or(1);
        let size = p.i64("SizePage")?.unwrap_or(DEFAULT_SIZE);
        let mut errors = Vec::new();
        if page < 1 {
            errors.push(ApiError::invalid("Page", "Page starts at 1"));
        }
        if !(0..=MAX_SIZE).contains(&size) {
            errors.push(ApiError::invalid(
                "SizePage",
                format!("SizePage must be between 0 and {MAX_SIZE}"),
            ));
        }
        match ApiError::merge(errors) {
            Some(e) => Err(e),
            None => Ok(Paging { page, size }),
        }
    }

    /// What to ask the store for. `SizePage=0` still needs the total, so it
    /// asks for one row and the caller drops it.
    pub fn request(&self) -> PageRequest {
        PageRequest::new((self.page - 1) * self.size, self.size.max(1))
    }
}

/// The envelope of the contract's `PaginatedList`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PageBody<T: Serialize> {
    pub page: i64,
    pub size_page: i64,
    pub count: usize,
    pub total_items: i64,
    pub date_generated: String,
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
}

/// Renders a page: 204 when nothing matches at all, else the envelope with a
/// `next` link while more pages follow. `path_and_query` rebuilds the `next`
/// link (e.g. `/v1/Customers?ReferenceSegment=x`).
pub fn respond<T: Serialize>(
    items: Vec<T>,
    total: i64,
    paging: Paging,
    path: &str,
    extra_query: &str,
    now_us: i64,
) -> Response {
    if total == 0 {
        return StatusCode::NO_CONTENT.into_response();
    }
    let items = if paging.size == 0 { Vec::new() } else { items };
    let mut links = Vec::new();
    if paging.size > 0 && paging.page * paging.size < total {
        let sep = if extra_query.is_empty() { "" } else { "&" };
        links.push(Link::href(
            "next",
            format!(
                "{path}?{extra_query}{sep}Page={}&SizePage={}",
                paging.page + 1,
                paging.size
            ),
        ));
    }
    Json(PageBody {
        page: paging.page,
        size_page: paging.size,
        count: items.len(),
        total_items: total,
        date_generated: dates::format_us(now_us),
        items,
        links,
    })
    .into_response()
}
