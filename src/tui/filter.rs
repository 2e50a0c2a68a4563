//! The `/` filter: case-insensitive text, or a regular expression after `~`.

/// A compiled filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub text: String,
    regex: Option<regex_lite::Regex>,
    /// Why the regular expression was refused (the filter then matches nothing).
    pub error: Option<String>,
}

impl PartialEq for Filter {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Filter {
    pub fn parse(text: &str) -> Filter {
        let text = text.trim().to_string();
        match text.strip_prefix('~') {
            Some(re) => match regex_lite::RegexBuilder::new(re)
                .case_insensitive(true)
                .build()
            {
                Ok(r) => Filter {
                    text,
                    regex: Some(r),
                    error: None,
                },
                Err(e) => Filter {
                    error: Some(
                        e.to_string()
                            .lines()
                            .last()
                            .unwrap_or("invalid")
                            .to_string(),
                    ),
                    text,
                    regex: None,
                },
            },
            None => Filter {
                text,
                regex: None,
                error: None,
            },
        }
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub fn matches(&self, haystack: &str) -> bool {
        if self.text.is_empty() {
            return true;
        }
        if self.error.is_some() {
            return false;
        }
        match &self.regex {
            Some(r) => r.is_match(haystack),
            None => haystack.to_lowercase().contains(&self.text.to_lowercase()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_regex() {
        assert!(Filter::parse("DB-01").matches("pve-db-01 101"));
        assert!(!Filter::parse("db-02").matches("pve-db-01"));
        assert!(Filter::parse("~^pve-(db|web)-0[12]$").matches("pve-web-01"));
        assert!(!Filter::parse("~^web").matches("pve-web-01"));
        let bad = Filter::parse("~(unclosed");
        assert!(bad.error.is_some());
        assert!(!bad.matches("anything"));
        assert!(Filter::parse("").matches("x"));
    }
}
