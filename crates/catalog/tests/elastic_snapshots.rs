//! `show --format json` pinned for real Elastic detection-rules of every language and rule type
//! (kuery, EQL events and sequences, ES|QL, threshold, new_terms, machine_learning,
//! threat_match, building blocks, filters) and hunting queries, read as the catalog reads the
//! whole checkout, with corpus counts from it.

use std::path::Path;

/// Files under ../shared/corpora/elastic (with `#N` for the N-th query of a hunting file).
const RULES: &[(&str, &str)] = &[
    (
        "kuery query",
        "rules/integrations/aws/defense_evasion_guardduty_finding_suppression.toml",
    ),
    (
        "kuery query, value lists",
        "rules/integrations/azure/execution_azure_aks_user_exec_into_pod.toml",
    ),
    (
        "kuery with [[rule.filters]]",
        "rules/windows/defense_evasion_posh_assembly_load.toml",
    ),
    (
        "kuery with negated wildcard filters",
        "rules/windows/defense_evasion_posh_process_injection.toml",
    ),
    (
        "eql event query",
        "rules/macos/initial_access_suspicious_mac_ms_office_child_process.toml",
    ),
    (
        "eql event query",
        "rules/windows/execution_susp_javascript_via_deno.toml",
    ),
    (
        "eql event query, cloud",
        "rules/integrations/aws/persistence_lambda_cross_account_invocation_backdoor.toml",
    ),
    (
        "eql regex",
        "rules/cross-platform/exfiltration_potential_curl_data_exfiltration.toml",
    ),
    (
        "eql descendant of",
        "rules/cross-platform/execution_via_github_actions_runner.toml",
    ),
    (
        "eql pipes",
        "rules/cross-platform/discovery_security_software_grep.toml",
    ),
    (
        "eql pipes",
        "rules/linux/execution_process_started_from_process_id_file.toml",
    ),
    (
        "eql sequence",
        "rules/windows/lateral_movement_dcom_hta.toml",
    ),
    (
        "eql sequence",
        "rules/windows/persistence_temp_scheduled_task.toml",
    ),
    (
        "eql sequence with a missing event",
        "rules/cross-platform/defense_evasion_missing_events_after_alert.toml",
    ),
    (
        "eql sequence with runs",
        "rules/windows/impact_ransomware_file_rename_smb.toml",
    ),
    (
        "eql sequence with until",
        "rules/integrations/okta/credential_access_okta_mfa_bombing_via_push_notifications.toml",
    ),
    (
        "eql sample",
        "rules/linux/execution_shell_via_udp_cli_utility_linux.toml",
    ),
    (
        "esql stats by",
        "rules/cross-platform/lateral_movement_multi_alerts_new_srcip.toml",
    ),
    (
        "esql",
        "rules/network/impact_dhcp_starvation_high_client_mac_cardinality.toml",
    ),
    (
        "esql dissect/grok",
        "rules/integrations/kubernetes/credential_access_kubernetes_pod_exec_sensitive_file_access.toml",
    ),
    (
        "esql inline stats",
        "rules/cross-platform/multiple_elastic_defend_behavior_rules_same_host_prevalence.toml",
    ),
    (
        "threshold",
        "rules/linux/privilege_escalation_potential_bufferoverflow_attack.toml",
    ),
    (
        "threshold",
        "rules/integrations/o365/initial_access_entra_id_portal_login_impossible_travel.toml",
    ),
    (
        "new_terms",
        "rules/integrations/aws/initial_access_iam_user_console_login_without_mfa.toml",
    ),
    (
        "new_terms",
        "rules/linux/defense_evasion_interactive_shell_from_system_user.toml",
    ),
    (
        "machine_learning",
        "rules/ml/credential_access_ml_windows_anomalous_metadata_process.toml",
    ),
    (
        "machine_learning, several jobs",
        "rules/integrations/dga/command_and_control_ml_dga_high_sum_probability.toml",
    ),
    (
        "threat_match",
        "rules/threat_intel/threat_intel_indicator_match_url.toml",
    ),
    (
        "threat_match",
        "rules/threat_intel/threat_intel_indicator_match_registry.toml",
    ),
    (
        "building block, eql",
        "rules_building_block/discovery_of_domain_groups.toml",
    ),
    (
        "building block, kuery",
        "rules_building_block/persistence_azure_vm_configuration_modified.toml",
    ),
    (
        "building block, esql",
        "rules_building_block/discovery_ec2_multi_region_describe_instances.toml",
    ),
    (
        "lucene (shown as text)",
        "rules/_deprecated/privilege_escalation_setgid_bit_set_via_chmod.toml",
    ),
    (
        "hunting, esql",
        "hunting/aws/queries/ec2_discovery_multi_region_describe_instance_calls.toml",
    ),
    (
        "hunting, eql",
        "hunting/macos/queries/defense_evasion_self_deleted_python_script_accessing_sensitive_files.toml",
    ),
    (
        "hunting, second query",
        "hunting/linux/queries/persistence_via_cron.toml#2",
    ),
    (
        "hunting, osquery",
        "hunting/linux/queries/persistence_via_cron.toml#3",
    ),
];

