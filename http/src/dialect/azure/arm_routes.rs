//! Resource Manager's role-assignment paths at a key's scope: the routing table as data
//! ([`ROUTES`]), the gateway action of each request ([`route_action`]) and the parser the
//! handlers use.

use keygate_core::access::Action;

/// Every Resource Manager request the Azure listener serves, as `{s}`, `{g}`, `{vault}`,
/// `{n}` (the key scope) and `{a}` (an assignment name, a GUID) templates: the routing table
/// as data (a test checks that each parses; tests enumerate the writes from it).
pub const ROUTES: &[(&str, &str)] = &[
    (
        "GET",
        "/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.KeyVault/vaults/{vault}/keys/{n}/providers/Microsoft.Authorization/roleAssignments",
    ),
    (
        "GET",
        "/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.KeyVault/vaults/{vault}/keys/{n}/providers/Microsoft.Authorization/roleAssignments/{a}",
    ),
    (
        "PUT",
        "/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.KeyVault/vaults/{vault}/keys/{n}/providers/Microsoft.Authorization/roleAssignments/{a}",
    ),
    (
        "DELETE",
        "/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.KeyVault/vaults/{vault}/keys/{n}/providers/Microsoft.Authorization/roleAssignments/{a}",
    ),
];

/// The gateway action of `method path` (a concrete path), as the handlers decide it: a read
/// of the key's policy (`keys:policy:get`) for GET, a change of it (`keys:policy:set`, after
/// the read) for PUT and DELETE; `None` for a path or method not served.
pub fn route_action(method: &str, path: &str) -> Option<Action> {
    let target = parse_path(path)?;
    match (method, target.assignment) {
        ("GET", _) => Some(Action::KeysPolicyGet),
        ("PUT" | "DELETE", Some(_)) => Some(Action::KeysPolicySet),
        _ => None,
    }
}

/// A parsed path: the key's scope, the vault and key named in it, and the assignment name.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Target {
    pub(super) subscription: String,
    pub(super) scope: String,
    pub(super) vault: String,
    pub(super) key: String,
    pub(super) assignment: Option<String>,
}

pub(super) fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

pub(super) fn parse_path(path: &str) -> Option<Target> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (head, assignment) = match segments.as_slice() {
        [head @ .., "providers", ns, ra]
            if eq(ns, "Microsoft.Authorization") && eq(ra, "roleAssignments") =>
        {
            (head, None)
        }
        [head @ .., "providers", ns, ra, name]
            if eq(ns, "Microsoft.Authorization") && eq(ra, "roleAssignments") =>
        {
            (head, Some((*name).to_owned()))
        }
        _ => return None,
    };
    match head {
        [s, sub, g, rg, p, ns, v, vault, k, key]
            if eq(s, "subscriptions")
                && eq(g, "resourceGroups")
                && eq(p, "providers")
                && eq(ns, "Microsoft.KeyVault")
                && eq(v, "vaults")
                && eq(k, "keys")
                && [sub, rg, vault, key].iter().all(|x| !x.is_empty()) =>
        {
            Some(Target {
                subscription: (*sub).to_owned(),
                scope: format!(
                    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{vault}/keys/{key}"
                ),
                vault: (*vault).to_owned(),
                key: (*key).to_owned(),
                assignment,
            })
        }
        _ => None,
    }
}

pub(super) fn is_guid(s: &str) -> bool {
    uuid::Uuid::try_parse(s).is_ok_and(|_| s.len() == 36)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

    #[test]
    fn paths_parse_case_insensitively() {
        let t = parse_path(&format!(
            "/subscriptions/s1/resourcegroups/rg/providers/microsoft.keyvault/vaults/v/keys/k/providers/Microsoft.Authorization/roleAssignments/{P}"
        ))
        .unwrap();
        assert_eq!((t.vault.as_str(), t.key.as_str()), ("v", "k"));
        assert_eq!(t.assignment.as_deref(), Some(P));
        assert!(
            parse_path("/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments")
                .is_none()
        );
        assert!(
            parse_path(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v/keys/k"
            )
            .is_none()
        );
    }

    #[test]
    fn the_route_table_is_what_the_handlers_serve() {
        for (method, template) in ROUTES {
            assert!(template.starts_with(ROUTES[0].1), "{template}");
            let path = template
                .replace("{s}", "s1")
                .replace("{g}", "rg")
                .replace("{vault}", "v")
                .replace("{n}", "k")
                .replace("{a}", P);
            let t = parse_path(&path).unwrap_or_else(|| panic!("{method} {template}"));
            assert_eq!((t.vault.as_str(), t.key.as_str()), ("v", "k"));
            assert_eq!(t.assignment.is_some(), template.ends_with("{a}"));
            assert!(route_action(method, &path).is_some(), "{method} {template}");
        }
        let put = ROUTES[2].1.replace("{a}", P);
        assert_eq!(route_action("PUT", &put), Some(Action::KeysPolicySet));
        assert_eq!(route_action("POST", &put), None);
        assert_eq!(route_action("PUT", ROUTES[0].1), None);
    }
}
