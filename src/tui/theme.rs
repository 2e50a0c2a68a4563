//! Colour themes: `themes/NAME.yml`, colours named by what they mean, with
//! fallbacks between related meanings and `NO_COLOR` honoured.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};

use crate::config::reader::{Issues, MapView};
use crate::config::yaml::{self, Node, Value};

/// What a piece of text means; themes give each meaning a style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Text,
    Muted,
    Accent,
    Title,
    Ok,
    Warn,
    Error,
    Selection,
    Header,
    TabActive,
    Border,
    Key,
    Template,
    Replica,
    Free,
    RangeVm,
    RangeLxc,
    Reserved,
    Active,
    Observed,
    Conflict,
    Gateway,
    Gauge,
}

impl Role {
    pub const ALL: [Role; 23] = [
        Role::Text,
        Role::Muted,
        Role::Accent,
        Role::Title,
        Role::Ok,
        Role::Warn,
        Role::Error,
        Role::Selection,
        Role::Header,
        Role::TabActive,
        Role::Border,
        Role::Key,
        Role::Template,
        Role::Replica,
        Role::Free,
        Role::RangeVm,
        Role::RangeLxc,
        Role::Reserved,
        Role::Active,
        Role::Observed,
        Role::Conflict,
        Role::Gateway,
        Role::Gauge,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Text => "text",
            Role::Muted => "muted",
            Role::Accent => "accent",
            Role::Title => "title",
            Role::Ok => "ok",
            Role::Warn => "warn",
            Role::Error => "error",
            Role::Selection => "selection",
            Role::Header => "header",
            Role::TabActive => "tab_active",
            Role::Border => "border",
            Role::Key => "key",
            Role::Template => "template",
            Role::Replica => "replica",
            Role::Free => "free",
            Role::RangeVm => "range_vm",
            Role::RangeLxc => "range_lxc",
            Role::Reserved => "reserved",
            Role::Active => "active",
            Role::Observed => "observed",
            Role::Conflict => "conflict",
            Role::Gateway => "gateway",
            Role::Gauge => "gauge",
        }
    }

    /// The meaning a theme without this entry borrows from.
    pub fn fallback(self) -> Option<Role> {
        Some(match self {
            Role::Text => return None,
            Role::Muted | Role::Accent | Role::Ok | Role::Warn | Role::Error => Role::Text,
            Role::Title | Role::Key | Role::Replica | Role::Template | Role::Gauge => Role::Accent,
            Role::Selection | Role::Header | Role::TabActive => Role::Accent,
            Role::Border | Role::Free => Role::Muted,
            Role::RangeVm | Role::RangeLxc => Role::Free,
            Role::Reserved => Role::Warn,
            Role::Active => Role::Ok,
            Role::Observed => Role::Accent,
            Role::Conflict => Role::Error,
            Role::Gateway => Role::Accent,
        })
    }

    fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Meanings that must stand out from the text around them even without
    /// colour: they are reversed under `NO_COLOR`.
    fn reversed_without_colour(self) -> bool {
        matches!(
            self,
            Role::Selection
                | Role::TabActive
                | Role::Header
                | Role::Conflict
                | Role::Reserved
                | Role::Active
                | Role::Gateway
        )
    }
}

/// A theme: a style for every role.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    styles: Vec<(Role, Style)>,
    pub colour: bool,
}

const BUILT_IN: [(&str, &str); 3] = [
    ("default", include_str!("../../themes/default.yml")),
    ("light", include_str!("../../themes/light.yml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.yml"),
    ),
];

impl Theme {
    pub fn style(&self, role: Role) -> Style {
        let mut r = role;
        loop {
            if let Some((_, s)) = self.styles.iter().find(|(x, _)| *x == r) {
                return *s;
            }
            match r.fallback() {
                Some(f) => r = f,
                None => return Style::default(),
            }
        }
    }

    /// The built-in default theme.
    pub fn built_in(name: &str) -> Option<Theme> {
        let (_, text) = BUILT_IN.iter().find(|(n, _)| *n == name)?;
        Theme::parse(text, Path::new(&format!("themes/{name}.yml"))).ok()
    }

