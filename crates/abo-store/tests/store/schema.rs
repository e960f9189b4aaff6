use abo_store::businesses::{self, NewBusiness};
use abo_store::{Backend, Store};

use crate::fixtures::NOW;

async fn migrations_are_idempotent(store: Store) {
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
    let mut conn = store.acquire().await.unwrap();
    let b = businesses::create(
        &mut conn,
        &NewBusiness {
            name: "Acme".into(),
            country: "FR".into(),
            default_language: "fr".into(),
            is_test: true,
        },
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(businesses::get(&mut conn, b.id).await.unwrap(), b);
    assert!(b.is_test);
    let b = businesses::set_test_clock(&mut conn, b.id, Some(NOW + 1))
        .await
        .unwrap();
    assert_eq!(b.test_clock_us, Some(NOW + 1));
    assert!(
        businesses::get(&mut conn, b.id + 1000)
            .await
            .unwrap_err()
            .is_not_found()
    );
}
abo_store::both_backends!(migrations_are_idempotent => sqlite_migrations_are_idempotent, postgres_migrations_are_idempotent);

async fn begin_uses_the_right_transaction(store: Store) {
    // A committed write is visible; a rolled-back one is not.
    let mut tx = store.begin().await.unwrap();
    let new = NewBusiness {
        name: "Tx".into(),
        country: "FR".into(),
        default_language: "en".into(),
        is_test: false,
    };
    let kept = businesses::create(&mut tx, &new, NOW).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let dropped = businesses::create(&mut tx, &new, NOW).await.unwrap();
    tx.rollback().await.unwrap();
    let mut conn = store.acquire().await.unwrap();
    businesses::get(&mut conn, kept.id).await.unwrap();
    assert!(businesses::get(&mut conn, dropped.id).await.is_err());
}
abo_store::both_backends!(begin_uses_the_right_transaction => sqlite_begin_uses_the_right_transaction, postgres_begin_uses_the_right_transaction);

#[tokio::test]
async fn sqlite_in_memory_works() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
}

#[tokio::test]
async fn sqlite_file_and_directories_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/abo.db");
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    assert!(path.is_file());
    store.close().await;
}
