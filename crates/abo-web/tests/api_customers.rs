//! The Customers operations over HTTP, on both backends, every answer checked against the
//! contract (`app.checked*`); the one path the contract does not know (the
//! `/v1/CustomerBillingAddress` alias) is checked against the schema by hand.

use abo_links::{LinkError, Purpose, parse_hosted_path};
use abo_store::invoices::{self, NewInvoice};
use abo_store::subscriptions::{self, NewSubscription};
use abo_store::{customers, offers, segments};
use abo_testkit::{CheckedResponse, TestApp, ValidateOptions, both_backends};
use serde_json::{Value, json};

// ----- helpers ---------------------------------------------------------------------------------

/// `method path` checked against the operation `template`, allowing extra statuses the
/// contract does not list for that operation (e.g. 422 on a GET, 401 on the address).
async fn call(
    app: &TestApp,
    method: &str,
    template: &str,
    path: &str,
    body: Option<&Value>,
    extra: &[u16],
) -> (u16, Value) {
    let mut request = app.request(method, path);
    request = match body {
        Some(b) => request.json(b),
        None if method == "POST" => request.body(Vec::<u8>::new()),
        None => request,
    };
    let options = extra
        .iter()
        .fold(ValidateOptions::default(), |o, s| o.allow_status(*s));
    let CheckedResponse { status, body, .. } =
        app.checked_with(method, template, request, &options).await;
    (status, body.unwrap_or(Value::Null))
}

async fn upsert(app: &TestApp, body: Value) -> (u16, Value) {
    call(
        app,
        "POST",
        "/v1/Customer",
        "/v1/Customer",
        Some(&body),
        &[],
    )
    .await
}

async fn get_customer(app: &TestApp, query: &str) -> (u16, Value) {
    call(
        app,
        "GET",
        "/v1/Customer",
        &format!("/v1/Customer?{query}"),
        None,
        &[422],
    )
    .await
}

async fn action(app: &TestApp, action: &str, reference: &str) -> (u16, Value) {
    let template = format!("/v1/Customer/{action}");
    let path = format!("{template}?ReferenceCustomer={reference}");
    call(app, "POST", &template, &path, None, &[]).await
}

fn link<'a>(customer: &'a Value, rel: &str) -> Option<&'a Value> {
    customer["Links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == rel)
}