    pub fn names() -> Vec<&'static str> {
        BUILT_IN.iter().map(|(n, _)| *n).collect()
    }

    /// Find `name`: a path to a YAML file, else `<config>/themes/NAME.yml`,
    /// else the repository's `themes/`, else the built-in copy.
    pub fn load(name: &str, config_dir: &Path) -> Result<Theme, String> {
        let as_path = PathBuf::from(name);
        let candidates = if name.ends_with(".yml") || name.ends_with(".yaml") || name.contains('/')
        {
            vec![as_path]
        } else {
            vec![
                config_dir.join("themes").join(format!("{name}.yml")),
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("themes")
                    .join(format!("{name}.yml")),
            ]
        };
        for path in &candidates {
            match std::fs::read_to_string(path) {
                Ok(text) => return Theme::parse(&text, path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(format!("{}: {e}", path.display())),
            }
        }
        Theme::built_in(name).ok_or_else(|| {
            format!(
                "no theme '{name}' (built in: {}; or a path to a theme file)",
                Theme::names().join(", ")
            )
        })
    }

    /// Parse a theme file; errors name the file, line and field.
    pub fn parse(text: &str, path: &Path) -> Result<Theme, String> {
        let mut issues = Issues::new(path);
        let doc = yaml::parse(text)
            .map_err(|e| format!("{}:{}: error: {}", path.display(), e.pos, e.message))?;
        let mut theme = Theme {
            name: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            styles: Vec::new(),
            colour: true,
        };
        if let Some(map) = MapView::new(&doc, "", &mut issues) {
            if let Some(n) = map.opt_str(&mut issues, "name") {
                theme.name = n.value;
            }
            if let Some(colors) = map.opt_map(&mut issues, "colors") {
                for (key, node) in colors.entries() {
                    let field = format!("colors.{}", key.name);
                    let Some(role) = Role::from_name(&key.name) else {
                        issues.error(
                            key.pos,
                            &field,
                            format!(
                                "unknown colour name '{}' (expected one of: {})",
                                key.name,
                                Role::ALL.map(Role::name).join(", ")
                            ),
                        );
                        continue;
                    };
                    if let Some(style) = read_style(node, &field, &mut issues) {
                        theme.styles.push((role, style));
                    }
                }
            }
            map.finish(&mut issues, &["name", "colors"]);
        }
        if issues.has_errors() {
            return Err(issues
                .list
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"));
        }
        Ok(theme)
    }

    /// The same theme without colours (`NO_COLOR`): modifiers stay, and the
    /// roles that must stand out are reversed.
    pub fn without_colour(&self) -> Theme {
        let styles = Role::ALL
            .iter()
            .map(|r| {
                let s = self.style(*r);
                let mut plain = Style::default().add_modifier(s.add_modifier);
                if r.reversed_without_colour() {
                    plain = plain.add_modifier(Modifier::REVERSED);
                }
                (*r, plain)
            })
            .collect();
        Theme {
            name: self.name.clone(),
            styles,
            colour: false,
        }
    }

    /// Apply `NO_COLOR` (set and not empty, as no-color.org says).
    pub fn honour_no_color(self) -> Theme {
        match std::env::var_os("NO_COLOR") {
            Some(v) if !v.is_empty() => self.without_colour(),
            _ => self,
        }
    }
}

fn read_style(node: &Node, field: &str, issues: &mut Issues) -> Option<Style> {
    match &node.value {
        Value::Str(s) => parse_colour(s, node, field, issues).map(|c| Style::default().fg(c)),
        Value::Map(_) => {
            let view = MapView::new(node, field, issues)?;
            let mut style = Style::default();
            for key in ["fg", "bg"] {
                if let Some(v) = view.opt_str(issues, key) {
                    let c = parse_colour(&v.value, node, &v.field, issues)?;
                    style = if key == "fg" {
                        style.fg(c)
                    } else {
                        style.bg(c)
                    };
                }
            }
            for (key, m) in [
                ("bold", Modifier::BOLD),
                ("italic", Modifier::ITALIC),
                ("underline", Modifier::UNDERLINED),
                ("reversed", Modifier::REVERSED),
            ] {
                if view.opt_bool(issues, key).is_some_and(|b| b.value) {
                    style = style.add_modifier(m);
                }
            }
            view.finish(
                issues,
                &["fg", "bg", "bold", "italic", "underline", "reversed"],
            );
            Some(style)
        }
        Value::Int(i) => u8::try_from(*i)
            .ok()
            .map(|i| Style::default().fg(Color::Indexed(i)))
            .or_else(|| {
                issues.error(node.pos, field, format!("colour index {i} is not 0-255"));
                None
            }),
        other => {
            issues.error(
                node.pos,
                field,
                format!(
                    "expected a colour or a mapping with fg/bg, found {}",
                    other.type_name()
                ),
            );
            None
        }
    }
}

fn parse_colour(text: &str, node: &Node, field: &str, issues: &mut Issues) -> Option<Color> {
    match Color::from_str(text) {
        Ok(c) => Some(c),
        Err(_) => {
            issues.error(
                node.pos,
                field,
                format!(
                    "unknown colour '{text}' (a name like red or darkgray, \"#rrggbb\", or 0-255)"
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_theme_parses_and_sets_the_core_roles() {
        for name in Theme::names() {
            let t = Theme::built_in(name).unwrap_or_else(|| panic!("{name}"));
            for role in [
                Role::Text,
                Role::Ok,
                Role::Warn,
                Role::Error,
                Role::Selection,
                Role::Conflict,
            ] {
                assert_ne!(t.style(role), Style::default(), "{name}: {}", role.name());
            }
        }
    }

    #[test]
    fn missing_roles_fall_back_to_related_ones() {
        let t = Theme::parse(
            "colors:\n  error: red\n  accent: cyan\n",
            Path::new("t.yml"),
        )
        .expect("parse");
        assert_eq!(t.style(Role::Conflict), Style::default().fg(Color::Red));
        assert_eq!(t.style(Role::Replica), Style::default().fg(Color::Cyan));
        assert_eq!(t.style(Role::Text), Style::default());
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let err = Theme::parse(
            "colors:\n  ok: green\n  okay: red\n  warn: {fg: blurple}\n",
            Path::new("themes/x.yml"),
        )
        .expect_err("bad theme");
        assert!(
            err.contains("themes/x.yml:3:3") && err.contains("colors.okay"),
            "{err}"
        );
        assert!(err.contains(":4:") && err.contains("blurple"), "{err}");
    }

    #[test]
    fn no_color_keeps_modifiers_and_reverses_what_must_stand_out() {
        let t = Theme::built_in("default")
            .expect("default")
            .without_colour();
        for role in Role::ALL {
            let s = t.style(role);
            assert_eq!((s.fg, s.bg), (None, None), "{}", role.name());
        }
        assert!(
            t.style(Role::Selection)
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        assert!(t.style(Role::Error).add_modifier.contains(Modifier::BOLD));
    }
}
