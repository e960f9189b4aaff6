//! `abo import`: idempotent, all-or-nothing, with errors that name the entry.
//! Every test runs on SQLite and PostgreSQL.

use abo_service::ServiceError;
use abo_service::business::{BusinessSpec, create_business};
use abo_service::catalog::{import_catalog, parse_catalog};
use abo_service::demo::DEMO_CATALOG;
use abo_store::{Store, both_backends, features, offers, pricing_tables, segments};

const NOW: i64 = 1_780_000_000_000_000;

async fn business(store: &Store) -> i64 {
    let spec = BusinessSpec {
        name: "Acme".into(),
        country: "FR".into(),
        default_language: "en".into(),
        is_test: true,
    };
    create_business(store, &spec, NOW)
        .await
        .unwrap()
        .business
        .id
}

/// Everything the catalogue import writes, as comparable text.
async fn snapshot(store: &Store, business_id: i64) -> String {
    let mut conn = store.acquire().await.unwrap();
    let mut out = String::new();
    for s in segments::list(&mut conn, business_id).await.unwrap() {
        out += &format!("{s:?}\n");
        let page = offers::list(
            &mut conn,
            business_id,
            s.id,
            abo_store::PageRequest::new(0, 1000),
        )
        .await
        .unwrap();
        for o in page.items {
            out += &format!("{o:?}\n");
        }
        for t in pricing_tables::list(&mut conn, business_id, s.id)
            .await
            .unwrap()
        {
            out += &format!("{t:?}\n");
        }
    }
    for f in features::list(&mut conn, business_id).await.unwrap() {
        out += &format!("{f:?}\n");
    }
    out
}

async fn demo_catalog_imports_once(store: Store) {
    let b = business(&store).await;
    let file = parse_catalog(DEMO_CATALOG).unwrap();
    let first = import_catalog(&store, b, &file, NOW).await.unwrap();
    // 1 segment, 4 features, 4 offers, 2 pricing tables, 2 discounts.
    assert_eq!(
        (first.created, first.updated, first.unchanged),
        (13, 0, 0),
        "{first}"
    );
    let before = snapshot(&store, b).await;

    let second = import_catalog(&store, b, &file, NOW + 1_000_000)
        .await
        .unwrap();
    assert_eq!(
        (second.created, second.updated, second.unchanged),
        (0, 0, 13),
        "{second}"
    );
    assert_eq!(
        snapshot(&store, b).await,
        before,
        "a second import must change nothing"
    );

    // The tiered feature landed exactly: 2 included, 15/12/8 euros.
    let mut conn = store.acquire().await.unwrap();
    let seg = segments::get_by_reference(&mut conn, b, "demo-eur")
        .await
        .unwrap();
    let pro = offers::get_by_reference(&mut conn, b, seg.id, "pro-monthly")
        .await
        .unwrap();
    assert_eq!(
        (
            pro.amount_recurrence,
            pro.amount_upfront,
            pro.duration_trial
        ),
        (1900, 4900, Some(14))
    );
    let seats = pro
        .features
        .iter()
        .find(|f| f.feature_reference == "team-members")
        .unwrap();
    assert_eq!(seats.terms.quantity_included, Some(2));
    assert_eq!(seats.terms.pricing_model, "Graduated");
    let tiers: Vec<_> = seats
        .terms
        .tiers
        .iter()
        .map(|t| (t.up_to, t.amount))
        .collect();
    assert_eq!(tiers, vec![(Some(5), 1500), (Some(10), 1200), (None, 800)]);
}
both_backends!(demo_catalog_imports_once => sqlite_demo_catalog_imports_once, postgres_demo_catalog_imports_once);

async fn a_change_updates_only_what_changed(store: Store) {
    let b = business(&store).await;
    import_catalog(&store, b, &parse_catalog(DEMO_CATALOG).unwrap(), NOW)
        .await
        .unwrap();
    let edited = DEMO_CATALOG.replace(
        "amount_recurrence = \"19.00\"",
        "amount_recurrence = \"21.00\"",
    );
    let report = import_catalog(&store, b, &parse_catalog(&edited).unwrap(), NOW)
        .await
        .unwrap();
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (0, 1, 12),
        "{report}"
    );
    let mut conn = store.acquire().await.unwrap();
    let seg = segments::get_by_reference(&mut conn, b, "demo-eur")
        .await
        .unwrap();
    let pro = offers::get_by_reference(&mut conn, b, seg.id, "pro-monthly")
        .await
        .unwrap();
    assert_eq!(pro.amount_recurrence, 2100);
}
both_backends!(a_change_updates_only_what_changed => sqlite_a_change_updates_only_what_changed, postgres_a_change_updates_only_what_changed);

