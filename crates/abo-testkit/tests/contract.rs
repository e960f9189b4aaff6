//! The contract validator, tested against the contract itself and hand-made bodies.

use abo_testkit::{Contract, ValidateOptions};
use serde_json::{Value, json};
use std::io::Write as _;

fn contract() -> &'static Contract {
    Contract::shared()
}

/// Asserts that validation failed with an error starting with `prefix`
/// (`"$.Items[3].Links[0].rel: type:"`), and returns the errors.
#[track_caller]
fn assert_rejected(result: Result<(), Vec<String>>, prefix: &str) -> Vec<String> {
    match result {
        Ok(()) => panic!("expected an error starting with {prefix:?}, the body was accepted"),
        Err(errors) => {
            assert!(
                errors.iter().any(|e| e.starts_with(prefix)),
                "expected an error starting with {prefix:?}, got {errors:#?}"
            );
            errors
        }
    }
}

/// The README of shared/contracts lists these 39 operations.
const OPERATIONS: &[(&str, &str)] = &[
    ("GET", "/v1/Customer"),
    ("POST", "/v1/Customer"),
    ("GET", "/v1/Customers"),
    ("POST", "/v1/Customer/Anonymization"),
    ("POST", "/v1/Customer/LinksRevokation"),
    ("POST", "/v1/Customer/Invalidation"),
    ("POST", "/v1/Customer/Suspension"),
    ("GET", "/v1/CustomerAddressBilling"),
    ("POST", "/v1/CustomerAddressBilling"),
    ("GET", "/v1/CustomerSettingsPayment"),
    ("POST", "/v1/CustomerSettingsPayment"),
    ("GET", "/v1/Usages"),
    ("POST", "/v1/Usages"),
    ("GET", "/v1/Usage"),
    ("POST", "/v1/Usage"),
    ("GET", "/v1/Offers"),
    ("GET", "/v1/Offer"),
    ("GET", "/v1/Features"),
    ("GET", "/v1/Feature"),
    ("GET", "/v1/Feature/{id}"),
    ("GET", "/v1/Subscription"),
    ("POST", "/v1/Subscription"),
    ("POST", "/v1/Subscription/{IdSubscription}/DateTerm"),
    ("POST", "/v1/Subscription/{IdSubscription}/Suspension"),
    ("POST", "/v1/Subscription/{IdSubscription}/Start"),
    ("POST", "/v1/Subscription/{IdSubscription}/Upgrade"),
    ("POST", "/v1/Subscription/{IdSubscription}/Termination"),
    ("GET", "/v1/Subscriptions"),
    ("GET", "/v1/Invoice/{id}"),
    ("GET", "/v1/Invoice"),
    ("GET", "/v1/Invoices"),
    ("POST", "/v1/Billing/Customer"),
    ("POST", "/v1/Quoting/Subscription"),
    ("POST", "/v1/Quoting/Subscription/{IdSubscription}/Start"),
    ("POST", "/v1/Quoting/Subscription/{IdSubscription}/Upgrade"),
    ("POST", "/v1/Quoting/Usage"),
    ("POST", "/v1/Quoting/BalanceLine"),
    ("POST", "/v1/BalanceLine"),
    ("GET", "/v1/Balance"),
];

#[test]
fn every_one_of_the_39_operations_is_found() {
    let c = contract();
    assert_eq!(c.operations().count(), 39);
    assert_eq!(OPERATIONS.len(), 39);
    for (method, template) in OPERATIONS {
        let op = c
            .try_operation(method, template)
            .unwrap_or_else(|| panic!("{method} {template} is missing"));
        assert_eq!(op.method(), *method);
        assert_eq!(op.path_template(), *template);
        assert!(op.documented_statuses().contains(&"200") || template.ends_with("BalanceLine"));
        // The lower-case method finds it too.
        assert!(c.try_operation(&method.to_lowercase(), template).is_some());
    }
    assert!(c.try_operation("DELETE", "/v1/Customer").is_none());
    assert!(c.try_operation("GET", "/v1/Nope").is_none());
}

#[test]
#[should_panic(expected = "the contract has no operation GET /v1/Customerz")]
fn an_unknown_operation_panics_with_the_list() {
    contract().operation("get", "/v1/Customerz");
}

