//! Generic KQL sources: a folder of `.kql` files and markdown with KQL blocks reads as KQL
//! rules; READMEs without KQL blocks and real C# are not claimed; a block that does not parse
//! is an error at its place in the file and the file's other blocks still read.

use catalog::read::{FileFormat, detect};
use std::path::Path;

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[test]
fn detection_by_extension_and_content() {
    let kql = Some(FileFormat::Kql);
    assert_eq!(detect(Path::new("a/q.kql"), "T | take 1"), kql);
    assert_eq!(detect(Path::new("a/q.KQL"), ""), kql);
    assert_eq!(detect(Path::new("a/r.md"), "# R\n```kql\nT\n```\n"), kql);
    assert_eq!(
        detect(
            Path::new("a/README.md"),
            "# Hunting queries\n\nSee the folders.\n"
        ),
        None
    );
    assert_eq!(
        detect(Path::new("a/README.md"), "# C#\n```C#\nvar x = 1;\n```\n"),
        None
    );
    assert_eq!(
        detect(Path::new("a/notes"), "# Notes\n```kql\nT\n```\n"),
        None,
        "no extension: FalconFriday only"
    );
    let ff = "# X\n## Metadata\n**ID:** 0xFF-1\n## Detection\n```C#\nT\n| where A == 1\n```\n";
    assert_eq!(detect(Path::new("a/0xFF-1-X"), ff), kql);
    // Kusto's own extension, and text files that read as KQL (not word lists or notes).
    assert_eq!(detect(Path::new("a/q.csl"), "T | take 1"), kql);
    assert_eq!(
        detect(Path::new("a/q.txt"), "// x\nDeviceEvents\n| where A == 1\n"),
        kql
    );
    assert_eq!(
        detect(Path::new("a/q.txt"), "union isfuzzy=true A, B\n"),
        kql
    );
    assert_eq!(
        detect(Path::new("a/list.txt"), "cmd.exe\nwhoami.exe\n"),
        None
    );
    // Untagged fences on a page without another language; `csl` fences.
    assert_eq!(
        detect(Path::new("a/r.md"), "# R\n```\nT\n| take 1\n```\n"),
        kql
    );
    assert_eq!(detect(Path::new("a/r.md"), "# R\n```csl\nT\n```\n"), kql);
    assert_eq!(
        detect(
            Path::new("a/r.md"),
            "# R\n```bash\nls\n```\n```\nT\n| take 1\n```\n"
        ),
        None
    );
    assert_eq!(
        catalog::read::not_a_rule(Path::new("a/r.md")),
        "markdown without a KQL code block"
    );
}

#[test]
fn a_folder_of_kql_content() {
    let dir = std::env::temp_dir().join(format!("detdex-kql-sources-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    write(
        &dir,
        "Process/Rare_Parent.kql",
        "// Rare parents of cmd.exe\nDeviceProcessEvents\n| where FileName =~ \"cmd.exe\"\n",
    );
    write(
        &dir,
        "Notes/hunts.md",
        "# Hunts\n\nFirst one:\n```kql\nDeviceEvents\n| where ActionType == \"X\"\n```\n\nBroken:\n```kql\nDeviceEvents\n| where ActionType ==\n| take 1\n```\n\nThird:\n```KQL\nSigninLogs | where ResultType != \"0\"\n```\n",
    );
    write(&dir, "README.md", "# Queries\n\nNothing to see.\n");
    let cat = catalog::Catalog::load(&[catalog::Source {
        name: "hunting".into(),
        root: dir.clone(),
        include: Vec::new(),
    }]);
    let keys: Vec<&str> = cat.rules.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "hunting/Notes/hunts.md",
            "hunting/Notes/hunts.md#3",
            "hunting/Process/Rare_Parent.kql"
        ]
    );
    assert_eq!(cat.files, 2, "the README is not a rule file");
    assert_eq!(cat.problem_counts(), (1, 0));
    let d = &cat.diagnostics[0];
    assert!(d.path.ends_with("hunts.md"), "{d}");
    assert_eq!((d.line, d.col), (13, 1), "{d}");
    assert!(d.message.contains("KQL query 2 does not parse"), "{d}");
    let r = cat.get("hunting/Process/Rare_Parent.kql").unwrap();
    assert_eq!(r.meta.title, "Rare Parent");
    assert_eq!(r.meta.description, "Rare parents of cmd.exe");
    let third = cat.get("hunting/Notes/hunts.md#3").unwrap();
    assert_eq!(third.meta.title, "Hunts: Third");
    assert_eq!(
        ir::exclusions(&third.logic)[0].all[0].values,
        ["0"],
        "ResultType != \"0\" is an exclusion"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
