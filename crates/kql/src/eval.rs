//! A Kusto evaluator for the subset of KQL that `detdex convert` writes, over rows held in
//! memory: `Table | extend … | project … | where …` (and `join kind=leftsemi (Other | …) on
//! Column`, over the other table's rows given to [`Program::run_with`]) with `and`/`or`/`not`, `==`, `!=`, `=~`,
//! `!~`, `<`, `<=`, `>`, `>=`, `in`, `!in`, `in~`, `!in~`, `has_any`, the string operators
//! (`contains`, `startswith`, `endswith`, `has`, `hasprefix`, `hassuffix`, their `_cs` and `!`
//! forms), `matches regex`, and the functions `isempty`, `isnotempty`, `isnull`, `isnotnull`,
//! `strcat`, `coalesce`, `iff`/`iif`, `tostring`, `tolong`/`toint`, `tolower`, `toupper`,
//! `extract`, `replace_regex`, `ipv4_is_in_range`, `ipv6_is_in_range`. [`compile_expr`] compiles
//! one scalar expression (the event → row mappings of `detdex verify` are written with it).
//!
//! Semantics follow the Kusto documentation where the subset meets it: strings are never null
//! (a missing string is `""`), `==`/`in` are case-sensitive and `=~`/`in~`/`contains` are not,
//! `matches regex` finds the pattern anywhere (RE2 syntax), `has` matches whole terms (runs of
//! letters and digits), a comparison with null is false. Comparing a string with a number is a
//! type error in Kusto (the query does not run): here it is an error naming the expression.
//! Anything outside the subset is refused when the query is compiled, never guessed.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use regex::Regex;

use crate::ast::{
    Assign, BinOp, Expr, ExprKind, ListOp, OperatorKind, StatementKind, StrOp, StrOpKind,
};

/// A scalar value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Str(String),
    Long(i64),
    Real(f64),
    Bool(bool),
}

impl Value {
    /// From JSON: strings, numbers, booleans, null; arrays and objects as their JSON text.
    pub fn from_json(v: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match v {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => n
                .as_i64()
                .map(Value::Long)
                .unwrap_or_else(|| Value::Real(n.as_f64().unwrap_or(f64::NAN))),
            J::String(s) => Value::Str(s.clone()),
            other => Value::Str(other.to_string()),
        }
    }

    fn text(&self) -> Cow<'_, str> {
        match self {
            Value::Null => Cow::Borrowed(""),
            Value::Str(s) => Cow::Borrowed(s),
            Value::Long(n) => Cow::Owned(n.to_string()),
            Value::Real(f) => Cow::Owned(f.to_string()),
            Value::Bool(b) => Cow::Owned(b.to_string()),
        }
    }

    fn num(&self) -> Option<f64> {
        match self {
            Value::Long(n) => Some(*n as f64),
            Value::Real(f) => Some(*f),
            _ => None,
        }
    }

    fn truth(&self) -> bool {
        matches!(self, Value::Bool(true))
    }
}

/// A row: column name → value.
pub type Row = HashMap<String, Value>;

/// An error while compiling or running a query: what and where (byte range in the query).
#[derive(Debug, Clone, PartialEq)]
pub struct EvalError {
    pub message: String,
    pub span: std::ops::Range<usize>,
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.span.start)
    }
}

fn err<T>(e: &Expr, message: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError {
        message: message.into(),
        span: e.span.clone(),
    })
}

enum Step {
    Where(Expr),
    Extend(Vec<(String, Expr)>),
    Project(Vec<(String, Expr)>),
    /// `join kind=leftsemi (right) on column`: the rows whose `column` is among the values
    /// of `column` in the rows `right` selects from its table.
    SemiJoin {
        right: Box<Program>,
        column: String,
        span: std::ops::Range<usize>,
    },
}

/// A query ready to run: its table and steps, regexes compiled once.
pub struct Program {
    table: String,
    steps: Vec<Step>,
    regexes: HashMap<String, Regex>,
    /// A column the row lacks is null (scalar expressions over events) rather than an error.
    missing_is_null: bool,
}

