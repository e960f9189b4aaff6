//! Small helpers to read `AnyRow` columns by name.
//!
//! Booleans need care: Postgres returns BOOLEAN, SQLite stores 0/1 INTEGER (the Any driver
//! cannot read columns *declared* BOOLEAN on SQLite), so `b()` accepts both.

use sqlx::Row;
use sqlx::any::AnyRow;

pub(crate) trait RowExt {
    fn i(&self, col: &str) -> sqlx::Result<i64>;
    fn oi(&self, col: &str) -> sqlx::Result<Option<i64>>;
    fn s(&self, col: &str) -> sqlx::Result<String>;
    fn os(&self, col: &str) -> sqlx::Result<Option<String>>;
    fn b(&self, col: &str) -> sqlx::Result<bool>;
}

impl RowExt for AnyRow {
    fn i(&self, col: &str) -> sqlx::Result<i64> {
        self.try_get(col)
    }

    fn oi(&self, col: &str) -> sqlx::Result<Option<i64>> {
        self.try_get(col)
    }

    fn s(&self, col: &str) -> sqlx::Result<String> {
        self.try_get(col)
    }

    fn os(&self, col: &str) -> sqlx::Result<Option<String>> {
        self.try_get(col)
    }

    fn b(&self, col: &str) -> sqlx::Result<bool> {
        match self.try_get::<bool, _>(col) {
            Ok(v) => Ok(v),
            Err(bool_err) => match self.try_get::<i64, _>(col) {
                Ok(v) => Ok(v != 0),
                Err(_) => Err(bool_err),
            },
        }
    }
}
