//! Sending a request and checking the answer against the contract.

use crate::contract::{Operation, ValidateOptions};
use reqwest::RequestBuilder;
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::fmt;

/// A response that satisfied the contract.
#[derive(Debug, Clone)]
pub struct CheckedResponse {
    pub status: u16,
    pub headers: HeaderMap,
    /// The parsed JSON body; `None` when the body is empty.
    pub body: Option<Value>,
}

/// A response that did not, with everything needed to see why.
#[derive(Debug, Clone)]
pub struct CheckFailure {
    /// `GET /v1/Customer?ReferenceCustomer=x`.
    pub request: String,
    /// `GET /v1/Customer`.
    pub operation: String,
    pub status: Option<u16>,
    pub errors: Vec<String>,
    /// The body as received (possibly truncated in the message).
    pub body: String,
}

impl fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => writeln!(
                f,
                "contract violation: {} (operation {}) answered {status}:",
                self.request, self.operation
            )?,
            None => writeln!(f, "{} (operation {}) failed:", self.request, self.operation)?,
        }
        for e in &self.errors {
            writeln!(f, "  - {e}")?;
        }
        if !self.body.is_empty() {
            const MAX: usize = 4000;
            let shown = if self.body.len() > MAX {
                let cut = (0..=MAX)
                    .rev()
                    .find(|i| self.body.is_char_boundary(*i))
                    .unwrap_or(0);
                format!(
                    "{}\n... ({} bytes in all)",
                    &self.body[..cut],
                    self.body.len()
                )
            } else {
                self.body.clone()
            };
            writeln!(f, "body:\n{shown}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CheckFailure {}

/// Sends `request` with `client` and checks the answer against `operation`:
/// the request's method and path must be the operation's; the status must be
/// documented (or in `options.extra_statuses`); a 204 has no body; a JSON body
/// must be declared `application/json` and valid against the documented schema.
pub async fn send_checked(
    client: &reqwest::Client,
    operation: Operation<'_>,
    request: RequestBuilder,
    options: &ValidateOptions,
) -> Result<CheckedResponse, CheckFailure> {
    let request = request.build().map_err(|e| CheckFailure {
        request: "(unbuildable request)".into(),
        operation: operation.to_string(),
        status: None,
        errors: vec![format!("request: {e}")],
        body: String::new(),
    })?;
    let url = request.url();
    let shown = match url.query() {
        Some(q) => format!("{} {}?{q}", request.method(), url.path()),
        None => format!("{} {}", request.method(), url.path()),
    };
    let fail = |status: Option<u16>, errors: Vec<String>, body: String| CheckFailure {
        request: shown.clone(),
        operation: operation.to_string(),
        status,
        errors,
        body,
    };
    let mut misuse = Vec::new();
    if !request
        .method()
        .as_str()
        .eq_ignore_ascii_case(operation.method())
    {
        misuse.push(format!(
            "request: the method is {}, the operation's is {}",
            request.method(),
            operation.method()
        ));
    }
    if !operation.matches_path(url.path()) {
        misuse.push(format!(
            "request: the path {} does not fit the template {}",
            url.path(),
            operation.path_template()
        ));
    }
    if !misuse.is_empty() {
        return Err(fail(None, misuse, String::new()));
    }

    let response = client
        .execute(request)
        .await
        .map_err(|e| fail(None, vec![format!("transport: {e}")], String::new()))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.map_err(|e| {
        fail(
            Some(status),
            vec![format!("body: cannot read: {e}")],
            String::new(),
        )
    })?;
    let text = String::from_utf8_lossy(&bytes).into_owned();

    let mut errors = Vec::new();
    let body = if bytes.is_empty() {
        None
    } else {
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let json_declared = essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"));
        let schema_given = operation.response_schema(status).is_some();
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(value) => {
                if !json_declared {
                    errors.push(format!(
                        "headers: a JSON body is served as {content_type:?}, not application/json"
                    ));
                }
                Some(value)
            }
            Err(e) => {
                if schema_given || json_declared || status == 204 {
                    errors.push(format!("body: not JSON ({e})"));
                }
                // A non-JSON body where the contract expects none is not ours to judge.
                None
            }
        }
    };
    // Hyper drops the body of a 204 on the wire; its Content-Length still tells.
    let declared_length = headers
        .get(reqwest::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    if status == 204 && (!bytes.is_empty() || declared_length > 0) {
        errors.push(format!(
            "body: a 204 response must have no body (Content-Length: {declared_length}, {} bytes read)",
            bytes.len()
        ));
    } else if let Err(more) = operation.validate_response_with(status, body.as_ref(), options) {
        // A non-JSON body was already reported; don't also call it missing.
        let unparsed = body.is_none() && !bytes.is_empty();
        errors.extend(
            more.into_iter()
                .filter(|e| !(unparsed && e.starts_with("body:"))),
        );
    }
    let pretty = body
        .as_ref()
        .and_then(|b| serde_json::to_string_pretty(b).ok())
        .unwrap_or(text);
    if errors.is_empty() {
        Ok(CheckedResponse {
            status,
            headers,
            body,
        })
    } else {
        Err(fail(Some(status), errors, pretty))
    }
}