/// One scalar expression, compiled.
pub struct Scalar {
    expr: Expr,
    program: Program,
}

/// Parse and check one scalar expression of the subset (its columns: fields of the row; a
/// missing one is null).
pub fn compile_expr(src: &str) -> Result<Scalar, EvalError> {
    let expr = crate::parse_expr(src).map_err(|e| EvalError {
        message: format!("does not parse: expected {}, found {}", e.expected, e.found),
        span: e.offset..e.offset,
    })?;
    let mut program = Program {
        table: String::new(),
        steps: Vec::new(),
        regexes: HashMap::new(),
        missing_is_null: true,
    };
    program.check(&expr)?;
    Ok(Scalar { expr, program })
}

impl Scalar {
    pub fn eval(&self, row: &Row) -> Result<Value, EvalError> {
        self.program.eval(&self.expr, row)
    }
}

/// Parse and check a query of the subset.
pub fn compile(src: &str) -> Result<Program, EvalError> {
    let q = crate::parse(src).map_err(|e| EvalError {
        message: format!("does not parse: expected {}, found {}", e.expected, e.found),
        span: e.offset..e.offset,
    })?;
    let whole = 0..src.len();
    let [stmt] = &q.statements[..] else {
        return Err(EvalError {
            message: "one query statement expected (no `let`)".into(),
            span: whole,
        });
    };
    let StatementKind::Expr(e) = &stmt.kind else {
        return Err(EvalError {
            message: "one query statement expected (no `let`)".into(),
            span: stmt.span.clone(),
        });
    };
    compile_pipe(e)
}

/// `Table | op | …` into a program.
fn compile_pipe(e: &Expr) -> Result<Program, EvalError> {
    let (source, ops) = match &e.kind {
        ExprKind::Pipe { source, ops } => (&**source, &ops[..]),
        _ => (e, &[][..]),
    };
    let ExprKind::Ident(table) = &source.kind else {
        return err(source, "the query must start with a table name");
    };
    let mut p = Program {
        table: table.to_string(),
        steps: Vec::new(),
        regexes: HashMap::new(),
        missing_is_null: false,
    };
    let assigns = |a: &[Assign]| -> Result<Vec<(String, Expr)>, EvalError> {
        a.iter()
            .map(|a| match &a.names[..] {
                [n] => Ok((n.text.to_string(), a.value.clone())),
                [] => match &a.value.kind {
                    ExprKind::Ident(c) => Ok((c.to_string(), a.value.clone())),
                    _ => err(&a.value, "an expression without a name"),
                },
                _ => err(&a.value, "several names in one assignment"),
            })
            .collect()
    };
    for op in ops {
        let step = match &op.kind {
            OperatorKind::Where(x) => Step::Where(x.clone()),
            OperatorKind::Extend(a) => Step::Extend(assigns(a)?),
            OperatorKind::Project(a) => Step::Project(assigns(a)?),
            OperatorKind::Join { params, right, on } => {
                let leftsemi = params.iter().any(|p| {
                    p.name == "kind"
                        && matches!(&p.value.kind, ExprKind::Ident(k) if k == "leftsemi")
                });
                let ([param], [col]) = (&params[..], &on[..]) else {
                    return Err(EvalError {
                        message: "only `join kind=leftsemi (…) on Column` is evaluated".into(),
                        span: op.span.clone(),
                    });
                };
                let ExprKind::Ident(column) = &col.kind else {
                    return err(col, "only `join kind=leftsemi (…) on Column` is evaluated");
                };
                if !leftsemi {
                    return err(&param.value, "only `join kind=leftsemi` is evaluated");
                }
                Step::SemiJoin {
                    right: Box::new(compile_pipe(right)?),
                    column: column.to_string(),
                    span: op.span.clone(),
                }
            }
            _ => {
                return Err(EvalError {
                    message:
                        "operator outside the evaluated subset (where, extend, project, join kind=leftsemi)"
                            .into(),
                    span: op.span.clone(),
                });
            }
        };
        match &step {
            Step::Where(x) => p.check(x)?,
            Step::Extend(v) | Step::Project(v) => {
                for (_, x) in v {
                    p.check(x)?;
                }
            }
            Step::SemiJoin { .. } => {}
        }
        p.steps.push(step);
    }
    Ok(p)
}

