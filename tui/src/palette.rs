//! The `:` command palette: what can be typed, how it parses, completion.

use crate::app::{PolicyTarget, Route};

/// The palette's commands, as help and suggestions show them.
pub const COMMANDS: &[(&str, &str)] = &[
    ("keys", "every key across providers"),
    ("provider <name>", "the keys of one provider"),
    ("audit", "the live audit stream"),
    ("compliance", "compliance findings"),
    ("cost", "what the key estate costs, here and elsewhere"),
    ("policy", "the gateway access policy"),
    ("help", "key bindings"),
    ("q", "quit"),
];

/// What a palette line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Go to a screen.
    Open(Route),
    /// The keys screen filtered to one provider.
    Provider(String),
    /// Show help.
    Help,
    /// Quit.
    Quit,
}

/// Parses a palette line. `providers` are the known provider names (empty while loading: then
/// any name is accepted and the filter shows what matches).
///
/// # Errors
/// A message saying what is wrong (the caller keeps the typed text).
pub fn parse(input: &str, providers: &[String]) -> Result<Command, String> {
    let mut words = input.split_whitespace();
    let Some(cmd) = words.next() else {
        return Err(
            "type a command: keys, audit, compliance, cost, policy, provider <name>, q".into(),
        );
    };
    let arg = words.next();
    if words.next().is_some() {
        return Err(format!("`{input}`: too many words"));
    }
    let no_arg = |c: Command| match arg {
        None => Ok(c),
        Some(a) => Err(format!("`{cmd}` takes no argument (got `{a}`)")),
    };
    match cmd {
        "keys" | "k" => no_arg(Command::Open(Route::Keys)),
        "audit" | "a" => no_arg(Command::Open(Route::Audit)),
        "compliance" | "c" => no_arg(Command::Open(Route::Compliance)),
        "cost" => no_arg(Command::Open(Route::Cost)),
        "policy" => no_arg(Command::Open(Route::Policy(PolicyTarget::Gateway))),
        "help" | "?" => no_arg(Command::Help),
        "q" | "quit" | "q!" => no_arg(Command::Quit),
        "provider" | "p" => {
            let name = arg.ok_or("`provider` needs a name: :provider <name>")?;
            if !providers.is_empty() && !providers.iter().any(|p| p == name) {
                return Err(format!(
                    "no provider `{name}` (providers: {})",
                    providers.join(", ")
                ));
            }
            Ok(Command::Provider(name.to_owned()))
        }
        other => Err(format!(
            "unknown command `{other}` (keys, audit, compliance, cost, policy, provider <name>, q)"
        )),
    }
}

/// Completes `input` when exactly one command (or provider name, after `provider `) starts
/// with it.
pub fn complete(input: &str, providers: &[String]) -> Option<String> {
    if let Some(rest) = input.strip_prefix("provider ") {
        let mut hits = providers.iter().filter(|p| p.starts_with(rest.trim()));
        let hit = hits.next()?;
        return hits.next().is_none().then(|| format!("provider {hit}"));
    }
    let names = [
        "keys",
        "provider ",
        "audit",
        "compliance",
        "cost",
        "policy",
        "help",
        "quit",
    ];
    let mut hits = names.iter().filter(|n| n.starts_with(input));
    let hit = hits.next()?;
    hits.next().is_none().then(|| (*hit).to_owned())
}

/// The commands whose name starts with the first word of `input` (all when empty).
pub fn suggestions(input: &str) -> Vec<(&'static str, &'static str)> {
    let first = input.split_whitespace().next().unwrap_or("");
    COMMANDS
        .iter()
        .copied()
        .filter(|(name, _)| {
            name.starts_with(first) || first.starts_with(name.split(' ').next().unwrap_or(""))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["local".into(), "aws".into()]
    }

    #[test]
    fn commands_parse() {
        assert_eq!(parse("keys", &names()), Ok(Command::Open(Route::Keys)));
        assert_eq!(parse(" audit ", &names()), Ok(Command::Open(Route::Audit)));
        assert_eq!(
            parse("compliance", &names()),
            Ok(Command::Open(Route::Compliance))
        );
        assert_eq!(
            parse("policy", &names()),
            Ok(Command::Open(Route::Policy(PolicyTarget::Gateway)))
        );
        assert_eq!(
            parse("provider aws", &names()),
            Ok(Command::Provider("aws".into()))
        );
        assert_eq!(parse("cost", &names()), Ok(Command::Open(Route::Cost)));
        assert_eq!(parse("q", &names()), Ok(Command::Quit));
        assert_eq!(parse("help", &names()), Ok(Command::Help));
    }

    #[test]
    fn mistakes_are_explained() {
        assert!(parse("", &names()).is_err());
        assert!(
            parse("kyes", &names())
                .unwrap_err()
                .contains("unknown command")
        );
        assert!(
            parse("provider", &names())
                .unwrap_err()
                .contains("needs a name")
        );
        assert!(
            parse("provider gcp", &names())
                .unwrap_err()
                .contains("local, aws")
        );
        assert!(
            parse("keys now", &names())
                .unwrap_err()
                .contains("no argument")
        );
        // Before providers load, any name goes through.
        assert_eq!(
            parse("provider gcp", &[]),
            Ok(Command::Provider("gcp".into()))
        );
    }

    #[test]
    fn completion_needs_one_match() {
        assert_eq!(complete("au", &names()).as_deref(), Some("audit"));
        assert_eq!(complete("p", &names()), None);
        assert_eq!(complete("pr", &names()).as_deref(), Some("provider "));
        assert_eq!(
            complete("provider a", &names()).as_deref(),
            Some("provider aws")
        );
        assert_eq!(suggestions("").len(), COMMANDS.len());
        assert_eq!(suggestions("com"), [("compliance", "compliance findings")]);
        assert_eq!(complete("co", &names()), None);
        assert_eq!(complete("cos", &names()).as_deref(), Some("cost"));
    }
}