#[test]
fn concrete_paths_find_their_operation() {
    let c = contract();
    let cases = [
        ("GET", "/v1/Customer?ReferenceCustomer=c1", "/v1/Customer"),
        ("GET", "/v1/customer", "/v1/Customer"),
        (
            "POST",
            "/v1/Customer/Suspension?ReferenceCustomer=c",
            "/v1/Customer/Suspension",
        ),
        ("GET", "/v1/Feature?ReferenceFeature=f", "/v1/Feature"),
        ("GET", "/v1/Feature/12", "/v1/Feature/{id}"),
        (
            "POST",
            "/v1/Subscription/42/Start?BillNow=true",
            "/v1/Subscription/{IdSubscription}/Start",
        ),
        (
            "POST",
            "/v1/Quoting/Subscription/42/Upgrade",
            "/v1/Quoting/Subscription/{IdSubscription}/Upgrade",
        ),
        (
            "POST",
            "/v1/Quoting/Subscription",
            "/v1/Quoting/Subscription",
        ),
        ("GET", "/v1/Invoice/99", "/v1/Invoice/{id}"),
    ];
    for (method, path, template) in cases {
        let op = c
            .find_operation(method, path)
            .unwrap_or_else(|| panic!("nothing found for {method} {path}"));
        assert_eq!(op.path_template(), template, "{method} {path}");
        assert!(op.matches_path(path));
    }
    assert!(
        c.find_operation("GET", "/v1/Subscription/42/Start")
            .is_none()
    );
    // A trailing slash is tolerated.
    assert_eq!(
        c.find_operation("GET", "/v1/Feature/")
            .unwrap()
            .path_template(),
        "/v1/Feature"
    );
    assert!(c.find_operation("GET", "/v1/Invoice//").is_none());
    assert!(c.find_operation("GET", "/healthz").is_none());
}

/// Examples of the contract that contradict their own schema. They are
/// skipped (with the reason printed), and the test checks they still fail, so
/// this list stays exact when the contract changes.
const KNOWN_INVALID_EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "GET /v1/Customer",
        "response 200 example",
        "Metadata values Incomes: 150000 and Kids: 3 are integers; Metadata.additionalProperties is type string",
    ),
    (
        "POST /v1/Subscription",
        "response 201 example",
        "Metadata.IdPartner: 3 is an integer; Metadata values are strings",
    ),
    (
        "POST /v1/Subscription",
        "request example \"basic\"",
        "Metadata.IdPartner: 3 is an integer; Metadata values are strings",
    ),
    (
        "GET /v1/Usages",
        "response 200 example \"by customer\"",
        "a paginated envelope {Page, SizePage, Count, TotalItems, DateGenerated, Items}; the schema is a bare array of Usage",
    ),
    (
        "GET /v1/Usages",
        "response 200 example \"by feature\"",
        "a paginated envelope {Page, SizePage, Count, TotalItems, DateGenerated, Items}; the schema is a bare array of Usage",
    ),
    (
        "GET /v1/Invoice/{id}",
        "response 200 example \"payment failed\"",
        "TypePayment \"Undefined\" is not in the TypePayment enum",
    ),
    (
        "GET /v1/Invoice",
        "response 200 example \"payment failed\"",
        "TypePayment \"Undefined\" is not in the TypePayment enum",
    ),
    (
        "GET /v1/Balance",
        "response 200 example",
        "TypeLine \"ManualDebit\" and \"SubscriptionFee\" are not in the TypeLine enum",
    ),
];

#[test]
fn the_contract_examples_validate_against_their_own_schemas() {
    let c = contract();
    let mut checked = 0;
    let mut unexpected = Vec::new();
    let mut known_seen = Vec::new();
    for op in c.operations() {
        let mut examples: Vec<_> = op
            .response_examples()
            .into_iter()
            .map(|ex| {
                let status: u16 = ex.status.unwrap().parse().unwrap();
                (ex.to_string(), op.validate_response(status, Some(ex.value)))
            })
            .collect();
        examples.extend(
            op.request_examples()
                .into_iter()
                .map(|ex| (ex.to_string(), op.validate_request(ex.value))),
        );
        for (label, outcome) in examples {
            checked += 1;
            let known = KNOWN_INVALID_EXAMPLES
                .iter()
                .find(|(o, l, _)| *o == op.to_string() && *l == label);
            match (known, outcome) {
                (None, Ok(())) => {}
                (None, Err(errors)) => unexpected.push(format!("{op} {label}: {errors:#?}")),
                (Some((_, _, reason)), Err(errors)) => {
                    let _ = writeln!(
                        std::io::stderr(),
                        "skipping invalid contract example {op} {label}: {reason}\n    {}",
                        errors.join("\n    ")
                    );
                    known_seen.push((op.to_string(), label));
                }
                (Some(_), Ok(())) => unexpected.push(format!(
                    "{op} {label} is listed in KNOWN_INVALID_EXAMPLES but now validates: remove it"
                )),
            }
        }
    }
    for (o, l, _) in KNOWN_INVALID_EXAMPLES {
        if !known_seen.iter().any(|(so, sl)| so == o && sl == l) {
            unexpected.push(format!(
                "KNOWN_INVALID_EXAMPLES lists {o} {l}, which no longer exists"
            ));
        }
    }
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
    // 39 example/examples entries under responses and requests, some with several values.
    assert!(checked >= 45, "only {checked} examples found");
}