fn rels(customer: &Value) -> Vec<String> {
    customer["Links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap().to_owned())
        .collect()
}

/// The token of the customer's `hosted-home` link, after checking its href is an absolute
/// URL of this server whose path is the portal home.
fn home_token(app: &TestApp, customer: &Value) -> String {
    let href = link(customer, "hosted-home").expect("hosted-home")["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = href
        .strip_prefix(&app.base_url)
        .unwrap_or_else(|| panic!("{href} is not under {}", app.base_url));
    let (purpose, token) = parse_hosted_path(path).expect("a hosted path");
    assert_eq!(purpose, Purpose::Home);
    // insite-home carries the same absolute URL (spec §2.7).
    assert_eq!(
        link(customer, "insite-home").unwrap()["href"],
        href.as_str()
    );
    token.to_owned()
}

async fn keyring(app: &TestApp) -> abo_links::Keyring {
    let mut conn = app.store.acquire().await.unwrap();
    abo_service::links::load_keyring(&mut conn, app.business_id)
        .await
        .unwrap()
}

async fn epoch(app: &TestApp, reference: &str) -> u32 {
    let mut conn = app.store.acquire().await.unwrap();
    let segment = segments::get_by_reference(&mut conn, app.business_id, "demo-eur")
        .await
        .unwrap();
    let c = customers::get_by_reference(&mut conn, app.business_id, segment.id, reference)
        .await
        .unwrap();
    u32::try_from(c.links_epoch).unwrap()
}

/// Issues a debit invoice of 12.00 EUR in `state` straight in the store.
async fn invoice(app: &TestApp, customer_id: i64, state: &str) -> i64 {
    let mut tx = app.store.begin().await.unwrap();
    let segment = segments::get_by_reference(&mut tx, app.business_id, "demo-eur")
        .await
        .unwrap();
    let draft = invoices::create_draft(
        &mut tx,
        &NewInvoice {
            business_id: app.business_id,
            segment_id: segment.id,
            customer_id,
            is_credit_note: false,
            type_credit: None,
            credited_invoice_id: None,
            type_payment: "ExternalBank".into(),
            currency: "EUR".into(),
            amount_subtotal: 1000,
            amount_tax: 200,
            amount_total: 1200,
            date_payment_limit_us: None,
            date_payment_scheduled_us: None,
            note: None,
            reason: None,
            buyer: None,
            lines: vec![],
        },
        app.now_us(),
    )
    .await
    .unwrap();
    let issued = invoices::issue(&mut tx, app.business_id, draft.id, state, app.now_us())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    issued.id
}

fn codes(errors: &Value) -> Vec<String> {
    errors
        .as_array()
        .unwrap_or_else(|| panic!("422 must be an array: {errors}"))
        .iter()
        .map(|e| e["Code"].as_str().unwrap().to_owned())
        .collect()
}

// ----- tests -----------------------------------------------------------------------------------

/// POST creates (201), POSTing again updates the same customer (200, same Id); GET reads
/// it back with its segment, currency and links; absent fields stay unchanged.
async fn upsert_then_update_and_get(app: TestApp) {
    let (status, created) = upsert(
        &app,
        json!({
            "ReferenceCustomer": "cust-42", "Name": "John Doe", "Email": "john@doe.com",
            "Language": "en", "Metadata": {"Gender": "Male", "Incomes": 150000}
        }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["ReferenceSegment"], "demo-eur");
    assert_eq!(created["Currency"], "EUR");
    assert_eq!(created["Status"], "Enabled");
    assert_eq!(created["Metadata"]["Incomes"], "150000");

    // camelCase names and N8N's empty strings: blank means "unchanged".
    let (status, updated) = upsert(
        &app,
        json!({
            "referenceCustomer": "cust-42", "name": "", "email": "john@new.example",
            "Language": "fr-FR", "ReferenceAffiliation": ""
        }),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["Id"], created["Id"]);
    assert_eq!(updated["Name"], "John Doe");
    assert_eq!(updated["Email"], "john@new.example");
    assert_eq!(updated["Language"], "fr-FR");

    let (status, got) = get_customer(&app, "referencecustomer=cust-42").await;
    assert_eq!(status, 200);
    assert_eq!(got["Id"], created["Id"]);
    assert_eq!(got["IdSegment"], created["IdSegment"]);
    assert_eq!(
        rels(&got),
        [
            "hosted-home",
            "insite-home",
            "hosted-collection-offers",
            "insite-collection-offers",
            "hosted-register",
            "insite-register"
        ]
    );
    assert!(link(&got, "insite-register").unwrap()["query"].is_string());

    // Without a reference, one is generated (a UUID) and the call creates.
    let (status, generated) = upsert(&app, json!({"Name": "Anonymous"})).await;
    assert_eq!(status, 201);
    assert_eq!(generated["ReferenceCustomer"].as_str().unwrap().len(), 36);
}
both_backends!(upsert_then_update_and_get =>
    upsert_then_update_and_get_sqlite,
    upsert_then_update_and_get_postgres);

/// Part 1 of ProAbono's portal integration: `hosted-home` is an absolute URL of this
/// server whose token verifies, for this customer, business and links epoch.
async fn hosted_home_is_absolute_and_verifies(app: TestApp) {
    let (_, c) = upsert(&app, json!({"ReferenceCustomer": "portal-1"})).await;
    let token = home_token(&app, &c);
    let ring = keyring(&app).await;
    let claims = ring.verify(&token, app.now_us() / 1_000_000).unwrap();
    assert_eq!(claims.purpose, Purpose::Home);
    assert_eq!(claims.customer_id, c["Id"].as_i64().unwrap());
    assert_eq!(
        claims.check_scope(app.business_id, epoch(&app, "portal-1").await),
        Ok(())
    );
    // The legacy rels carry absolute hrefs too (the PHP library frames them as they are).
    for rel in ["hosted-collection-offers", "hosted-register"] {
        let href = link(&c, rel).unwrap()["href"].as_str().unwrap();
        assert!(href.starts_with(&app.base_url), "{rel}: {href}");
    }
}
both_backends!(hosted_home_is_absolute_and_verifies =>
    hosted_home_is_absolute_and_verifies_sqlite,
    hosted_home_is_absolute_and_verifies_postgres);

/// `ReferenceOffer` (query on GET, query or body on POST) adds the subscribe links for
/// that offer; an unknown offer is a 404 on GET and a 422 on POST.
async fn reference_offer_adds_the_subscribe_link(app: TestApp) {
    upsert(&app, json!({"ReferenceCustomer": "buyer"})).await;
    let (status, c) =
        get_customer(&app, "ReferenceCustomer=buyer&ReferenceOffer=pro-monthly").await;
    assert_eq!(status, 200);
    let href = link(&c, "hosted-subscribe").expect("hosted-subscribe")["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let (purpose, token) = parse_hosted_path(href.strip_prefix(&app.base_url).unwrap()).unwrap();
    assert_eq!(purpose, Purpose::Subscribe);
    assert_eq!(link(&c, "insite-subscribe").unwrap()["query"], token);
    let claims = keyring(&app)
        .await
        .verify(token, app.now_us() / 1_000_000)
        .unwrap();
    let mut conn = app.store.acquire().await.unwrap();
    let segment = segments::get_by_reference(&mut conn, app.business_id, "demo-eur")
        .await
        .unwrap();
    let offer = offers::get_by_reference(&mut conn, app.business_id, segment.id, "pro-monthly")
        .await
        .unwrap();
    drop(conn);
    assert_eq!(claims.target_id, Some(offer.id));

    let (status, c) = call(
        &app,
        "POST",
        "/v1/Customer",
        "/v1/Customer?ReferenceOffer=pro-yearly",
        Some(&json!({"ReferenceCustomer": "buyer"})),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert!(link(&c, "hosted-subscribe").is_some());

    let (status, e) = get_customer(&app, "ReferenceCustomer=buyer&ReferenceOffer=ghost").await;
    assert_eq!(status, 404, "{e}");
    let (status, e) = upsert(
        &app,
        json!({"ReferenceCustomer": "buyer", "ReferenceOffer": "ghost"}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(codes(&e), ["Error.Api.Validation.ReferenceOffer"]);
}
both_backends!(reference_offer_adds_the_subscribe_link =>
    reference_offer_adds_the_subscribe_link_sqlite,
    reference_offer_adds_the_subscribe_link_postgres);

/// Bad input is a 422 array with one entry per faulty field, and nothing is written.
async fn invalid_input_is_a_422_array(app: TestApp) {
    let (status, e) = upsert(
        &app,
        json!({
            "ReferenceCustomer": "a<b", "Email": "not-an-email", "Language": "english",
            "Metadata": {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6"}
        }),
    )
    .await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(
        codes(&e),
        [
            "Error.Api.Validation.ReferenceCustomer",
            "Error.Api.Validation.Email",
            "Error.Api.Validation.Language",
            "Error.Api.Validation.Metadata"
        ]
    );
    assert_eq!(e[0]["Target"], "ReferenceCustomer");

    let (status, e) = upsert(&app, json!({"ReferenceCustomer": "r".repeat(51)})).await;
    assert_eq!(status, 422);
    assert_eq!(
        e[0]["Message"],
        "ReferenceCustomer: must be at most 50 characters"
    );

    let (status, e) = upsert(
        &app,
        json!({"ReferenceCustomer": "ok", "Metadata": {"k": "v".repeat(451)}}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(codes(&e), ["Error.Api.Validation.Metadata"]);

    // Wrong types, each reported.
    let (status, e) = upsert(
        &app,
        json!({
            "ReferenceCustomer": {"x": 1}, "Name": 42, "IdSegment": "abc",
            "DateAffiliation": "yesterday", "Metadata": "text"
        }),
    )
    .await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(
        codes(&e),
        [
            "Error.Api.Validation.ReferenceCustomer",
            "Error.Api.Validation.IdSegment",
            "Error.Api.Validation.Name",
            "Error.Api.Validation.DateAffiliation",
            "Error.Api.Validation.Metadata"
        ]
    );
    let (status, e) = upsert(&app, json!(["not", "an", "object"])).await;
    assert_eq!(status, 422);
    assert_eq!(codes(&e), ["Error.Api.Validation.Body"]);

    let (status, e) = get_customer(&app, "ReferenceOffer=x").await;
    assert_eq!(status, 422);
    assert_eq!(codes(&e), ["Error.Api.Validation.ReferenceCustomer"]);

    let (status, _) = call(&app, "GET", "/v1/Customers", "/v1/Customers", None, &[204]).await;
    assert_eq!(status, 204, "no customer was created");
}
both_backends!(invalid_input_is_a_422_array =>
    invalid_input_is_a_422_array_sqlite,
    invalid_input_is_a_422_array_postgres);

/// 401 without credentials and with a wrong API key, in ProAbono's error shape.
async fn credentials_are_required(app: TestApp) {
    upsert(&app, json!({"ReferenceCustomer": "c1"})).await;
    for who in [
        app.unauthenticated(),
        app.with_credentials(&app.agent_key, "wrong-key"),
    ] {
        let (status, e) = get_customer(&who, "ReferenceCustomer=c1").await;
        assert_eq!(status, 401);
        assert!(e["Code"].is_string() && e["Message"].is_string(), "{e}");
        let (status, _) = upsert(&who, json!({"ReferenceCustomer": "c2"})).await;
        assert_eq!(status, 401);
        let (status, _) = call(&who, "GET", "/v1/Customers", "/v1/Customers", None, &[]).await;
        assert_eq!(status, 401);
        let (status, _) = call(
            &who,
            "GET",
            "/v1/CustomerAddressBilling",
            "/v1/CustomerAddressBilling?ReferenceCustomer=c1",
            None,
            &[401],
        )
        .await;
        assert_eq!(status, 401);
    }
}
both_backends!(credentials_are_required =>
    credentials_are_required_sqlite,
    credentials_are_required_postgres);

/// Business B cannot read, change or list A's customer; it gets exactly the answers an
/// unknown reference gets, and its own upsert of the same reference is its own customer.
async fn tenants_are_isolated(app: TestApp) {
    let (_, mine) = upsert(&app, json!({"ReferenceCustomer": "shared", "Name": "A's"})).await;
    let b = app.second_business().await;
    let (status, e) = get_customer(&b, "ReferenceCustomer=shared").await;
    assert_eq!(status, 404);
    let (_, unknown) = get_customer(&b, "ReferenceCustomer=never-seen").await;
    assert_eq!(e["Code"], unknown["Code"]);
    let (status, e) = call(
        &b,
        "POST",
        "/v1/CustomerAddressBilling",
        "/v1/CustomerAddressBilling?ReferenceCustomer=shared",
        Some(&json!({"City": "Hacked"})),
        &[],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        e,
        json!({"Code": "Error.Api.Customer.Unaccessible",
                         "Message": "You cannot access that Customer"})
    );
    for act in [
        "Suspension",
        "Anonymization",
        "Invalidation",
        "LinksRevokation",
    ] {
        let (status, _) = action(&b, act, "shared").await;
        assert_eq!(status, 404, "{act}");
    }
    let (status, _) = call(&b, "GET", "/v1/Customers", "/v1/Customers", None, &[204]).await;
    assert_eq!(status, 204);

    let (status, theirs) = upsert(&b, json!({"ReferenceCustomer": "shared", "Name": "B's"})).await;
    assert_eq!(status, 201);
    assert_ne!(theirs["Id"], mine["Id"]);
    let (_, still) = get_customer(&app, "ReferenceCustomer=shared").await;
    assert_eq!(still["Name"], "A's");
    assert_eq!(still["Status"], "Enabled");
}
both_backends!(tenants_are_isolated => tenants_are_isolated_sqlite, tenants_are_isolated_postgres);

/// Anonymization is refused while an invoice is due (ProAbono's live answer), then erases
/// the personal data and keeps the invoice.
async fn anonymization_waits_for_due_invoices(app: TestApp) {
    let (_, c) = upsert(
        &app,
        json!({
            "ReferenceCustomer": "gdpr", "Name": "John Doe", "Email": "john@doe.com",
            "Metadata": {"Gender": "Male"}
        }),
    )
    .await;
    let id = c["Id"].as_i64().unwrap();
    let invoice_id = invoice(&app, id, "DueOffline").await;

    let (status, e) = action(&app, "Anonymization", "gdpr").await;
    assert_eq!(status, 403);
    assert_eq!(
        e,
        json!({
            "Code": "Error.Customer.Anonymize.HasDueInvoices",
            "Message": "Anonymization rejected - the Customer has at least one due invoice."
        })
    );
    let (_, unchanged) = get_customer(&app, "ReferenceCustomer=gdpr").await;
    assert_eq!(unchanged["Email"], "john@doe.com");

    let mut conn = app.store.acquire().await.unwrap();
    invoices::set_state(
        &mut conn,
        app.business_id,
        invoice_id,
        "Paid",
        Some(app.now_us()),
        app.now_us(),
    )
    .await
    .unwrap();
    drop(conn);
    // N8N sends the reference in the body.
    let (status, done) = call(
        &app,
        "POST",
        "/v1/Customer/Anonymization",
        "/v1/Customer/Anonymization",
        Some(&json!({"ReferenceCustomer": "gdpr"})),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["Name"], "## cleared ##");
    assert!(done.get("Email").is_none(), "{done}");
    assert!(done.get("Metadata").is_none(), "{done}");
    assert_eq!(done["ReferenceCustomer"], "gdpr");
    let mut conn = app.store.acquire().await.unwrap();
    let kept = invoices::get(&mut conn, app.business_id, invoice_id)
        .await
        .unwrap();
    assert_eq!(kept.amount_total, 1200);
}
both_backends!(anonymization_waits_for_due_invoices =>
    anonymization_waits_for_due_invoices_sqlite,
    anonymization_waits_for_due_invoices_postgres);

/// An active subscription blocks anonymization with its own code.
async fn anonymization_waits_for_active_subscriptions(app: TestApp) {
    let (_, c) = upsert(&app, json!({"ReferenceCustomer": "subscriber"})).await;
    let mut conn = app.store.acquire().await.unwrap();
    let segment = segments::get_by_reference(&mut conn, app.business_id, "demo-eur")
        .await
        .unwrap();
    let offer = offers::get_by_reference(&mut conn, app.business_id, segment.id, "pro-monthly")
        .await
        .unwrap();
    let new = NewSubscription::from_offer(&offer, c["Id"].as_i64().unwrap(), "ActiveRunning");
    subscriptions::create(&mut conn, &new, app.now_us())
        .await
        .unwrap();
    drop(conn);
    let (status, e) = action(&app, "Anonymization", "subscriber").await;
    assert_eq!(status, 403);
    assert_eq!(e["Code"], "Error.Customer.Anonymize.HasActiveSubscriptions");
}
both_backends!(anonymization_waits_for_active_subscriptions =>
    anonymization_waits_for_active_subscriptions_sqlite,
    anonymization_waits_for_active_subscriptions_postgres);

/// Revocation: an earlier link's token still has a valid signature but fails the scope
/// check against the new epoch; the response carries fresh links that pass it.
async fn revocation_invalidates_earlier_links(app: TestApp) {
    let (_, before) = upsert(&app, json!({"ReferenceCustomer": "leaky"})).await;
    let old = home_token(&app, &before);
    let (status, after) = action(&app, "LinksRevokation", "leaky").await;
    assert_eq!(status, 200);
    let fresh = home_token(&app, &after);
    assert_ne!(old, fresh);
    let ring = keyring(&app).await;
    let now = app.now_us() / 1_000_000;
    let current = epoch(&app, "leaky").await;
    assert_eq!(current, 1);
    let old_claims = ring.verify(&old, now).unwrap();
    assert_eq!(
        old_claims.check_scope(app.business_id, current),
        Err(LinkError::Revoked)
    );
    let new_claims = ring.verify(&fresh, now).unwrap();
    assert_eq!(new_claims.check_scope(app.business_id, current), Ok(()));
}
both_backends!(revocation_invalidates_earlier_links =>
    revocation_invalidates_earlier_links_sqlite,
    revocation_invalidates_earlier_links_postgres);

/// Suspension and invalidation answer `Links: []`; a suspended customer keeps getting
/// none; an invalidated one is only reachable by its new random reference.
async fn suspension_and_invalidation_withhold_links(app: TestApp) {
    upsert(&app, json!({"ReferenceCustomer": "fraud"})).await;
    let (status, s) = action(&app, "Suspension", "fraud").await;
    assert_eq!(status, 200);
    assert_eq!(s["Status"], "Suspended");
    assert_eq!(s["Links"], json!([]));
    let (_, again) = get_customer(&app, "ReferenceCustomer=fraud").await;
    assert_eq!(again["Links"], json!([]));
    let (_, upserted) = upsert(&app, json!({"ReferenceCustomer": "fraud", "Name": "Still"})).await;
    assert_eq!(upserted["Status"], "Suspended");
    assert_eq!(upserted["Links"], json!([]));

    upsert(&app, json!({"ReferenceCustomer": "forget-me"})).await;
    let (status, inv) = action(&app, "Invalidation", "forget-me").await;
    assert_eq!(status, 200);
    assert_eq!(inv["Links"], json!([]));
    let new_ref = inv["ReferenceCustomer"].as_str().unwrap().to_owned();
    assert!(
        new_ref.starts_with("cust-") && new_ref.len() == 13,
        "{new_ref}"
    );
    let (status, _) = get_customer(&app, "ReferenceCustomer=forget-me").await;
    assert_eq!(status, 404);
    let (status, found) = get_customer(&app, &format!("ReferenceCustomer={new_ref}")).await;
    assert_eq!(status, 200);
    assert_eq!(found["Id"], inv["Id"]);
    assert_eq!(epoch(&app, &new_ref).await, 1);
}
both_backends!(suspension_and_invalidation_withhold_links =>
    suspension_and_invalidation_withhold_links_sqlite,
    suspension_and_invalidation_withhold_links_postgres);

/// The list: pagination with a `next` link, count only with SizePage=0, the segment and
/// feature filters, 204 when nothing matches.
async fn list_pages_and_filters(app: TestApp) {
    for i in 1..=3 {
        upsert(
            &app,
            json!({"ReferenceCustomer": format!("c{i}"), "Name": format!("C{i}")}),
        )
        .await;
    }
    let list = |query: &'static str| {
        let app = app.clone();
        async move {
            call(
                &app,
                "GET",
                "/v1/Customers",
                &format!("/v1/Customers?{query}"),
                None,
                &[204],
            )
            .await
        }
    };
    let (status, page) = list("Page=1&SizePage=2").await;
    assert_eq!(status, 200);
    assert_eq!(
        (page["Count"].as_i64(), page["TotalItems"].as_i64()),
        (Some(2), Some(3))
    );
    assert_eq!(page["Items"][0]["ReferenceCustomer"], "c1");
    assert!(page["Items"][0].get("Links").is_none());
    assert_eq!(page["Links"][0]["rel"], "next");
    let (_, second) = list("page=2&sizepage=2").await;
    assert_eq!(second["Items"][0]["ReferenceCustomer"], "c3");
    let (status, count) = list("SizePage=0").await;
    assert_eq!(status, 200);
    assert_eq!(
        (count["Count"].as_i64(), count["TotalItems"].as_i64()),
        (Some(0), Some(3))
    );
    let (status, _) = list("ReferenceSegment=demo-eur").await;
    assert_eq!(status, 200);
    let (status, _) = list("ReferenceSegment=nowhere").await;
    assert_eq!(status, 204);

    // Only c2 has an active subscription including `e-signature` (in pro-monthly).
    let (_, c2) = get_customer(&app, "ReferenceCustomer=c2").await;
    let mut conn = app.store.acquire().await.unwrap();
    let segment = segments::get_by_reference(&mut conn, app.business_id, "demo-eur")
        .await
        .unwrap();
    let offer = offers::get_by_reference(&mut conn, app.business_id, segment.id, "pro-monthly")
        .await
        .unwrap();
    let new = NewSubscription::from_offer(&offer, c2["Id"].as_i64().unwrap(), "ActiveRunning");
    subscriptions::create(&mut conn, &new, app.now_us())
        .await
        .unwrap();
    drop(conn);
    let (status, with) = list("ReferenceFeature=e-signature").await;
    assert_eq!(status, 200);
    assert_eq!(with["TotalItems"], 1);
    assert_eq!(with["Items"][0]["ReferenceCustomer"], "c2");
    let (status, _) = list("ReferenceFeature=nothing-like-it").await;
    assert_eq!(status, 204);
}
both_backends!(list_pages_and_filters =>
    list_pages_and_filters_sqlite,
    list_pages_and_filters_postgres);

/// Billing address: partial updates, normalised country and region, VAT syntax, 422
/// array, 403 for an unknown customer, and the `/v1/CustomerBillingAddress` alias.
async fn billing_address(app: TestApp) {
    upsert(&app, json!({"ReferenceCustomer": "addr"})).await;
    let path = "/v1/CustomerAddressBilling?ReferenceCustomer=addr";
    let post = |body: Value| {
        let app = app.clone();
        async move {
            call(
                &app,
                "POST",
                "/v1/CustomerAddressBilling",
                path,
                Some(&body),
                &[],
            )
            .await
        }
    };
    let (status, a) = post(json!({"Company": "Doe LLC", "Country": "us", "Region": "ny"})).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(
        (a["Country"].as_str(), a["Region"].as_str()),
        (Some("US"), Some("US-NY"))
    );
    let (_, a) = post(json!({"City": "New York", "ZipCode": 10001})).await;
    assert_eq!(a["Company"], "Doe LLC");
    assert_eq!(a["ZipCode"], "10001");
    assert_eq!(a["City"], "New York");

    let (status, e) = post(json!({"Country": "XX", "TaxInformation": "FR1234567890"})).await;
    assert_eq!(status, 422);
    assert_eq!(
        codes(&e),
        [
            "Error.Api.Validation.Country",
            "Error.Api.Validation.TaxInformation"
        ]
    );
    let (status, e) = post(json!({"City": [], "Region": 3})).await;
    assert_eq!(status, 422);
    assert_eq!(
        codes(&e),
        ["Error.Api.Validation.City", "Error.Api.Validation.Region"]
    );

    let (status, a) =
        post(json!({"Country": "FR", "Region": "FR-75", "TaxInformation": "FR 40 303 265 045"}))
            .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["TaxInformation"], "FR40303265045");

    let (status, got) = call(&app, "GET", "/v1/CustomerAddressBilling", path, None, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(got, a);

    // The legacy spelling, with the reference in the body as N8N sends it.
    let response = app
        .request("POST", "/v1/CustomerBillingAddress")
        .json(&json!({"ReferenceCustomer": "addr", "Phone": "+33102030405"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let alias: Value = response.json().await.unwrap();
    app.contract()
        .validate_schema("CustomerAddressBilling", &alias)
        .unwrap();
    assert_eq!(alias["Phone"], "+33102030405");
    assert_eq!(alias["City"], "New York");

    let (status, e) = call(
        &app,
        "GET",
        "/v1/CustomerAddressBilling",
        "/v1/CustomerAddressBilling?ReferenceCustomer=ghost",
        None,
        &[],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(e["Code"], "Error.Api.Customer.Unaccessible");
}
both_backends!(billing_address => billing_address_sqlite, billing_address_postgres);

/// Payment settings: each field independent, legacy numbers, N8N's IsAutoBilling, and
/// gateway-only types refused.
async fn payment_settings(app: TestApp) {
    upsert(&app, json!({"ReferenceCustomer": "payer"})).await;
    let post = |body: Value| {
        let app = app.clone();
        async move {
            call(
                &app,
                "POST",
                "/v1/CustomerSettingsPayment",
                "/v1/CustomerSettingsPayment",
                Some(&body),
                &[],
            )
            .await
        }
    };
    let (status, p) = post(json!({"ReferenceCustomer": "payer", "TypePayment": 102})).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(
        (p["TypePayment"].as_str(), p["ModeBilling"].as_str()),
        (Some("ExternalBank"), Some("Auto"))
    );
    let (_, p) = post(json!({
        "ReferenceCustomer": "payer", "NoteInvoice": "PO.123456",
        "DateNextBilling": "2026-08-30T20:36:53+0000"
    }))
    .await;
    assert_eq!(p["TypePayment"], "ExternalBank");
    assert_eq!(p["NoteInvoice"], "PO.123456");
    assert_eq!(p["DateNextBilling"], "2026-08-30T20:36:53.00Z");
    let (_, p) =
        post(json!({"ReferenceCustomer": "payer", "IsAutoBilling": false, "IsGreyListed": true}))
            .await;
    assert_eq!(
        (p["ModeBilling"].as_str(), p["IsGreyListed"].as_bool()),
        (Some("Manual"), Some(true))
    );
    assert_eq!(p["NoteInvoice"], "PO.123456");

    for refused in [json!("Card"), json!("DirectDebit"), json!(1000)] {
        let (status, e) = post(json!({"ReferenceCustomer": "payer", "TypePayment": refused})).await;
        assert_eq!(status, 422);
        assert_eq!(codes(&e), ["Error.Api.Validation.TypePayment"]);
    }
    let (status, got) = call(
        &app,
        "GET",
        "/v1/CustomerSettingsPayment",
        "/v1/CustomerSettingsPayment?ReferenceCustomer=payer",
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(got["TypePayment"], "ExternalBank");
    let (status, _) =
        post(json!({"ReferenceCustomer": "ghost", "TypePayment": "ExternalCash"})).await;
    assert_eq!(status, 403);
}
both_backends!(payment_settings => payment_settings_sqlite, payment_settings_postgres);
