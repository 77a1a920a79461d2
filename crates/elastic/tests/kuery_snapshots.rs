//! Snapshots of real kuery rule queries of different shapes, printed back from the tree (the
//! printer makes grouping visible: one line, parentheses where the structure needs them).

use std::path::Path;

use elastic::kuery;

const RULES: &[&str] = &[
    "rules/integrations/gcp/persistence_gcp_service_account_impersonation_role_grant.toml",
    "rules/_deprecated/threat_intel_filebeat7x.toml",
    "rules/_deprecated/command_and_control_ssh_secure_shell_to_the_internet.toml",
    "rules/cross-platform/defense_evasion_genai_config_modification.toml",
    "rules/linux/command_and_control_auditd_curl_wget_from_container.toml",
    "rules/_deprecated/persistence_google_workspace_user_group_access_modified_to_allow_external_access.toml",
    "rules/_deprecated/defense_evasion_posh_obfuscation.toml",
    "rules/_deprecated/command_and_control_linux_iodine_activity.toml",
    "rules/linux/collection_potential_video_recording_or_screenshot_activity.toml",
    "rules/integrations/aws/defense_evasion_cloudtrail_logging_deleted.toml",
    "rules/linux/discovery_kernel_module_enumeration.toml",
    "rules/linux/lateral_movement_unusual_remote_file_creation.toml",
    // every len/16-th kuery rule of rules/ (sorted by path), for breadth
    "rules/apm/apm_403_response_to_a_post.toml",
    "rules/integrations/aws/defense_evasion_eks_control_plane_logging_disabled.toml",
    "rules/integrations/aws/impact_backup_recovery_point_deleted.toml",
    "rules/integrations/aws/persistence_iam_roles_anywhere_profile_created.toml",
    "rules/integrations/azure/defense_evasion_automation_runbook_deleted.toml",
    "rules/integrations/azure/initial_access_entra_id_microsoft_auth_broker_unusual_resource.toml",
    "rules/integrations/azure/persistence_event_hub_created_or_updated.toml",
    "rules/integrations/gcp/defense_evasion_gcp_pub_sub_topic_deletion.toml",
    "rules/integrations/gcp/privilege_escalation_gcp_gke_service_account_modified_rbac_objects.toml",
    "rules/integrations/kubernetes/persistence_exposed_service_created_with_type_nodeport.toml",
    "rules/integrations/o365/initial_access_identity_oauth_phishing_via_first_party_microsoft_application.toml",
    "rules/integrations/okta/lateral_movement_multiple_sessions_for_single_user.toml",
    "rules/linux/impact_process_kill_threshold.toml",
    "rules/network/command_and_control_accepted_default_telnet_port_connection.toml",
    "rules/promotions/microsoft_sentinel_external_alerts.toml",
    "rules/windows/credential_access_spn_attribute_modified.toml",
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
        let tree = kuery::parse(query).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let name = Path::new(rel)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        insta::assert_snapshot!(name, kuery::print(&tree));
        seen += 1;
    }
    assert!(seen >= 24, "only {seen} of the chosen rules found");
}
