//! A line diff of two documents (longest common subsequence), for showing exactly what an
//! apply will change.

/// One line of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffLine {
    /// In both.
    Same(String),
    /// Only in the new document.
    Added(String),
    /// Only in the old document.
    Removed(String),
}

/// What the diff view shows: lines, with long unchanged stretches folded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown<'a> {
    /// A line.
    Line(&'a DiffLine),
    /// This many unchanged lines, not shown.
    Folded(usize),
}

/// Above this many cells the table would cost too much memory (a 2,000 × 2,000-line
/// middle section); such documents get a correct but not minimal diff instead.
const MAX_CELLS: usize = 4_000_000;

/// The diff turning `old` into `new`, line by line. Removals come before additions where
/// both are possible, as in `diff -u`.
pub fn diff_lines(old: &str, new: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Documents under edit differ in a few places: trim the common ends so the table only
    // covers the part that changed.
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut out: Vec<DiffLine> = a[..prefix]
        .iter()
        .map(|l| DiffLine::Same((*l).to_owned()))
        .collect();
    out.extend(middle(ma, mb));
    out.extend(
        a[a.len() - suffix..]
            .iter()
            .map(|l| DiffLine::Same((*l).to_owned())),
    );
    out
}

fn middle(a: &[&str], b: &[&str]) -> Vec<DiffLine> {
    let (n, m) = (a.len(), b.len());
    let removed = |l: &&str| DiffLine::Removed((*l).to_owned());
    let added = |l: &&str| DiffLine::Added((*l).to_owned());
    if n.saturating_mul(m) > MAX_CELLS {
        return a.iter().map(removed).chain(b.iter().map(added)).collect();
    }
    // lcs[i][j]: the length of the longest common subsequence of a[i..] and b[j..].
    let width = m + 1;
    let mut lcs = vec![0u32; (n + 1) * width];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * width + j] = if a[i] == b[j] {
                lcs[(i + 1) * width + j + 1] + 1
            } else {
                lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
            };
        }
    }
    let mut out = Vec::with_capacity(n + m);
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if a[i] == b[j] {
            out.push(DiffLine::Same(a[i].to_owned()));
            i += 1;
            j += 1;
        } else if lcs[(i + 1) * width + j] >= lcs[i * width + j + 1] {
            out.push(removed(&a[i]));
            i += 1;
        } else {
            out.push(added(&b[j]));
            j += 1;
        }
    }
    out.extend(a[i..].iter().map(removed));
    out.extend(b[j..].iter().map(added));
    out
}

/// Lines added and removed.
pub fn counts(diff: &[DiffLine]) -> (usize, usize) {
    diff.iter().fold((0, 0), |(add, del), l| match l {
        DiffLine::Added(_) => (add + 1, del),
        DiffLine::Removed(_) => (add, del + 1),
        DiffLine::Same(_) => (add, del),
    })
}

/// The diff with unchanged stretches longer than `2 × context + 1` folded, keeping
/// `context` lines around every change.
pub fn fold(diff: &[DiffLine], context: usize) -> Vec<Shown<'_>> {
    let changed: Vec<usize> = diff
        .iter()
        .enumerate()
        .filter(|(_, l)| !matches!(l, DiffLine::Same(_)))
        .map(|(i, _)| i)
        .collect();
    let near = |i: usize| {
        // The nearest change at or after i, and the one before it.
        let k = changed.partition_point(|&c| c < i);
        let after = changed.get(k).is_some_and(|&c| c - i <= context);
        let before = k > 0 && i - changed[k - 1] <= context;
        after || before
    };
    let mut out = Vec::new();
    let mut folded = 0;
    for (i, line) in diff.iter().enumerate() {
        if matches!(line, DiffLine::Same(_)) && !near(i) {
            folded += 1;
            continue;
        }
        if folded > 0 {
            out.push(Shown::Folded(folded));
            folded = 0;
        }
        out.push(Shown::Line(line));
    }
    if folded > 0 {
        out.push(Shown::Folded(folded));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(diff: &[DiffLine]) -> String {
        diff.iter()
            .map(|l| match l {
                DiffLine::Same(s) => format!(" {s}"),
                DiffLine::Added(s) => format!("+{s}"),
                DiffLine::Removed(s) => format!("-{s}"),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn identical_documents_have_no_changes() {
        let d = diff_lines("a\nb\nc\n", "a\nb\nc\n");
        assert_eq!(counts(&d), (0, 0));
        assert_eq!(d.len(), 3);
        assert_eq!(diff_lines("", ""), Vec::new());
    }

    #[test]
    fn a_changed_line_is_a_removal_then_an_addition() {
        let d = diff_lines("a\nb\nc", "a\nB\nc");
        assert_eq!(render(&d), " a\n-b\n+B\n c");
        assert_eq!(counts(&d), (1, 1));
    }

    #[test]
    fn insertions_and_deletions_keep_the_common_lines() {
        let d = diff_lines("x\na\nb\nc\ny", "a\nq\nb\nc\nz\ny");
        assert_eq!(render(&d), "-x\n a\n+q\n b\n c\n+z\n y");
        assert_eq!(render(&diff_lines("", "a\nb")), "+a\n+b");
        assert_eq!(render(&diff_lines("a\nb", "")), "-a\n-b");
    }

    #[test]
    fn the_diff_is_minimal_for_a_moved_block() {
        // The longest common subsequence keeps three lines and moves one.
        let d = diff_lines("1\n2\n3\n4", "2\n3\n4\n1");
        assert_eq!(counts(&d), (1, 1));
        assert_eq!(render(&d), "-1\n 2\n 3\n 4\n+1");
    }

    #[test]
    fn applying_the_diff_gives_back_both_documents() {
        let old = "[roles.a]\nx = 1\n\n[[statements]]\neffect = \"deny\"\nactions = [\"*\"]\n";
        let new = "[roles.b]\nx = 1\n\n[[statements]]\neffect = \"allow\"\nactions = [\"*\"]\nroles = [\"b\"]\n";
        let d = diff_lines(old, new);
        let side = |keep_added: bool| {
            d.iter()
                .filter_map(|l| match l {
                    DiffLine::Same(s) => Some(s.as_str()),
                    DiffLine::Added(s) if keep_added => Some(s.as_str()),
                    DiffLine::Removed(s) if !keep_added => Some(s.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(side(false), old.lines().collect::<Vec<_>>());
        assert_eq!(side(true), new.lines().collect::<Vec<_>>());
    }

    #[test]
    fn huge_middles_fall_back_to_a_replacement() {
        let old: String = (0..2100).map(|i| format!("a{i}\n")).collect();
        let new: String = (0..2100).map(|i| format!("b{i}\n")).collect();
        let d = diff_lines(&old, &new);
        assert_eq!(counts(&d), (2100, 2100));
    }

    #[test]
    fn folding_keeps_context_around_changes() {
        let old: String = (0..20).map(|i| format!("{i}\n")).collect();
        let new = old.replace("10\n", "ten\n");
        let d = diff_lines(&old, &new);
        let shown = fold(&d, 2);
        assert_eq!(shown.first(), Some(&Shown::Folded(8)));
        assert_eq!(shown.last(), Some(&Shown::Folded(7)));
        assert_eq!(shown.len(), 2 + 2 + 2 + 2);
        assert!(shown.contains(&Shown::Line(&DiffLine::Added("ten".into()))));
        // Without changes everything folds.
        assert_eq!(fold(&diff_lines("a\nb", "a\nb"), 3), vec![Shown::Folded(2)]);
    }
}