#[test]
fn show_json_snapshots_of_elastic_rules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/elastic");
    assert!(root.is_dir(), "test corpora missing at {}", root.display());
    let cat = catalog::Catalog::load(&[catalog::Source {
        name: "elastic".into(),
        root: root.clone(),
        include: Vec::new(),
    }]);
    for (shape, rel) in RULES {
        let key = format!("elastic/{rel}");
        let rule = cat
            .get(&key)
            .unwrap_or_else(|| panic!("{key} ({shape}) not read"));
        let file = rel.split('#').next().unwrap();
        let errors: Vec<_> = cat
            .diagnostics
            .iter()
            .filter(|d| d.path.ends_with(file) && d.severity == ir::Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{rel}: {errors:?}");
        assert_eq!(rule.format, ir::Format::Elastic);
        let report = catalog::report(&cat, rule);
        assert!(!report.stages.is_empty(), "{rel}: no stages");
        let name = rel
            .rsplit('/')
            .next()
            .unwrap()
            .replace(".toml#", "_")
            .trim_end_matches(".toml")
            .to_string();
        insta::with_settings!({ description => *shape }, {
            insta::assert_json_snapshot!(name, report, {
                ".text" => "[rule text]",
            // Derived from the rest; its own test is tests/analyst.rs.
            ".analyst" => "[analyst]",
            // Tested in crates/web/tests/linked.rs.
            ".event_coverage" => "[event coverage]",
            // Depends on the whole catalog; tested in crates/web/tests/linked.rs.
            ".similar" => "[similar]",
                ".path" => "[path]",
                ".meta.custom[\"investigation guide\"]" => "[investigation guide]",
                ".meta.custom.setup" => "[setup]",
            });
        });
    }
}

/// The whole checkout as a catalog source: every rule and hunting query, and only the known
/// problems (the six hunting ES|QL queries that are not ES|QL, the Lucene rule, the `'''sql`
/// tags).
#[test]
fn the_checkout_loads_with_only_the_known_problems() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/elastic");
    assert!(root.is_dir(), "test corpora missing at {}", root.display());
    let cat = catalog::Catalog::load(&[catalog::Source {
        name: "elastic".into(),
        root,
        include: Vec::new(),
    }]);
    let errors: Vec<_> = cat
        .diagnostics
        .iter()
        .filter(|d| d.severity == ir::Severity::Error)
        .collect();
    assert_eq!(errors.len(), 6, "{errors:#?}");
    assert!(errors.iter().all(|d| d.path.contains("/hunting/")));
    assert_eq!(cat.files, 2332);
    assert!(cat.rules.len() >= 2400, "{}", cat.rules.len());
    assert!(cat.rules.iter().all(|r| r.format == ir::Format::Elastic));
    // ATT&CK ids from [[rule.threat]] are known techniques.
    let attack = catalog::attack::Attack::builtin();
    let with_attack = cat.rules.iter().filter(|r| !r.attack.is_empty()).count();
    assert!(with_attack > 2000, "{with_attack}");
    let unknown: Vec<&String> = cat
        .rules
        .iter()
        .flat_map(|r| &r.attack)
        .filter(|id| attack.technique(id).is_none())
        .collect();
    assert!(unknown.len() < 20, "{unknown:?}");
}

/// Elastic's indicators meet Sigma's: ECS fields are the concepts Sigma fields map to
/// (`data/concepts/fields.tsv`), including Elastic Defend's integrity level field.
#[test]
fn corpus_counts_meet_sigma_rules() {
    let corpora = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora");
    assert!(corpora.join("elastic").is_dir() && corpora.join("sigma").is_dir());
    let cat = catalog::Catalog::load(&[
        catalog::Source {
            name: "sigma".into(),
            root: corpora.join("sigma"),
            include: Vec::new(),
        },
        catalog::Source {
            name: "elastic".into(),
            root: corpora.join("elastic"),
            include: Vec::new(),
        },
    ]);
    let count = |field: &str, value: &str| {
        let v = ir::Value::new(ir::Kind::Eq, value, ir::Syntax::Literal);
        cat.corpus_count(ir::Format::Elastic, Some(field), ir::Kind::Eq, &v)
    };
    for (field, value) in [
        ("process.pe.original_file_name", "CertUtil.exe"),
        ("process.Ext.token.integrity_level_name", "system"),
    ] {
        let c = count(field, value);
        assert!(
            c.by_source.get("sigma").copied().unwrap_or(0) >= 1,
            "{field} {value}: {c}"
        );
        assert!(
            c.by_source.get("elastic").copied().unwrap_or(0) >= 1,
            "{field} {value}: {c}"
        );
    }
}