const FUNCTIONS: &[&str] = &[
    "isempty",
    "isnotempty",
    "isnull",
    "isnotnull",
    "strcat",
    "coalesce",
    "iff",
    "iif",
    "tostring",
    "tolong",
    "toint",
    "tolower",
    "toupper",
    "ipv4_is_in_range",
    "ipv6_is_in_range",
    "not",
    "extract",
    "replace_regex",
];

impl Program {
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Refuse what is outside the subset; compile the regex literals.
    fn check(&mut self, e: &Expr) -> Result<(), EvalError> {
        match &e.kind {
            ExprKind::Ident(_) | ExprKind::Str(_) | ExprKind::Number(_) | ExprKind::Bool(_) => {}
            ExprKind::Not(x) | ExprKind::Neg(x) => self.check(x)?,
            ExprKind::And(v) | ExprKind::Or(v) => {
                for x in v {
                    self.check(x)?;
                }
            }
            ExprKind::Call { name, args } => {
                if !FUNCTIONS.contains(&name.as_str()) {
                    return err(e, format!("function `{name}` outside the evaluated subset"));
                }
                for x in args {
                    self.check(x)?;
                }
                let re = match (name.as_str(), &args[..]) {
                    ("extract", [r, ..]) | ("replace_regex", [_, r, ..]) => Some(r),
                    _ => None,
                };
                if let Some(r) = re {
                    self.regex_literal(r)?;
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                if matches!(
                    op,
                    BinOp::Mul | BinOp::Div | BinOp::Mod | BinOp::Add | BinOp::Sub
                ) {
                    return err(e, "arithmetic outside the evaluated subset");
                }
                self.check(lhs)?;
                self.check(rhs)?;
                if let BinOp::Str(StrOp {
                    kind: StrOpKind::MatchesRegex,
                    ..
                }) = op
                {
                    self.regex_literal(rhs)?;
                }
            }
            ExprKind::List { op, expr, list } => {
                if *op == ListOp::HasAll {
                    return err(e, "`has_all` outside the evaluated subset");
                }
                self.check(expr)?;
                for x in list {
                    self.check(x)?;
                }
            }
            _ => return err(e, "expression outside the evaluated subset"),
        }
        Ok(())
    }

    fn regex_literal(&mut self, e: &Expr) -> Result<(), EvalError> {
        let ExprKind::Str(s) = &e.kind else {
            return err(e, "a regular expression must be a string literal");
        };
        let re = Regex::new(&s.value).or_else(|e1| err(e, format!("invalid regex: {e1}")))?;
        self.regexes.insert(s.value.to_string(), re);
        Ok(())
    }

    fn regex(&self, e: &Expr) -> &Regex {
        let ExprKind::Str(s) = &e.kind else {
            unreachable!("checked by compile")
        };
        &self.regexes[s.value.as_str()]
    }

    /// The tables a `join` reads (the query's own table not included).
    pub fn joined_tables(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for s in &self.steps {
            if let Step::SemiJoin { right, .. } = s {
                out.push(right.table.as_str());
                out.extend(right.joined_tables());
            }
        }
        out
    }

    /// Run the query over `rows` of its table: the indexes of the rows it selects (after
    /// `extend`/`project`, which change what later steps see, not the indexes). A query with
    /// a `join` reads no other table here (see [`Program::run_with`]).
    pub fn run(&self, rows: &[Row]) -> Result<Vec<usize>, EvalError> {
        self.run_with(rows, &|_| &[])
    }

    /// [`Program::run`], with the rows of the other tables a `join` reads (`tables`: name →
    /// rows; a table without rows is empty).
    pub fn run_with<'a>(
        &self,
        rows: &[Row],
        tables: &dyn Fn(&str) -> &'a [Row],
    ) -> Result<Vec<usize>, EvalError> {
        let mut out = Vec::new();
        self.select(rows, tables, &mut |i, _| out.push(i))?;
        Ok(out)
    }

