//! The cost screen's worked figures: how a key's monthly charge and a tally's request charge
//! come out of the price list, written out the way the report computes them (whole
//! micro-dollars, each kind rounded half up once), so the lines add up to the report's totals.

use keygate_core::cost::{Prices, RequestKind, RequestTally, dollars};

/// One request kind's line: `count × per_10k / 10,000 = usd`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RequestLine {
    /// The kind.
    pub kind: RequestKind,
    /// How many requests the audit log counted.
    pub count: u64,
    /// The price per 10,000 of that kind.
    pub per_10k: f64,
    /// What they cost.
    pub usd: f64,
}

/// The kind's name on screen.
pub(crate) fn kind_name(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Symmetric => "symmetric",
        RequestKind::Rsa2048 => "RSA 2048",
        RequestKind::Asymmetric => "asymmetric",
        RequestKind::Random => "random",
        RequestKind::Management => "management",
    }
}

fn per_10k(p: &Prices, kind: RequestKind) -> f64 {
    match kind {
        RequestKind::Symmetric => p.symmetric_per_10k,
        RequestKind::Rsa2048 => p.rsa_2048_per_10k,
        RequestKind::Asymmetric => p.asymmetric_per_10k,
        RequestKind::Random => p.random_per_10k,
        RequestKind::Management => p.management_per_10k,
    }
}

/// Whole micro-dollars, as the report counts (prices are finite and non-negative).
fn micros(usd: f64) -> u64 {
    (usd * 1_000_000.0).round() as u64
}

/// The tally's lines under `p`, by kind.
pub(crate) fn request_lines(p: &Prices, tally: &RequestTally) -> Vec<RequestLine> {
    tally
        .iter()
        .map(|(&kind, &count)| {
            let price = per_10k(p, kind);
            let m = (count.saturating_mul(micros(price)) + 5_000) / 10_000;
            RequestLine {
                kind,
                count,
                per_10k: price,
                usd: m as f64 / 1_000_000.0,
            }
        })
        .collect()
}

/// How `p` charges for a key: `monthly $1.00/key + $1.00/version beyond 1, max 3 billed`.
pub(crate) fn key_terms(p: &Prices) -> String {
    let mut parts = Vec::new();
    if p.key_month > 0.0 {
        parts.push(format!("{}/key", dollars(p.key_month)));
    }
    if p.version_month > 0.0 {
        let mut version = format!("{}/version", dollars(p.version_month));
        if p.included_versions > 0 {
            version.push_str(&format!(" beyond {}", p.included_versions));
        }
        if let Some(max) = p.max_billed_versions {
            version.push_str(&format!(", max {max} billed"));
        }
        parts.push(version);
    }
    if parts.is_empty() {
        "no monthly charge".to_owned()
    } else {
        format!("monthly {}", parts.join(" + "))
    }
}

/// `35,000`.
pub(crate) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The total of a tally.
pub(crate) fn total(tally: &RequestTally) -> u64 {
    tally.values().sum()
}

#[cfg(test)]
mod tests {
    use keygate_core::cost::PriceList;

    use super::*;

    #[test]
    fn counts_group_thousands() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(35_000), "35,000");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    #[test]
    fn key_terms_read_as_each_cloud_bills() {
        let list = PriceList::default();
        assert_eq!(
            key_terms(&list.aws),
            "monthly $1.00/key + $1.00/version beyond 1, max 3 billed"
        );
        assert_eq!(key_terms(&list.gcp), "monthly $0.06/version");
        assert_eq!(key_terms(&list.local), "no monthly charge");
    }

    #[test]
    fn request_lines_round_each_kind_half_up_like_the_report() {
        let list = PriceList::default();
        let mut tally = RequestTally::new();
        tally.insert(RequestKind::Symmetric, 25_000);
        tally.insert(RequestKind::Asymmetric, 1);
        let lines = request_lines(&list.aws, &tally);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].kind, RequestKind::Symmetric);
        assert_eq!(lines[0].usd, 0.075);
        // 1 × $0.15 / 10,000 = $0.000015.
        assert_eq!(lines[1].usd, 0.000015);
        assert_eq!(lines[1].per_10k, 0.15);
    }
}
