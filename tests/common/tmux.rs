//! Driving the real binary in a terminal, as a person would: tmux on its own
//! socket, keys sent, the screen captured and polled for what should appear.

use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
}

fn tmux(socket: &str, args: &[&str]) -> std::process::Output {
    Command::new("tmux")
        .arg("-L")
        .arg(socket)
        .args(args)
        .output()
        .expect("tmux runs (apt install tmux)")
}

impl Tmux {
    /// Run `command` (a shell command line) in a `w`×`h` terminal.
    pub fn start(command: &str, w: u16, h: u16) -> Tmux {
        let socket = format!(
            "proxdeck-test-{}-{:x}",
            std::process::id(),
            Instant::now().elapsed().as_nanos() ^ rand_tag()
        );
        let out = tmux(
            &socket,
            &[
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                &w.to_string(),
                "-y",
                &h.to_string(),
                command,
            ],
        );
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmux { socket }
    }

    /// Keys by tmux name (`Enter`, `Escape`, `Tab`) or plain characters.
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "0"];
        args.extend_from_slice(keys);
        tmux(&self.socket, &args);
    }

    /// Text typed as is.
    pub fn type_text(&self, text: &str) {
        tmux(&self.socket, &["send-keys", "-t", "0", "-l", text]);
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&tmux(&self.socket, &["capture-pane", "-p", "-t", "0"]).stdout)
            .into_owned()
    }

    /// Whether the program still has the alternate screen.
    pub fn alternate_screen(&self) -> bool {
        String::from_utf8_lossy(
            &tmux(
                &self.socket,
                &["display-message", "-p", "-t", "0", "#{alternate_on}"],
            )
            .stdout,
        )
        .trim()
            == "1"
    }

    /// The pid of the shell running the command.
    pub fn pane_pid(&self) -> u32 {
        String::from_utf8_lossy(
            &tmux(
                &self.socket,
                &["display-message", "-p", "-t", "0", "#{pane_pid}"],
            )
            .stdout,
        )
        .trim()
        .parse()
        .expect("pane pid")
    }

    /// Poll until `ok(screen)`; on timeout fail showing the last screen.
    pub fn wait_for(&self, what: &str, timeout: Duration, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen was:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait_text(&self, text: &str, timeout: Duration) -> String {
        self.wait_for(&format!("'{text}'"), timeout, |s| s.contains(text))
    }
}

fn rand_tag() -> u128 {
    let mut b = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut b);
    }
    u128::from(u64::from_le_bytes(b))
}

impl Drop for Tmux {
    fn drop(&mut self) {
        tmux(&self.socket, &["kill-server"]);
    }
}

/// Child processes of `pid`.
pub fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            if let Ok(c) = std::fs::read_to_string(t.path().join("children")) {
                out.extend(c.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
            }
        }
    }
    out
}
