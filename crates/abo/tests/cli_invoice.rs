//! `abo invoice cancel|refund`: an operator credits invoices from the command
//! line; the answer is one line, and a refusal one clear error line with a
//! non-zero exit and nothing changed.

use std::path::Path;
use std::process::{Command, Output};

use abo_service::billing::{bill_customer, register_offline_payment};
use abo_service::business::{BusinessSpec, create_business};
use abo_store::balance_lines::{self, NewBalanceLine};
use abo_store::customers::{self, BillingAddress, NewCustomer, PaymentSettingsPatch};
use abo_store::segments::{self, NewSegment};
use abo_store::{Store, invoices};

const NOW: i64 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z

fn abo(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_abo"));
    cmd.current_dir(dir)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env_remove("ABO_DATABASE_URL")
        .env("ABO_LOG", "warn");
    cmd
}

fn out(o: &Output) -> (bool, String, String) {
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A business with a customer paying by bank transfer and two invoices of
/// 22800 (19000 + 20 % VAT), the second one paid.
async fn seed(dir: &Path) -> (i64, i64, i64, i64) {
    let store = Store::connect(&format!("sqlite://{}/data/abo.db", dir.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let business_id = create_business(
        &store,
        &BusinessSpec {
            name: "CLI Co".into(),
            country: "FR".into(),
            default_language: "en".into(),
            is_test: true,
        },
        NOW,
    )
    .await
    .unwrap()
    .business
    .id;
    let mut c = store.acquire().await.unwrap();
    let segment = segments::create(
        &mut c,
        &NewSegment {
            business_id,
            reference: "main".into(),
            name: "main".into(),
            currency: "EUR".into(),
            time_zone: None,
            locale: None,
            is_default: true,
            invoice_prefix: None,
            credit_note_prefix: None,
        },
        NOW,
    )
    .await
    .unwrap();
    let cust = customers::create(
        &mut c,
        &NewCustomer {
            business_id,
            segment_id: segment.id,
            reference: "c1".into(),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    customers::update_billing_address(
        &mut c,
        business_id,
        cust.id,
        &BillingAddress {
            country: Some("FR".into()),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    customers::update_payment_settings(
        &mut c,
        business_id,
        cust.id,
        &PaymentSettingsPatch {
            type_payment: Some("ExternalBank".into()),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    drop(c);
    let mut ids = Vec::new();
    for key in ["l1", "l2"] {
        let mut c = store.acquire().await.unwrap();
        balance_lines::insert(
            &mut c,
            &NewBalanceLine {
                business_id,
                segment_id: segment.id,
                customer_id: cust.id,
                type_line: "Manual".into(),
                label: "Consulting".into(),
                quantity_billed: Some(1),
                amount_subtotal: 19000,
                currency: "EUR".into(),
                date_move_us: Some(NOW),
                natural_key: Some(key.into()),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        drop(c);
        ids.push(
            bill_customer(&store, business_id, cust.id, NOW)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    register_offline_payment(&store, business_id, ids[1], "ExternalBank", NOW, None, NOW)
        .await
        .unwrap();
    store.close().await;
    (business_id, segment.id, ids[0], ids[1])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_refund_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (business, segment, unpaid, paid) = seed(dir.path()).await;
    let b = business.to_string();

    // Cancel by number.
    let number = format!("S-{segment}.00000001");
    let o = abo(dir.path())
        .args([
            "invoice",
            "cancel",
            "--business",
            &b,
            &number,
            "--reason",
            "Duplicate",
        ])
        .output()
        .unwrap();
    let (ok, stdout, stderr) = out(&o);
    assert!(ok, "{stderr}");
    assert_eq!(
        stdout.trim(),
        format!(
            "credit note C-{segment}.00000001 (Voiding, €228.00) issued for invoice {number}, now Void"
        )
    );

    // A refund above what remains: one error line, nothing issued.
    let o = abo(dir.path())
        .args([
            "invoice",
            "refund",
            "--business",
            &b,
            &paid.to_string(),
            "--amount",
            "22801",
        ])
        .output()
        .unwrap();
    let (ok, _, stderr) = out(&o);
    assert!(!ok);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("exceeds"),
        "{stderr}"
    );

    // Part of the paid one, then the rest: recorded (offline payment).
    let o = abo(dir.path())
        .args([
            "invoice",
            "refund",
            "--business",
            &b,
            &paid.to_string(),
            "--amount",
            "800",
        ])
        .output()
        .unwrap();
    let (ok, stdout, stderr) = out(&o);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(&format!("C-{segment}.00000002 (Refund, €8.00)")),
        "{stdout}"
    );
    assert!(stdout.contains("now Paid, recorded"), "{stdout}");
    let o = abo(dir.path())
        .args(["invoice", "refund", "--business", &b, &paid.to_string()])
        .output()
        .unwrap();
    let (ok, stdout, stderr) = out(&o);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("(Refund, €220.00)") && stdout.contains("now PaidRefunded"),
        "{stdout}"
    );

    // An unknown invoice: one clear line.
    let o = abo(dir.path())
        .args(["invoice", "cancel", "--business", &b, "S-999.00000001"])
        .output()
        .unwrap();
    let (ok, _, stderr) = out(&o);
    assert!(!ok);
    assert!(
        stderr.contains("invoice S-999.00000001 not found"),
        "{stderr}"
    );

    let store = Store::connect(&format!("sqlite://{}/data/abo.db", dir.path().display()))
        .await
        .unwrap();
    let mut c = store.acquire().await.unwrap();
    assert_eq!(
        invoices::get(&mut c, business, unpaid).await.unwrap().state,
        "Void"
    );
    let notes = invoices::list_credit_notes(&mut c, business, paid)
        .await
        .unwrap();
    assert_eq!(notes.iter().map(|n| n.amount_total).sum::<i64>(), 22800);
}
