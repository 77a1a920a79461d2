//! `show --format json` pinned for real security_content detections of many shapes, read as the
//! catalog reads them (the whole checkout, with its macros), with corpus counts from the checkout.

use std::path::Path;

/// Detections under ../shared/corpora/splunk/detections, one or more per shape of search.
const DETECTIONS: &[(&str, &str)] = &[
    (
        "tstats, macro with field conditions",
        "endpoint/remote_process_instantiation_via_winrm_and_powershell.yml",
    ),
    (
        "tstats",
        "endpoint/impacket_lateral_movement_wmiexec_commandline_parameters.yml",
    ),
    (
        "tstats over Endpoint.Registry",
        "endpoint/windows_impair_defense_disable_win_defender_scan_on_update.yml",
    ),
    (
        "tstats over Endpoint.Filesystem",
        "endpoint/remcos_rat_file_creation_in_remcos_folder.yml",
    ),
    (
        "tstats over Network_Traffic, thresholds",
        "network/smb_traffic_spike.yml",
    ),
    (
        "| from datamodel",
        "web/log4shell_jndi_payload_injection_attempt.yml",
    ),
    ("| from datamodel, hunting", "web/hunting_for_log4shell.yml"),
    (
        "join and inputlookup",
        "cloud/detect_aws_console_login_by_user_from_new_country.yml",
    ),
    (
        "raw search with sourcetype",
        "application/okta_multi_factor_authentication_disabled.yml",
    ),
    (
        "stats then where threshold",
        "endpoint/linux_auditd_system_network_configuration_discovery.yml",
    ),
    ("rex", "application/windows_ad_gpo_deleted.yml"),
    ("lookup", "application/windows_ad_hidden_ou_creation.yml"),
    (
        "append",
        "application/detect_distributed_password_spray_attempts.yml",
    ),
    (
        "eventstats",
        "endpoint/high_frequency_copy_of_files_in_network_share.yml",
    ),
    (
        "streamstats",
        "network/detect_dns_data_exfiltration_using_pretrained_model_in_dsdl.yml",
    ),
    (
        "spath",
        "network/detect_windows_dns_sigred_via_splunk_stream.yml",
    ),
    (
        "mvexpand",
        "application/windows_ad_dangerous_group_acl_modification.yml",
    ),
    (
        "eval match()",
        "cloud/o365_mailbox_folder_read_permission_granted.yml",
    ),
    (
        "like()",
        "web/exploit_public_facing_application_via_apache_commons_text.yml",
    ),
    ("cidrmatch()", "network/detect_outbound_smb_traffic.yml"),
    ("| regex", "endpoint/linux_pkexec_privilege_escalation.yml"),
    ("dedup", "cloud/o365_new_email_forwarding_rule_enabled.yml"),
    ("bin", "cloud/aws_multiple_failed_mfa_requests_for_user.yml"),
    ("transaction", "endpoint/short_lived_windows_accounts.yml"),
    (
        "anomaly detection",
        "cloud/abnormally_high_number_of_cloud_instances_launched.yml",
    ),
    (
        "NOT",
        "application/windows_ad_dangerous_user_acl_modification.yml",
    ),
    ("IN (…)", "web/fortinet_appliance_auth_bypass.yml"),
    ("| search", "endpoint/linux_auditd_osquery_service_stop.yml"),
    (
        "fillnull",
        "cloud/detect_new_open_s3_buckets_over_aws_cli.yml",
    ),
    ("rename", "cloud/gsuite_suspicious_calendar_invite.yml"),
];

#[test]
fn show_json_snapshots_of_splunk_detections() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/splunk");
    assert!(root.is_dir(), "test corpora missing at {}", root.display());
    let (read, _, stories) = catalog::read::read_checkout("splunk", &root, &root);
    let mut cat = catalog::Catalog::from_parts(read.rules, read.diagnostics, 0);
    assert!(
        cat.set_stories(stories).is_empty(),
        "story names are unique"
    );
    for (shape, rel) in DETECTIONS {
        let key = format!("splunk/detections/{rel}");
        let rule = cat
            .get(&key)
            .unwrap_or_else(|| panic!("{key} ({shape}) not read"));
        let errors: Vec<_> = cat
            .diagnostics
            .iter()
            .filter(|d| d.path.ends_with(rel) && d.severity == ir::Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{rel}: {errors:?}");
        let report = catalog::report(&cat, rule);
        assert!(!report.stages.is_empty(), "{rel}: no stages");
        let name = rel.rsplit('/').next().unwrap().trim_end_matches(".yml");
        insta::with_settings!({ description => *shape }, {
            // The path is where the corpus is on this machine.
            assert!(report.path.ends_with(rel), "{}", report.path);
            insta::assert_json_snapshot!(name, report, {
                ".text" => "[rule text]",
            // Derived from the rest; its own test is tests/analyst.rs.
            ".analyst" => "[analyst]",
            // Tested in crates/web/tests/linked.rs.
            ".event_coverage" => "[event coverage]",
            // Depends on the whole catalog; tested in crates/web/tests/linked.rs.
            ".similar" => "[similar]",
                ".path" => "[path]",
            });
        });
    }
}

/// Indicators meet across formats: the Splunk WinRM detection's `*Invoke-Command*` is the
/// `contains` of two Sigma rules, and `Processes.original_file_name` is Sigma's
/// `OriginalFileName` (seed 004's corpus column).
#[test]
fn corpus_counts_unify_fields_and_wildcards_across_formats() {
    let corpora = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora");
    let cat = catalog::Catalog::load(&[
        catalog::Source {
            name: "sigma".into(),
            root: corpora.join("sigma"),
            include: Vec::new(),
        },
        catalog::Source {
            name: "splunk".into(),
            root: corpora.join("splunk"),
            include: Vec::new(),
        },
    ]);
    let count = |field: &str, value: &str| {
        let v = ir::Value::new(ir::Kind::Eq, value, ir::Syntax::SPL_SEARCH);
        cat.corpus_count(ir::Format::Splunk, Some(field), ir::Kind::Eq, &v)
    };
    let c = count("Processes.process", "*Invoke-Command*");
    assert_eq!(c.to_string(), "3 (sigma 2, splunk 1)");
    let c = count("Processes.original_file_name", "PowerShell.EXE");
    assert!(c.by_source["sigma"] >= 50, "{c}");
    assert!(c.by_source["splunk"] >= 10, "{c}");
    // The same value under a field of another concept does not count.
    assert_eq!(
        count("Processes.parent_process", "*Invoke-Command*").total,
        0
    );
}
