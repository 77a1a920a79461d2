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
    // every len/16-th eql rule of rules/ (sorted by path), for breadth
    "rules/cross-platform/command_and_control_common_llm_endpoint.toml",
    "rules/cross-platform/persistence_web_server_potential_sql_injection.toml",
    "rules/integrations/cloud_defend/discovery_suspicious_network_tool_launched_inside_a_container.toml",
    "rules/linux/command_and_control_cupsd_foomatic_rip_netcon.toml",
    "rules/linux/defense_evasion_hidden_file_dir_tmp.toml",
    "rules/linux/execution_cupsd_foomatic_rip_suspicious_child_execution.toml",
    "rules/linux/persistence_dbus_service_creation.toml",
    "rules/linux/persistence_unpack_initramfs_via_unmkinitramfs.toml",
    "rules/macos/command_and_control_suspicious_curl_from_macos_application.toml",
    "rules/macos/persistence_finder_sync_plugin_pluginkit.toml",
    "rules/windows/command_and_control_tunnel_yuze.toml",
    "rules/windows/defense_evasion_defender_exclusion_via_powershell.toml",
    "rules/windows/defense_evasion_run_virt_windowssandbox.toml",
    "rules/windows/execution_downloaded_url_file.toml",
    "rules/windows/initial_access_suspicious_windows_server_update_svc.toml",
    "rules/windows/persistence_service_windows_service_winlog.toml",
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
    assert!(seen >= 24, "only {seen} of the chosen rules found");
}
