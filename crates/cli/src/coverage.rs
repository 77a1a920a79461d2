//! `detdex coverage`: which ATT&CK tactics and techniques the rules cover, as text or JSON.

use catalog::{Catalog, Scope, Source};
use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Deployable coverage: `--target` and `--have` as given.
pub struct Deploy<'a> {
    pub target: Option<&'a str>,
    pub have: Option<&'a str>,
}

/// The layer files: `--navigator` (written) and `--compare-layer` (read).
pub struct Layers<'a> {
    pub navigator: Option<&'a std::path::Path>,
    pub compare: Option<&'a std::path::Path>,
}

/// The `--have` list: a file of table names (one a line or comma-separated, `#` comments) when
/// the value names a file, else the names separated by commas.
fn have_list(have: &str) -> Result<Vec<String>, String> {
    let text = if std::path::Path::new(have).is_file() {
        std::fs::read_to_string(have).map_err(|e| format!("{have}: {e}"))?
    } else {
        have.to_string()
    };
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect())
}

pub fn run(
    sources: &[String],
    paths: &[PathBuf],
    json: bool,
    timings: bool,
    retired: bool,
    deploy: Deploy,
    layers: Layers,
) -> ExitCode {
    let compare = match layers.compare.map(std::fs::read_to_string).transpose() {
        Ok(text) => text,
        Err(e) => {
            let file = layers.compare.unwrap_or(std::path::Path::new("")).display();
            eprintln!("detdex: --compare-layer {file}: {e}");
            return ExitCode::from(2);
        }
    };
    let deployment = match (deploy.target, deploy.have) {
        (None, None) => None,
        (None, Some(_)) => {
            eprintln!("detdex: --have needs --target (the tables are those of a target)");
            return ExitCode::from(2);
        }
        (Some(t), have) => {
            let Some(target) = convert::Target::from_name(t) else {
                let names: Vec<&str> = convert::Target::ALL.iter().map(|t| t.name()).collect();
                eprintln!(
                    "detdex: unknown target `{t}` (targets: {})",
                    names.join(", ")
                );
                return ExitCode::from(2);
            };
            let have = match have.map(have_list).transpose() {
                Ok(h) => h.unwrap_or_default(),
                Err(e) => {
                    eprintln!("detdex: --have {e}");
                    return ExitCode::from(2);
                }
            };
            match catalog::translate::Deployment::new(target, have) {
                Ok(d) => Some(d),
                Err(e) => {
                    eprintln!("detdex: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    };
    let sources: Vec<Source> = sources
        .iter()
        .map(|s| crate::parse_source(s))
        .chain(paths.iter().map(|p| Source {
            name: crate::folder_name(p),
            root: p.clone(),
            include: Vec::new(),
        }))
        .collect();
    if sources.is_empty() {
        eprintln!("detdex: coverage needs rule folders: PATH... or --source NAME=DIR");
        return ExitCode::from(2);
    }
    for s in &sources {
        if !s.root.exists() {
            eprintln!("detdex: {}: no such file or folder", s.root.display());
            return ExitCode::from(2);
        }
    }
    let t0 = Instant::now();
    let cat = Catalog::load(&sources);
    let t_load = t0.elapsed();
    let t1 = Instant::now();
    let keys = match &deployment {
        Some(d) => match catalog::translate::deployable(&cat.rules, d) {
            Ok(k) => Some(k),
            Err(e) => {
                eprintln!("detdex: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    let c = catalog::coverage::coverage_of(
        &cat,
        Scope {
            retired,
            ..Scope::default()
        },
        &|r| keys.as_ref().is_none_or(|k| k.contains(&r.key)),
    );
    let t_coverage = t1.elapsed();
    let scope = catalog::navigator::scope_text(Scope {
        retired,
        ..Scope::default()
    });
    if let Some(file) = layers.navigator {
        let layer = catalog::navigator::layer(&c, &scope);
        let written = serde_json::to_string_pretty(&layer)
            .map_err(|e| e.to_string())
            .and_then(|s| std::fs::write(file, s + "\n").map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("detdex: {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    }
    if let (Some(text), Some(file)) = (&compare, layers.compare) {
        let cmp = match catalog::navigator::compare(text, &c, &scope) {
            Ok(cmp) => cmp,
            Err(e) => {
                eprintln!("detdex: {}: {e}", file.display());
                return ExitCode::FAILURE;
            }
        };
        let out = if json {
            match serde_json::to_string_pretty(&cmp) {
                Ok(s) => s + "\n",
                Err(e) => {
                    eprintln!("detdex: {e}");
                    return ExitCode::FAILURE;
                }
            }
        } else {
            comparison_text(&cmp)
        };
        crate::print_out(&out);
        return ExitCode::SUCCESS;
    }
    let mut value = match serde_json::to_value(&c) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("detdex: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(d) = &deployment {
        value["deployable"] = serde_json::json!({
            "target": d.target.name(),
            "have": d.have,
        });
    }
    let out = if json {
        match serde_json::to_string_pretty(&value) {
            Ok(s) => s + "\n",
            Err(e) => {
                eprintln!("detdex: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        let head = match &deployment {
            Some(d) if d.have.is_empty() => format!(
                "deployable: rules that convert for {} only\n",
                d.target.name()
            ),
            Some(d) => format!(
                "deployable: rules that convert for {} and read only {}\n",
                d.target.name(),
                d.have.join(", ")
            ),
            None => String::new(),
        };
        head + &text(&c)
    };
    crate::print_out(&out);
    if timings {
        eprintln!(
            "timings: load {:.1} ms, coverage {:.2} ms ({} rules)",
            t_load.as_secs_f64() * 1e3,
            t_coverage.as_secs_f64() * 1e3,
            c.rules
        );
    }
    ExitCode::SUCCESS
}

/// A summary line, then per tactic `Execution  37/45 techniques, 812 rules` and its uncovered
/// techniques, then the stale technique ids with the rules naming them.
fn text(c: &catalog::Coverage) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} rules{}, {} mapped to ATT&CK; {}/{} techniques covered",
        c.rules,
        if c.retired_rules > 0 {
            format!(
                " (+{} retired, left out; --retired counts them)",
                c.retired_rules
            )
        } else {
            String::new()
        },
        c.mapped_rules,
        c.techniques_covered,
        c.techniques_total
    );
    let width = c.tactics.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for t in &c.tactics {
        let _ = writeln!(
            out,
            "{:width$}  {}/{} techniques, {}",
            t.name,
            t.techniques_covered,
            t.techniques_total,
            rules(t.rules)
        );
        for x in t.techniques.iter().filter(|x| x.rules == 0) {
            let _ = writeln!(out, "  uncovered: {} {}", x.id, x.name);
        }
    }
    if !c.stale.is_empty() {
        let _ = writeln!(out, "stale technique ids (counted nowhere above):");
        for s in &c.stale {
            let name = s.name.map(|n| format!(" {n}")).unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}{name} ({}): {}",
                s.id,
                s.state,
                rules(s.rules.len())
            );
            for r in &s.rules {
                let _ = writeln!(out, "    {r}");
            }
        }
    }
    out
}

/// The comparison of a layer with the rules' coverage, a list per side.
fn comparison_text(c: &catalog::navigator::Comparison) -> String {
    let mut out = String::new();
    let layer = if c.layer.is_empty() {
        "the layer"
    } else {
        &c.layer
    };
    let _ = writeln!(out, "{layer} against the rules ({}):", c.scope);
    for (title, rows) in [
        ("in both", &c.both),
        ("in the layer only", &c.only_layer),
        ("in the rules only", &c.only_catalog),
    ] {
        let _ = writeln!(out, "{title}: {} techniques", rows.len());
        for r in rows {
            let score = r
                .layer_score
                .map(|s| format!(", layer score {s}"))
                .unwrap_or_default();
            let _ = writeln!(out, "  {} {} ({}{score})", r.id, r.name, rules(r.rules));
        }
    }
    if !c.not_counted.is_empty() {
        let _ = writeln!(out, "entries of the layer counted nowhere:");
        for n in &c.not_counted {
            let id = n.id.as_deref().map(|i| format!(" {i}")).unwrap_or_default();
            let _ = writeln!(out, "  entry {}{id}: {}", n.entry, n.why);
        }
    }
    out
}

fn rules(n: usize) -> String {
    if n == 1 {
        "1 rule".into()
    } else {
        format!("{n} rules")
    }
}
