//! SQL as text: quoting values into statements, and reading the client's batch output
//! (`mariadb --batch` / `mysql --batch`). Pure functions; nothing here runs anything.
use std::collections::BTreeMap;

/// One result row, by column name.
pub type Row = BTreeMap<String, String>;

/// A row from (column, value) pairs, for tests of what parses rows.
#[cfg(test)]
pub fn row(pairs: &[(&str, &str)]) -> Row {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Parses `mariadb --batch` / `mysql --batch` output: a header line, then rows; `\t`, `\n`, `\\` and `\0` are
/// escaped, NULL is the bare word NULL. With several result sets only the last is kept.
pub fn parse_batch(text: &str) -> Vec<Row> {
    let mut header: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        let fields: Vec<String> = line.split('\t').map(unescape).collect();
        if header.is_empty() || (rows.is_empty() && fields.len() != header.len()) {
            header = fields;
            continue;
        }
        if fields.len() != header.len() {
            // A new result set starts: its header line.
            header = fields;
            rows.clear();
            continue;
        }
        rows.push(header.iter().cloned().zip(fields).collect());
    }
    rows
}

fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('0') => out.push('\0'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other)
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A SQL string literal: single-quoted, with quotes and backslashes escaped.
pub fn quote(value: &str) -> String {
    let mut out = String::from("'");
    for c in value.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A value that MariaDB printed as NULL is absent.
pub fn non_null(value: Option<&String>) -> Option<String> {
    value
        .filter(|v| v.as_str() != "NULL" && !v.is_empty())
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_output_with_escapes_and_null() {
        let text = "Slave_IO_Running\tSlave_SQL_Running\tLast_SQL_Error\tSeconds_Behind_Master\nYes\tNo\tError 'x'\\ton\\nline\tNULL\n";
        let rows = parse_batch(text);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["Slave_IO_Running"], "Yes");
        assert_eq!(rows[0]["Last_SQL_Error"], "Error 'x'\ton\nline");
        assert_eq!(non_null(rows[0].get("Seconds_Behind_Master")), None);
    }

    #[test]
    fn empty_result_and_multiple_sets() {
        assert!(parse_batch("").is_empty());
        let text = "a\tb\n1\t2\nc\n3\n";
        let rows = parse_batch(text);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["c"], "3");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("abc"), "'abc'");
        assert_eq!(quote("it's"), "'it\\'s'");
        assert_eq!(quote("a\\b"), "'a\\\\b'");
        assert_eq!(quote("x'; DROP TABLE t; --"), "'x\\'; DROP TABLE t; --'");
    }
}
