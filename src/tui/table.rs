//! The table model every list pane builds: rows keyed by identity, with an
//! optional tree depth, filtered and sorted the same way in every pane.

use std::cell::Cell as StdCell;
use std::cmp::Ordering;

use super::filter::Filter;
use super::theme::Role;

/// One cell: its text and what it means (for colour).
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub text: String,
    pub role: Role,
}

impl Cell {
    pub fn new(text: impl Into<String>, role: Role) -> Cell {
        Cell {
            text: text.into(),
            role,
        }
    }

    pub fn text(text: impl Into<String>) -> Cell {
        Cell::new(text, Role::Text)
    }

    pub fn muted(text: impl Into<String>) -> Cell {
        Cell::new(text, Role::Muted)
    }
}

/// A value rows are sorted by.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Num(f64),
    Text(String),
    None,
}

impl SortKey {
    fn cmp(&self, other: &SortKey) -> Ordering {
        match (self, other) {
            (SortKey::Num(a), SortKey::Num(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
            (SortKey::Text(a), SortKey::Text(b)) => a.cmp(b),
            // Rows without a value go last either way.
            (SortKey::None, SortKey::None) => Ordering::Equal,
            (SortKey::None, _) => Ordering::Greater,
            (_, SortKey::None) => Ordering::Less,
            (SortKey::Num(_), SortKey::Text(_)) => Ordering::Less,
            (SortKey::Text(_), SortKey::Num(_)) => Ordering::Greater,
        }
    }
}

/// One row. `key` is the identity selection follows across refreshes.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub key: String,
    /// Tree depth (0 for top level).
    pub depth: u8,
    pub cells: Vec<Cell>,
    /// One sort value per column.
    pub sort: Vec<SortKey>,
    /// Text the filter matches against.
    pub search: String,
}

/// A column and how it gives way on narrow screens.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub title: &'static str,
    /// Width in cells (the widest column takes what is left when `grow`).
    pub width: u16,
    pub grow: bool,
    /// Columns with higher numbers are dropped first when space runs out.
    pub drop_order: u8,
    pub right: bool,
}

impl Column {
    pub const fn new(title: &'static str, width: u16, drop_order: u8) -> Column {
        Column {
            title,
            width,
            grow: false,
            drop_order,
            right: false,
        }
    }

    pub const fn grow(mut self) -> Column {
        self.grow = true;
        self
    }

    pub const fn right(mut self) -> Column {
        self.right = true;
        self
    }
}

/// What a pane shows as a list.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    /// Shown when there are no rows (before filtering).
    pub empty: String,
    /// Rows before the filter was applied.
    pub total: usize,
}

/// How a list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sort {
    pub column: usize,
    pub desc: bool,
}

impl Table {
    /// Sort siblings of the tree (all rows when flat) by `sort`, keeping
    /// every child under its parent.
    pub fn sort(&mut self, sort: Sort) {
        if self.rows.is_empty() || sort.column >= self.columns.len() {
            return;
        }
        let rows = std::mem::take(&mut self.rows);
        let mut out = Vec::with_capacity(rows.len());
        sort_level(&rows, sort, &mut out);
        self.rows = out;
    }

    /// Keep rows matching `filter`, and the parents of those that do (a
    /// node stays when one of its guests matches).
    pub fn filter(&mut self, filter: &Filter) {
        self.total = self.rows.len();
        if filter.is_empty() {
            return;
        }
        let mut keep = vec![false; self.rows.len()];
        for i in 0..self.rows.len() {
            if filter.matches(&self.rows[i].search) {
                keep[i] = true;
                // Walk back to every ancestor.
                let mut depth = self.rows[i].depth;
                let mut j = i;
                while depth > 0 && j > 0 {
                    j -= 1;
                    if self.rows[j].depth < depth {
                        keep[j] = true;
                        depth = self.rows[j].depth;
                    }
                }
            }
        }
        let rows = std::mem::take(&mut self.rows);
        self.rows = rows
            .into_iter()
            .zip(keep)
            .filter_map(|(r, k)| k.then_some(r))
            .collect();
    }

    pub fn position(&self, key: &str) -> Option<usize> {
        self.rows.iter().position(|r| r.key == key)
    }
}

/// Sort one level: `rows` is a run of siblings (depth of rows[0]) with their subtrees.
fn sort_level(rows: &[Row], sort: Sort, out: &mut Vec<Row>) {
    let Some(first) = rows.first() else { return };
    let depth = first.depth;
    // Split into (head, subtree) groups.
    let mut groups: Vec<&[Row]> = Vec::new();
    let mut start = 0;
    for i in 1..=rows.len() {
        if i == rows.len() || rows[i].depth <= depth {
            groups.push(&rows[start..i]);
            start = i;
        }
    }
    groups.sort_by(|a, b| {
        let ka = a[0].sort.get(sort.column).unwrap_or(&SortKey::None);
        let kb = b[0].sort.get(sort.column).unwrap_or(&SortKey::None);
        let o = ka.cmp(kb);
        let o = if sort.desc { o.reverse() } else { o };
        // Stable tie-break on identity so equal rows never swap between frames.
        o.then_with(|| a[0].key.cmp(&b[0].key))
    });
    for g in groups {
        out.push(g[0].clone());
        if g.len() > 1 {
            sort_level(&g[1..], sort, out);
        }
    }
}

