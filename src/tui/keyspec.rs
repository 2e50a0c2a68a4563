//! Keys as written in configuration and help (`q`, `ctrl+c`, `shift+tab`,
//! `enter`) and as crossterm reports them.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One key with its modifiers, normalised so that `Q` and `shift+q` are the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeySpec {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl KeySpec {
    pub const fn plain(code: KeyCode) -> KeySpec {
        KeySpec {
            code,
            mods: KeyModifiers::NONE,
        }
    }

    pub const fn ch(c: char) -> KeySpec {
        KeySpec::plain(KeyCode::Char(c))
    }

    pub const fn ctrl(c: char) -> KeySpec {
        KeySpec {
            code: KeyCode::Char(c),
            mods: KeyModifiers::CONTROL,
        }
    }

    /// The key a terminal event stands for. Shift is folded into the
    /// character (terminals differ in whether they report it) and into BackTab.
    pub fn from_event(ev: &KeyEvent) -> KeySpec {
        let mut mods =
            ev.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match ev.code {
            KeyCode::Char(c) => {
                mods.remove(KeyModifiers::SHIFT);
                if mods.contains(KeyModifiers::CONTROL) {
                    KeyCode::Char(c.to_ascii_lowercase())
                } else {
                    KeyCode::Char(c)
                }
            }
            KeyCode::BackTab => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        KeySpec { code, mods }
    }

    /// Parse `ctrl+r`, `C-r`, `shift+tab`, `enter`, `pgdn`, `f5`, `G`, `?`.
    pub fn parse(text: &str) -> Result<KeySpec, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("empty key".into());
        }
        // A lone '+' or '-' is the key itself.
        if t.chars().count() == 1 {
            let c = t.chars().next().unwrap_or(' ');
            return Ok(KeySpec::ch(c));
        }
        let mut mods = KeyModifiers::NONE;
        let mut rest = t;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (m, len) = if lower.starts_with("ctrl+") {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("c-") {
                (KeyModifiers::CONTROL, 2)
            } else if lower.starts_with("alt+") {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("m-") {
                (KeyModifiers::ALT, 2)
            } else if lower.starts_with("shift+") {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            mods |= m;
            rest = &rest[len..];
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" | "ret" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" if mods.contains(KeyModifiers::SHIFT) => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "backspace" | "bs" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            f if f.starts_with('f')
                && f.len() > 1
                && f[1..].chars().all(|c| c.is_ascii_digit()) =>
            {
                let n: u8 = f[1..]
                    .parse()
                    .map_err(|_| format!("unknown key '{text}'"))?;
                if !(1..=12).contains(&n) {
                    return Err(format!(
                        "unknown key '{text}' (function keys are f1 to f12)"
                    ));
                }
                KeyCode::F(n)
            }
            _ if rest.chars().count() == 1 => {
                let c = rest.chars().next().unwrap_or(' ');
                if mods.contains(KeyModifiers::SHIFT) {
                    mods.remove(KeyModifiers::SHIFT);
                    KeyCode::Char(c.to_ascii_uppercase())
                } else if mods.contains(KeyModifiers::CONTROL) {
                    KeyCode::Char(c.to_ascii_lowercase())
                } else {
                    KeyCode::Char(c)
                }
            }
            _ => {
                return Err(format!(
                    "unknown key '{text}' (e.g. q, ctrl+r, shift+tab, enter, pgdn, f5)"
                ));
            }
        };
        Ok(KeySpec { code, mods })
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            write!(f, "ctrl+")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            write!(f, "alt+")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            write!(f, "shift+")?;
        }
        match self.code {
            KeyCode::Char(' ') => write!(f, "space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => write!(f, "enter"),
            KeyCode::Esc => write!(f, "esc"),
            KeyCode::Tab => write!(f, "tab"),
            KeyCode::BackTab => write!(f, "shift+tab"),
            KeyCode::Backspace => write!(f, "backspace"),
            KeyCode::Delete => write!(f, "del"),
            KeyCode::Up => write!(f, "↑"),
            KeyCode::Down => write!(f, "↓"),
            KeyCode::Left => write!(f, "←"),
            KeyCode::Right => write!(f, "→"),
            KeyCode::Home => write!(f, "home"),
            KeyCode::End => write!(f, "end"),
            KeyCode::PageUp => write!(f, "pgup"),
            KeyCode::PageDown => write!(f, "pgdn"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_help_prints() {
        for text in [
            "q",
            "G",
            "?",
            "ctrl+r",
            "shift+tab",
            "enter",
            "pgdn",
            "f5",
            "space",
            "↑",
        ] {
            let k = KeySpec::parse(text);
            if text == "↑" {
                // Arrows are written as words in configuration.
                assert_eq!(k, Ok(KeySpec::ch('↑')));
                continue;
            }
            let k = k.unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(KeySpec::parse(&k.to_string()), Ok(k), "{text}");
        }
        assert_eq!(KeySpec::parse("C-c"), Ok(KeySpec::ctrl('c')));
        assert_eq!(KeySpec::parse("shift+r"), Ok(KeySpec::ch('R')));
        assert!(KeySpec::parse("hyper+x").is_err());
        assert!(KeySpec::parse("f13").is_err());
    }

    #[test]
    fn events_fold_shift_into_the_character() {
        let ev = KeyEvent::new(KeyCode::Char('R'), KeyModifiers::SHIFT);
        assert_eq!(KeySpec::from_event(&ev), KeySpec::ch('R'));
        let ev = KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(KeySpec::from_event(&ev), KeySpec::plain(KeyCode::BackTab));
        let ev = KeyEvent::new(
            KeyCode::Char('C'),
            KeyModifiers::CONTROL | KeyModifiers::SHIFT,
        );
        assert_eq!(KeySpec::from_event(&ev), KeySpec::ctrl('c'));
    }
}
