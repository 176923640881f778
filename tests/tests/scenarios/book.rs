//! The book's snippets cannot rot: every ```toml block in `docs/src` (and the README) is a
//! configuration keygate accepts, its provider sections typed as the binary types them (a
//! ```toml,policy block is a gateway access policy instead); every ```json block parses; every
//! fenced block names its language (an unnamed one would be compiled as Rust); and every
//! chapter is included in `tests/src/lib.rs`, whose doctests compile the Rust blocks.

use std::path::{Path, PathBuf};

use keygate_core::access::AccessPolicy;
use keygate_server::config::Config;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// Every Markdown file under `dir`, sorted.
fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            markdown_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

/// The book's chapters and the README.
fn documents() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut files = vec![root.join("README.md")];
    markdown_files(&root.join("docs/src"), &mut files);
    files
}

/// A fenced code block: where it starts, its info string and its text.
#[derive(Debug)]
struct Block {
    line: usize,
    info: String,
    text: String,
}

impl Block {
    /// The language: the info string's first word (`toml` in `toml,policy`).
    fn lang(&self) -> &str {
        self.info.split([',', ' ', '\t']).next().unwrap_or_default()
    }

    /// Whether the info string carries `attr` after the language.
    fn has(&self, attr: &str) -> bool {
        self.info.split([',', ' ', '\t']).skip(1).any(|a| a == attr)
    }
}

/// The ``` fenced blocks of a Markdown text, also inside list items (the fence's indentation
/// is taken off every line of the block).
fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<(usize, usize, String, String)> = None;
    for (n, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match &mut open {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    open = Some((n + 1, indent, info.trim().to_owned(), String::new()));
                }
            }
            Some((start, fence_indent, info, text)) => {
                if trimmed.starts_with("```") && trimmed.trim_end() == "```" {
                    out.push(Block {
                        line: *start,
                        info: std::mem::take(info),
                        text: std::mem::take(text),
                    });
                    open = None;
                } else {
                    let cut = line
                        .char_indices()
                        .take_while(|(i, c)| *i < *fence_indent && c.is_whitespace())
                        .count();
                    text.push_str(&line[cut..]);
                    text.push('\n');
                }
            }
        }
    }
    assert!(open.is_none(), "an unclosed code block");
    out
}

/// Replaces mdbook's `{{#include path}}` lines with the file they name (relative to `dir`).
fn expand_includes(text: &str, dir: &Path) -> Result<String, String> {
    let mut out = String::new();
    for line in text.lines() {
        match line
            .trim()
            .strip_prefix("{{#include ")
            .and_then(|l| l.strip_suffix("}}"))
        {
            Some(path) => {
                let path = dir.join(path.trim());
                let included = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{{{{#include}}}} of {}: {e}", path.display()))?;
                out.push_str(&included);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    Ok(out)
}

/// What is wrong with one block, if anything.
fn check(block: &Block, dir: &Path, origin: &str) -> Result<(), String> {
    match block.lang() {
        "" => Err(
            "a code block without a language (rustdoc would compile it as Rust): \
                   name it (`rust`, `toml`, `sh`, `text`, `json`)"
                .to_owned(),
        ),
        "toml" if block.has("policy") => AccessPolicy::from_toml(&block.text)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        "toml" => {
            let text = expand_includes(&block.text, dir)?;
            let config = Config::parse(&text, Vec::<(String, String)>::new(), origin)
                .map_err(|e| e.to_string())?;
            keygate::compose::provider_configs(&config)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        "json" => {
            if serde_json::from_str::<serde_json::Value>(&block.text).is_ok() {
                return Ok(());
            }
            // JSON lines: one value per line.
            for line in block.text.lines().filter(|l| !l.trim().is_empty()) {
                serde_json::from_str::<serde_json::Value>(line)
                    .map_err(|e| format!("neither JSON nor JSON lines: {e}: {line}"))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[test]
fn every_toml_and_json_snippet_parses_and_every_block_names_its_language() {
    let root = workspace_root();
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in documents() {
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let markdown = std::fs::read_to_string(&path).expect("a readable chapter");
        let dir = path.parent().expect("a chapter has a folder");
        for block in blocks(&markdown) {
            let origin = format!("{rel}:{}", block.line);
            if matches!(block.lang(), "toml" | "json") {
                checked += 1;
            }
            if let Err(e) = check(&block, dir, &origin) {
                failures.push(format!("{origin} ({}): {e}", block.info));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "snippets that do not hold:\n{}",
        failures.join("\n")
    );
    assert!(checked > 10, "only {checked} TOML and JSON blocks found");
}

#[test]
fn the_configuration_reference_includes_the_example_file() {
    let root = workspace_root();
    let reference = std::fs::read_to_string(root.join("docs/src/reference/configuration.md"))
        .expect("the configuration reference");
    assert!(
        reference.contains("{{#include ../../../keygate.example.toml}}"),
        "the configuration reference includes keygate.example.toml"
    );
}

#[test]
fn every_chapter_is_a_doctest_module() {
    let root = workspace_root();
    let lib = std::fs::read_to_string(root.join("tests/src/lib.rs")).expect("tests/src/lib.rs");
    let missing: Vec<String> = documents()
        .iter()
        .map(|p| p.strip_prefix(&root).unwrap_or(p).display().to_string())
        .filter(|rel| rel != "docs/src/SUMMARY.md")
        .filter(|rel| !lib.contains(&format!("include_str!(\"../../{rel}\")")))
        .collect();
    assert!(
        missing.is_empty(),
        "chapters whose Rust snippets no doctest compiles; add them to tests/src/lib.rs: {missing:?}"
    );
}

#[test]
fn the_block_reader_finds_indented_blocks_and_attributes() {
    let md = "text\n\n- item\n\n  ```json\n  {\"a\": 1}\n  ```\n\n```toml,policy\nx = 1\n```\n";
    let found = blocks(md);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].lang(), "json");
    assert_eq!(found[0].text, "{\"a\": 1}\n");
    assert_eq!(found[0].line, 5);
    assert_eq!(found[1].lang(), "toml");
    assert!(found[1].has("policy"));
    let bad = Block {
        line: 1,
        info: "toml".into(),
        text: "[server]\nlistne = \"x\"\n".into(),
    };
    let err = check(&bad, Path::new("."), "t.md:1").unwrap_err();
    assert!(err.contains("listne"), "{err}");
    let bad_provider = Block {
        line: 1,
        info: "toml".into(),
        text: "[providers.gcp]\nprojet = \"x\"\n".into(),
    };
    assert!(check(&bad_provider, Path::new("."), "t.md:1").is_err());
}