    /// Call `found` with each selected row (its index, and the row as the last step left it).
    fn select<'a>(
        &self,
        rows: &[Row],
        tables: &dyn Fn(&str) -> &'a [Row],
        found: &mut dyn FnMut(usize, &Row),
    ) -> Result<(), EvalError> {
        // The values each semi-join keeps, computed once.
        let mut joined: Vec<Vec<Value>> = Vec::new();
        for s in &self.steps {
            if let Step::SemiJoin { right, column, .. } = s {
                let mut keep: Vec<Value> = Vec::new();
                right.select(tables(&right.table), tables, &mut |_, r| {
                    if let Some(v) = r.get(column).filter(|v| **v != Value::Null)
                        && !keep.contains(v)
                    {
                        keep.push(v.clone());
                    }
                })?;
                joined.push(keep);
            }
        }
        'rows: for (i, r) in rows.iter().enumerate() {
            let mut row = std::borrow::Cow::Borrowed(r);
            let mut join = joined.iter();
            for s in &self.steps {
                match s {
                    Step::Where(x) => {
                        if !self.eval(x, &row)?.truth() {
                            continue 'rows;
                        }
                    }
                    Step::Extend(v) => {
                        let vals = v
                            .iter()
                            .map(|(n, x)| Ok((n.clone(), self.eval(x, &row)?)))
                            .collect::<Result<Vec<_>, EvalError>>()?;
                        row.to_mut().extend(vals);
                    }
                    Step::Project(v) => {
                        let vals = v
                            .iter()
                            .map(|(n, x)| Ok((n.clone(), self.eval(x, &row)?)))
                            .collect::<Result<Row, EvalError>>()?;
                        row = std::borrow::Cow::Owned(vals);
                    }
                    Step::SemiJoin { column, span, .. } => {
                        let keep = join.next().expect("one value set per join");
                        match row.get(column) {
                            Some(v) if keep.contains(v) => {}
                            Some(_) => continue 'rows,
                            None => {
                                return Err(EvalError {
                                    message: format!("no column `{column}` to join on"),
                                    span: span.clone(),
                                });
                            }
                        }
                    }
                }
            }
            found(i, &row);
        }
        Ok(())
    }

    fn eval(&self, e: &Expr, row: &Row) -> Result<Value, EvalError> {
        Ok(match &e.kind {
            ExprKind::Ident(c) => match row.get(c.as_str()) {
                Some(v) => v.clone(),
                None if self.missing_is_null => Value::Null,
                None => return err(e, format!("no column `{c}` in the row")),
            },
            ExprKind::Str(s) => Value::Str(s.value.to_string()),
            ExprKind::Number(n) => number_literal(n).ok_or_else(|| EvalError {
                message: format!("number `{n}`"),
                span: e.span.clone(),
            })?,
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Neg(x) => match self.eval(x, row)? {
                Value::Long(n) => Value::Long(-n),
                Value::Real(f) => Value::Real(-f),
                _ => return err(e, "`-` of a non-number"),
            },
            ExprKind::Not(x) => self.not(x, row)?,
            ExprKind::And(v) => {
                for x in v {
                    if !self.eval(x, row)?.truth() {
                        return Ok(Value::Bool(false));
                    }
                }
                Value::Bool(true)
            }
            ExprKind::Or(v) => {
                for x in v {
                    if self.eval(x, row)?.truth() {
                        return Ok(Value::Bool(true));
                    }
                }
                Value::Bool(false)
            }
            ExprKind::Call { name, args } => self.call(e, name, args, row)?,
            ExprKind::Binary { op, lhs, rhs } => {
                let a = self.eval(lhs, row)?;
                let b = self.eval(rhs, row)?;
                Value::Bool(self.binary(e, *op, &a, &b, rhs)?)
            }
            ExprKind::List { op, expr, list } => {
                let a = self.eval(expr, row)?;
                let mut any = false;
                for x in list {
                    let b = self.eval(x, row)?;
                    let hit = match op {
                        ListOp::In | ListOp::NotIn => equal(e, &a, &b, true)?,
                        ListOp::InCi | ListOp::NotInCi => equal(e, &a, &b, false)?,
                        ListOp::HasAny => has(&a.text(), &b.text(), false),
                        ListOp::HasAll => unreachable!("refused by check"),
                    };
                    if hit {
                        any = true;
                        break;
                    }
                }
                // A null never is in a list, nor is it not in one.
                if a == Value::Null {
                    return Ok(Value::Bool(false));
                }
                Value::Bool(any != matches!(op, ListOp::NotIn | ListOp::NotInCi))
            }
            _ => return err(e, "expression outside the evaluated subset"),
        })
    }

    fn not(&self, x: &Expr, row: &Row) -> Result<Value, EvalError> {
        Ok(match self.eval(x, row)? {
            Value::Bool(b) => Value::Bool(!b),
            Value::Null => Value::Null,
            _ => return err(x, "`not` of a non-boolean"),
        })
    }

    fn call(&self, e: &Expr, name: &str, args: &[Expr], row: &Row) -> Result<Value, EvalError> {
        let arity = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                err(e, format!("`{name}` takes {n} argument(s)"))
            }
        };
        let arg = |i: usize| self.eval(&args[i], row);
        Ok(match name {
            "isempty" | "isnotempty" => {
                arity(1)?;
                let empty = matches!(arg(0)?, Value::Null) || arg(0)? == Value::Str(String::new());
                Value::Bool(empty == (name == "isempty"))
            }
            "isnull" | "isnotnull" => {
                arity(1)?;
                Value::Bool((arg(0)? == Value::Null) == (name == "isnull"))
            }
            "not" => {
                arity(1)?;
                self.not(&args[0], row)?
            }
            "strcat" => {
                let mut s = String::new();
                for i in 0..args.len() {
                    s.push_str(&arg(i)?.text());
                }
                Value::Str(s)
            }
            "coalesce" => {
                for i in 0..args.len() {
                    let v = arg(i)?;
                    if !matches!(&v, Value::Null) && v != Value::Str(String::new()) {
                        return Ok(v);
                    }
                }
                match args.last() {
                    Some(_) => arg(args.len() - 1)?,
                    None => Value::Null,
                }
            }
            "iff" | "iif" => {
                arity(3)?;
                if arg(0)?.truth() { arg(1)? } else { arg(2)? }
            }
            "tostring" => {
                arity(1)?;
                Value::Str(arg(0)?.text().into_owned())
            }
            "tolower" | "toupper" => {
                arity(1)?;
                let t = arg(0)?.text().into_owned();
                Value::Str(if name == "tolower" {
                    t.to_lowercase()
                } else {
                    t.to_uppercase()
                })
            }
            "tolong" | "toint" => {
                arity(1)?;
                match arg(0)? {
                    Value::Long(n) => Value::Long(n),
                    Value::Real(f) => Value::Long(f as i64),
                    Value::Bool(b) => Value::Long(b as i64),
                    // Also `0x…`, as a long literal is written (Sysmon's LogonId).
                    Value::Str(s) => match number_literal(s.trim()) {
                        Some(Value::Long(n)) => Value::Long(n),
                        _ => Value::Null,
                    },
                    Value::Null => Value::Null,
                }
            }
            "extract" => {
                arity(3)?;
                let group = match arg(1)? {
                    Value::Long(n) if n >= 0 => n as usize,
                    _ => return err(e, "`extract`: the group must be a number"),
                };
                let text = arg(2)?.text().into_owned();
                let found = self
                    .regex(&args[0])
                    .captures(&text)
                    .and_then(|c| c.get(group))
                    .map(|m| m.as_str().to_string());
                Value::Str(found.unwrap_or_default())
            }
            "replace_regex" => {
                arity(3)?;
                let text = arg(0)?.text().into_owned();
                // Kusto's `\1` is the regex crate's `${1}`.
                let rewrite = arg(2)?.text().replace('$', "$$");
                let rewrite = Regex::new(r"\\(\d)")
                    .unwrap()
                    .replace_all(&rewrite, "$${$1}");
                Value::Str(
                    self.regex(&args[1])
                        .replace_all(&text, rewrite.as_ref())
                        .into_owned(),
                )
            }
            "ipv4_is_in_range" | "ipv6_is_in_range" => {
                arity(2)?;
                let (ip, range) = (arg(0)?.text().into_owned(), arg(1)?.text().into_owned());
                Value::Bool(if name == "ipv4_is_in_range" {
                    ipv4_in_range(&ip, &range)
                } else {
                    ipv6_in_range(&ip, &range)
                })
            }
            _ => return err(e, format!("function `{name}` outside the evaluated subset")),
        })
    }

    fn binary(
        &self,
        e: &Expr,
        op: BinOp,
        a: &Value,
        b: &Value,
        rhs: &Expr,
    ) -> Result<bool, EvalError> {
        Ok(match op {
            BinOp::Eq => equal(e, a, b, true)? && *a != Value::Null,
            BinOp::Ne => !equal(e, a, b, true)? && *a != Value::Null && *b != Value::Null,
            BinOp::EqCi => equal(e, a, b, false)?,
            BinOp::NeCi => !equal(e, a, b, false)?,
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let (Some(x), Some(y)) = (a.num(), b.num()) else {
                    if matches!(a, Value::Str(_)) || matches!(b, Value::Str(_)) {
                        return err(e, "`<`/`>` between a string and a number");
                    }
                    return Ok(false);
                };
                match op {
                    BinOp::Lt => x < y,
                    BinOp::Le => x <= y,
                    BinOp::Gt => x > y,
                    _ => x >= y,
                }
            }
            BinOp::Str(s) => {
                if s.kind == StrOpKind::MatchesRegex {
                    return Ok(self.regex(rhs).is_match(&a.text()));
                }
                let cs = s.case_sensitive;
                let (x, y) = (a.text(), b.text());
                let (x, y) = if cs { (x, y) } else { (fold(x), fold(y)) };
                let hit = match s.kind {
                    StrOpKind::Contains => x.contains(y.as_ref()),
                    StrOpKind::StartsWith => x.starts_with(y.as_ref()),
                    StrOpKind::EndsWith => x.ends_with(y.as_ref()),
                    StrOpKind::Has => has(&x, &y, true),
                    StrOpKind::HasPrefix => term_edge(&x, &y, true),
                    StrOpKind::HasSuffix => term_edge(&x, &y, false),
                    StrOpKind::MatchesRegex => unreachable!(),
                };
                hit != s.negated
            }
            _ => return err(e, "operator outside the evaluated subset"),
        })
    }
}

