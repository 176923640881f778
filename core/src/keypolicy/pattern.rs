//! The wildcards of policy patterns: `*` (any run of characters) and `?` (one character),
//! as `Action`, `Resource`, `StringLike` and `ArnLike` read them.

/// Whether `text` matches `pattern`; `fold` compares ASCII letters case-insensitively.
pub(super) fn matches(pattern: &str, text: &str, fold: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let same = |a: char, b: char| {
        if fold {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    // The classic two-pointer match with one backtrack point: linear in practice, never
    // exponential.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && same(p[pi], t[ti]))) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn wildcards_match_as_policies_read_them() {
        assert!(matches("kms:*", "kms:Decrypt", true));
        assert!(matches("KMS:describe*", "kms:DescribeKey", true));
        assert!(!matches("kms:Describe*", "kms:Decrypt", true));
        assert!(matches("kms:?ncrypt", "kms:Encrypt", true));
        assert!(!matches("kms:?ncrypt", "kms:Decrypt", true));
        assert!(matches("*", "", false));
        assert!(!matches("a", "", false));
        assert!(!matches("Kms:Decrypt", "kms:Decrypt", false));
        assert!(matches(
            "arn:aws:kms:*:111:key/*",
            "arn:aws:kms:eu-west-1:111:key/k",
            false
        ));
        assert!(!matches(
            "arn:aws:kms:*:111:key/*",
            "arn:aws:kms:eu-west-1:222:key/k",
            false
        ));
        assert!(matches("a*b*c", "aXXbYYbc", false));
        assert!(!matches("a*b*c", "aXXbYYbd", false));
    }
}
