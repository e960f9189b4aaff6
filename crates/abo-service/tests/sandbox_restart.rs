//! The sandbox gateways keep their state in the database: a node restarted
//! in the middle of a SEPA debit (a new `Store` on the same SQLite file, or
//! on the same PostgreSQL database, and new `Gateways`) still settles it,
//! and the test cards keep their documented behaviour across the restart.

use abo_core::{Currency, Money};
use abo_gateway::{
    CardDetails, ChargeContext, ChargeOutcome, ChargeRequest, DirectDebitDetails, FailureReason,
    PaymentDetails, PaymentGateway, PermissionId,
};
use abo_service::billing::permissions::register_permission;
use abo_service::billing::{
    CollectOutcome, Gateways, bill_customer, collect_invoice, poll_payment,
};
use abo_store::testing::postgres;
use abo_store::{Store, invoices};

mod common;

use common::{DAY, NOW};

async fn open(url: &str) -> Store {
    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    store
}

/// What the first life of the node leaves behind.
struct Before {
    business_id: i64,
    invoice_id: i64,
    settles_at_us: i64,
    mandate_id: i64,
    card: PermissionId,
}

async fn first_life(store: &Store) -> Before {
    let gateways = Gateways::persistent(store.clone());
    let t = common::tenant(store, "Restart Co", None).await;
    let business_id = t.business_id;
    let customer_id = common::customer(store, &t, "sepa", "Free").await;
    common::due_19000(store, &t, customer_id, "restart:1").await;
    let mandate = register_permission(
        store,
        &gateways,
        business_id,
        customer_id,
        &PaymentDetails::DirectDebit(DirectDebitDetails {
            iban: "DE89 3704 0044 0532 0130 00".into(),
            holder_name: "Jane Doe".into(),
            mandate_accepted: true,
        }),
        NOW,
    )
    .await
    .unwrap();
    let invoice_id = bill_customer(store, business_id, customer_id, NOW)
        .await
        .unwrap()
        .unwrap();
    let outcome = collect_invoice(store, &gateways, business_id, invoice_id, 1, NOW + 3 * DAY)
        .await
        .unwrap();
    let CollectOutcome::Pending { settles_at_us } = outcome else {
        panic!("{outcome:?}")
    };
    // A documented test card registered in the first life: ok at
    // registration, insufficient funds at renewal.
    let registration = gateways
        .card
        .register_permission(
            "sepa",
            &PaymentDetails::Card(CardDetails {
                number: "4200 4600 3702 5901".into(),
                expiry: "12/30".into(),
                cvc: "123".into(),
                country: None,
            }),
            jiff::Timestamp::from_microsecond(NOW).unwrap(),
        )
        .await
        .unwrap();
    Before {
        business_id,
        invoice_id,
        settles_at_us,
        mandate_id: mandate.id,
        card: registration.permission().id.clone(),
    }
}

async fn second_life(store: &Store, before: &Before) {
    let gateways = Gateways::persistent(store.clone());
    // The bank has not answered before the settlement date...
    let mut c = store.acquire().await.unwrap();
    let attempt =
        abo_store::payments::find_attempt(&mut c, before.business_id, before.invoice_id, 1)
            .await
            .unwrap()
            .unwrap();
    drop(c);
    let charge = abo_gateway::ChargeId(attempt.charge_id.unwrap());
    let early = gateways
        .direct_debit
        .poll(
            &charge,
            jiff::Timestamp::from_microsecond(before.settles_at_us - 1).unwrap(),
        )
        .await
        .unwrap();
    assert!(matches!(early, ChargeOutcome::Pending { .. }), "{early:?}");
    // ...at it, the debit started before the restart settles.
    let settled = poll_payment(
        store,
        &gateways,
        before.business_id,
        before.invoice_id,
        1,
        before.settles_at_us,
    )
    .await
    .unwrap();
    assert_eq!(settled, CollectOutcome::Paid);
    let mut c = store.acquire().await.unwrap();
    let invoice = invoices::get(&mut c, before.business_id, before.invoice_id)
        .await
        .unwrap();
    assert_eq!(invoice.state, "Paid");
    let mandate =
        abo_store::payments::get_permission(&mut c, before.business_id, before.mandate_id)
            .await
            .unwrap();
    drop(c);
    let known = gateways
        .direct_debit
        .permission(&PermissionId(mandate.gateway_permission_id.clone()))
        .await
        .unwrap();
    assert_eq!(known.mandate_reference, mandate.mandate_reference);

    // The card keeps its documented behaviour: insufficient funds at renewal.
    let at = jiff::Timestamp::from_microsecond(NOW + 30 * DAY).unwrap();
    let receipt = gateways
        .card
        .charge(
            &ChargeRequest {
                permission_id: before.card.clone(),
                amount: Money::new(1900, Currency::EUR),
                context: ChargeContext::Renewal,
                idempotency_key: "restart:renewal:1".into(),
            },
            at,
        )
        .await
        .unwrap();
    assert_eq!(
        receipt.outcome,
        ChargeOutcome::Failed {
            reason: FailureReason::InsufficientFunds,
            retryable: true
        }
    );
    // New ids continue the shared sequence: nothing handed out before is reused.
    assert_ne!(receipt.charge_id.as_str(), "cd_ch_000001");
    assert!(gateways.card.get_charge(&receipt.charge_id).await.is_ok());
}

async fn restart(url: String) {
    let store = open(&url).await;
    let before = first_life(&store).await;
    store.close().await;
    let store = open(&url).await;
    second_life(&store, &before).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_sepa_debit_settles_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    restart(format!("sqlite://{}/abo.db", dir.path().display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_sepa_debit_settles_after_restart() {
    let Some(admin) = postgres::postgres_url_or_skip("postgres_sepa_debit_settles_after_restart")
    else {
        return;
    };
    let db = postgres::new_database_name();
    postgres::create_database(&admin, &db).await.unwrap();
    let url = postgres::with_database(&admin, &db);
    let result = tokio::spawn(restart(url)).await;
    let _ = postgres::drop_database(&admin, &db).await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