fn customer() -> Value {
    json!({
        "Id": 233700,
        "IdSegment": 69,
        "ReferenceCustomer": "cust-42",
        "ReferenceSegment": "demo-eur",
        "Currency": "EUR",
        "Name": "John Doe",
        "Email": "john@doe.com",
        "Language": "en",
        "Status": "Enabled",
        "ReferenceAffiliation": null,
        "DateAffiliation": "2025-12-03T17:07:35.04Z",
        "Metadata": {"Gender": "Male"},
        "Links": [{"rel": "insite-home", "href": "https://x/portal-auth/abc"}]
    })
}

fn get_customer(body: &Value) -> Result<(), Vec<String>> {
    contract()
        .operation("GET", "/v1/Customer")
        .validate_response(200, Some(body))
}

#[test]
fn a_valid_customer_passes() {
    get_customer(&customer()).unwrap();
}

#[test]
fn wrong_types_are_reported_with_their_path() {
    let mut c = customer();
    c["Id"] = json!("233700");
    let errors = assert_rejected(
        get_customer(&c),
        "$.Id: type: expected integer, got string \"233700\"",
    );
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].ends_with("(schema Customer)"), "{errors:#?}");

    let mut c = customer();
    c["Links"][0]["rel"] = json!(3);
    assert_rejected(
        get_customer(&c),
        "$.Links[0].rel: type: expected string, got integer 3",
    );

    // An integer written as a float is not an integer.
    let mut c = customer();
    c["IdSegment"] = json!(69.0);
    assert_rejected(
        get_customer(&c),
        "$.IdSegment: type: expected integer, got number 69.0",
    );

    let mut c = customer();
    c["Links"] = json!({"rel": "x"});
    assert_rejected(
        get_customer(&c),
        "$.Links: type: expected array, got object",
    );

    let mut c = customer();
    c["Metadata"]["Kids"] = json!(3);
    assert_rejected(
        get_customer(&c),
        "$.Metadata.Kids: type: expected string, got integer 3",
    );

    assert_rejected(
        get_customer(&json!([customer()])),
        "$: type: expected object, got array",
    );
}

#[test]
fn deep_paths_through_lists_are_precise() {
    let list_op = contract().operation("GET", "/v1/Customers");
    let mut items: Vec<Value> = (0..4).map(|_| customer()).collect();
    items[3]["Links"] = json!([{"rel": 7, "href": "/x"}]);
    let body = json!({"Count": 4, "Page": 1, "SizePage": 10, "TotalItems": 4, "Items": items});
    let errors = assert_rejected(
        list_op.validate_response(200, Some(&body)),
        "$.Items[3].Links[0].rel: type: expected string, got integer 7 (schema Link)",
    );
    assert_eq!(errors.len(), 1, "{errors:#?}");

    // The PaginatedList part of the allOf applies too.
    let body = json!({"Count": "4", "Items": []});
    assert_rejected(
        list_op.validate_response(200, Some(&body)),
        "$.Count: type: expected integer, got string \"4\" (schema PaginatedList)",
    );
}

#[test]
fn bad_enum_values_are_rejected() {
    let mut c = customer();
    c["Status"] = json!("Active");
    assert_rejected(
        get_customer(&c),
        "$.Status: enum: \"Active\" is not one of [\"Enabled\", \"Suspended\"]",
    );
}

