//! Shared test helpers: hand-built rules, a real server on loopback and a minimal HTTP/1.1
//! client over `std::net::TcpStream`.
#![allow(dead_code)]

use catalog::Catalog;
use ir::{Expr, Format, Kind, Logic, Meta, Pos, Predicate, Rule, RuleKind, Stage};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

pub const SEED_KEY: &str = "sigma/rules/windows/image_load/image_load_wmi_module_load.yml";
pub const SEED_TITLE: &str = "WMI module loaded by suspicious process";
pub const XSS_KEY: &str = "evil/rules/xss.yml";
/// A key with characters that must be percent-encoded in a link.
pub const ODD_KEY: &str = "other src/rules/100% odd?/rule #1.yml#2";
pub const XSS: &str = "<script>alert(1)</script>";

fn pred(field: Option<&str>, kind: Kind, values: &[&str]) -> Expr {
    Expr::Pred(Predicate {
        field: field.map(str::to_string),
        kind,
        values: values
            .iter()
            .map(|v| ir::Value::new(kind, *v, ir::Syntax::SIGMA))
            .collect(),
        case_sensitive: false,
        transforms: Vec::new(),
    })
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn stage(label: &str, text: &str, expr: Expr) -> Stage {
    Stage::new(label, text, Some(expr))
}

fn rule(key: &str, source: &str, meta: Meta, attack: &[&str], text: &str, logic: Logic) -> Rule {
    let path = key.split_once('/').map_or(key, |(_, p)| p);
    Rule {
        key: key.into(),
        source: source.into(),
        format: Format::Sigma,
        language: "sigma".into(),
        kind: RuleKind::Detection,
        meta,
        attack: strings(attack),
        text: text.into(),
        path: path.trim_end_matches("#2").into(),
        pos: Pos { line: 1, col: 1 },
        logic,
        links: Vec::new(),
    }
}

const SEED_TEXT: &str = r"title: WMI module loaded by suspicious process
description: Detects scenarios where an attacker attempts to load WMI modules from a suspicious process (like PowerShell).
references:
    - https://threathunterplaybook.com/notebooks/windows/02_execution/WIN-190811201010.html
tags:
    - attack.execution
    - attack.t1047
author: shortly adapted from Roberto Rodriguez rule
status: experimental
logsource:
    product: windows
    service: image_loaded
detection:
    selection:
        EventID: 7 # image loaded
        ImageLoaded|endswith:
            - '\wmiclnt.dll'
            - '\WmiApRpl.dll'
            - '\wmiprov.dll'
    filter:
        Image|endswith:
            - '\wmiprvse.exe'
            - '\wmiapsrv.exe'
            - '\svchost.exe'
    condition: selection and not filter
falsepositives:
    - None
level: high
";

/// A rule shaped like seed 001: a condition `selection and not filter`, a selection stage and
/// a `not filter` stage.
pub fn seed_rule() -> Rule {
    let meta = Meta {
        title: SEED_TITLE.into(),
        id: Some("0fe3b0f4-4b2c-4f3d-9d3b-6a8a1f2b0c01".into()),
        description: "Detects scenarios where an attacker attempts to load WMI modules from a suspicious process (like PowerShell).".into(),
        status: Some("experimental".into()),
        level: Some("high".into()),
        authors: strings(&["shortly adapted from Roberto Rodriguez rule"]),
        date: Some("2019-08-10".into()),
        modified: Some("2021-11-27".into()),
        license: Some("DRL-1.1".into()),
        references: strings(&[
            "https://threathunterplaybook.com/notebooks/windows/02_execution/WIN-190811201010.html",
            "https://www.darkoperator.com/blog/2017/10/14/basics-of-tracking-wmi-activity",
        ]),
        tags: strings(&["attack.execution", "attack.t1047"]),
        false_positives: strings(&["None"]),
        data_sources: vec![
            ("product".into(), "windows".into()),
            ("service".into(), "image_loaded".into()),
        ],
        ..Meta::default()
    };
    let logic = Logic {
        stages: vec![
            stage(
                "condition",
                "selection and not filter",
                Expr::And(vec![Expr::Stage(1), Expr::Not(Box::new(Expr::Stage(2)))]),
            ),
            stage(
                "selection",
                "selection:\n    EventID: 7\n    ImageLoaded|endswith:\n        - '\\wmiclnt.dll'\n        - '\\WmiApRpl.dll'\n        - '\\wmiprov.dll'",
                Expr::And(vec![
                    pred(Some("EventID"), Kind::Eq, &["7"]),
                    pred(
                        Some("ImageLoaded"),
                        Kind::EndsWith,
                        &["\\wmiclnt.dll", "\\WmiApRpl.dll", "\\wmiprov.dll"],
                    ),
                ]),
            ),
            stage(
                "not filter",
                "filter:\n    Image|endswith:\n        - '\\wmiprvse.exe'\n        - '\\wmiapsrv.exe'\n        - '\\svchost.exe'",
                pred(
                    Some("Image"),
                    Kind::EndsWith,
                    &["\\wmiprvse.exe", "\\wmiapsrv.exe", "\\svchost.exe"],
                ),
            ),
        ],
    };
    rule(SEED_KEY, "sigma", meta, &["T1047"], SEED_TEXT, logic)
}

/// A rule whose every text field tries to inject markup.
pub fn xss_rule() -> Rule {
    let meta = Meta {
        title: format!("Zz {XSS} \"'& title"),
        id: Some("xss-<id>".into()),
        description: format!("Description {XSS} \"'& <img src=x onerror=alert(2)>"),
        status: Some("test\"><script>alert(3)</script>".into()),
        level: Some("<b>critical</b>".into()),
        authors: strings(&[XSS, "Mallory \"'&"]),
        references: strings(&[
            "javascript:alert(4)",
            "https://example.com/\"><script>alert(5)</script>",
            "not a link <script>",
        ]),
        tags: strings(&["attack.execution", "<script>tag</script>"]),
        false_positives: strings(&[XSS]),
        data_sources: vec![("product".into(), XSS.into())],
        ..Meta::default()
    };
    let logic = Logic {
        stages: vec![
            stage(
                "condition",
                &format!("sel and not {XSS}"),
                Expr::And(vec![Expr::Stage(1), Expr::Not(Box::new(Expr::Stage(2)))]),
            ),
            stage(
                "sel",
                &format!("sel: {XSS}"),
                Expr::Or(vec![
                    pred(Some("CommandLine"), Kind::Contains, &[XSS, "\"'&"]),
                    pred(None, Kind::Keyword, &["<img src=x onerror=alert(6)>"]),
                    Expr::Not(Box::new(pred(Some("User"), Kind::Eq, &["SYSTEM"]))),
                ]),
            ),
            stage(
                &format!("not {XSS}"),
                XSS,
                pred(Some("<script>field</script>"), Kind::Eq, &[XSS]),
            ),
        ],
    };
    rule(
        XSS_KEY,
        "evil",
        meta,
        &["T1059.001", "T9999"],
        &format!("title: {XSS}\ndescription: \"'&\n"),
        logic,
    )
}

/// A rule with a key that needs encoding and no exclusions.
pub fn odd_rule() -> Rule {
    let meta = Meta {
        title: "Encoded key rule".into(),
        level: Some("low".into()),
        status: Some("stable".into()),
        ..Meta::default()
    };
    let logic = Logic {
        stages: vec![stage(
            "condition",
            "keywords",
            pred(None, Kind::Keyword, &["mimikatz"]),
        )],
    };
    rule(ODD_KEY, "other src", meta, &[], "detection: ...\n", logic)
}

pub fn catalog() -> Arc<Catalog> {
    Arc::new(Catalog::from_parts(
        vec![seed_rule(), xss_rule(), odd_rule()],
        Vec::new(),
        3,
    ))
}

/// Start the real server on 127.0.0.1:0 over a catalog recorded into an in-memory store now.
pub fn start(catalog: Arc<Catalog>) -> SocketAddr {
    start_site(web::Site::in_memory(catalog).expect("store"))
}

/// Start the real server on 127.0.0.1:0 in a tokio task on a runtime of its own.
pub fn start_site(site: web::Site) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            let server = tokio::spawn(web::serve_on(listener, site));
            server.await.expect("join").expect("serve");
        });
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("server started")
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `GET path` over a fresh connection.
pub fn get(addr: SocketAddr, path: &str) -> Response {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: */*\r\n\r\n"
    )
    .unwrap();
    read_response(s)
}

/// `POST path` with `body` (as JSON) over a fresh connection.
pub fn post(addr: SocketAddr, path: &str, body: &[u8]) -> Response {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: */*\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    // The server may answer (413) before reading all of a body too large for it.
    let _ = s.write_all(body);
    read_response(s)
}

