//! `abo invoice cancel|refund`: an operator credits invoices from the command
//! line; the answer is one line, and a refusal one clear error line with a
//! non-zero exit and nothing changed.

use std::path::Path;
use std::process::{Command, Output};

use abo_service::billing::register_offline_payment;
use abo_store::{Store, invoices};

// The billing fixture of abo-service's tests.
#[path = "../../abo-service/tests/common/mod.rs"]
mod common;

use common::NOW;

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
    let t = common::tenant(&store, "CLI Co", None).await;
    let customer_id = common::customer(&store, &t, "c1", "ExternalBank").await;
    let mut ids = Vec::new();
    for key in ["l1", "l2"] {
        ids.push(common::bill_19000(&store, &t, customer_id, key).await);
    }
    let (business_id, segment_id) = (t.business_id, t.segment.id);
    register_offline_payment(&store, business_id, ids[1], "ExternalBank", NOW, None, NOW)
        .await
        .unwrap();
    store.close().await;
    (business_id, segment_id, ids[0], ids[1])
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
