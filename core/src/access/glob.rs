//! Anchored globs for the access policy: `*` (any run of characters, also empty) and `?`
//! (exactly one character), nothing else. No regex engine: policies are evaluated on every
//! request, and a two-symbol language cannot be written to backtrack catastrophically.
//!
//! Key-pattern values may use `${principal}`, replaced by the caller's principal as literal
//! text (a principal containing `*` would still only match itself).

/// What `${...}` may stand for in the glob being parsed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Vars<'a> {
    /// No variables here (action, principal and role globs).
    None,
    /// `${principal}` is replaced by this text.
    Principal(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    One,
    Star,
}

/// A parsed glob.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    toks: Vec<Tok>,
}

impl Glob {
    /// Parses `pattern`, substituting variables allowed by `vars`.
    ///
    /// Errors (as a message for the validator): empty pattern, `${` without `}`, an unknown
    /// variable, or a variable where none is allowed.
    pub(crate) fn parse(pattern: &str, vars: Vars<'_>) -> Result<Self, String> {
        if pattern.is_empty() {
            return Err("empty pattern".to_owned());
        }
        let mut toks = Vec::with_capacity(pattern.len());
        let mut rest = pattern;
        while let Some(c) = rest.chars().next() {
            if let Some(after) = rest.strip_prefix("${") {
                let Some(end) = after.find('}') else {
                    return Err(format!("`{pattern}`: `${{` without a closing `}}`"));
                };
                let name = &after[..end];
                match (name, vars) {
                    ("principal", Vars::Principal(p)) => toks.extend(p.chars().map(Tok::Lit)),
                    ("principal", Vars::None) => {
                        return Err(format!(
                            "`{pattern}`: `${{principal}}` is only allowed in key patterns"
                        ));
                    }
                    _ => {
                        return Err(format!(
                            "`{pattern}`: unknown variable `${{{name}}}` (only `${{principal}}` exists)"
                        ));
                    }
                }
                rest = &after[end + 1..];
                continue;
            }
            toks.push(match c {
                '*' => Tok::Star,
                '?' => Tok::One,
                other => Tok::Lit(other),
            });
            rest = &rest[c.len_utf8()..];
        }
        Ok(Self { toks })
    }

    /// Whether the whole of `text` matches (anchored at both ends).
    pub(crate) fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let pat = &self.toks;
        let (mut p, mut t) = (0, 0);
        // The last `*` seen and the text position it currently absorbs up to. Only the
        // latest star needs revisiting: any earlier one could absorb the same characters,
        // which keeps this O(pattern × text) in the worst case.
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match pat.get(p) {
                Some(Tok::Star) => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                Some(Tok::One) => {
                    p += 1;
                    t += 1;
                    continue;
                }
                Some(Tok::Lit(c)) if *c == text[t] => {
                    p += 1;
                    t += 1;
                    continue;
                }
                _ => {}
            }
            match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            }
        }
        pat[p..].iter().all(|tok| *tok == Tok::Star)
    }

    /// Whether the glob has no wildcard (it names exactly one string).
    pub(crate) fn is_literal(&self) -> bool {
        self.toks.iter().all(|t| matches!(t, Tok::Lit(_)))
    }
}

/// Matches `text` against `pattern`; a malformed pattern yields `on_malformed`.
///
/// Evaluation may see a policy that was never validated (the fields are public), so each
/// caller says which way a broken glob goes. Both fail closed: a broken deny matches, a
/// broken allow does not.
pub(crate) fn glob_matches(pattern: &str, text: &str, vars: Vars<'_>, on_malformed: bool) -> bool {
    Glob::parse(pattern, vars).map_or(on_malformed, |g| g.matches(text))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        Glob::parse(pattern, Vars::None).unwrap().matches(text)
    }

    #[test]
    fn literals_are_anchored() {
        assert!(m("prod", "prod"));
        assert!(!m("prod", "prod-1"));
        assert!(!m("prod", "xprod"));
        assert!(!m("prod", ""));
    }

    #[test]
    fn star_matches_any_run_including_empty() {
        assert!(m("prod-*", "prod-"));
        assert!(m("prod-*", "prod-payments"));
        assert!(!m("prod-*", "staging-payments"));
        assert!(m("*", ""));
        assert!(m("*", "anything at all"));
        assert!(m("*-db-*", "eu-db-1"));
        assert!(!m("*-db-*", "eu-db"));
        assert!(m("a*b*c", "aXXbYYbc"));
        assert!(!m("a*b*c", "aXXbYYb"));
        assert!(m("crypto:*", "crypto:generate-data-key"));
        assert!(!m("crypto:*", "keys:list"));
    }

    #[test]
    fn question_mark_is_exactly_one_character() {
        assert!(m("k?", "k1"));
        assert!(!m("k?", "k"));
        assert!(!m("k?", "k12"));
        assert!(m("?é", "ßé"));
    }

    #[test]
    fn regex_metacharacters_are_literal() {
        assert!(m("a.b", "a.b"));
        assert!(!m("a.b", "axb"));
        assert!(m("[x]+", "[x]+"));
        assert!(m("cost$", "cost$"));
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        // Would take exponential time in a naive backtracking matcher.
        let text = "a".repeat(200);
        assert!(!m("*a*a*a*a*a*a*a*a*b", &text));
    }

    #[test]
    fn principal_is_substituted_literally() {
        let g = Glob::parse("svc-${principal}", Vars::Principal("a*")).unwrap();
        assert!(g.matches("svc-a*"));
        assert!(!g.matches("svc-abc"));
        let g = Glob::parse("${principal}", Vars::Principal("billing")).unwrap();
        assert!(g.matches("billing"));
        assert!(!g.matches("billing2"));
    }

    #[test]
    fn malformed_patterns_are_reported() {
        assert!(Glob::parse("", Vars::None).is_err());
        assert!(Glob::parse("${principal", Vars::Principal("p")).is_err());
        assert!(Glob::parse("${user}", Vars::Principal("p")).is_err());
        assert!(Glob::parse("${principal}", Vars::None).is_err());
        // A lone `$` is just a character.
        assert!(Glob::parse("$x", Vars::None).unwrap().matches("$x"));
    }

    #[test]
    fn malformed_patterns_fail_the_way_the_caller_asks() {
        assert!(glob_matches("${nope}", "x", Vars::None, true));
        assert!(!glob_matches("${nope}", "x", Vars::None, false));
        assert!(glob_matches("x*", "xy", Vars::None, false));
    }

    #[test]
    fn literal_detection() {
        assert!(Glob::parse("admin", Vars::None).unwrap().is_literal());
        assert!(!Glob::parse("ad*", Vars::None).unwrap().is_literal());
        assert!(!Glob::parse("a?", Vars::None).unwrap().is_literal());
    }
}