/// `==` (case-sensitive) or `=~`: strings with strings, numbers with numbers; a string with a
/// number is a type error, as in Kusto.
fn equal(e: &Expr, a: &Value, b: &Value, cs: bool) -> Result<bool, EvalError> {
    Ok(match (a, b) {
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Str(x), Value::Str(y)) => {
            if cs {
                x == y
            } else if x.is_ascii() && y.is_ascii() {
                x.eq_ignore_ascii_case(y)
            } else {
                x.to_lowercase() == y.to_lowercase()
            }
        }
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Str(_), _) | (_, Value::Str(_)) => {
            return err(
                e,
                format!(
                    "a string compared with a non-string ({} and {})",
                    kind(a),
                    kind(b)
                ),
            );
        }
        (x, y) => match (x.num(), y.num()) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    })
}

/// `s` lower-cased as Kusto's case-insensitive operators compare it, borrowed when it has no
/// upper-case letter (most values, and ASCII without a copy of the letters' table lookups).
fn fold(s: Cow<'_, str>) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            s
        }
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Str(_) => "string",
        Value::Long(_) => "long",
        Value::Real(_) => "real",
        Value::Bool(_) => "bool",
    }
}

fn number_literal(n: &str) -> Option<Value> {
    if let Some(h) = n.strip_prefix("0x").or_else(|| n.strip_prefix("0X")) {
        return i64::from_str_radix(h, 16).ok().map(Value::Long);
    }
    n.parse::<i64>()
        .map(Value::Long)
        .ok()
        .or_else(|| n.parse::<f64>().ok().map(Value::Real))
}

