//! `GET /v1/openapi.json`: the OpenAPI description of this API, so API tools
//! (Postman, code generators, schemathesis) work out of the box. It is
//! ProAbono's contract, which Abo answers, plus what Abo adds.

use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use std::sync::OnceLock;

const CONTRACT: &str = include_str!("../../openapi/proabono-live-openapi.yaml");

/// The document without its `servers`, built once.
fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc: Value =
            serde_norway::from_str(CONTRACT).expect("the embedded contract is valid YAML (tested)");
        add_abo_additions(&mut doc);
        doc
    })
}

/// Abo's additions: the aliases real clients call (spec §2.5), and the
/// `Idempotency-Key` header on every POST.
fn add_abo_additions(doc: &mut Value) {
    doc["info"]["title"] = json!("Abo API Live (ProAbono-compatible)");
    doc["info"]["description"] = json!(
        "ProAbono's API Live as served by Abo. Everything in ProAbono's contract, plus: \
         case-insensitive paths and query names, identifiers accepted from the query or the body, \
         the aliases older clients call, and an optional Idempotency-Key header on every POST \
         (a retry with the same key and body returns the first response)."
    );
    let idempotency = json!({
        "name": "Idempotency-Key",
        "in": "header",
        "required": false,
        "description": "Makes a retry of this POST return the first response instead of running again. Same key with a different request: 422.",
        "schema": {"type": "string", "maxLength": 255}
    });
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        if let Some(post) = item.get_mut("post").and_then(Value::as_object_mut) {
            let params = post.entry("parameters").or_insert_with(|| json!([]));
            if let Some(list) = params.as_array_mut() {
                list.push(idempotency.clone());
            }
        }
    }
    let aliases = [("/v1/CustomerBillingAddress", "/v1/CustomerAddressBilling")];
    for (alias, target) in aliases {
        if let Some(item) = paths.get(target).cloned() {
            paths.insert(alias.to_string(), mark_alias(item, target));
        }
    }
    paths.insert(
        "/v1/Abo/TestClock/Advance".to_string(),
        json!({"post": {
            "operationId": "aboAdvanceTestClock",
            "tags": ["Abo"],
            "summary": "Move a test business's clock forward (Abo's addition)",
            "description": "Only for test businesses. Every effect that falls due (renewals, billing, collection) happens in date order.",
            "requestBody": {"content": {"application/json": {"schema": {
                "type": "object",
                "properties": {
                    "DateTarget": {"type": "string", "format": "date-time"},
                    "Days": {"type": "integer"}
                }
            }}}},
            "responses": {
                "200": {"description": "The clock moved", "content": {"application/json": {"schema": {
                    "type": "object",
                    "properties": {"DateNow": {"type": "string", "format": "date-time"}, "JobsRun": {"type": "integer"}}
                }}}},
                "403": {"description": "Not a test business"},
                "422": {"description": "Backwards, or no target"}
            }
        }}),
    );
    let mut enabling = paths
        .get("/v1/Customer/Suspension")
        .cloned()
        .unwrap_or_else(|| json!({"post": {}}));
    enabling["post"]["operationId"] = json!("aboEnableCustomer");
    enabling["post"]["tags"] = json!(["Abo"]);
    enabling["post"]["summary"] =
        json!("Enable a suspended customer again (Abo's addition; ProAbono's back office)");
    enabling["post"]["description"] = json!(
        "The reverse of /v1/Customer/Suspension: Status becomes Enabled and the CustomerEnabled webhook is sent. Links revoked by the suspension stay revoked; the answer carries new ones."
    );
    paths.insert("/v1/Abo/Customer/Enabling".to_string(), enabling);
    for (path, item) in crate::backoffice::invoices::openapi_paths() {
        paths.insert(path.to_string(), item);
    }
    let backoffice = crate::backoffice::links::openapi_paths()
        .into_iter()
        .chain(crate::backoffice::emails::openapi_paths());
    for (path, item) in backoffice {
        paths.insert(path.to_string(), item);
    }
    if let Some(get) = paths
        .get("/v1/Subscription")
        .and_then(|i| i.get("get"))
        .cloned()
    {
        let mut get = get;
        get["operationId"] = json!("getSubscriptionById");
        get["summary"] =
            json!("Retrieve a subscription by its id (alias used by the PHP and n8n clients)");
        get["parameters"] = json!([{"name": "IdSubscription", "in": "path", "required": true, "schema": {"type": "integer"}}]);
        paths.insert(
            "/v1/Subscription/{IdSubscription}".to_string(),
            json!({"get": get}),
        );
    }
}

fn mark_alias(mut item: Value, target: &str) -> Value {
    if let Some(ops) = item.as_object_mut() {
        for op in ops.values_mut() {
            if let Some(op) = op.as_object_mut() {
                op.insert(
                    "description".into(),
                    json!(format!("Alias of {target}, kept for older clients.")),
                );
                if let Some(id) = op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .map(|s| format!("{s}Alias"))
                {
                    op.insert("operationId".into(), json!(id));
                }
            }
        }
    }
    item
}

pub async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    let mut doc = document().clone();
    doc["servers"] = json!([{"url": &*state.public_url, "description": "This Abo node"}]);
    (
        [(header::CONTENT_TYPE, "application/json")],
        axum::Json(doc),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_keeps_every_contract_operation_and_adds_ours() {
        let doc = document();
        let contract: Value = serde_norway::from_str(CONTRACT).unwrap();
        let mut count = 0;
        for (path, item) in contract["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                assert!(doc["paths"][path][method].is_object(), "{method} {path}");
                count += 1;
            }
        }
        assert_eq!(count, 39);
        assert!(doc["paths"]["/v1/CustomerBillingAddress"]["get"].is_object());
        assert!(doc["paths"]["/v1/Abo/TestClock/Advance"]["post"].is_object());
        assert!(doc["paths"]["/v1/Abo/Customer/Enabling"]["post"].is_object());
        assert!(doc["paths"]["/Billing/Invoices/{IdInvoice}/Refund"]["post"].is_object());
        assert!(doc["paths"]["/v1/Subscription/{IdSubscription}"]["get"].is_object());
        assert!(doc["paths"]["/Distribution/Customers/{id}/Links/Send"]["post"].is_object());
        assert!(doc["paths"]["/Organization/Segments/{segment}/Emails/{kind}"]["put"].is_object());
        let post = &doc["paths"]["/v1/Usage"]["post"]["parameters"];
        assert!(
            post.as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "Idempotency-Key")
        );
    }

    /// The served contract is the one the API tests validate against.
    #[test]
    fn embedded_copy_matches_the_shared_contract() {
        let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/contracts/proabono-live-openapi.yaml");
        if let Ok(text) = std::fs::read_to_string(&shared) {
            assert_eq!(
                text,
                CONTRACT,
                "crates/abo-web/openapi/ is out of date: copy {}",
                shared.display()
            );
        }
    }
}
