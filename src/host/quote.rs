//! Quoting words for the POSIX shell that runs SSH commands remotely.

/// `word` as one shell word: unchanged when it is plainly safe, else in single
/// quotes (a single quote inside becomes `'\''`).
pub fn word(w: &str) -> String {
    let safe = !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if safe {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(word("pve/root"), "pve/root");
        assert_eq!(word(""), "''");
        assert_eq!(word("a b"), "'a b'");
        assert_eq!(word("it's"), r"'it'\''s'");
        assert_eq!(word("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(word("x;y"), "'x;y'");
    }
}