fn is_term_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// `has`: the needle as whole terms of the haystack (both already lower-cased when `ci`).
fn has(hay: &str, needle: &str, already_cased: bool) -> bool {
    let (h, n) = if already_cased {
        (hay.to_string(), needle.to_string())
    } else {
        (hay.to_lowercase(), needle.to_lowercase())
    };
    if n.is_empty() {
        return true;
    }
    h.match_indices(&n).any(|(i, _)| {
        let before = h[..i].chars().next_back();
        let after = h[i + n.len()..].chars().next();
        let starts_term = n.chars().next().is_none_or(|c| !is_term_char(c));
        let ends_term = n.chars().next_back().is_none_or(|c| !is_term_char(c));
        (starts_term || before.is_none_or(|c| !is_term_char(c)))
            && (ends_term || after.is_none_or(|c| !is_term_char(c)))
    })
}

/// `hasprefix` / `hassuffix`: a term starting / ending with the needle.
fn term_edge(h: &str, n: &str, prefix: bool) -> bool {
    h.match_indices(n).any(|(i, _)| {
        if prefix {
            h[..i].chars().next_back().is_none_or(|c| !is_term_char(c))
        } else {
            h[i + n.len()..]
                .chars()
                .next()
                .is_none_or(|c| !is_term_char(c))
        }
    })
}

