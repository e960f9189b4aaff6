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

impl RowExt for crate::many::Row {
    fn i(&self, col: &str) -> sqlx::Result<i64> {
        self.oi(col)?.ok_or_else(|| null(col))
    }

    fn oi(&self, col: &str) -> sqlx::Result<Option<i64>> {
        match self {
            crate::many::Row::Any(r) => r.oi(col),
            packed => match packed.value(col)? {
                serde_json::Value::Null => Ok(None),
                v => v
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| mismatch(col, "an integer")),
            },
        }
    }

    fn s(&self, col: &str) -> sqlx::Result<String> {
        self.os(col)?.ok_or_else(|| null(col))
    }

    fn os(&self, col: &str) -> sqlx::Result<Option<String>> {
        match self {
            crate::many::Row::Any(r) => r.os(col),
            packed => match packed.value(col)? {
                serde_json::Value::Null => Ok(None),
                serde_json::Value::String(s) => Ok(Some(s.clone())),
                _ => Err(mismatch(col, "a text")),
            },
        }
    }

    fn b(&self, col: &str) -> sqlx::Result<bool> {
        match self {
            crate::many::Row::Any(r) => r.b(col),
            // SQLite stores booleans as 0/1.
            _ => Ok(self.i(col)? != 0),
        }
    }
}

impl crate::many::Row {
    /// The value of column `col` of a packed row.
    fn value(&self, col: &str) -> sqlx::Result<&serde_json::Value> {
        let crate::many::Row::Packed { columns, values } = self else {
            unreachable!("only packed rows hold JSON values")
        };
        columns
            .iter()
            .position(|c| c == col)
            .and_then(|i| values.get(i))
            .ok_or_else(|| sqlx::Error::ColumnNotFound(col.to_owned()))
    }
}

fn null(col: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: col.to_owned(),
        source: "unexpected NULL".into(),
    }
}

fn mismatch(col: &str, expected: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: col.to_owned(),
        source: format!("expected {expected}").into(),
    }
}
