//! Splitting an action line into words as a shell would (quotes and
//! backslashes), so `--reason "disk full"` is one value in every front end.

/// The words of `line`, or the place where a quote was left open.
pub fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err("a ' quote is not closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x) => cur.push(x),
                            None => return Err("a \" quote is not closed".into()),
                        },
                        Some(x) => cur.push(x),
                        None => return Err("a \" quote is not closed".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(x) = chars.next() {
                    cur.push(x);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn quotes_and_escapes_make_one_word() {
        assert_eq!(
            split(r#"snapshot pve-av-01 --description "before the fix" --name 'a b'"#).unwrap(),
            vec![
                "snapshot",
                "pve-av-01",
                "--description",
                "before the fix",
                "--name",
                "a b"
            ]
        );
        assert_eq!(split(r"a\ b  c").unwrap(), vec!["a b", "c"]);
        assert_eq!(split("x \"\"").unwrap(), vec!["x", ""]);
        assert!(split("x \"open").is_err());
        assert!(split("   ").unwrap().is_empty());
    }
}
