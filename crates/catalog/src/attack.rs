//! ATT&CK names and tactics, from the tables in `data/attack/` (made by
//! `scripts/attack-table.py` from MITRE's STIX bundle).

use serde::Serialize;
use std::collections::HashMap;
use std::sync::OnceLock;

const TACTICS: &str = include_str!("../../../data/attack/tactics.tsv");
const TECHNIQUES: &str = include_str!("../../../data/attack/techniques.tsv");

#[derive(Debug, Clone, Serialize)]
pub struct Tactic {
    pub id: String,
    pub shortname: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Technique {
    pub id: String,
    pub name: String,
    /// Tactic shortnames (`execution`, `defense-evasion`).
    pub tactics: Vec<String>,
    /// `active`, `deprecated` or `revoked`.
    pub state: String,
}

pub struct Attack {
    pub tactics: Vec<Tactic>,
    techniques: HashMap<String, Technique>,
}

fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split('\t').collect())
}

impl Attack {
    /// The tables shipped with detdex.
    pub fn builtin() -> &'static Attack {
        static A: OnceLock<Attack> = OnceLock::new();
        A.get_or_init(|| Attack::parse(TACTICS, TECHNIQUES))
    }

    fn parse(tactics: &str, techniques: &str) -> Attack {
        let tactics = rows(tactics)
            .filter(|r| r.len() >= 3)
            .map(|r| Tactic {
                id: r[0].into(),
                shortname: r[1].into(),
                name: r[2].into(),
            })
            .collect();
        let techniques = rows(techniques)
            .filter(|r| r.len() >= 4)
            .map(|r| {
                let t = Technique {
                    id: r[0].into(),
                    name: r[1].into(),
                    tactics: r[2]
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(Into::into)
                        .collect(),
                    state: r[3].into(),
                };
                (t.id.clone(), t)
            })
            .collect();
        Attack {
            tactics,
            techniques,
        }
    }

    /// The ATT&CK release the tables were made from (`18.1`), from their header line.
    pub fn version() -> &'static str {
        TECHNIQUES
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# ATT&CK Enterprise "))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or("")
    }

    pub fn technique(&self, id: &str) -> Option<&Technique> {
        self.techniques.get(id)
    }

    /// Every technique and sub-technique of the tables, whatever its state, in no order.
    pub fn techniques(&self) -> impl Iterator<Item = &Technique> {
        self.techniques.values()
    }

    /// The tactic with this shortname (`execution`) or id (`TA0002`).
    pub fn tactic(&self, key: &str) -> Option<&Tactic> {
        self.tactics
            .iter()
            .find(|t| t.shortname == key || t.id == key)
    }
}

impl Technique {
    pub fn is_active(&self) -> bool {
        self.state == "active"
    }

    /// The parent technique's id of a sub-technique (`T1059` for `T1059.001`).
    pub fn parent(&self) -> Option<&str> {
        self.id.split_once('.').map(|(p, _)| p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_tables_load() {
        let a = Attack::builtin();
        assert_eq!(a.tactics.len(), 14);
        let t = a.technique("T1047").unwrap();
        assert_eq!(t.name, "Windows Management Instrumentation");
        assert_eq!(t.tactics, ["execution"]);
        assert_eq!(a.tactic("execution").unwrap().name, "Execution");
        assert_eq!(a.tactic("TA0002").unwrap().shortname, "execution");
        assert!(Attack::version().starts_with(|c: char| c.is_ascii_digit()));
    }
}
