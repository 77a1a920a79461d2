//! The tables a target's queries run on: each table's columns and their Kusto types, from
//! Microsoft's schema documentation (`data/schemas/*.tsv`). The backend writes values by the
//! column's type (a number as a number on an `int`/`long` column, `isempty` for a missing
//! string) and refuses a query naming a column its table does not have — whatever pipeline
//! produced it.
//!
//! File format, one column a line, tab-separated: `table  column  type  [expression]`. An
//! expression makes a *computed* column: not in the table, but written by the backend as
//! `| extend column = expression` before the `where` when the query uses it (the full registry
//! path, which Defender and ASIM split into key and value name). `#` starts a comment line.

use std::collections::HashMap;

use crate::LoadError;

/// A Kusto scalar type, as far as writing values goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    String,
    /// `int`, `long`, `real`: numbers.
    Number,
    Bool,
    Datetime,
    Dynamic,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub ty: ColType,
    /// For a computed column: the KQL expression over the table's columns.
    pub expression: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Schema {
    tables: HashMap<String, HashMap<String, Column>>,
}

impl Schema {
    /// Read a schema file; `path` names it in errors.
    pub fn load(path: &str, text: &str) -> Result<Schema, LoadError> {
        let mut tables: HashMap<String, HashMap<String, Column>> = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |col: usize, message: String| LoadError {
                path: path.to_string(),
                line: n as u32 + 1,
                col: col as u32 + 1,
                message,
            };
            let f: Vec<&str> = line.split('\t').collect();
            if !(3..=4).contains(&f.len()) {
                return Err(err(
                    0,
                    "expected `table<TAB>column<TAB>type[<TAB>expression]`".into(),
                ));
            }
            let ty = match f[2] {
                "string" | "guid" => ColType::String,
                "int" | "long" | "real" => ColType::Number,
                "bool" => ColType::Bool,
                "datetime" | "timespan" => ColType::Datetime,
                "dynamic" => ColType::Dynamic,
                other => {
                    return Err(err(
                        f[0].len() + f[1].len() + 2,
                        format!("unknown type `{other}`"),
                    ));
                }
            };
            let expression = f.get(3).map(|e| e.to_string());
            tables
                .entry(f[0].to_string())
                .or_default()
                .insert(f[1].to_string(), Column { ty, expression });
        }
        Ok(Schema { tables })
    }

    /// The columns of a table, if the schema knows it.
    pub fn table(&self, name: &str) -> Option<&HashMap<String, Column>> {
        self.tables.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_types_and_computed_columns() {
        let s = Schema::load(
            "s.tsv",
            "# c\nT\tA\tstring\nT\tN\tlong\nT\tP\tstring\tstrcat(A, \"x\")\n",
        )
        .unwrap();
        let t = s.table("T").unwrap();
        assert_eq!(t["N"].ty, ColType::Number);
        assert_eq!(t["P"].expression.as_deref(), Some("strcat(A, \"x\")"));
        assert!(s.table("U").is_none());
        let e = Schema::load("s.tsv", "T\tA\tstr\n").unwrap_err();
        assert_eq!((e.line, e.col), (1, 5));
    }
}
