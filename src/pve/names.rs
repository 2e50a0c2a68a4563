//! Names Proxmox checks (snapshot names are `pve-configid`s).

/// `pve-configid`: a letter, then letters, digits, `_` or `-`; 2 to 40 characters.
pub fn is_config_id(v: &str) -> bool {
    let mut chars = v.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && v.len() >= 2
        && v.len() <= 40
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    #[test]
    fn config_ids() {
        assert!(super::is_config_id("auto-20260129-1403"));
        assert!(!super::is_config_id("x"));
        assert!(!super::is_config_id("1abc"));
        assert!(!super::is_config_id("a b"));
    }
}
