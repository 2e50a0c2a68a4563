//! Who is acting: the OS user, and the SSH client address when over SSH.

/// The login name: `$USER`, `$LOGNAME`, else the passwd entry of our uid.
pub fn os_user() -> String {
    if let Some(u) = ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
    {
        return u;
    }
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|r| r.split_whitespace().next().map(str::to_string))
        });
    let Some(uid) = uid else {
        return "unknown".into();
    };
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| {
            p.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2] == uid).then(|| f[0].to_string())
            })
        })
        .unwrap_or(format!("uid {uid}"))
}

/// The SSH client's address, from `SSH_CONNECTION`.
pub fn ssh_client() -> Option<String> {
    std::env::var("SSH_CONNECTION")
        .ok()
        .and_then(|c| c.split_whitespace().next().map(str::to_string))
}

/// `user` or `user@client-address`, for records.
pub fn current() -> String {
    match ssh_client() {
        Some(from) => format!("{}@{from}", os_user()),
        None => os_user(),
    }
}