/// Selection and scrolling of one list, by identity.
#[derive(Debug, Clone, Default)]
pub struct ListState {
    pub selected: Option<String>,
    /// Where the selection was, for when its row disappears.
    pub index: usize,
    /// First visible row; adjusted while rendering so the selection stays visible.
    pub offset: StdCell<usize>,
    pub sort: Sort,
    /// A row to select as soon as it is listed (an action just queued).
    pub want: Option<String>,
}

impl PartialEq for ListState {
    fn eq(&self, other: &Self) -> bool {
        self.selected == other.selected && self.index == other.index && self.sort == other.sort
    }
}

impl ListState {
    /// Re-find the selection in new rows: by key, else the row now at the
    /// old position, else the first.
    pub fn reconcile(&mut self, table: &Table) {
        if let Some(w) = self.want.clone()
            && let Some(i) = table.position(&w)
        {
            self.index = i;
            self.selected = Some(w);
            self.want = None;
            return;
        }
        if table.rows.is_empty() {
            self.index = 0;
            return;
        }
        match self.selected.as_deref().and_then(|k| table.position(k)) {
            Some(i) => self.index = i,
            None => {
                self.index = self.index.min(table.rows.len() - 1);
                self.selected = Some(table.rows[self.index].key.clone());
            }
        }
    }

    /// Move by `delta` rows (clamped).
    pub fn step(&mut self, table: &Table, delta: isize) {
        if table.rows.is_empty() {
            return;
        }
        let last = table.rows.len() as isize - 1;
        let i = (self.index as isize + delta).clamp(0, last) as usize;
        self.index = i;
        self.selected = Some(table.rows[i].key.clone());
    }

    pub fn select(&mut self, table: &Table, key: &str) -> bool {
        match table.position(key) {
            Some(i) => {
                self.index = i;
                self.selected = Some(key.to_string());
                true
            }
            None => false,
        }
    }

    /// The offset that shows the selection in a window of `height` rows.
    pub fn visible_offset(&self, height: usize, rows: usize) -> usize {
        let height = height.max(1);
        let mut off = self.offset.get().min(rows.saturating_sub(1));
        if self.index < off {
            off = self.index;
        } else if self.index >= off + height {
            off = self.index + 1 - height;
        }
        // Do not leave empty space below the last row.
        off = off.min(rows.saturating_sub(height));
        self.offset.set(off);
        off
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, depth: u8, n: f64) -> Row {
        Row {
            key: key.into(),
            depth,
            cells: vec![Cell::text(key)],
            sort: vec![SortKey::Num(n)],
            search: key.into(),
        }
    }

    fn keys(t: &Table) -> Vec<&str> {
        t.rows.iter().map(|r| r.key.as_str()).collect()
    }

    fn tree() -> Table {
        Table {
            columns: vec![Column::new("x", 4, 0)],
            rows: vec![
                row("n1", 0, 2.0),
                row("g3", 1, 3.0),
                row("g1", 1, 1.0),
                row("n0", 0, 1.0),
                row("g2", 1, 2.0),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn sorting_keeps_children_under_their_parent() {
        let mut t = tree();
        t.sort(Sort {
            column: 0,
            desc: false,
        });
        assert_eq!(keys(&t), ["n0", "g2", "n1", "g1", "g3"]);
        t.sort(Sort {
            column: 0,
            desc: true,
        });
        assert_eq!(keys(&t), ["n1", "g3", "g1", "n0", "g2"]);
    }

    #[test]
    fn filtering_keeps_the_parents_of_matches() {
        let mut t = tree();
        t.filter(&Filter::parse("g1"));
        assert_eq!(keys(&t), ["n1", "g1"]);
        assert_eq!(t.total, 5);
    }

    #[test]
    fn selection_follows_identity_not_position() {
        let mut t = tree();
        let mut s = ListState::default();
        s.select(&t, "g1");
        t.sort(Sort {
            column: 0,
            desc: false,
        });
        s.reconcile(&t);
        assert_eq!(s.index, 3);
        // The row vanishes: the selection stays at the same place.
        t.rows.remove(3);
        s.reconcile(&t);
        assert_eq!(s.selected.as_deref(), Some("g3"));
    }

    #[test]
    fn the_window_follows_the_selection() {
        let t = Table {
            rows: (0..100).map(|i| row(&i.to_string(), 0, i as f64)).collect(),
            ..tree()
        };
        let mut s = ListState::default();
        s.step(&t, 50);
        assert_eq!(s.visible_offset(10, 100), 41);
        s.step(&t, -45);
        assert_eq!(s.visible_offset(10, 100), 5);
        s.step(&t, 1000);
        assert_eq!(s.visible_offset(10, 100), 90);
    }
}