/// Each bad catalogue is refused with a message naming the entry, and the
/// database is exactly as before.
async fn bad_catalogues_change_nothing(store: Store) {
    let b = business(&store).await;
    import_catalog(&store, b, &parse_catalog(DEMO_CATALOG).unwrap(), NOW)
        .await
        .unwrap();
    let before = snapshot(&store, b).await;

    let cases: &[(&str, &str, &str)] = &[
        // (what to replace, replacement, expected words in the error)
        (
            "amount_recurrence = \"19.00\"",
            "amount_recurrence = \"19.001\"",
            "offer 'pro-monthly': amount_recurrence '19.001' has more decimals than EUR allows",
        ),
        (
            "amount_recurrence = \"19.00\"",
            "amount_recurrence = 19.5",
            "write amounts as strings",
        ),
        (
            "amount_recurrence = \"19.00\"",
            "amount_recurrence = \"-1\"",
            "amount_recurrence cannot be negative",
        ),
        (
            "recurrence = \"1 Month\"\namount_recurrence = \"19.00\"",
            "recurrence = \"1 Fortnight\"\namount_recurrence = \"19.00\"",
            "offer 'pro-monthly': recurrence must look like",
        ),
        (
            "type = \"Limitation\"\ndescription = \"People",
            "type = \"Seats\"\ndescription = \"People",
            "feature 'team-members': type must be OnOff, Limitation or Consumption",
        ),
        (
            "reference = \"pro-yearly\"",
            "reference = \"pro<yearly\"",
            "offer 'pro<yearly'",
        ),
        (
            "offers = [\"free\", \"pro-yearly\"]",
            "offers = [\"free\", \"platinum\"]",
            "pricing table 'yearly': offer 'platinum' is not defined",
        ),
        (
            "  feature = \"projects\"\n  included = 10",
            "  feature = \"project\"\n  included = 10",
            "offer 'pro-monthly': feature 'project': unknown feature",
        ),
        (
            "{ up_to = 10, unit = \"12.00\" },",
            "{ up_to = 4, unit = \"12.00\" },",
            "offer 'pro-monthly'",
        ),
        (
            "currency = \"EUR\"",
            "currency = \"EUX\"",
            "segment 'demo-eur'",
        ),
        (
            "percent = \"50\"",
            "percent = \"150\"",
            "discount '50percent-upfrontfee'",
        ),
        (
            "time_zone = \"Europe/Paris\"",
            "time_zone = \"Mars/Olympus\"",
            "unknown time zone",
        ),
        ("locale = \"en\"", "locale = \"xx\"", "unsupported locale"),
        ("name = \"Free\"", "nmae = \"Free\"", "unknown field `nmae`"),
    ];
    for (from, to, expected) in cases {
        assert!(
            DEMO_CATALOG.contains(from),
            "test case does not apply: {from}"
        );
        let text = DEMO_CATALOG.replacen(from, to, 1);
        let err = match parse_catalog(&text) {
            Ok(file) => import_catalog(&store, b, &file, NOW + 1).await.unwrap_err(),
            Err(e) => e,
        };
        let message = err.to_string();
        assert!(matches!(err, ServiceError::Invalid(_)), "{message}");
        assert!(
            message.contains(expected),
            "expected {expected:?} in {message:?}"
        );
        assert!(!message.contains('\n'), "one line: {message:?}");
        assert_eq!(
            snapshot(&store, b).await,
            before,
            "database changed after: {message}"
        );
    }
}
both_backends!(bad_catalogues_change_nothing => sqlite_bad_catalogues_change_nothing, postgres_bad_catalogues_change_nothing);

/// A failure half-way (after segments and features were written) rolls
/// everything back: the import is one transaction.
async fn failure_after_writes_rolls_back(store: Store) {
    let b = business(&store).await;
    let before = snapshot(&store, b).await;
    // Valid for the converter, refused by the store: a segment of this business
    // cannot change currency. The new feature before it must not survive.
    let first = "[[segment]]\nreference = \"s\"\ncurrency = \"EUR\"\n";
    import_catalog(&store, b, &parse_catalog(first).unwrap(), NOW)
        .await
        .unwrap();
    let before_second = snapshot(&store, b).await;
    assert_ne!(before, before_second);
    let second = "[[segment]]\nreference = \"t\"\ncurrency = \"USD\"\n\n[[segment]]\nreference = \"s\"\ncurrency = \"USD\"\n";
    let err = import_catalog(&store, b, &parse_catalog(second).unwrap(), NOW)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("segment 's'"), "{err}");
    assert_eq!(
        snapshot(&store, b).await,
        before_second,
        "segment 't' must have been rolled back"
    );
}
both_backends!(failure_after_writes_rolls_back => sqlite_failure_after_writes_rolls_back, postgres_failure_after_writes_rolls_back);

#[test]
fn syntax_errors_name_the_line() {
    let err = parse_catalog("[[segment]]\nreference = \"a\"\ncurrency = EUR\n")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("line 3:"), "{err}");
}
