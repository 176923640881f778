//! How money reads in the cost reports, the same in the CLI's table and the console.

/// Dollars with cents, and more digits only when a figure has them (`$4.00`, `$0.30`,
/// `$0.000003`): reports compute in whole micro-dollars, so six decimals show every figure
/// exactly.
pub fn dollars(usd: f64) -> String {
    let text = format!("{usd:.6}");
    let trimmed = text.trim_end_matches('0');
    let (whole, frac) = trimmed.split_once('.').unwrap_or((trimmed, ""));
    format!("${whole}.{frac:0<2}")
}

#[cfg(test)]
mod tests {
    use super::dollars;

    #[test]
    fn dollars_keep_cents_and_significant_digits() {
        assert_eq!(dollars(4.0), "$4.00");
        assert_eq!(dollars(0.3), "$0.30");
        assert_eq!(dollars(0.174999), "$0.174999");
        assert_eq!(dollars(0.000003), "$0.000003");
        assert_eq!(dollars(0.0), "$0.00");
        assert_eq!(dollars(1234.5), "$1234.50");
    }
}