#[test]
fn null_is_rejected_unless_nullable() {
    let mut c = customer();
    c["Name"] = Value::Null;
    assert_rejected(
        get_customer(&c),
        "$.Name: nullable: null is not allowed (type string, not nullable)",
    );
    // Nullable fields accept null...
    let mut c = customer();
    c["DateAffiliation"] = Value::Null;
    c["ReferenceAffiliation"] = Value::Null;
    get_customer(&c).unwrap();
    // ...and a nullable enum accepts null although the enum does not list it.
    let invoice = json!({"Id": 1, "Status": "Paid", "TypeCredit": null, "FullNumber": null});
    contract().validate_schema("Invoice", &invoice).unwrap();
    // A $ref'd schema that is not nullable refuses null.
    let mut c = customer();
    c["Metadata"] = Value::Null;
    assert_rejected(
        get_customer(&c),
        "$.Metadata: nullable: null is not allowed (type object",
    );
}

#[test]
fn dates_must_be_rfc3339_date_times() {
    let mut c = customer();
    c["DateAffiliation"] = json!("2025-12-03T17:07:35");
    assert_rejected(
        get_customer(&c),
        "$.DateAffiliation: format: \"2025-12-03T17:07:35\" is not a valid date-time",
    );
    c["DateAffiliation"] = json!("2025-12-03 17:07:35Z");
    assert_rejected(get_customer(&c), "$.DateAffiliation: format:");
    c["DateAffiliation"] = json!("2025-12-03T17:07:35+01:00");
    get_customer(&c).unwrap();
}

#[test]
fn requests_are_validated_too() {
    let subscribe = contract().operation("POST", "/v1/Subscription");
    subscribe
        .validate_request(&json!({"ReferenceCustomer": "c", "ReferenceOffer": "pro"}))
        .unwrap();
    let errors = assert_rejected(
        subscribe.validate_request(&json!({"ReferenceCustomer": "c"})),
        "$.ReferenceOffer: required: the property is missing (schema SubscriptionRequest)",
    );
    assert_eq!(errors.len(), 1);
    assert_rejected(
        subscribe.validate_request(&json!({
            "ReferenceCustomer": "c", "ReferenceOffer": "pro", "UnitTrial": "Fortnight"
        })),
        "$.UnitTrial: enum:",
    );
    assert_rejected(
        subscribe.validate_request(&json!({
            "ReferenceCustomer": "c", "ReferenceOffer": "pro",
            "Features": [{"ReferenceFeature": "f", "QuantityCurrent": "3"}]
        })),
        "$.Features[0].QuantityCurrent: type: expected integer, got string \"3\"",
    );

    // maxItems: a batch holds at most 50 usages.
    let batch = contract().operation("POST", "/v1/Usages");
    let usage = json!({"ReferenceFeature": "f", "ReferenceCustomer": "c", "Increment": 1,
                       "DateStamp": "2025-03-29T19:35:51.65Z"});
    batch
        .validate_request(&json!(vec![usage.clone(); 50]))
        .unwrap();
    assert_rejected(
        batch.validate_request(&json!(vec![usage.clone(); 51])),
        "$: maxItems: 51 items, at most 50 allowed",
    );
    let mut missing = usage.clone();
    missing.as_object_mut().unwrap().remove("DateStamp");
    assert_rejected(
        batch.validate_request(&json!([usage, missing])),
        "$[1].DateStamp: required: the property is missing (schema UsageRequest)",
    );

    assert_rejected(
        contract()
            .operation("GET", "/v1/Customer")
            .validate_request(&json!({})),
        "request: GET /v1/Customer takes no JSON request body",
    );
}

