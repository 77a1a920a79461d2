//! `show --format json` pinned for real rules of many shapes (the JSON the CLI, API and web share).

use std::path::Path;

/// Files under ../shared/corpora, chosen to cover every modifier family, keyword lists, `of`
/// conditions, filters, many logsources and both repositories.
const RULES: &[&str] = &[
    "sigma/rules-emerging-threats/2014/Exploits/CVE-2014-6287/web_cve_2014_6287_hfs_rce.yml",
    "sigma/rules-emerging-threats/2014/TA/Turla/proc_creation_win_apt_turla_comrat_may20.yml",
    "sigma/rules-emerging-threats/2017/Malware/Adwind-RAT/proc_creation_win_malware_adwind.yml",
    "sigma/rules-emerging-threats/2017/Malware/NotPetya/proc_creation_win_malware_notpetya.yml",
    "sigma/rules-emerging-threats/2017/TA/Lazarus/proc_creation_win_apt_lazarus_binary_masquerading.yml",
    "sigma/rules-emerging-threats/2018/Exploits/CVE-2018-15473/lnx_sshd_exploit_cve_2018_15473.yml",
    "sigma/rules-emerging-threats/2018/TA/APT28/proc_creation_win_apt_sofacy.yml",
    "sigma/rules-emerging-threats/2019/Malware/Chafer/proxy_malware_chafer_url_pattern.yml",
    "sigma/rules-emerging-threats/2020/Exploits/CVE-2020-1048/registry_set_exploit_cve_2020_1048_new_printer_port.yml",
    "sigma/rules-emerging-threats/2021/Exploits/CVE-2021-22123/web_cve_2021_22123_fortinet_exploit.yml",
    "sigma/rules-emerging-threats/2022/Malware/Raspberry-Robin/proc_creation_win_malware_raspberry_robin_external_drive_exec.yml",
    "sigma/rules-emerging-threats/2023/Exploits/CVE-2023-23397/win_smbclient_connectivity_exploit_cve_2023_23397_outlook_remote_file.yml",
    "sigma/rules-emerging-threats/2023/Malware/Pikabot/net_connection_win_malware_pikabot_rundll32_activity.yml",
    "sigma/rules-emerging-threats/2023/TA/Okta-Support-System-Breach/okta_apt_suspicious_user_creation.yml",
    "sigma/rules-emerging-threats/2025/Exploits/CVE-2025-53770/proc_creation_win_exploit_cve_2025_53770_indicators.yml",
    "sigma/rules-emerging-threats/2025/Exploits/CVE-2025-55182/proc_creation_lnx_exploit_cve_2025_55182_susp_nodejs_server_child_process.yml",
    "sigma/rules-emerging-threats/2026/Exploits/CVE-2026-54121/win_security_adcs_certighost_cdc_chase_request.yml",
    "sigma/rules-threat-hunting/windows/powershell/powershell_script/posh_ps_registry_reconnaissance.yml",
    "sigma/rules-threat-hunting/windows/process_creation/proc_creation_win_susp_parent_execute_itself.yml",
    "sigma/rules/application/django/appframework_django_exceptions.yml",
    "sigma/rules/category/antivirus/av_advanced_persistent_threat.yml",
    "sigma/rules/cloud/aws/cloudtrail/aws_cloudtrail_bedrock_guardrail_deleted.yml",
    "sigma/rules/cloud/aws/cloudtrail/aws_update_login_profile.yml",
    "sigma/rules/cloud/gcp/audit/gcp_access_policy_deleted.yml",
    "sigma/rules/cloud/m365/audit/microsoft365_bypass_conditional_access.yml",
    "sigma/rules/cloud/m365/audit/microsoft365_new_federated_domain_added_audit.yml",
    "sigma/rules/linux/auditd/execve/lnx_auditd_binary_padding.yml",
    "sigma/rules/linux/network_connection/net_connection_lnx_susp_malware_callback_port.yml",
    "sigma/rules/web/webserver_generic/web_f5_tm_utility_bash_api_request.yml",
    "sigma/rules/windows/builtin/security/win_security_cobaltstrike_service_installs.yml",
    "sigma/rules/windows/builtin/system/service_control_manager/win_system_susp_service_installation_script.yml",
    "sigma/rules/windows/dns_query/dns_query_win_anonymfiles_com.yml",
    "sigma/rules/windows/image_load/image_load_wsman_provider_image_load.yml",
    "sigma/rules/windows/process_creation/proc_creation_win_wmiprvse_spawning_process.yml",
    "sigma/rules/windows/sysmon/sysmon_config_modification.yml",
    "mdecrevoisier/windows-os/win-os-WMI module loaded by suspicious process (CME).yaml",
];

#[test]
fn show_json_snapshots() {
    let corpora = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora");
    assert!(
        corpora.is_dir(),
        "test corpora missing at {}",
        corpora.display()
    );
    for rel in RULES {
        let (source, inner) = rel.split_once('/').unwrap();
        let read = catalog::read::read_file(source, &corpora.join(rel), inner, rel);
        assert!(
            read.diagnostics
                .iter()
                .all(|d| d.severity != ir::Severity::Error),
            "{rel}: {:?}",
            read.diagnostics
        );
        let rule = read
            .rules
            .first()
            .unwrap_or_else(|| panic!("{rel}: no rule"));
        let name = rel
            .rsplit('/')
            .next()
            .unwrap()
            .trim_end_matches(".yml")
            .trim_end_matches(".yaml")
            .replace([' ', '(', ')'], "_");
        let cat = catalog::Catalog::from_parts(read.rules.clone(), vec![], 1);
        for t in catalog::report(&cat, rule).translations.iter() {
            assert_eq!(t.query.is_some(), t.error.is_none(), "{rel} {}", t.target);
            if let Some(q) = &t.query
                && t.target.starts_with("kql")
            {
                // `| extend` lines (computed columns) may come before the `where`.
                assert!(
                    q.starts_with(&format!("{}\n| ", t.tables[0])) && q.contains("\n| where "),
                    "{rel}"
                );
            }
        }
        // The translations' content belongs to `convert` (pinned by its tests and by
        // tests/translations.rs) and changes with its mappings: here only their shape.
        insta::assert_json_snapshot!(name, catalog::report(&cat, rule), {
            ".text" => "[rule text]",
            // Derived from the rest; its own test is tests/analyst.rs.
            ".analyst" => "[analyst]",
            // Tested in crates/web/tests/linked.rs.
            ".event_coverage" => "[event coverage]",
            // Depends on the whole catalog; tested in crates/web/tests/linked.rs.
            ".similar" => "[similar]",
            ".translations[\"kql-xdr\"]" => "[query or null]",
            ".translations[\"kql-asim\"]" => "[query or null]",
            ".translations[\"spl\"]" => "[query or null]",
            ".translations[\"eql\"]" => "[query or null]",
            ".translations[\"esql\"]" => "[query or null]",
            ".translation_details[].status" => "[ok or error]",
            ".translation_details[].query" => "[query or null]",
            ".translation_details[].error" => "[error or null]",
            ".translation_details[].tables" => "[tables]",
            ".required_data_sources" => "[tables]",
        });
    }
}
