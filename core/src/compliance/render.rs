//! Renderers: Markdown for people, CSV for spreadsheets, JSON for scripts.

use std::fmt::Write as _;

use super::{Report, Rule, Severity};

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 6] = ["severity", "rule", "provider", "key", "name", "message"];

impl Report {
    /// Markdown: a title, the summary table (providers × rules), the findings table and the
    /// sources that could not be read.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let generated = self
            .generated
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| self.generated.to_string());
        let _ = writeln!(s, "# keygate compliance report\n");
        let _ = writeln!(
            s,
            "Generated {generated}; {} checked; unused after {} days; rotation grace {} days.\n",
            plural(self.summary.keys, "key", "keys"),
            self.options.unused_days,
            self.options.rotation_grace_days
        );
        let sev = |v: Severity| self.summary.by_severity.get(&v).copied().unwrap_or(0);
        let _ = writeln!(
            s,
            "**{}**: {} high, {} medium, {} low.\n",
            plural(self.summary.findings, "finding", "findings"),
            sev(Severity::High),
            sev(Severity::Medium),
            sev(Severity::Low)
        );
        let _ = writeln!(s, "## Summary\n");
        let mut header = vec!["Provider".to_owned()];
        header.extend(Rule::ALL.iter().map(|r| r.id().to_owned()));
        header.push("Total".to_owned());
        table_row(&mut s, &header);
        table_row(
            &mut s,
            &header.iter().map(|_| "---".to_owned()).collect::<Vec<_>>(),
        );
        for (provider, counts) in &self.summary.by_provider {
            let mut row = vec![provider.clone()];
            row.extend(
                Rule::ALL
                    .iter()
                    .map(|r| counts.get(r).copied().unwrap_or(0).to_string()),
            );
            row.push(counts.values().sum::<usize>().to_string());
            table_row(&mut s, &row);
        }
        let _ = writeln!(s, "\n## Findings\n");
        if self.findings.is_empty() {
            let _ = writeln!(s, "No findings.");
        } else {
            table_row(
                &mut s,
                &["Severity", "Rule", "Provider", "Key", "Message"].map(String::from),
            );
            table_row(&mut s, &["---"; 5].map(String::from));
            for f in &self.findings {
                let key = match &f.key {
                    Some(uri) if *uri != f.name => format!("{} ({uri})", f.name),
                    _ => f.name.clone(),
                };
                table_row(
                    &mut s,
                    &[
                        f.severity.to_string(),
                        f.rule.to_string(),
                        f.provider.clone(),
                        key,
                        f.message.clone(),
                    ],
                );
            }
        }
        if !self.errors.is_empty() {
            let _ = writeln!(s, "\n## Not checked\n");
            for e in &self.errors {
                let what = match &e.key {
                    Some(k) => format!("{} ({k})", e.source),
                    None => e.source.clone(),
                };
                let _ = writeln!(s, "- {}: {}", md_cell(&what), md_cell(&e.message));
            }
        }
        s
    }

    /// CSV (RFC 4180): a header line then one row per finding, CRLF line endings; a field
    /// with a comma, quote, CR or LF is quoted, quotes doubled. An empty `key` is the
    /// gateway access policy.
    pub fn to_csv(&self) -> String {
        let mut s = String::new();
        csv_row(&mut s, &CSV_HEADER);
        for f in &self.findings {
            csv_row(
                &mut s,
                &[
                    f.severity.as_str(),
                    f.rule.id(),
                    &f.provider,
                    f.key.as_deref().unwrap_or(""),
                    &f.name,
                    &f.message,
                ],
            );
        }
        s
    }

    /// Pretty JSON in the shape the module docs describe, with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            // Every field is a plain string, number or map with string keys.
            format!("{{\"error\":\"cannot serialize the report: {e}\"}}")
        });
        s.push('\n');
        s
    }
}

fn table_row(s: &mut String, cells: &[String]) {
    s.push('|');
    for c in cells {
        let _ = write!(s, " {} |", md_cell(c));
    }
    s.push('\n');
}

/// A table cell: pipes escaped, line breaks as spaces (a cell is one line).
fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\r', '\n'], " ")
}

fn csv_row(s: &mut String, fields: &[&str]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&csv_field(f));
    }
    s.push_str("\r\n");
}

/// One RFC 4180 field.
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// `1 key`, `2 keys`.
fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}
