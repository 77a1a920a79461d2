//! `detdex similar`: the rules most like one rule ([`catalog::related::similar`]), and the
//! rules it names as related.

use catalog::{Catalog, Source};
use std::fmt::Write;
use std::process::ExitCode;

pub fn run(rule: &str, sources: &[String], limit: usize, json: bool) -> ExitCode {
    let sources: Vec<Source> = sources.iter().map(|s| crate::parse_source(s)).collect();
    if sources.is_empty() {
        eprintln!("detdex: similar needs the rule folders to compare with: --source NAME=DIR");
        return ExitCode::from(2);
    }
    let cat = Catalog::load(&sources);
    let Some(r) = cat.find(rule) else {
        eprintln!("detdex: {rule}: no rule with this key or id under the --source folders");
        return ExitCode::FAILURE;
    };
    let similar = catalog::related::similar(&cat, r, limit);
    let related = catalog::related::related(&cat, r);
    let out = if json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            key: &'a str,
            similar: &'a [catalog::related::SimilarRule<'a>],
            related: &'a [catalog::related::RelatedRule<'a>],
        }
        match serde_json::to_string_pretty(&Out {
            key: &r.key,
            similar: &similar,
            related: &related,
        }) {
            Ok(s) => s + "\n",
            Err(e) => {
                eprintln!("detdex: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        let mut o = String::new();
        let _ = writeln!(o, "Rules like {} ({})", one_line(&r.meta.title), r.key);
        if similar.is_empty() {
            let _ = writeln!(o, "  (none: no other live rule shares an indicator)");
        }
        for s in &similar {
            let _ = writeln!(
                o,
                "  {:>6.2}  {:<14}{}  {}",
                s.score,
                s.rule.source,
                one_line(s.rule.title),
                s.rule.key
            );
            let shared: Vec<String> = s.shared.iter().take(3).map(|i| i.text()).collect();
            let more = s.shared.len().saturating_sub(3);
            let _ = writeln!(
                o,
                "          shares {}{}",
                one_line(&shared.join("; ")),
                if more > 0 {
                    format!(" (+{more} more)")
                } else {
                    String::new()
                }
            );
        }
        if !related.is_empty() {
            let _ = writeln!(o, "Related (named by the rule)");
            for x in &related {
                let _ = match &x.rule {
                    Some(t) => writeln!(o, "  {:<9} {}  {}", x.relation, one_line(t.title), t.key),
                    None => writeln!(o, "  {:<9} {}  (not in these sources)", x.relation, x.id),
                };
            }
        }
        o
    };
    crate::print_out(&out);
    ExitCode::SUCCESS
}

/// Rule text on one line.
fn one_line(s: &str) -> String {
    s.replace('\r', "\\r").replace('\n', "\\n")
}
