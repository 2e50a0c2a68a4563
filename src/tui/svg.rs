//! A screen buffer as SVG (for the README's screenshots): every cell where
//! the console put it, in its colours, so the pictures show exactly what the
//! console draws.

use std::fmt::Write;

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

/// The terminal's own colours (what `Color::Reset` shows).
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    pub fg: (u8, u8, u8),
    pub bg: (u8, u8, u8),
}

pub const DARK: Palette = Palette {
    fg: (0xd0, 0xd0, 0xd0),
    bg: (0x1c, 0x1c, 0x1c),
};

pub const LIGHT: Palette = Palette {
    fg: (0x1c, 0x1c, 0x1c),
    bg: (0xfa, 0xfa, 0xfa),
};

const FONT_SIZE: f64 = 14.0;
/// DejaVu Sans Mono's advance is 0.602 em.
const CELL_W: f64 = FONT_SIZE * 0.602;
const CELL_H: f64 = 17.0;

/// xterm's 16 basic colours.
const BASIC: [(u8, u8, u8); 16] = [
    (0, 0, 0),
    (205, 0, 0),
    (0, 205, 0),
    (205, 205, 0),
    (0, 0, 238),
    (205, 0, 205),
    (0, 205, 205),
    (229, 229, 229),
    (127, 127, 127),
    (255, 0, 0),
    (0, 255, 0),
    (255, 255, 0),
    (92, 92, 255),
    (255, 0, 255),
    (0, 255, 255),
    (255, 255, 255),
];

/// The RGB a terminal shows for a colour (xterm's palette).
pub fn rgb(c: Color, default: (u8, u8, u8)) -> (u8, u8, u8) {
    match c {
        Color::Reset => default,
        Color::Black => BASIC[0],
        Color::Red => BASIC[1],
        Color::Green => BASIC[2],
        Color::Yellow => BASIC[3],
        Color::Blue => BASIC[4],
        Color::Magenta => BASIC[5],
        Color::Cyan => BASIC[6],
        Color::Gray => BASIC[7],
        Color::DarkGray => BASIC[8],
        Color::LightRed => BASIC[9],
        Color::LightGreen => BASIC[10],
        Color::LightYellow => BASIC[11],
        Color::LightBlue => BASIC[12],
        Color::LightMagenta => BASIC[13],
        Color::LightCyan => BASIC[14],
        Color::White => BASIC[15],
        Color::Rgb(r, g, b) => (r, g, b),
        Color::Indexed(i) => indexed(i),
    }
}

fn indexed(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => BASIC[usize::from(i)],
        16..=231 => {
            let i = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(i / 36), level((i / 6) % 6), level(i % 6))
        }
        _ => {
            let v = 8 + (i - 232) * 10;
            (v, v, v)
        }
    }
}

fn hex((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The buffer as an SVG document.
pub fn render(buf: &Buffer, palette: Palette) -> String {
    let w = f64::from(buf.area.width) * CELL_W;
    let h = f64::from(buf.area.height) * CELL_H;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.1} {h:.1}">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" fill="{}"/>"#,
        hex(palette.bg)
    );
    let _ = writeln!(
        out,
        r#"<g font-family="DejaVu Sans Mono, monospace" font-size="{FONT_SIZE}" xml:space="preserve">"#
    );
    for y in 0..buf.area.height {
        // Backgrounds, then text, in runs of equal style.
        let cells: Vec<_> = (0..buf.area.width)
            .map(|x| {
                let c = &buf[(x, y)];
                let mut fg = rgb(c.fg, palette.fg);
                let mut bg = rgb(c.bg, palette.bg);
                if c.modifier.contains(Modifier::REVERSED) {
                    std::mem::swap(&mut fg, &mut bg);
                }
                (c.symbol().to_string(), fg, bg, c.modifier)
            })
            .collect();
        let top = f64::from(y) * CELL_H;
        let mut x = 0;
        while x < cells.len() {
            let bg = cells[x].2;
            let start = x;
            while x < cells.len() && cells[x].2 == bg {
                x += 1;
            }
            if bg != palette.bg {
                let _ = writeln!(
                    out,
                    r#"<rect x="{:.1}" y="{top:.1}" width="{:.1}" height="{CELL_H}" fill="{}"/>"#,
                    start as f64 * CELL_W,
                    (x - start) as f64 * CELL_W + 0.5,
                    hex(bg)
                );
            }
        }
        let mut x = 0;
        while x < cells.len() {
            let (fg, m) = (cells[x].1, cells[x].3);
            let start = x;
            let mut text = String::new();
            while x < cells.len() && cells[x].1 == fg && cells[x].3 == m {
                text.push_str(&cells[x].0);
                x += 1;
            }
            if text.trim().is_empty() {
                continue;
            }
            let weight = if m.contains(Modifier::BOLD) {
                r#" font-weight="bold""#
            } else {
                ""
            };
            let deco = if m.contains(Modifier::UNDERLINED) {
                r#" text-decoration="underline""#
            } else {
                ""
            };
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" fill="{}" textLength="{:.1}" lengthAdjust="spacingAndGlyphs"{weight}{deco}>{}</text>"#,
                start as f64 * CELL_W,
                top + CELL_H * 0.78,
                hex(fg),
                (x - start) as f64 * CELL_W,
                escape(&text)
            );
        }
    }
    out.push_str("</g>\n</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn cells_keep_their_colours_and_text_is_escaped() {
        let mut b = Buffer::empty(Rect::new(0, 0, 6, 1));
        b.set_string(0, 0, "a<b", Style::default().fg(Color::Rgb(1, 2, 3)));
        b.set_string(
            3,
            0,
            "ok",
            Style::default()
                .bg(Color::Indexed(196))
                .add_modifier(Modifier::BOLD),
        );
        let svg = render(&b, DARK);
        assert!(
            svg.contains(r##"fill="#010203""##) && svg.contains("a&lt;b"),
            "{svg}"
        );
        assert!(
            svg.contains(r##"fill="#ff0000""##),
            "index 196 is red: {svg}"
        );
        assert!(svg.contains(r#"font-weight="bold""#));
        assert_eq!(indexed(244), (128, 128, 128));
        assert_eq!(indexed(16), (0, 0, 0));
    }
}
