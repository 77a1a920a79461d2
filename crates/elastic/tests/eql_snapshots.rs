//! Snapshots of real EQL rule queries of different shapes, printed back from the tree (the
//! printer makes grouping visible: one line, parentheses where the structure needs them).

use std::path::Path;

use elastic::eql;

const RULES: &[&str] = &[
    "rules/_deprecated/command_and_control_connection_attempt_by_non_ssh_root_session.toml",
    "rules/_deprecated/credential_access_potential_linux_ssh_bruteforce_root.toml",
    "rules/_deprecated/defense_evasion_code_injection_conhost.toml",
    "rules/linux/execution_netcon_from_rwx_mem_region_binary.toml",
    "rules/windows/execution_azure_customscript_extension_suspicious_descendant.toml",
    "rules/cross-platform/defense_evasion_masquerading_space_after_filename.toml",
    "rules/_deprecated/command_and_control_linux_port_knocking_reverse_connection.toml",
    "rules/_deprecated/privilege_escalation_cve_2025_41244_vmtoolsd_lpe.toml",
    "rules/cross-platform/command_and_control_curl_wget_spawn_via_nodejs_parent.toml",
    "rules/_deprecated/execution_curl_cve_2023_38545_heap_overflow.toml",
    "rules/_deprecated/command_and_control_linux_chisel_server_activity.toml",
    "rules/_deprecated/defense_evasion_process_termination_followed_by_deletion.toml",
    "rules/integrations/aws/credential_access_iam_compromisedkeyquarantine_policy_attached_to_user.toml",
    "rules/_deprecated/command_and_control_non_standard_http_port.toml",
];

#[test]
fn real_queries() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/elastic");
    if !root.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "corpus missing: {}",
            root.display()
        );
        eprintln!("skipped: corpus missing at {}", root.display());
        return;
    }
    let mut seen = 0;
    for rel in RULES {
        let path = root.join(rel);
        if !path.is_file() {
            eprintln!("missing: {rel}");
            continue;
        }
        let doc: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let query = doc["rule"]["query"].as_str().expect("query");
        let tree = eql::parse(query).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let name = Path::new(rel)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        insta::assert_snapshot!(name, eql::print(&tree));
        seen += 1;
    }
    assert!(seen >= 10, "only {seen} of the chosen rules found");
}
