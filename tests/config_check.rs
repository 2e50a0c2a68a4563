//! `proxdeck check-config` and configuration validation: every error is found,
//! each with file, line, column and field.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use proxdeck::config::{Config, Severity};

fn copy_config(to: &Path) {
    for f in ["naming-conventions.yml", "action-policies.yml"] {
        fs::copy(common::repo().join("config").join(f), to.join(f)).unwrap();
    }
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// The errors (not warnings) as `file-name:line:column: field: message` strings.
fn errors_of(dir: &Path) -> Vec<String> {
    let issues = match Config::load(dir) {
        // The console checks its own key bindings (check-config asks it to).
        Ok(c) => proxdeck::tui::keymap::Keymap::from_config(&c.console)
            .err()
            .unwrap_or_default(),
        Err(mut e) => {
            if let Err(mut keys) = proxdeck::tui::keymap::Keymap::from_config(&e.console) {
                e.issues.append(&mut keys);
            }
            e.issues
        }
    };
    issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .map(|i| {
            format!(
                "{}:{}:{}: {}: {}",
                i.file.file_name().unwrap().to_string_lossy(),
                i.pos.line,
                i.pos.column,
                i.field,
                i.message
            )
        })
        .collect()
}

#[test]
fn shipped_config_is_ok() {
    let out = Command::new(common::proxdeck_bin())
        .args(["check-config", "--config"])
        .arg(common::repo().join("config"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}

#[test]
fn three_errors_in_two_files_are_all_reported_with_positions() {
    let dir = tempfile::tempdir().unwrap();
    copy_config(dir.path());
    let naming = dir.path().join("naming-conventions.yml");
    let policies = dir.path().join("action-policies.yml");
    edit(
        &naming,
        "subnet: \"192.168.2.0/24\"",
        "subnet: \"192.168.2.0/33\"",
    );
    edit(
        &naming,
        "lxc_range_start: \"192.168.3.200\"",
        "lxc_range_start: \"192.168.3.150\"",
    );
    edit(
        &policies,
        "  - assign_static_ip\n",
        "  - assign_static_ip\n  - launch_missiles\n",
    );

    let out = Command::new(common::proxdeck_bin())
        .arg("check-config")
        .arg("--config")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    let n = naming.display().to_string();
    let p = policies.display().to_string();
    assert!(
        lines[0].starts_with(&format!(
            "{n}:51:13: error: ip_ranges.node-02.subnet: '192.168.2.0/33' is not a valid CIDR"
        )),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with(&format!("{n}:64:22: error: ip_ranges.node-03.lxc_range_start: the LXC range 192.168.3.150-192.168.3.254 overlaps the VM range 192.168.3.100-192.168.3.199")), "{}", lines[1]);
    assert!(
        lines[2].starts_with(&format!(
            "{p}:13:5: error: approval_required[7]: unknown action 'launch_missiles'"
        )),
        "{}",
        lines[2]
    );
}

#[test]
fn naming_errors_each_name_their_field() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("action-policies.yml"),
        "approval_required: [clone_vm]\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("naming-conventions.yml"),
        r#"naming_pattern: "pve-{role}-{seq:02d}"
colour: blue
nodes:
  - name: node-01
  - name: node-01
  - name: node-02
ip_ranges:
  node-01:
    subnet: "10.0.1.0/24"
    gateway: "10.0.1.150"
    vm_range_start: "10.0.1.100"
    lxc_range_start: "10.0.1.200"
    lxc_range_end: "10.0.2.20"
  node-02:
    subnet: "10.0.2.5/24"
    vm_range_start: "10.0.2.100"
    lxc_range_start: "10.0.2.200"
  node-09:
    subnet: "10.0.9.0/24"
"#,
    )
    .unwrap();
    let errors = errors_of(dir.path());
    let expect = [
        "naming-conventions.yml:1:17: naming_pattern: unknown placeholder {role}",
        "naming-conventions.yml:2:1: colour: unknown key 'colour'",
        "naming-conventions.yml:5:11: nodes[1].name: duplicate node name 'node-01'",
        "naming-conventions.yml:13:20: ip_ranges.node-01.lxc_range_end: lxc_range_end 10.0.2.20 is outside the subnet 10.0.1.0/24",
        "naming-conventions.yml:10:14: ip_ranges.node-01.gateway: the gateway 10.0.1.150 lies inside the VM range 10.0.1.100-10.0.1.199",
        "naming-conventions.yml:15:13: ip_ranges.node-02.subnet: '10.0.2.5/24' has host bits set; did you mean 10.0.2.0/24?",
        "naming-conventions.yml:18:3: ip_ranges.node-09: 'node-09' is not a node listed under `nodes`",
    ];
    for e in expect {
        assert!(
            errors.iter().any(|got| got.starts_with(e)),
            "missing {e:?} in\n{}",
            errors.join("\n")
        );
    }
    assert_eq!(errors.len(), expect.len(), "{}", errors.join("\n"));
}

#[test]
fn vmid_patterns_are_checked_against_proxmox_bounds_and_each_other() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("action-policies.yml"),
        "approval_required: [clone_vm]\n",
    )
    .unwrap();
    let write = |extra: &str| {
        fs::write(
            dir.path().join("naming-conventions.yml"),
            format!("nodes:\n  - name: node-01\n  - name: node-11\n{extra}"),
        )
        .unwrap();
    };
    write("vmid_pattern: \"{seq:02d}\"\n");
    let errors = errors_of(dir.path());
    assert!(
        errors.iter().any(|e| e.starts_with("naming-conventions.yml:4:15: vmid_pattern: gives node-01 the VMID 1, outside Proxmox's 100-999999999")),
        "{errors:#?}"
    );
    write("vmid_pattern: \"1{node_num}{seq}\"\n");
    let errors = errors_of(dir.path());
    assert!(
        errors.iter().any(|e| e
            .contains("vmid_pattern: the ranges of node-01 and node-11 overlap (both get 1111)")),
        "{errors:#?}"
    );
    write("vmid_pattern: \"{node}{seq}\"\nvmid_fallback: sometimes\n");
    let errors = errors_of(dir.path());
    assert!(
        errors
            .iter()
            .any(|e| e.contains("vmid_pattern: unknown placeholder {node}")),
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("vmid_fallback: 'sometimes' is not a fallback (nextid, or none)")),
        "{errors:#?}"
    );
    write("vmid_pattern: nextid\n");
    assert!(errors_of(dir.path()).is_empty());
    write("");
    let c = Config::load(dir.path()).unwrap();
    match &c.naming.vmids.scheme {
        proxdeck::config::vmids::VmidScheme::Pattern(p) => {
            assert_eq!(p.range_text(11), "1101-1199")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn policy_and_cluster_errors() {
    let dir = tempfile::tempdir().unwrap();
    copy_config(dir.path());
    fs::write(
        dir.path().join("action-policies.yml"),
        "approval_required: [clone_vm, clone_vmm]\nreplication:\n  primary_node: pve-node-07\nprohibited:\n  actions: [delete_guest]\n  delete_everything: true\n",
    )
    .unwrap();
    let secret = dir.path().join("token");
    fs::write(&secret, "abc\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(
        dir.path().join("proxdeck.yml"),
        format!(
            r#"clusters:
  - name: lab
    endpoints: ["http://10.0.0.1:8006"]
    auth:
      token_id: "root@pam!proxdeck"
      token_secret_file: {}
    tls:
      fingerprint: "AA:BB"
  - name: lab
    endpoints: ["https://10.0.0.1:8006"]
    auth: {{ user: root@pam, password_env: X, token_id: "a@b!c" }}
"#,
            secret.display()
        ),
    )
    .unwrap();
    let errors = errors_of(dir.path());
    let expect = [
        "action-policies.yml:1:31: approval_required[1]: unknown action 'clone_vmm'",
        "action-policies.yml:6:3: prohibited.delete_everything: unknown key",
        "action-policies.yml:3:17: replication.primary_node: 'pve-node-07' is not a node of naming-conventions.yml",
        "proxdeck.yml:3:17: clusters[0].endpoints[0]: 'http://10.0.0.1:8006' must be an https:// URL",
        "proxdeck.yml:6:26: clusters[0].auth.token_secret_file: secret file",
        "proxdeck.yml:8:20: clusters[0].tls.fingerprint: 'AA:BB' is not a SHA-256 fingerprint",
        "proxdeck.yml:11:11: clusters[1].auth: give either token_id (API token) or user (password login)",
    ];
    for e in expect {
        assert!(
            errors.iter().any(|got| got.starts_with(e)),
            "missing {e:?} in\n{}",
            errors.join("\n")
        );
    }
    assert!(
        errors
            .iter()
            .any(|e| e.contains("readable by others (mode 644)"))
    );
    assert_eq!(errors.len(), expect.len(), "{}", errors.join("\n"));
}

#[test]
fn inline_secrets_and_insecure_tls_are_warnings_and_secrets_stay_hidden() {
    let dir = tempfile::tempdir().unwrap();
    copy_config(dir.path());
    fs::write(
        dir.path().join("proxdeck.yml"),
        r#"clusters:
  - name: lab
    endpoints: ["https://10.0.0.1:8006"]
    auth: { token_id: "root@pam!proxdeck", token_secret: "very-secret-value" }
    tls: { insecure: true }
"#,
    )
    .unwrap();
    let config = Config::load(dir.path()).unwrap();
    let warnings: Vec<String> = config.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("secret written inline"));
    assert!(warnings[1].contains("TLS verification is off"));
    let debug = format!("{config:?}");
    assert!(
        !debug.contains("very-secret-value"),
        "secret leaked in Debug"
    );
    assert!(debug.contains("***"));
}

#[test]
fn a_yaml_syntax_error_has_its_position() {
    let dir = tempfile::tempdir().unwrap();
    copy_config(dir.path());
    fs::write(
        dir.path().join("action-policies.yml"),
        "approval_required: [clone_vm\nread_only: true\n",
    )
    .unwrap();
    let errors = errors_of(dir.path());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("action-policies.yml:"),
        "{}",
        errors[0]
    );
    assert!(errors[0].contains("YAML syntax error"), "{}", errors[0]);
    assert!(
        !errors[0].starts_with("action-policies.yml:0:0"),
        "{}",
        errors[0]
    );
}