fn read_response(mut s: TcpStream) -> Response {
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8(raw[..split].to_vec()).expect("utf-8 headers");
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body: String::from_utf8(body).expect("utf-8 body"),
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size");
        let size = std::str::from_utf8(&data[..eol]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        data = &data[eol + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Undo the HTML escaping of an attribute value (askama writes `&#38;` style references).
pub fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find(';').expect("entity end");
        let ent = &rest[1..end];
        let c = match ent {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let n = ent.strip_prefix('#').expect("numeric entity");
                char::from_u32(n.parse().expect("decimal")).unwrap()
            }
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The `href` values of a page, unescaped.
pub fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .map(|s| unescape(&s[..s.find('"').expect("closing quote")]))
        .collect()
}

/// The HTML of the `<section id="...">` of a page.
pub fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<section id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section {id}"));
    let end = html[start..].find("</section>").expect("section end");
    &html[start..start + end]
}

/// Seeds 000 (WSMAN image loads) and 003 (WmiPrvSE spawning a process), read from the SigmaHQ
/// corpus beside the checkout, as `detdex serve` reads them.
pub const WSMAN_KEY: &str = "sigma/image_load_wsman_provider_image_load.yml";
pub const WMIPRVSE_KEY: &str = "sigma/proc_creation_win_wmiprvse_spawning_process.yml";

pub fn corpus_catalog() -> Arc<Catalog> {
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/sigma/rules/windows");
    assert!(
        rules.is_dir(),
        "test corpora missing at {}",
        rules.display()
    );
    let cat = Catalog::load(&[
        catalog::Source {
            name: "sigma".into(),
            root: rules.join("image_load/image_load_wsman_provider_image_load.yml"),
            include: Vec::new(),
        },
        catalog::Source {
            name: "sigma".into(),
            root: rules.join("process_creation/proc_creation_win_wmiprvse_spawning_process.yml"),
            include: Vec::new(),
        },
    ]);
    assert!(cat.get(WSMAN_KEY).is_some() && cat.get(WMIPRVSE_KEY).is_some());
    Arc::new(cat)
}

/// The five seed rules' keys in [`seeds_catalog`], in the seeds' order.
pub const SEED_KEYS: [&str; 5] = [
    "sigma/rules/windows/image_load/image_load_wsman_provider_image_load.yml",
    "mdecrevoisier/windows-os/win-os-WMI module loaded by suspicious process (CME).yaml",
    "falconfriday/0xFF-0582-WinRM_Plugin_Lateral_Movement-Windows.md",
    "sigma/rules/windows/process_creation/proc_creation_win_wmiprvse_spawning_process.yml",
    "splunk/detections/endpoint/remote_process_instantiation_via_winrm_and_powershell.yml",
];

/// The seeds' sources, as `detdex serve --source` reads them: SigmaHQ's process-creation and
/// image-load rules, mdecrevoisier, FalconFriday and Splunk's security_content, so the seeds'
/// corpus counts and similar rules span several sources.
pub fn seeds_catalog() -> Arc<Catalog> {
    let corpora = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora");
    let sigma = corpora.join("sigma");
    let source =
        |name: &str, root: std::path::PathBuf, include: Vec<std::path::PathBuf>| catalog::Source {
            name: name.into(),
            root,
            include,
        };
    let cat = Catalog::load(&[
        source(
            "sigma",
            sigma.clone(),
            vec![
                sigma.join("rules/windows/process_creation"),
                sigma.join("rules/windows/image_load"),
            ],
        ),
        source("mdecrevoisier", corpora.join("mdecrevoisier"), vec![]),
        source("falconfriday", corpora.join("falconfriday"), vec![]),
        source("splunk", corpora.join("splunk"), vec![]),
    ]);
    for key in SEED_KEYS {
        assert!(cat.get(key).is_some(), "{key} not in the catalog");
    }
    Arc::new(cat)
}

/// The one script element rule pages have: the copy buttons, from our own file.
pub const COPY_SCRIPT: &str = "<script src=\"/static/copy.js\" defer></script>";

/// A page (as served, or as a browser's DOM writes it: `defer=""`) without its copy-button
/// script element, to check it holds no other.
pub fn without_copy_script(html: &str) -> String {
    html.replacen(COPY_SCRIPT, "", 1).replacen(
        "<script src=\"/static/copy.js\" defer=\"\"></script>",
        "",
        1,
    )
}

mod coverage_json;
#[allow(unused_imports)] // robust.rs has no coverage
pub use coverage_json::covered_cells;

/// `POST path` of a `multipart/form-data` form holding one file field, as a browser sends a
/// form with `<input type="file" name="{field}">`.
pub fn post_file(addr: SocketAddr, path: &str, field: &str, file: &str, data: &[u8]) -> Response {
    let boundary = "----detdexTestBoundary7MA4YWxkTrZu0gW";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file}\"\r\n\
         Content-Type: application/json\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: */*\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    // The server may answer (413) before reading all of a body too large for it.
    let _ = s.write_all(&body);
    read_response(s)
}
