//! `/v1/Offers`, `/v1/Offer`, `/v1/Features`, `/v1/Feature`, `/v1/Feature/{id}`
//! over HTTP on the demo catalogue, both backends, checked against the contract.

#[path = "support_usages/mod.rs"]
mod support;

use abo_testkit::{TestApp, ValidateOptions, both_backends};
use serde_json::{Value, json};
use support::{customer, subscription};

async fn offers(app: &TestApp, query: &str) -> (u16, Option<Value>) {
    app.checked(
        "GET",
        "/v1/Offers",
        app.request("GET", &format!("/v1/Offers?{query}")),
    )
    .await
}

/// An unknown segment, pricing table or subscription is a 404 naming it
/// (ProAbono's `NotFound` response), which the contract does not list for
/// the collection.
async fn offers_not_found(app: &TestApp, query: &str) -> u16 {
    app.checked_with(
        "GET",
        "/v1/Offers",
        app.request("GET", &format!("/v1/Offers?{query}")),
        &ValidateOptions::default().allow_status(404),
    )
    .await
    .status
}

async fn offer(app: &TestApp, query: &str) -> (u16, Option<Value>) {
    app.checked(
        "GET",
        "/v1/Offer",
        app.request("GET", &format!("/v1/Offer?{query}")),
    )
    .await
}

fn refs(body: &Value) -> Vec<String> {
    body["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["ReferenceOffer"].as_str().unwrap().to_owned())
        .collect()
}

fn feature<'a>(offer: &'a Value, reference: &str) -> &'a Value {
    offer["Features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["ReferenceFeature"] == reference)
        .unwrap()
}