fn ipv4_in_range(ip: &str, range: &str) -> bool {
    let (net, bits) = range.split_once('/').unwrap_or((range, "32"));
    let (Ok(ip), Ok(net), Ok(bits)) = (
        ip.trim().parse::<Ipv4Addr>(),
        net.trim().parse::<Ipv4Addr>(),
        bits.trim().parse::<u32>(),
    ) else {
        return false;
    };
    if bits > 32 {
        return false;
    }
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    u32::from(ip) & mask == u32::from(net) & mask
}

fn ipv6_in_range(ip: &str, range: &str) -> bool {
    let (net, bits) = range.split_once('/').unwrap_or((range, "128"));
    let parse = |s: &str| {
        s.trim().parse::<Ipv6Addr>().ok().or_else(|| {
            s.trim()
                .parse::<Ipv4Addr>()
                .ok()
                .map(|v| v.to_ipv6_mapped())
        })
    };
    let (Some(ip), Some(net), Ok(bits)) = (parse(ip), parse(net), bits.trim().parse::<u32>())
    else {
        return false;
    };
    if bits > 128 {
        return false;
    }
    let mask = if bits == 0 {
        0
    } else {
        u128::MAX << (128 - bits)
    };
    u128::from(ip) & mask == u128::from(net) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kv: &[(&str, Value)]) -> Row {
        kv.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }
    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }
    fn sel(q: &str, rows: &[Row]) -> Vec<usize> {
        compile(q).unwrap().run(rows).unwrap()
    }

    #[test]
    fn string_operators() {
        let rows = [
            row(&[
                ("F", s(r"C:\Windows\System32\cmd.exe")),
                ("N", Value::Long(4)),
            ]),
            row(&[("F", s("other")), ("N", Value::Long(5))]),
        ];
        assert_eq!(sel(r#"T | where F endswith @"\CMD.exe""#, &rows), [0]);
        assert_eq!(
            sel(r#"T | where F endswith_cs @"\CMD.exe""#, &rows),
            [] as [usize; 0]
        );
        assert_eq!(sel(r#"T | where F =~ "OTHER""#, &rows), [1]);
        assert_eq!(sel(r#"T | where F == "OTHER""#, &rows), [] as [usize; 0]);
        assert_eq!(sel(r#"T | where F !contains "system32""#, &rows), [1]);
        assert_eq!(sel(r#"T | where F has "system32""#, &rows), [0]);
        assert_eq!(sel(r#"T | where F has "system3""#, &rows), [] as [usize; 0]);
        assert_eq!(sel(r#"T | where F in~ ("OTHER", "x")"#, &rows), [1]);
        assert_eq!(sel(r#"T | where not(F in~ ("OTHER"))"#, &rows), [0]);
        assert_eq!(sel(r#"T | where N in (4, 6)"#, &rows), [0]);
        assert_eq!(sel(r#"T | where N >= 5"#, &rows), [1]);
        assert_eq!(
            sel(r#"T | where F matches regex "(?i)^c:.*\\.EXE$""#, &rows),
            [0]
        );
        // `matches regex` is a search, not a whole-value match.
        assert_eq!(sel(r#"T | where F matches regex "ther""#, &rows), [1]);
    }

    #[test]
    fn functions_extend_and_types() {
        let rows = [row(&[
            ("K", s(r"HKEY_LOCAL_MACHINE\Run")),
            ("V", s("Updater")),
            ("E", s("")),
            ("IP", s("10.1.2.3")),
        ])];
        let q = r#"T
| extend P = iff(isempty(V), K, strcat(K, @"\", V))
| where P endswith @"\Run\Updater" and isempty(E) and not(isnull(E)) and ipv4_is_in_range(IP, "10.0.0.0/8")"#;
        assert_eq!(sel(q, &rows), [0]);
        assert_eq!(sel(r#"T | where coalesce(E, V) == "Updater""#, &rows), [0]);
        // A string compared with a number does not run in Kusto.
        let e = compile(r#"T | where V == 0"#)
            .unwrap()
            .run(&rows)
            .unwrap_err();
        assert!(e.message.contains("string compared"), "{e}");
        assert!(compile("T | summarize count()").is_err());
        assert!(compile("T | where foo(V)").is_err());
        assert!(compile("T | where V == X").unwrap().run(&rows).is_err());
    }

    #[test]
    fn scalar_functions() {
        let r = row(&[("T", s(r"HKLM\SOFTWARE\Run\Updater")), ("L", s("0x3e7"))]);
        let v = |q: &str| compile_expr(q).unwrap().eval(&r).unwrap();
        assert_eq!(v(r#"extract(@"[^\\]*$", 0, T)"#), s("Updater"));
        assert_eq!(
            v(r#"extract(@"^(.*)\\[^\\]*$", 1, T)"#),
            s(r"HKLM\SOFTWARE\Run")
        );
        assert_eq!(
            v(r#"replace_regex(T, @"(?i)^HKLM\\(\w+)", @"HKEY_LOCAL_MACHINE\\1")"#),
            s(r"HKEY_LOCAL_MACHINE\SOFTWARE\Run\Updater")
        );
        assert_eq!(v("tolong(L)"), Value::Long(999));
        assert_eq!(v("Missing"), Value::Null);
    }

    #[test]
    fn semi_join() {
        let events = [
            row(&[("DeviceId", s("a")), ("F", s("/bin/sh"))]),
            row(&[("DeviceId", s("b")), ("F", s("/bin/sh"))]),
            row(&[("DeviceId", s("c")), ("F", s("/bin/sh"))]),
        ];
        let info = [
            row(&[("DeviceId", s("a")), ("OSPlatform", s("Linux"))]),
            row(&[("DeviceId", s("a")), ("OSPlatform", s("Linux"))]),
            row(&[("DeviceId", s("b")), ("OSPlatform", s("Windows11"))]),
        ];
        let q = compile(
            r#"E
| join kind=leftsemi (DeviceInfo | where OSPlatform =~ "linux") on DeviceId
| where F endswith "/sh""#,
        )
        .unwrap();
        assert_eq!(q.joined_tables(), ["DeviceInfo"]);
        let tables = |t: &str| -> &[Row] { if t == "DeviceInfo" { &info } else { &[] } };
        // Each left row at most once, whatever the number of matching right rows.
        assert_eq!(q.run_with(&events, &tables).unwrap(), [0]);
        // Without the other table's rows, nothing joins.
        assert_eq!(q.run(&events).unwrap(), [] as [usize; 0]);
        for other in [
            "E | join kind=inner (I) on DeviceId",
            "E | join (I) on DeviceId",
            "E | join kind=leftsemi (I) on $left.A == $right.B",
        ] {
            assert!(compile(other).is_err(), "{other}");
        }
    }

    #[test]
    fn ranges() {
        assert!(ipv6_in_range("fe80::1", "fe80::/10"));
        assert!(!ipv6_in_range("2001::1", "fe80::/10"));
        assert!(!ipv4_in_range("11.0.0.1", "10.0.0.0/8"));
    }
}
