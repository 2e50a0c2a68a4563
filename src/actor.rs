//! Who is acting: the OS account of the process's real uid, and the SSH
//! client address when over SSH.
//!
//! The account comes from the password database (`getpwuid_r`), never from
//! `$USER` or `$LOGNAME`: anyone can set those, and the four-eyes rule would
//! then be one environment variable away from meaning nothing.

/// The login name of the real uid (`uid N` when the database has no entry).
pub fn os_user() -> String {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    account_name(uid).unwrap_or_else(|| format!("uid {uid}"))
}

/// The passwd entry's name for `uid`, through the C library (so NSS sources
/// such as LDAP answer too).
fn account_name(uid: libc::uid_t) -> Option<String> {
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: `pwd` and `result` are plain out-parameters; `buf` outlives
        // the call and its length is passed; the returned pointers point into
        // `buf` or are null, and are read only before `buf` is dropped.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe {
            libc::getpwuid_r(
                uid,
                &mut pwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        // SAFETY: pw_name is a NUL-terminated string inside `buf`.
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
        return Some(name.to_string_lossy().into_owned());
    }
}

/// Whether two account names are one person: Linux account names are
/// case-sensitive, but many directories that feed them (LDAP, AD) are not,
/// so proxdeck compares them without case.
pub fn same_person(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_is_the_real_uids_whatever_the_environment_says() {
        let root = account_name(0);
        assert_eq!(root.as_deref(), Some("root"));
        assert!(same_person("Alice", "alice"));
        assert!(!same_person("alice", "bob"));
    }
}