fn rels(offer: &Value) -> Vec<String> {
    offer["Links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap().to_owned())
        .collect()
}

both_backends! {
    /// The default segment's offers, their amounts and English strings.
    async fn offers_in_english(app: TestApp) {
        let (status, body) = offers(&app, "").await;
        assert_eq!(status, 200);
        let body = body.unwrap();
        assert_eq!(refs(&body), ["free", "pro-monthly", "pro-yearly", "enterprise-custom"]);
        let items = body["Items"].as_array().unwrap();
        let (free, monthly, yearly) = (&items[0], &items[1], &items[2]);
        assert_eq!(free["PricingLocalized"], "Free");
        assert_eq!(free["IsPriced"], false);
        assert_eq!(monthly["PricingLocalized"], "€19.00/month + €49.00 setup fee");
        assert_eq!((monthly["AmountRecurrence"].clone(), monthly["AmountUpFront"].clone()), (json!(1900), json!(4900)));
        assert_eq!(monthly["UnitRecurrence"], "Month");
        assert_eq!(yearly["PricingLocalized"], "€190.00/year");
        assert_eq!(yearly["ReferenceSegment"], "demo-eur");
        assert_eq!(feature(yearly, "team-members")["PricingLocalized"], "+€7.00/extra unit");
        assert_eq!(feature(yearly, "team-members")["QuantityIncluded"], 5);
        assert_eq!(feature(monthly, "team-members")["PricingLocalized"], "from €8.00/extra unit");
        assert_eq!(feature(monthly, "team-members")["Properties"], "UpdatableAfterSubscription");
        assert_eq!(feature(monthly, "e-signature")["PricingLocalized"], "+€0.20/extra unit");
        let support = feature(monthly, "support-24");
        assert_eq!((support["IsIncluded"].clone(), support["PricingLocalized"].clone()), (json!(true), Value::Null));
        assert!(support.get("QuantityIncluded").is_none());
        // Unlimited: no quantities at all.
        let enterprise = &items[3];
        assert!(feature(enterprise, "team-members").get("QuantityIncluded").is_none());
        // Anonymous: the public catalogue page.
        assert_eq!(rels(yearly), ["hosted-home", "insite-home"]);
        assert!(yearly["Links"][1]["href"].as_str().unwrap().ends_with("/portal-anon"));
        // HTML by default: the "&" of a name would be escaped; plain text on request.
        let (_, one) = offer(&app, "ReferenceOffer=pro-yearly&Html=false&Links=false").await;
        let one = one.unwrap();
        assert!(one.get("Links").is_none());
        assert_eq!(one["PricingLocalized"], "€190.00/year");
    }

    /// `Language`, then the customer's, then the segment's.
    async fn offers_in_french(app: TestApp) {
        let (_, body) = offers(&app, "Language=fr-FR&ReferencePricingTable=yearly").await;
        let body = body.unwrap();
        assert_eq!(refs(&body), ["free", "pro-yearly"]);
        let yearly = &body["Items"][1];
        assert_eq!(yearly["PricingLocalized"], "190,00\u{a0}€/an");
        assert_eq!(feature(yearly, "team-members")["PricingLocalized"], "+7,00\u{a0}€/unité supplémentaire");
        assert_eq!(body["Items"][0]["PricingLocalized"], "Gratuit");
        // A French customer gets French without asking; ?Language= wins.
        customer(&app, "cust-fr", Some("fr")).await;
        let (_, one) = offer(&app, "ReferenceOffer=pro-monthly&ReferenceCustomer=cust-fr").await;
        assert_eq!(one.unwrap()["PricingLocalized"], "19,00\u{a0}€/mois + 49,00\u{a0}€ de frais de mise en service");
        let (_, one) = offer(&app, "ReferenceOffer=pro-monthly&ReferenceCustomer=cust-fr&Language=en").await;
        assert_eq!(one.unwrap()["PricingLocalized"], "€19.00/month + €49.00 setup fee");
    }

    /// IsVisible (offers and features), prefix, pricing table, features and
    /// pricing left out, pagination, 404s.
    async fn offer_filters(app: TestApp) {
        let (_, body) = offers(&app, "IsVisible=true").await;
        assert_eq!(refs(&body.unwrap()), ["free", "pro-monthly", "pro-yearly"]);
        let (_, body) = offers(&app, "isvisible=false").await;
        assert_eq!(refs(&body.unwrap()), ["enterprise-custom"]);
        let (status, _) = offer(&app, "ReferenceOffer=enterprise-custom&IsVisible=true").await;
        assert_eq!(status, 404);
        let (_, body) = offers(&app, "PrefixReferenceOffer=pro-").await;
        assert_eq!(refs(&body.unwrap()), ["pro-monthly", "pro-yearly"]);
        let (_, body) = offers(&app, "ReferencePricingTable=monthly&IgnoreFeatures=true&Pricing=false").await;
        let body = body.unwrap();
        assert_eq!(refs(&body), ["free", "pro-monthly"]);
        assert!(body["Items"][1].get("Features").is_none());
        assert!(body["Items"][1].get("AmountRecurrence").is_none());
        let (_, body) = offers(&app, "SizePage=2&Page=2").await;
        let body = body.unwrap();
        assert_eq!((refs(&body), body["TotalItems"].clone()), (vec!["pro-yearly".to_string(), "enterprise-custom".to_string()], json!(4)));
        let (status, body) = offer(&app, "ReferenceOffer=nope").await;
        assert_eq!((status, body.unwrap()["Code"].clone()), (404, json!("Error.Api.NotFound")));
        assert_eq!(offers_not_found(&app, "ReferenceSegment=nope").await, 404);
        assert_eq!(offers_not_found(&app, "ReferencePricingTable=nope").await, 404);
        // A missing required parameter is the API's usual 422 array.
        let missing = app
            .checked_with("GET", "/v1/Offer", app.request("GET", "/v1/Offer"), &ValidateOptions::default().allow_status(422))
            .await;
        assert_eq!(missing.status, 422);
        assert!(missing.body.unwrap().is_array());
    }

    /// A customer's offers carry signed links; in upgrade mode its current
    /// offer is left out and the links lead to the upgrade workflow.
    async fn customer_and_upgrade_offers(app: TestApp) {
        let c = customer(&app, "cust-up", None).await;
        let (_, body) = offers(&app, "ReferenceCustomer=cust-up").await;
        let body = body.unwrap();
        assert_eq!(rels(&body["Items"][1]), ["hosted-home", "insite-home", "hosted-subscribe", "insite-subscribe"]);
        assert!(body["Items"][1]["Links"][3]["query"].as_str().unwrap().len() > 30);
        let s = subscription(&app, c, "pro-monthly", "ActiveRunning").await;
        let (_, body) = offers(&app, "ReferenceCustomer=cust-up&Upgrade=true").await;
        let body = body.unwrap();
        assert_eq!(refs(&body), ["free", "pro-yearly", "enterprise-custom"]);
        assert_eq!(rels(&body["Items"][0]), ["hosted-home", "insite-home", "hosted-upgrade", "insite-upgrade"]);
        let (_, body) = offers(&app, &format!("IdSubscription={}", s.id)).await;
        assert_eq!(refs(&body.unwrap()), ["free", "pro-yearly", "enterprise-custom"]);
        assert_eq!(offers_not_found(&app, "IdSubscription=999999").await, 404);
    }

    /// Features: list (business-wide, or used in a segment), by reference
    /// (204 when unknown), by id (404 when unknown).
    async fn features(app: TestApp) {
        let (status, body) = app.checked("GET", "/v1/Features", app.request("GET", "/v1/Features")).await;
        assert_eq!(status, 200);
        let body = body.unwrap();
        let got: Vec<&str> = body["Items"].as_array().unwrap().iter().map(|f| f["ReferenceFeature"].as_str().unwrap()).collect();
        assert_eq!(got, ["support-24", "team-members", "e-signature", "projects"]);
        assert_eq!(body["Items"][1]["TitleLocalized"], "Team members");
        assert_eq!(body["Items"][1]["TypeFeature"], "Limitation");
        let (_, body) = app.checked("GET", "/v1/Features", app.request("GET", "/v1/Features?ReferenceSegment=demo-eur&SizePage=1")).await;
        let body = body.unwrap();
        assert_eq!((body["Count"].clone(), body["TotalItems"].clone()), (json!(1), json!(4)));
        let hidden = app.checked_with("GET", "/v1/Features", app.request("GET", "/v1/Features?IsVisible=false"), &ValidateOptions::default().allow_status(204)).await;
        assert_eq!(hidden.status, 204);

        let (status, body) = app.checked("GET", "/v1/Feature", app.request("GET", "/v1/Feature?ReferenceFeature=e-signature")).await;
        assert_eq!(status, 200);
        let body = body.unwrap();
        assert_eq!(body["TypeFeature"], "Consumption");
        let id = body["Id"].as_i64().unwrap();
        let (status, _) = app.checked("GET", "/v1/Feature", app.request("GET", "/v1/Feature?ReferenceFeature=nope")).await;
        assert_eq!(status, 204);
        let (status, body) = app.checked("GET", "/v1/Feature/{id}", app.request("GET", &format!("/v1/feature/{id}"))).await;
        assert_eq!((status, body.unwrap()["ReferenceFeature"].clone()), (200, json!("e-signature")));
        let (status, _) = app.checked("GET", "/v1/Feature/{id}", app.request("GET", "/v1/Feature/999999")).await;
        assert_eq!(status, 404);
        // Another business cannot read this one's feature by id.
        let other = app.second_business().await;
        let (status, _) = other.checked("GET", "/v1/Feature/{id}", other.request("GET", &format!("/v1/Feature/{id}"))).await;
        assert_eq!(status, 404);
    }
}
