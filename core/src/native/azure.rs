//! Azure Key Vault's vocabulary: the built-in Key Vault roles, role definition GUIDs, the
//! names keygate gives role assignments, and the durations of rotation policies. The Azure provider writes assignments with it
//! and keygate's Azure dialect serves them, so what one PUTs is what the other lists.

use crate::{Error, Result};

/// The native format name of a key policy as Azure RBAC role assignments.
pub const FORMAT: &str = "azure-rbac";

/// Names the role assignments keygate makes (a UUID v5 namespace).
const NAMESPACE: [u8; 16] = [
    0x6b, 0x67, 0x61, 0x7a, 0x2d, 0x72, 0x62, 0x61, 0x63, 0x2d, 0x6b, 0x65, 0x79, 0x67, 0x61, 0x74,
];

/// Azure's built-in Key Vault roles: (name, role definition GUID).
pub const BUILT_IN_ROLES: [(&str, &str); 6] = [
    (
        "Key Vault Administrator",
        "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    ),
    (
        "Key Vault Crypto Officer",
        "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
    ),
    (
        "Key Vault Crypto User",
        "12338af0-0e69-4776-bea7-57ae8d297424",
    ),
    (
        "Key Vault Crypto Service Encryption User",
        "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    ),
    ("Key Vault Reader", "21090545-7ca7-4776-b22c-e363652d74d2"),
    (
        "Key Vault Crypto Service Release User",
        "08bbd89e-9f13-488c-ac41-acfcb10c90ab",
    ),
];

/// True for a GUID (`8-4-4-4-12` hex digits).
pub fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The role's name for a role definition GUID (built-in Key Vault roles), else the GUID.
pub fn role_name(guid: &str) -> String {
    BUILT_IN_ROLES
        .iter()
        .find(|(_, g)| g.eq_ignore_ascii_case(guid))
        .map_or_else(|| guid.to_ascii_lowercase(), |(n, _)| (*n).to_owned())
}

/// The GUID of a built-in role given by name (any case).
pub fn built_in_role_guid(name: &str) -> Option<&'static str> {
    BUILT_IN_ROLES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
        .map(|(_, g)| *g)
}

/// The role definition GUID of a role given by name, GUID or full definition id.
///
/// # Errors
/// [`Error::InvalidArgument`] for anything else, listing the names keygate knows.
pub fn role_guid(role: &str) -> Result<String> {
    let role = role.trim();
    if let Some(g) = built_in_role_guid(role) {
        return Ok(g.to_owned());
    }
    let last = role.rsplit('/').next().unwrap_or(role);
    if is_guid(last) && (last == role || role.contains("/roleDefinitions/")) {
        return Ok(last.to_ascii_lowercase());
    }
    let names: Vec<&str> = BUILT_IN_ROLES.iter().map(|(n, _)| *n).collect();
    Err(Error::invalid(format!(
        "role `{role}` is neither a role definition GUID nor one of {}",
        names.join(", ")
    )))
}

/// The name keygate gives the assignment of role definition `role` (its GUID) to `principal`
/// at `scope`: a UUID v5 of the three, lowercased (RFC 9562 §5.5). The Azure provider names
/// the assignments it PUTs this way and keygate's Azure dialect lists them under it.
pub fn assignment_name(scope: &str, principal: &str, role: &str) -> String {
    let name = format!(
        "{}|{}|{}",
        scope.to_ascii_lowercase(),
        principal.to_ascii_lowercase(),
        role.to_ascii_lowercase()
    );
    let mut input = NAMESPACE.to_vec();
    input.extend_from_slice(name.as_bytes());
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &input);
    let mut b = [0u8; 16];
    b.copy_from_slice(&hash.as_ref()[..16]);
    b[6] = (b[6] & 0x0f) | 0x50; // version 5
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Days in an ISO-8601 duration `P[nY][nM][nW][nD]` (a year is 365 days, a month 30), as
/// Key Vault writes a rotation policy's `timeAfterCreate`; `None` for anything else (times of
/// day included).
pub fn iso_days(s: &str) -> Option<u32> {
    let rest = s.strip_prefix('P')?;
    if rest.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    let mut last_rank = 0;
    for c in rest.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let (rank, factor) = match c {
            'Y' => (1, 365),
            'M' => (2, 30),
            'W' => (3, 7),
            'D' => (4, 1),
            _ => return None,
        };
        if number.is_empty() || rank <= last_rank {
            return None;
        }
        last_rank = rank;
        total = total.checked_add(number.parse::<u64>().ok()?.checked_mul(factor)?)?;
        number.clear();
    }
    if !number.is_empty() {
        return None;
    }
    u32::try_from(total).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn roles_by_name_guid_or_definition_id() {
        assert_eq!(
            role_guid("Key Vault Crypto User").unwrap(),
            "12338af0-0e69-4776-bea7-57ae8d297424"
        );
        assert_eq!(
            role_guid("key vault reader").unwrap(),
            "21090545-7ca7-4776-b22c-e363652d74d2"
        );
        assert_eq!(
            role_guid("/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/14B46E9E-C2B7-41B4-B07B-48A6EBF60603").unwrap(),
            "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"
        );
        let custom = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
        assert_eq!(role_guid(custom).unwrap(), custom);
        assert_eq!(role_name(custom), custom);
        assert_eq!(
            role_name("00482A5A-887F-4FB3-B363-3B7FE8E74483"),
            "Key Vault Administrator"
        );
        let err = role_guid("Owner").unwrap_err();
        assert!(
            err.to_string().contains("Key Vault Crypto Officer"),
            "{err}"
        );
        assert!(role_guid("a/b/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee").is_err());
    }

    #[test]
    fn assignment_names_are_stable_v5_uuids() {
        let a = assignment_name("/s/k", "P", "R");
        assert_eq!(a, assignment_name("/S/K", "p", "r"));
        assert_ne!(a, assignment_name("/s/k", "p", "other"));
        assert!(is_guid(&a), "{a}");
        assert_eq!(&a[14..15], "5", "{a}");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }

    #[test]
    fn iso_durations_in_days() {
        assert_eq!(iso_days("P90D"), Some(90));
        assert_eq!(iso_days("P1Y"), Some(365));
        assert_eq!(iso_days("P3M"), Some(90));
        assert_eq!(iso_days("P2W"), Some(14));
        assert_eq!(iso_days("P1Y2M3W4D"), Some(365 + 60 + 21 + 4));
        for bad in [
            "",
            "P",
            "90D",
            "PT1H",
            "P1D1Y",
            "P1",
            "PxD",
            "P99999999999D",
        ] {
            assert_eq!(iso_days(bad), None, "{bad}");
        }
    }
}
