//! Property tests of every language's lowering, on generated rules: one boolean formula over
//! field tests is written in Sigma, SPL, KQL, kuery, EQL and ES|QL, each reader lowers it, and
//! the IR is evaluated (`ir::eval` over `ir::holds`) on every event of a small world (four
//! fields, each holding one of three values). For each language:
//!
//! - the lowered rule matches exactly the events the formula holds for (the reader is
//!   faithful);
//! - no event that satisfies an exclusion's rows is matched;
//! - every indicator row holds in some matched event (when the formula tests each field once,
//!   so that no indicator is required in one place and excluded in another).

use ir::{Expr, Fields, Logic, Row, eval, holds};
use proptest::prelude::*;

const FIELDS: [&str; 4] = ["A", "B", "C", "D"];
const VALUES: [&str; 3] = ["x1", "x2", "x3"];

/// A formula over `field = value` tests.
#[derive(Debug, Clone)]
enum F {
    Atom(usize, usize),
    And(Vec<F>),
    Or(Vec<F>),
    Not(Box<F>),
}

fn formula() -> impl Strategy<Value = F> {
    let atom = (0..FIELDS.len(), 0..2usize).prop_map(|(f, v)| F::Atom(f, v));
    atom.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..=3).prop_map(F::And),
            prop::collection::vec(inner.clone(), 2..=3).prop_map(F::Or),
            inner.prop_map(|f| F::Not(Box::new(f))),
        ]
    })
}

impl F {
    fn holds(&self, ev: &World) -> bool {
        match self {
            F::Atom(f, v) => ev.0[*f] == *v,
            F::And(v) => v.iter().all(|f| f.holds(ev)),
            F::Or(v) => v.iter().any(|f| f.holds(ev)),
            F::Not(f) => !f.holds(ev),
        }
    }

    fn fields(&self, out: &mut Vec<usize>) {
        match self {
            F::Atom(f, _) => out.push(*f),
            F::And(v) | F::Or(v) => v.iter().for_each(|f| f.fields(out)),
            F::Not(f) => f.fields(out),
        }
    }

    /// The formula in a language: `atom` writes a test, `and`/`or` join, `not` prefixes.
    fn write(&self, l: &Lang) -> String {
        match self {
            F::Atom(f, v) => (l.atom)(FIELDS[*f], VALUES[*v]),
            F::And(v) | F::Or(v) => {
                let op = if matches!(self, F::And(_)) {
                    l.and
                } else {
                    l.or
                };
                let parts: Vec<String> = v.iter().map(|f| f.write(l)).collect();
                format!("({})", parts.join(op))
            }
            F::Not(f) => format!("{}({})", l.not, f.write(l)),
        }
    }
}

/// One event: the index of each field's value.
struct World([usize; 4]);

impl Fields for World {
    fn values(&self, field: &str) -> Option<Vec<Option<&str>>> {
        let i = FIELDS.iter().position(|f| *f == field)?;
        Some(vec![Some(VALUES[self.0[i]])])
    }

    fn all_values(&self) -> Vec<&str> {
        self.0.iter().map(|&v| VALUES[v]).collect()
    }
}

fn worlds() -> Vec<World> {
    let n = VALUES.len();
    (0..n.pow(4))
        .map(|mut i| {
            let mut w = [0; 4];
            for slot in &mut w {
                *slot = i % n;
                i /= n;
            }
            World(w)
        })
        .collect()
}

struct Lang {
    name: &'static str,
    atom: fn(&str, &str) -> String,
    and: &'static str,
    or: &'static str,
    not: &'static str,
    /// The query text of a formula, and the lowered logic (or the reader's complaint).
    lower: fn(&F) -> Result<Logic, String>,
}

fn sigma(f: &F) -> Result<Logic, String> {
    // One selection per atom, the condition over their names.
    let mut atoms = vec![];
    collect_atoms(f, &mut atoms);
    let mut text = String::from("title: t\nlogsource:\n  product: windows\ndetection:\n");
    for (i, (fi, vi)) in atoms.iter().enumerate() {
        text.push_str(&format!(
            "  s{i}:\n    {}: '{}'\n",
            FIELDS[*fi], VALUES[*vi]
        ));
    }
    let cond = name_atoms(&f.write(&SIGMA), atoms.len());
    text.push_str(&format!("  condition: {cond}\n"));
    let (rules, diags) = sigma::read("s", "r.yml", "r.yml", &text);
    if !diags.is_empty() {
        return Err(format!("{diags:?}\n{text}"));
    }
    Ok(rules.into_iter().next().ok_or("no rule")?.logic)
}

fn collect_atoms(f: &F, out: &mut Vec<(usize, usize)>) {
    match f {
        F::Atom(a, b) => out.push((*a, *b)),
        F::And(v) | F::Or(v) => v.iter().for_each(|f| collect_atoms(f, out)),
        F::Not(f) => collect_atoms(f, out),
    }
}

/// The Sigma condition writes each atom as `@`; number them `s0`, `s1`, … in order.
fn name_atoms(cond: &str, n: usize) -> String {
    let mut out = String::new();
    let mut i = 0;
    for c in cond.chars() {
        if c == '@' {
            out.push_str(&format!("s{i}"));
            i += 1;
        } else {
            out.push(c);
        }
    }
    assert_eq!(i, n);
    out
}

