//! Listing: paging and what the listing shows. These checks are exclusive in
//! [`run_all`](super::run_all): they look at the provider as a whole.

use std::collections::HashSet;

use super::support::{Keys, Step, cheap_spec, ensure, plain_usage, skip};
use super::{CheckResult, Failure, Outcome};
use keygate_core::key::KeyMetadata;
use keygate_core::provider::{KeyProvider, KeyProviderExt, ListKeysRequest};

/// The most pages a listing may take before the check calls it endless: a cursor that never
/// ends is a failure, not a hang.
const MAX_PAGES: usize = 100_000;

/// Creates five keys and lists with `page_size` 2 (or `max_page_size` if smaller), following
/// cursors to the end: pages hold at most that many keys, only the last may be empty, and
/// each created key appears exactly once with its name and spec (another caller's key that
/// changes state during the listing may show up in two of its parts).
pub async fn list_pages_cover_every_key_once(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "list-pages");
    keys.finish(async {
        let Some(spec) = cheap_spec(p) else {
            return skip("capabilities.key_specs is empty");
        };
        let page_size = p.capabilities().max_page_size.clamp(1, 2);
        let mut created = Vec::new();
        for _ in 0..5 {
            created.push(keys.create(spec, plain_usage(spec)).await?);
        }

        let mut seen: Vec<KeyMetadata> = Vec::new();
        let mut ids = HashSet::new();
        let mut cursors = HashSet::new();
        let mut cursor = None;
        for page_no in 0.. {
            ensure!(
                page_no < MAX_PAGES,
                "list_keys did not end within {MAX_PAGES} pages of {page_size}"
            );
            let what = format!("list_keys(page_size {page_size}) page {page_no}");
            let page = p
                .list_keys(ListKeysRequest {
                    page_size: Some(page_size),
                    cursor: cursor.take(),
                })
                .await
                .step(&what)?;
            let count = page.items.len();
            ensure!(
                count <= page_size as usize,
                "{what}: {count} items, more than the page size"
            );
            for item in page.items {
                // A listing is no snapshot: a key another caller changes meanwhile may move
                // between the parts of a listing (Key Vault lists live keys, then deleted
                // ones). Keys this check made and leaves alone must appear exactly once.
                let mine = created.iter().any(|k| k.id == item.id);
                ensure!(
                    ids.insert(item.id.clone()) || !mine,
                    "{what}: key {} was already listed on an earlier page",
                    item.id
                );
                if mine || !seen.iter().any(|m| m.id == item.id) {
                    seen.push(item);
                }
            }
            match page.next_cursor {
                None => break,
                Some(next) => {
                    ensure!(count > 0, "{what}: an empty page that is not the last");
                    ensure!(
                        cursors.insert(next.clone()),
                        "{what}: next_cursor repeats an earlier cursor (the listing would loop)"
                    );
                    cursor = Some(next);
                }
            }
        }

        for key in &created {
            let listed: Vec<&KeyMetadata> = seen.iter().filter(|m| m.id == key.id).collect();
            ensure!(
                listed.len() == 1,
                "key {} created before listing appears {} times across pages",
                key.id,
                listed.len()
            );
            let m = listed[0];
            ensure!(
                m.name == key.name && m.spec == key.spec && m.uri == key.uri,
                "list_keys shows key {} as `{}` {} {}, describe as `{}` {} {}",
                key.id,
                m.name,
                m.spec,
                m.uri,
                key.name,
                key.spec,
                key.uri
            );
        }
        Ok(Outcome::Passed)
    })
    .await
}

/// `list_keys` (followed to the end) and `describe_key` show a key's current state after
/// `disable_key` and again after `enable_key`.
pub async fn list_shows_current_state(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "list-state");
    keys.finish(async {
        let Some(spec) = cheap_spec(p) else {
            return skip("capabilities.key_specs is empty");
        };
        let key = keys.create(spec, plain_usage(spec)).await?;
        for (op, want) in [("disable_key", "disabled"), ("enable_key", "enabled")] {
            if op == "disable_key" {
                p.disable_key(&key.id).await.step(op)?;
            } else {
                p.enable_key(&key.id).await.step(op)?;
            }
            let described = p.describe_key(&key.id).await.step("describe_key")?;
            ensure!(
                described.state.as_str() == want,
                "describe_key after {op}: state {}, expected {want}",
                described.state
            );
            let all = p.list_all_keys().await.step("list_keys (all pages)")?;
            let Some(listed) = all.iter().find(|m| m.id == key.id) else {
                return Err(Failure::new(format!(
                    "list_keys (all pages) after {op} does not show key {}",
                    key.id
                )));
            };
            ensure!(
                listed.state.as_str() == want,
                "list_keys after {op}: key {} is {}, expected {want}",
                key.id,
                listed.state
            );
        }
        Ok(Outcome::Passed)
    })
    .await
}
