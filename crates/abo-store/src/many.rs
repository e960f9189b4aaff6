//! Placeholders for the set-based statements of the engine's batches: one
//! statement for many rows instead of one round trip per row. Only
//! placeholders are built here; every value is bound.

/// Most rows per statement: a row binds at most 20 values, and both SQLite
/// (32,766) and Postgres (65,535) cap the values of one statement.
pub(crate) const CHUNK: usize = 1000;

/// `$first, $first+1, …` (`n` placeholders), for `IN (…)`.
pub(crate) fn list(n: usize, first: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($first, …), (…), …`: `rows` tuples of `width` placeholders, for
/// `VALUES …`.
pub(crate) fn tuples(rows: usize, width: usize, first: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", list(width, first + r * width)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        assert_eq!(list(3, 2), "$2, $3, $4");
        assert_eq!(tuples(2, 2, 1), "($1, $2), ($3, $4)");
    }
}
