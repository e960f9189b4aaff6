//! A segment's customer e-mails, settable through the admin API
//! (`/Organization/Segments/{ref}/Emails/{Type}`) and the catalogue file
//! (`[segment.emails]`, `abo_mail::catalog`), on SQLite and PostgreSQL: switches and
//! templates are stored and used; an unknown type or language, and a template that does not
//! render, are refused with a clear message and change nothing; a business only reaches its
//! own segments.

use abo_mail::{EmailType, Mailer, SmtpSettings, SmtpSink};
use abo_store::{emails, segments};
use abo_testkit::{TestApp, both_backends};
use mail_parser::MessageParser;
use serde_json::{Value, json};

async fn read(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn put(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    read(app.request("PUT", path).json(&body).send().await.unwrap()).await
}

const PAID: &str = "/Organization/Segments/demo-eur/Emails/InvoiceNewPaid";

async fn default_segment(app: &TestApp) -> i64 {
    let mut conn = app.store.acquire().await.unwrap();
    segments::get_by_reference(&mut conn, app.business_id, "demo-eur")
        .await
        .unwrap()
        .id
}

/// The catalogue with an `[segment.emails]` part added to the demo segment.
fn catalog_with_emails(emails: &str) -> String {
    let demo = abo_service::demo::DEMO_CATALOG;
    let segment_end = demo
        .find("\n[[feature]]")
        .expect("the demo catalogue starts with its segment");
    format!(
        "{}\n{emails}\n{}",
        &demo[..segment_end],
        &demo[segment_end..]
    )
}

both_backends! {
    /// Switching on, overriding per language, and reading back; the override is what the
    /// customer receives.
    async fn switches_and_templates_are_set_through_the_api(app: TestApp) {
        let (status, all) = read(app.get("/Organization/Segments/demo-eur/Emails").await).await;
        assert_eq!(status, 200, "{all}");
        let all = all.as_array().unwrap();
        assert_eq!(all.len(), EmailType::ALL.len() + EmailType::ON_REQUEST.len());
        assert!(all.iter().all(|t| t["Enabled"] == (t["Automatic"] == false)), "{all:?}");

        let (status, body) = put(&app, PAID, json!({
            "Enabled": true,
            "Templates": [
                {"Language": "fr", "Subject": "Merci ! Facture {{ invoice_number }} réglée"},
                {"Language": "en", "BodyText": "Paid: {{ invoice_number }} {{ link }}"}
            ]
        })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["Enabled"], true);
        let (status, shown) = read(app.get(&PAID.to_lowercase()).await).await;
        assert_eq!(status, 200);
        assert_eq!(shown, body);
        assert_eq!(shown["Templates"][0]["Language"], "en");
        assert_eq!(shown["Templates"][1]["Subject"], "Merci ! Facture {{ invoice_number }} réglée");

        // Templates is the complete set: leaving French out gives Abo's wording back.
        let (status, body) = put(&app, PAID, json!({
            "Templates": [{"Language": "en", "Subject": "Paid {{ invoice_number }}"}]
        })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["Enabled"], true, "Enabled left out is unchanged");
        assert_eq!(body["Templates"].as_array().unwrap().len(), 1);

        // The on-request e-mail's wording is the merchant's too, and is what is sent.
        let (status, body) = put(&app, "/Organization/Segments/demo-eur/Emails/HostedLinkSent", json!({
            "Templates": [{"Language": "en", "Subject": "{{ seller_name }}: here is your {{ link_kind }} link"}]
        })).await;
        assert_eq!(status, 200, "{body}");
        let (_, created) = read(app.post_json("/v1/Customer", &json!({
            "ReferenceCustomer": "rita", "Email": "rita@customer.example", "Language": "en"
        })).await).await;
        let id = created["Id"].as_i64().unwrap();
        let (status, _) = read(app.post_json(
            &format!("/Distribution/Customers/{id}/Links/Send"),
            &json!({"Kind": "BillingAddress"}),
        ).await).await;
        assert_eq!(status, 202);
        let sink = SmtpSink::start(0).await.unwrap();
        let mailer = Mailer::new(
            &SmtpSettings::loopback(sink.port(), "Acme <billing@acme.example>"),
            &app.base_url,
        )
        .unwrap();
        abo_engine::Engine::new(app.store.clone())
            .with_mailer(mailer)
            .run_due(app.now_us(), "emails-test")
            .await
            .unwrap();
        let raw = &sink.wait_for(1).await[0];
        let message = MessageParser::default().parse(&raw.data).unwrap();
        assert!(
            message.subject().unwrap().ends_with(": here is your BillingAddress link"),
            "{:?}",
            message.subject()
        );
    }

    /// Unknown types and languages, broken templates and impossible switches are 422s that
    /// say what is wrong, and store nothing.
    async fn bad_settings_are_refused_and_nothing_is_stored(app: TestApp) {
        let (status, body) = put(&app, PAID, json!({
            "Enabled": true,
            "Templates": [{"Language": "en", "Subject": "Kept {{ invoice_number }}"}]
        })).await;
        assert_eq!(status, 200, "{body}");

        let (status, body) = read(app.get("/Organization/Segments/demo-eur/Emails/InvoiceNewPaied").await).await;
        assert_eq!(status, 422);
        assert_eq!(body[0]["Code"], "Error.Api.Validation.Type");
        assert!(body[0]["Message"].as_str().unwrap().contains("InvoiceNewPaid"), "{body}");

        let (status, body) = put(&app, PAID, json!({
            "Enabled": false,
            "Templates": [{"Language": "de", "Subject": "Rechnung"}]
        })).await;
        assert_eq!(status, 422);
        assert_eq!(body[0]["Code"], "Error.Api.Validation.Language");

        // A template that does not compile: minijinja's message, with where it failed.
        let (status, body) = put(&app, PAID, json!({
            "Enabled": false,
            "Templates": [{"Language": "fr", "BodyHtml": "<p>{% if customer_name %}Bonjour</p>"}]
        })).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body[0]["Code"], "Error.Api.Validation.Template");
        let message = body[0]["Message"].as_str().unwrap();
        assert!(message.contains("body.html") && message.contains("syntax error"), "{message}");

        // One that compiles but fails when rendered (a filter that does not exist).
        let (status, body) = put(&app, PAID, json!({
            "Templates": [{"Language": "en", "Subject": "{{ amount | shout }}"}]
        })).await;
        assert_eq!(status, 422, "{body}");
        assert!(body[0]["Message"].as_str().unwrap().contains("shout"), "{body}");

        let (status, body) = put(&app, "/Organization/Segments/demo-eur/Emails/HostedLinkSent", json!({"Enabled": false})).await;
        assert_eq!(status, 422);
        assert_eq!(body[0]["Code"], "Error.Api.Validation.Enabled");

        let (status, body) = put(&app, PAID, json!({"Enabeld": false})).await;
        assert_eq!(status, 422, "{body}");

        // Nothing of the refused requests was stored.
        let (_, shown) = read(app.get(PAID).await).await;
        assert_eq!(shown["Enabled"], true);
        assert_eq!(shown["Templates"], json!([{"Language": "en", "Subject": "Kept {{ invoice_number }}", "BodyHtml": null, "BodyText": null}]));

        let (status, body) = read(app.get("/Organization/Segments/nowhere/Emails/InvoiceNewPaid").await).await;
        assert_eq!(status, 404, "{body}");

        // Another business's segment of the same reference is its own.
        let other = app.second_business().await;
        let (status, body) = read(other.get(PAID).await).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["Enabled"], false);
        assert_eq!(body["Templates"], json!([]));
        let (status, _) = read(app.unauthenticated().get(PAID).await).await;
        assert_eq!(status, 401);
    }

    /// `[segment.emails]` in the catalogue: the listed types on and the others off, the
    /// templates stored; a bad type or template fails the whole import, changing nothing.
    async fn the_catalogue_sets_a_segments_emails(app: TestApp) {
        let segment = default_segment(&app).await;
        let good = catalog_with_emails(r#"
[segment.emails]
enabled = ["InvoiceNewPaid", "CardExpiresSoon"]

[[segment.emails.template]]
type = "InvoiceNewPaid"
language = "fr"
subject = "Facture {{ invoice_number }} réglée"
"#);
        let file = abo_service::catalog::parse_catalog(&good).unwrap();
        abo_mail::catalog::import_catalog(&app.store, app.business_id, &file, app.now_us())
            .await
            .unwrap();
        let mut conn = app.store.acquire().await.unwrap();
        assert_eq!(
            emails::enabled_types(&mut conn, app.business_id, segment).await.unwrap(),
            ["CardExpiresSoon", "InvoiceNewPaid"]
        );
        let custom = emails::template_override(&mut conn, app.business_id, segment, "InvoiceNewPaid", "fr")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(custom.subject.as_deref(), Some("Facture {{ invoice_number }} réglée"));
        drop(conn);

        // abo-service alone cannot check e-mail settings: it refuses them rather than
        // storing them unchecked.
        let err = abo_service::catalog::import_catalog(&app.store, app.business_id, &file, app.now_us())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("abo_mail::catalog"), "{err}");

        for (bad, expected) in [
            ("[segment.emails]\nenabled = [\"InvoiceNewPayed\"]\n", "unknown e-mail type \"InvoiceNewPayed\""),
            ("[segment.emails]\nenabled = [\"HostedLinkSent\"]\n", "always on"),
            (
                "[segment.emails]\nenabled = []\n[[segment.emails.template]]\ntype = \"CardExpired\"\nlanguage = \"en\"\nbody_text = \"{% for %}\"\n",
                "CardExpired (en) body.txt",
            ),
            (
                "[segment.emails]\n[[segment.emails.template]]\ntype = \"CardExpired\"\nlanguage = \"es\"\n",
                "unknown language \"es\"",
            ),
        ] {
            let file = abo_service::catalog::parse_catalog(&catalog_with_emails(bad)).unwrap();
            let err = abo_mail::catalog::import_catalog(&app.store, app.business_id, &file, app.now_us())
                .await
                .unwrap_err()
                .to_string();
            assert!(err.contains("segment demo-eur e-mails: "), "{err}");
            assert!(err.contains(expected), "{bad}: {err}");
        }
        // Unknown keys in the e-mail part are the file's errors, with the line.
        let typo = catalog_with_emails("[segment.emails]\nenable = [\"InvoiceNewPaid\"]\n");
        let err = abo_service::catalog::parse_catalog(&typo).unwrap_err().to_string();
        assert!(err.contains("line ") && err.contains("enable"), "{err}");

        // Nothing changed by the failed imports.
        let mut conn = app.store.acquire().await.unwrap();
        assert_eq!(
            emails::enabled_types(&mut conn, app.business_id, segment).await.unwrap(),
            ["CardExpiresSoon", "InvoiceNewPaid"]
        );
        assert!(emails::template_override(&mut conn, app.business_id, segment, "CardExpired", "en")
            .await
            .unwrap()
            .is_none());
        drop(conn);

        // `all`, and no templates: every automatic type on, the French wording back to Abo's.
        let file = abo_service::catalog::parse_catalog(&catalog_with_emails("[segment.emails]\nenabled = [\"all\"]\n")).unwrap();
        abo_mail::catalog::import_catalog(&app.store, app.business_id, &file, app.now_us())
            .await
            .unwrap();
        let mut conn = app.store.acquire().await.unwrap();
        assert_eq!(
            emails::enabled_types(&mut conn, app.business_id, segment).await.unwrap().len(),
            EmailType::ALL.len()
        );
        assert!(emails::template_override(&mut conn, app.business_id, segment, "InvoiceNewPaid", "fr")
            .await
            .unwrap()
            .is_none());
    }
}
