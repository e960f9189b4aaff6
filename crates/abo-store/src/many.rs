//! Placeholders for the set-based statements of the engine's batches: one
//! statement for many rows instead of one round trip per row. Only
//! placeholders are built here; every value is bound.
//!
//! Placeholders are numbered in the order they appear in the text, and
//! values are bound in that order: `$1, $2, …` on Postgres, anonymous `?`
//! on SQLite. SQLite keeps numbered (`$n`, `?n`) parameters in a list it
//! searches linearly when it parses and when sqlx binds each of them, which
//! makes a statement of n parameters cost n² (28 % of a renewal batch's
//! time with 16,000 parameters); anonymous ones cost nothing.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

/// Most rows per statement: a row binds at most 22 values, and both SQLite
/// (32,766) and Postgres (65,535) cap the values of one statement.
pub(crate) const CHUNK: usize = 1000;

/// The placeholders of one statement, in the order they appear.
pub(crate) struct Placeholders {
    sqlite: bool,
    next: usize,
}

impl Placeholders {
    /// For a statement on `conn`'s database.
    pub(crate) fn of(conn: &AnyConnection) -> Placeholders {
        Placeholders {
            sqlite: conn.backend_name().eq_ignore_ascii_case("sqlite"),
            next: 1,
        }
    }

    /// The next placeholder.
    pub(crate) fn one(&mut self) -> String {
        if self.sqlite {
            return "?".into();
        }
        let p = format!("${}", self.next);
        self.next += 1;
        p
    }

    /// `n` placeholders, comma-separated (for `IN (…)`).
    pub(crate) fn list(&mut self, n: usize) -> String {
        (0..n).map(|_| self.one()).collect::<Vec<_>>().join(", ")
    }

    /// `rows` tuples of `width` placeholders (for `VALUES …`).
    pub(crate) fn tuples(&mut self, rows: usize, width: usize) -> String {
        (0..rows)
            .map(|_| format!("({})", self.list(width)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The rows of `{select} business_id = ? AND {column} IN (…) {tail}` for
/// every id of `ids` (in chunks): the batches' reads of many rows by key.
/// `select` ends with `WHERE` or `AND`; `tail` is an `ORDER BY` or nothing.
pub(crate) async fn select_in(
    conn: &mut AnyConnection,
    select: &str,
    business_id: i64,
    column: &str,
    ids: &[i64],
    tail: &str,
) -> sqlx::Result<Vec<AnyRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let mut p = Placeholders::of(conn);
        let sql = format!(
            "{select} business_id = {} AND {column} IN ({}) {tail}",
            p.one(),
            p.list(chunk.len())
        );
        // Only placeholders and the caller's constant text are interpolated;
        // every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(business_id);
        for id in chunk {
            query = query.bind(*id);
        }
        out.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_in_order_on_postgres_anonymous_on_sqlite() {
        let mut pg = Placeholders {
            sqlite: false,
            next: 1,
        };
        assert_eq!(pg.one(), "$1");
        assert_eq!(pg.tuples(2, 2), "($2, $3), ($4, $5)");
        let mut lite = Placeholders {
            sqlite: true,
            next: 1,
        };
        assert_eq!(lite.list(3), "?, ?, ?");
    }
}
