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

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, AnyConnection, Executor, Statement};

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
        let mut out = String::new();
        self.push(&mut out);
        out
    }

    /// Appends the next placeholder to `out` (a batch's statement has tens
    /// of thousands: one allocation each showed in its profile).
    fn push(&mut self, out: &mut String) {
        if self.sqlite {
            out.push('?');
            return;
        }
        use std::fmt::Write;
        let _ = write!(out, "${}", self.next);
        self.next += 1;
    }

    /// Appends `n` placeholders, comma-separated, to `out`.
    fn push_list(&mut self, n: usize, out: &mut String) {
        for i in 0..n {
            if i > 0 {
                out.push_str(", ");
            }
            self.push(out);
        }
    }

    /// `n` placeholders, comma-separated (for `IN (…)`).
    pub(crate) fn list(&mut self, n: usize) -> String {
        let mut out = String::with_capacity(n * 8);
        self.push_list(n, &mut out);
        out
    }

    /// `rows` tuples of `width` placeholders (for `VALUES …`).
    pub(crate) fn tuples(&mut self, rows: usize, width: usize) -> String {
        let mut out = String::with_capacity(rows * (width * 8 + 4));
        for row in 0..rows {
            if row > 0 {
                out.push_str(", ");
            }
            out.push('(');
            self.push_list(width, &mut out);
            out.push(')');
        }
        out
    }
}

/// The rows of `{select}{column} IN (…) {tail}` for every id of `ids` (in
/// chunks): the batches' reads of many rows by key. `select` ends with
/// `WHERE … AND` (it names the business); `tail` is an `ORDER BY` or nothing.
/// `key` names the statement for [`fetch`].
pub(crate) async fn select_in(
    conn: &mut AnyConnection,
    key: &'static str,
    select: &str,
    business_id: i64,
    column: &str,
    ids: &[i64],
    tail: &str,
) -> sqlx::Result<Vec<Row>> {
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
        let rows = fetch(conn, key, sql, |mut query| {
            query = query.bind(business_id);
            for id in chunk {
                query = query.bind(*id);
            }
            query
        })
        .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// A statement being built: its text and the values bound so far.
pub(crate) type Query<'q> = sqlx::query::Query<'q, Any, AnyArguments>;

/// A row read by [`fetch`]: as sqlx gives it (Postgres), or one of the rows
/// of a packed result (SQLite).
pub(crate) enum Row {
    Any(AnyRow),
    Packed {
        columns: Arc<[String]>,
        values: Vec<serde_json::Value>,
    },
}

/// The rows of the `SELECT` `sql` (values bound by `bind`), in its order.
///
/// On SQLite the rows come back packed in one JSON value, one statement and
/// one row for the whole result: sqlx runs SQLite on a worker thread and
/// hands each row over to the caller's thread, and those thread switches
/// were half of a renewal batch's time (a batch reads thousands of rows).
/// The result's column names are read once per `key` (a name for the
/// statement, whatever its number of placeholders) and kept for the process.
pub(crate) async fn fetch<'q>(
    conn: &mut AnyConnection,
    key: &'static str,
    sql: String,
    bind: impl FnOnce(Query<'q>) -> Query<'q>,
) -> sqlx::Result<Vec<Row>> {
    if !conn.backend_name().eq_ignore_ascii_case("sqlite") {
        let rows = bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .fetch_all(&mut *conn)
            .await?;
        return Ok(rows.into_iter().map(Row::Any).collect());
    }
    let columns = columns_of(conn, key, &sql).await?;
    let list = columns
        .iter()
        .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(", ");
    // The caller's statement, with its column names, is the only text
    // interpolated; every value is bound.
    let packed = format!("SELECT json_group_array(json_array({list})) FROM ({sql})");
    let row = bind(sqlx::query(sqlx::AssertSqlSafe(packed)))
        .fetch_one(&mut *conn)
        .await?;
    let text: String = sqlx::Row::try_get(&row, 0)?;
    let rows: Vec<Vec<serde_json::Value>> =
        serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(rows
        .into_iter()
        .map(|values| Row::Packed {
            columns: columns.clone(),
            values,
        })
        .collect())
}

/// Runs the `INSERT` `sql` into `table` (values bound by `bind`) and returns
/// the `columns` (the keys telling the rows apart, with `id`) of the rows it
/// inserted (a row left out by `ON CONFLICT DO NOTHING` is not): the caller
/// knows the rest, having written it. Postgres: `RETURNING`. SQLite, which
/// hands returned rows over one by one (see [`fetch`]): the rows of `table`
/// whose id is above the highest before the insert, read packed — the
/// caller's transaction holds SQLite's one write lock, so they are the rows
/// this statement inserted.
pub(crate) async fn insert_returning<'q>(
    conn: &mut AnyConnection,
    key: &'static str,
    table: &'static str,
    columns: &'static str,
    sql: String,
    bind: impl FnOnce(Query<'q>) -> Query<'q>,
) -> sqlx::Result<Vec<Row>> {
    if !conn.backend_name().eq_ignore_ascii_case("sqlite") {
        let returning = format!("{sql} RETURNING {columns}");
        let rows = bind(sqlx::query(sqlx::AssertSqlSafe(returning)))
            .fetch_all(&mut *conn)
            .await?;
        return Ok(rows.into_iter().map(Row::Any).collect());
    }
    // Only the caller's constant table and column names are interpolated.
    let last: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COALESCE(MAX(id), 0) FROM {table}"
    )))
    .fetch_one(&mut *conn)
    .await?;
    bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .execute(&mut *conn)
        .await?;
    let select = format!("SELECT {columns} FROM {table} WHERE id > $1 ORDER BY id");
    fetch(conn, key, select, |q| q.bind(last)).await
}

/// The column names of the statements read packed, by statement name.
type ColumnNames = Mutex<HashMap<&'static str, Arc<[String]>>>;

/// The column names of the statement named `key`, read from `sql` the first time.
async fn columns_of(
    conn: &mut AnyConnection,
    key: &'static str,
    sql: &str,
) -> sqlx::Result<Arc<[String]>> {
    static COLUMNS: OnceLock<ColumnNames> = OnceLock::new();
    let cache = COLUMNS.get_or_init(Default::default);
    if let Some(columns) = cache.lock().expect("column cache").get(key) {
        return Ok(columns.clone());
    }
    let statement = conn
        .prepare(sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(
            sql.to_owned(),
        )))
        .await?;
    let columns: Arc<[String]> = statement
        .columns()
        .iter()
        .map(|c| sqlx::Column::name(c).to_owned())
        .collect();
    cache
        .lock()
        .expect("column cache")
        .insert(key, columns.clone());
    Ok(columns)
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