#[test]
fn statuses_must_be_documented() {
    let c = contract();
    let get = c.operation("GET", "/v1/Customer");
    let errors = assert_rejected(
        get.validate_response(500, Some(&json!({"Code": "x"}))),
        "status: 500 is not documented for GET /v1/Customer (documented: 200, 401, 404)",
    );
    assert_eq!(errors.len(), 1);
    // Shared responses referenced by the operation: 401 and 404 carry an Error.
    get.validate_response(
        401,
        Some(&json!({"Code": "Error.Api.Unauthorized", "Message": "no"})),
    )
    .unwrap();
    assert_rejected(
        get.validate_response(404, Some(&json!({"Code": 404}))),
        "$.Code: type: expected string, got integer 404 (schema Error)",
    );
    // ValidationErrors (422) is an array of Error.
    let post = c.operation("POST", "/v1/Customer");
    post.validate_response(
        422,
        Some(&json!([{"Code": "Error.Validation", "Message": "m"}])),
    )
    .unwrap();
    assert_rejected(
        post.validate_response(422, Some(&json!({"Code": "Error.Validation"}))),
        "$: type: expected array, got object",
    );
    // A body is required where the contract gives a schema.
    assert_rejected(
        get.validate_response(200, None),
        "body: the contract gives a JSON body for 200, the response has none",
    );
    // 204: documented without content, and never with a body.
    let feature = c.operation("GET", "/v1/Feature");
    feature.validate_response(204, None).unwrap();
    assert_rejected(
        feature.validate_response(204, Some(&json!({}))),
        "body: a 204 response must have no body",
    );
    // A status documented without content accepts any body (403 here).
    let address = c.operation("GET", "/v1/CustomerAddressBilling");
    address
        .validate_response(
            403,
            Some(&json!({"Code": "Error.Api.Customer.Unaccessible"})),
        )
        .unwrap();
    address.validate_response(403, None).unwrap();
    // An undocumented status can be allowed explicitly.
    let customers = c.operation("GET", "/v1/Customers");
    assert!(customers.validate_response(204, None).is_err());
    customers
        .validate_response_with(204, None, &ValidateOptions::default().allow_status(204))
        .unwrap();
    assert!(
        customers
            .validate_response_with(
                204,
                Some(&json!([])),
                &ValidateOptions::default().allow_status(204)
            )
            .is_err()
    );
}

#[test]
fn unknown_properties_are_reported_only_on_request() {
    let list_op = contract().operation("GET", "/v1/Customers");
    let mut item = customer();
    item["Nickname"] = json!("JD");
    let body = json!({"Count": 1, "Page": 1, "SizePage": 10, "TotalItems": 1,
                      "DateGenerated": "2025-03-29T21:54:19.51Z", "Items": [item]});
    list_op.validate_response(200, Some(&body)).unwrap();
    let strict = ValidateOptions::default().deny_unknown_properties();
    let errors = list_op
        .validate_response_with(200, Some(&body), &strict)
        .unwrap_err();
    let mut errors = errors;
    errors.sort();
    assert_eq!(
        errors,
        vec![
            "$.DateGenerated: unknown property: not declared by the contract (schema CustomerList)"
                .to_string(),
            "$.Items[0].Nickname: unknown property: not declared by the contract (schema Customer)"
                .to_string(),
        ]
    );
    // Metadata's additionalProperties admits any key.
    let mut c = customer();
    c["Metadata"]["Anything"] = json!("goes");
    contract()
        .operation("GET", "/v1/Customer")
        .validate_response_with(200, Some(&c), &strict)
        .unwrap();
}

#[test]
fn the_loader_refuses_what_it_cannot_check() {
    let doc = |schema: &str| {
        format!(
            "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n  /x:\n    get:\n      responses:\n        \"200\":\n          description: ok\n          content:\n            application/json:\n              schema:\n{schema}\n"
        )
    };
    let ok = Contract::from_yaml(&doc(
        "                type: string\n                format: date-time",
    ))
    .unwrap();
    assert_eq!(ok.operations().count(), 1);
    ok.operation("GET", "/x")
        .validate_response(200, Some(&json!("2025-01-01T00:00:00Z")))
        .unwrap();

    let err = Contract::from_yaml(&doc(
        "                type: string\n                pattern: '^a'",
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("keyword 'pattern' is not implemented"),
        "{err}"
    );

    let err = Contract::from_yaml(&doc("                $ref: '#/components/schemas/Nope'"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("$ref \"#/components/schemas/Nope\" does not resolve"),
        "{err}"
    );

    let err = Contract::from_yaml(&doc(
        "                type: string\n                format: email",
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("format \"email\" is not implemented"), "{err}");

    let err = Contract::from_yaml("openapi: 3.1.0\npaths: {}\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected an OpenAPI 3.0.x document"), "{err}");

    let err = Contract::load_from("/nonexistent/contract.yaml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("ABO_CONTRACT_PATH"), "{err}");
}

#[test]
fn the_default_path_is_the_shared_contract() {
    let path = Contract::default_path();
    assert!(
        path.ends_with("proabono-live-openapi.yaml"),
        "{}",
        path.display()
    );
    let loaded = Contract::load().unwrap();
    assert_eq!(loaded.source(), path.as_path());
    assert_eq!(
        loaded.document()["info"]["title"],
        json!("ProAbono API Live")
    );
}
