//! Snapshots of real ES|QL queries of different shapes (rules and hunting queries), printed back
//! from the tree one command a line: canonical case, names unquoted or backquoted as needed,
//! strings re-quoted, parentheses only where the structure needs them.

use std::path::Path;

use elastic::esql;

/// (path under the corpus, index in a hunting query array).
const QUERIES: &[(&str, usize)] = &[
    // metadata, mv_expand, long `in` lists, like, keep, stats … by, eval mv_min
    (
        "rules/_deprecated/persistence_web_server_sus_child_spawned.toml",
        0,
    ),
    // inline stats with an aggregation filter (`WHERE`)
    (
        "rules/cross-platform/initial_access_elastic_defend_alert_package_manager_ancestor.toml",
        0,
    ),
    // rename
    (
        "rules/integrations/azure/initial_access_entra_id_illicit_consent_grant_via_registered_application.toml",
        0,
    ),
    // backquoted names (`no-wait`)
    ("rules/network/impact_amqp_multi_queue_purge_burst.toml", 0),
    // KQL() inside where
    (
        "rules/cross-platform/multiple_machine_learning_jobs_by_entity.toml",
        0,
    ),
    // COMPLETION (kept as raw tokens) and DISSECT of its answer
    (
        "rules/cross-platform/multiple_alerts_llm_compromised_user_triage.toml",
        0,
    ),
    // METADATA _source
    (
        "rules/network/impact_potential_nfs_destructive_operation_burst.toml",
        0,
    ),
    // dissect
    (
        "hunting/aws/queries/ec2_suspicious_get_user_password_request.toml",
        0,
    ),
    // grok
    (
        "hunting/linux/queries/privilege_escalation_via_segmentation_fault_and_buffer_overflow.toml",
        0,
    ),
    // rlike with """triple-quoted""" patterns
    (
        "hunting/linux/queries/defense_evasion_via_multi_dot_process_execution.toml",
        0,
    ),
    // case(), time spans
    ("hunting/linux/queries/persistence_via_rc_local.toml", 0),
    // date_trunc(30 seconds, …), count_distinct, comments between commands
    (
        "hunting/aws/queries/ec2_discovery_multi_region_describe_instance_calls.toml",
        0,
    ),
    // cidr_match
    (
        "hunting/aws/queries/s3_public_bucket_rapid_object_access_attempts.toml",
        0,
    ),
    // every len/14-th ES|QL rule of rules/ (sorted by path), for breadth
    (
        "rules/cross-platform/command_and_control_curl_activity_auditd_llm_triage.toml",
        0,
    ),
    (
        "rules/cross-platform/execution_potential_widespread_malware_infection.toml",
        0,
    ),
    (
        "rules/cross-platform/multiple_alerts_email_elastic_defend_correlation.toml",
        0,
    ),
    (
        "rules/cross-platform/newly_observed_elastic_defend_alert.toml",
        0,
    ),
    (
        "rules/integrations/aws/execution_ec2_stop_start_with_user_data_modification.toml",
        0,
    ),
    (
        "rules/integrations/aws/persistence_iam_user_created_access_keys_for_another_user.toml",
        0,
    ),
    (
        "rules/integrations/aws_bedrock/aws_bedrock_multiple_word_policy_blocks_detected.toml",
        0,
    ),
    (
        "rules/integrations/azure/discovery_graph_activity_delegated_user_multi_category_recon.toml",
        0,
    ),
    (
        "rules/integrations/gcp/discovery_gcp_gke_api_request_failure_burst.toml",
        0,
    ),
    (
        "rules/integrations/kubernetes/credential_access_kubernetes_multiple_secret_retrieval_burst.toml",
        0,
    ),
    (
        "rules/integrations/o365/defense_evasion_entra_id_susp_oauth2_authorization.toml",
        0,
    ),
    (
        "rules/linux/credential_access_potential_password_spraying_attack.toml",
        0,
    ),
    (
        "rules/network/discovery_potential_port_scan_detected.toml",
        0,
    ),
    (
        "rules/windows/credential_access_bruteforce_admin_account.toml",
        0,
    ),
];

fn query_of(root: &Path, rel: &str, index: usize) -> Option<String> {
    let text = std::fs::read_to_string(root.join(rel)).ok()?;
    let doc: toml::Table = toml::from_str(&text).unwrap();
    if let Some(rule) = doc.get("rule") {
        return Some(rule["query"].as_str()?.to_string());
    }
    match &doc["hunt"]["query"] {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Array(a) => Some(a.get(index)?.as_str()?.to_string()),
        _ => None,
    }
}

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
    for (rel, index) in QUERIES {
        let Some(query) = query_of(&root, rel, *index) else {
            eprintln!("missing: {rel} [{index}]");
            continue;
        };
        let tree = esql::parse(&query).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let lines: Vec<String> = tree.commands.iter().map(esql::print_command).collect();
        let name = Path::new(rel)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        insta::assert_snapshot!(format!("esql_{name}"), lines.join("\n| "));
        seen += 1;
    }
    assert_eq!(
        seen,
        QUERIES.len(),
        "some of the chosen queries are missing"
    );
}