#[test]
fn console_section_errors_name_their_field() {
    let dir = tempfile::tempdir().unwrap();
    copy_config(dir.path());
    fs::write(
        dir.path().join("proxdeck.yml"),
        "clusters: []\nconsole:\n  theme: light\n  refresh_secs: 0\n  keys:\n    snapshot: [\"S\"]\n    snapshoot: [\"x\"]\n    quit: [\"hyper+q\"]\n  colour: true\n  config_sweep_minutes: 0\n",
    )
    .unwrap();
    let errors = errors_of(dir.path());
    let want = [
        "proxdeck.yml:4:17: console.refresh_secs: must be between 1 and 3600 seconds",
        "proxdeck.yml:10:25: console.config_sweep_minutes: must be between 1 and 10080 minutes",
        "proxdeck.yml:7:5: console.keys.snapshoot: unknown command 'snapshoot'",
        "proxdeck.yml:8:12: console.keys.quit[0]: unknown key 'hyper+q'",
        "proxdeck.yml:9:3: console.colour: unknown key 'colour'",
    ];
    for w in want {
        assert!(
            errors.iter().any(|e| e.starts_with(w)),
            "missing {w}\nin {errors:#?}"
        );
    }
    assert_eq!(errors.len(), want.len(), "{errors:#?}");
    // Two commands on one key in the same pane.
    fs::write(
        dir.path().join("proxdeck.yml"),
        "console:\n  keys:\n    help: [\"q\"]\n",
    )
    .unwrap();
    let errors = errors_of(dir.path());
    assert!(
        errors
            .iter()
            .any(|e| e.contains("console.keys") && e.contains("'q'") && e.contains("quit")),
        "{errors:#?}"
    );
    // A good section loads.
    fs::write(
        dir.path().join("proxdeck.yml"),
        "console:\n  theme: high-contrast\n  mouse: true\n  keys:\n    snapshot: S\n",
    )
    .unwrap();
    let c = Config::load(dir.path()).unwrap();
    assert_eq!(c.console.theme.as_deref(), Some("high-contrast"));
    assert!(c.console.mouse);
    assert_eq!(c.console.keys.len(), 1);
}
