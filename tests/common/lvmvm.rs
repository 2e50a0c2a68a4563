//! The LVM test guest (scripts/lvm-vm.sh): real LVM2 in a small QEMU VM with
//! sshd on loopback. scripts/test.sh boots it before the tests and stops it
//! after; here we only connect. When it is not running the tests fail and
//! say how to start it (they never skip).

use std::path::PathBuf;
use std::time::Duration;

use proxdeck::config::{SshConfig, SshNode};

pub struct LvmVm {
    pub port: u16,
    pub dir: PathBuf,
    pub known_hosts: tempfile::NamedTempFile,
}

impl LvmVm {
    pub fn connect() -> LvmVm {
        let dir =
            PathBuf::from(std::env::var("LVMVM_DIR").unwrap_or_else(|_| "/tmp/lvm-vm".into()));
        let port: u16 = std::env::var("LVMVM_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(2222);
        let host_pub = dir.join("ssh/ssh_host_ed25519_key.pub");
        let key = std::fs::read_to_string(&host_pub).unwrap_or_else(|e| {
            panic!(
                "the LVM test guest is not set up ({}: {e}); run scripts/lvm-vm.sh install && scripts/lvm-vm.sh start (scripts/test.sh does both)",
                host_pub.display()
            )
        });
        assert!(
            std::net::TcpStream::connect_timeout(
                &format!("127.0.0.1:{port}").parse().expect("addr"),
                Duration::from_secs(3)
            )
            .is_ok(),
            "the LVM test guest is not running on 127.0.0.1:{port}: run scripts/lvm-vm.sh start (scripts/test.sh does)"
        );
        let mut f = key.split_whitespace();
        let known_hosts = tempfile::NamedTempFile::new().expect("temp");
        std::fs::write(
            known_hosts.path(),
            format!(
                "[127.0.0.1]:{port} {} {}\n",
                f.next().unwrap_or(""),
                f.next().unwrap_or("")
            ),
        )
        .expect("write");
        LvmVm {
            port,
            dir,
            known_hosts,
        }
    }

    /// SSH settings with `node` reaching the guest as root.
    pub fn config(&self, node: &str) -> SshConfig {
        SshConfig {
            user: "root".into(),
            key_file: Some(self.dir.join("ssh/id_ed25519")),
            known_hosts: Some(self.known_hosts.path().to_path_buf()),
            nodes: [(
                node.to_string(),
                SshNode {
                    host: "127.0.0.1".into(),
                    port: self.port,
                },
            )]
            .into(),
            connect_timeout: Duration::from_secs(20),
        }
    }
}