const SIGMA: Lang = Lang {
    name: "sigma",
    atom: |_, _| "@".into(),
    and: " and ",
    or: " or ",
    not: "not ",
    lower: sigma,
};

fn spl(f: &F) -> Result<Logic, String> {
    let search = f.write(&SPL);
    let d = spl::content::Detection {
        path: "x.yml".into(),
        name: "x".into(),
        id: "1".into(),
        search,
        ..Default::default()
    };
    let l = spl::lower::lower(&d, &spl::macros::MacroTable::new(), "s", "k", "x.yml", "");
    if !l.problems.is_empty() {
        return Err(format!("{:?}\n{}", l.problems, d.search));
    }
    Ok(l.rule.logic)
}

const SPL: Lang = Lang {
    name: "spl",
    atom: |f, v| format!("{f}=\"{v}\""),
    and: " AND ",
    or: " OR ",
    not: "NOT ",
    lower: spl,
};

fn kql(f: &F) -> Result<Logic, String> {
    let text = format!("T | where {}", f.write(&KQL));
    let q = kql::parse(&text).map_err(|e| format!("{e:?}\n{text}"))?;
    let l = kql::lower::lower_query(&q, &text);
    if !l.unanalysed.is_empty() {
        return Err(format!("unanalysed: {:?}\n{text}", l.unanalysed));
    }
    Ok(l.logic)
}

const KQL: Lang = Lang {
    name: "kql",
    atom: |f, v| format!("{f} == \"{v}\""),
    and: " and ",
    or: " or ",
    not: "not",
    lower: kql,
};

fn elastic(language: &str, text: String) -> Result<Logic, String> {
    let l = elastic::lower::lower_query(language, &text)
        .ok_or("unknown language")?
        .map_err(|e| format!("{e:?}\n{text}"))?;
    Ok(Logic { stages: l.stages })
}

const KUERY: Lang = Lang {
    name: "kuery",
    atom: |f, v| format!("{f}:\"{v}\""),
    and: " and ",
    or: " or ",
    not: "not ",
    lower: |f| elastic("kuery", f.write(&KUERY)),
};

const EQL: Lang = Lang {
    name: "eql",
    atom: |f, v| format!("{f} == \"{v}\""),
    and: " and ",
    or: " or ",
    not: "not ",
    lower: |f| elastic("eql", format!("any where {}", f.write(&EQL))),
};

const ESQL: Lang = Lang {
    name: "esql",
    atom: |f, v| format!("{f} == \"{v}\""),
    and: " AND ",
    or: " OR ",
    not: "NOT ",
    lower: |f| elastic("esql", format!("FROM x | WHERE {}", f.write(&ESQL))),
};

const LANGS: [&Lang; 6] = [&SIGMA, &SPL, &KQL, &KUERY, &EQL, &ESQL];

/// The rule's decision on an event: every root stage with an expression holds.
fn matches(logic: &Logic, w: &World) -> bool {
    ir::roots(logic).into_iter().all(|i| {
        logic.stages[i].expr.as_ref().is_none_or(|e| {
            eval(logic, e, &mut |leaf| match leaf {
                Expr::Pred(p) => holds(p, w).expect("the IR decides a plain field test"),
                _ => panic!("unexpected leaf {leaf:?}"),
            })
        })
    })
}

fn row_holds(r: &Row, w: &World) -> bool {
    let p = ir::Predicate {
        field: r.field.clone(),
        kind: r.kind,
        values: r.values.clone(),
        case_sensitive: r.case_sensitive,
        transforms: r.transforms.clone(),
    };
    holds(&p, w).expect("decided") != r.negated
}

fn check(lang: &Lang, f: &F) -> Result<(), TestCaseError> {
    let logic = (lang.lower)(f).map_err(|e| TestCaseError::fail(format!("{}: {e}", lang.name)))?;
    let worlds = worlds();
    let matched: Vec<&World> = worlds.iter().filter(|w| matches(&logic, w)).collect();
    for w in &worlds {
        prop_assert_eq!(
            matches(&logic, w),
            f.holds(w),
            "{}: {:?} on {:?}",
            lang.name,
            f,
            w.0
        );
    }
    for x in ir::exclusions(&logic) {
        if x.all.is_empty() {
            continue;
        }
        for w in &matched {
            prop_assert!(
                !x.all.iter().all(|r| row_holds(r, w)),
                "{}: {:?} matches {:?} though exclusion {} holds",
                lang.name,
                f,
                w.0,
                x.text
            );
        }
    }
    let mut fields = vec![];
    f.fields(&mut fields);
    let once = {
        let mut d = fields.clone();
        d.sort();
        d.dedup();
        d.len() == fields.len()
    };
    if once && !matched.is_empty() {
        for row in ir::indicators(&logic) {
            prop_assert!(
                matched.iter().any(|w| row_holds(&row, w)),
                "{}: indicator {:?} holds in no matched event of {:?}",
                lang.name,
                row,
                f
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_language_lowers_faithfully(f in formula()) {
        for lang in LANGS {
            check(lang, &f)?;
        }
    }
}
