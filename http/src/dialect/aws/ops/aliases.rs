//! Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases. AWS `alias/<name>` is the
//! keygate alias `<name>`, so an alias made here works in the CLI and the other dialects.
//!
//! With a `[dialects.aws] regions` table an alias is in its key's region and found only
//! there. keygate's alias names are global, so one name cannot name keys in two regions at
//! once (AWS allows it): `CreateAlias` of a name another region uses is
//! `AlreadyExistsException`.

use keygate_core::api::Gateway as _;
use serde::{Deserialize, Serialize};

use super::Ctx;
use super::keys::{Empty, ListRequest};
use crate::dialect::aws::error::AwsError;
use crate::dialect::aws::wire::{epoch, page, required};

/// `CreateAlias`, `UpdateAlias`, `DeleteAlias`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasRequest {
    alias_name: Option<String>,
    target_key_id: Option<String>,
}

/// The keygate alias name of an AWS `AliasName` (`alias/` and the reserved `alias/aws/`
/// prefix checked). AWS KMS refuses the reserved prefix on CreateAlias, UpdateAlias and
/// DeleteAlias alike: "The alias name cannot begin with alias/aws/. The alias/aws/ prefix
/// is reserved for AWS managed keys."
fn alias_name(name: Option<String>) -> Result<String, AwsError> {
    let name = required(name, "aliasName")?;
    let Some(short) = name.strip_prefix("alias/") else {
        return Err(AwsError::validation(
            "Alias must start with the prefix \"alias/\".",
        ));
    };
    if short.starts_with("aws/") {
        return Err(AwsError::bad(
            "NotAuthorizedException",
            "Cannot create, update or delete an alias with the reserved prefix 'alias/aws/'.",
        ));
    }
    keygate_core::validate_alias_name(short).map_err(|e| {
        AwsError::validation(e.to_string().trim_start_matches("invalid argument: "))
    })?;
    Ok(short.to_owned())
}

/// The name of a new alias: AWS's CreateAlias takes "only alphanumeric characters, forward
/// slashes (/), underscores (_), and dashes (-)" (`^alias/[a-zA-Z0-9/_-]+$`), so a `.`
/// that keygate's own aliases may hold is refused here, in AWS's validation text. Aliases
/// keygate made elsewhere with a `.` can still be updated, deleted and used through this
/// door.
fn new_alias_name(name: Option<String>) -> Result<String, AwsError> {
    let short = alias_name(name)?;
    if let Some(bad) = short
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-')))
    {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value 'alias/{short}' at 'aliasName' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: ^alias/[a-zA-Z0-9/_-]+$ \
             (`{bad}` is not allowed)"
        )));
    }
    Ok(short)
}

/// `CreateAlias`.
pub async fn create(cx: &Ctx<'_>, req: AliasRequest) -> Result<Empty, AwsError> {
    let name = new_alias_name(req.alias_name)?;
    // AWS: TargetKeyId takes "the key ID or key ARN of the KMS key", never an alias.
    let target = cx.key_only(req.target_key_id).await?;
    cx.session
        .create_alias(&name, &target)
        .await
        .map_err(|e| match e {
            keygate_core::Error::AlreadyExists(_) => AwsError::bad(
                "AlreadyExistsException",
                format!(
                    "An alias with the name {} already exists",
                    cx.keys.alias_arn(&name)
                ),
            ),
            other => cx.fail(other, &target),
        })?;
    Ok(Empty {})
}

/// With a `regions` table, `NotFoundException` unless alias `name` is in the request's
/// region (audited as a key the caller named that does not exist).
async fn here(cx: &Ctx<'_>, name: &str) -> Result<(), AwsError> {
    if cx.config.is_regional() {
        cx.target(Some(format!("alias/{name}"))).await?;
    }
    Ok(())
}

/// `UpdateAlias`: the alias and its new key in the request's region.
pub async fn update(cx: &Ctx<'_>, req: AliasRequest) -> Result<Empty, AwsError> {
    let name = alias_name(req.alias_name)?;
    here(cx, &name).await?;
    // AWS: TargetKeyId takes "the key ID or key ARN of the KMS key", never an alias.
    let target = cx.key_only(req.target_key_id).await?;
    cx.session
        .update_alias(&name, &target)
        .await
        .map_err(|e| cx.fail(e, &target))?;
    Ok(Empty {})
}

/// `DeleteAlias`: an alias of the request's region.
pub async fn delete(cx: &Ctx<'_>, req: AliasRequest) -> Result<Empty, AwsError> {
    let name = alias_name(req.alias_name)?;
    here(cx, &name).await?;
    cx.session.delete_alias(&name).await?;
    Ok(Empty {})
}

/// One alias.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasEntry {
    alias_name: String,
    alias_arn: String,
    target_key_id: String,
    creation_date: f64,
    last_updated_date: f64,
}

/// `ListAliases` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAliasesResponse {
    aliases: Vec<AliasEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    truncated: bool,
}

/// `ListAliases`: every alias of the request's region, or those of one key.
pub async fn list(cx: &Ctx<'_>, req: ListRequest) -> Result<ListAliasesResponse, AwsError> {
    let only = match req.key_id {
        Some(key_id) => {
            let target = cx.target(Some(key_id)).await?;
            Some(cx.uri_of(&target).await?)
        }
        None => None,
    };
    let aliases = cx.session.list_aliases().await?;
    let here = cx.keys.region_filter().await?;
    let mut entries = Vec::with_capacity(aliases.len());
    for alias in aliases {
        // An alias whose provider is no longer registered names no key AWS could show.
        let Ok(uri) = cx.session.service().key_uri(&alias.target).await else {
            continue;
        };
        if only.as_ref().is_some_and(|o| *o != uri) || !here.contains(&uri, &alias.target.provider)
        {
            continue;
        }
        entries.push((alias, uri));
    }
    let (page_items, next_marker) = page(entries, req.limit, req.marker.as_deref(), 50)?;
    let mut out = Vec::with_capacity(page_items.len());
    for (alias, uri) in page_items {
        out.push(AliasEntry {
            alias_arn: cx.keys.alias_arn(&alias.name),
            alias_name: format!("alias/{}", alias.name),
            target_key_id: cx.keys.id_for(&uri).await?,
            creation_date: epoch(alias.created),
            last_updated_date: epoch(alias.created),
        });
    }
    Ok(ListAliasesResponse {
        aliases: out,
        truncated: next_marker.is_some(),
        next_marker,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn alias_names_follow_aws_and_keygate_rules() {
        assert_eq!(alias_name(Some("alias/pay-1.x".into())).unwrap(), "pay-1.x");
        assert_eq!(alias_name(None).unwrap_err().code, "ValidationException");
        assert_eq!(
            alias_name(Some("pay".into())).unwrap_err().code,
            "ValidationException"
        );
        // AWS's pattern on a new alias: `/` allowed, `.` refused.
        assert_eq!(new_alias_name(Some("alias/a/b".into())).unwrap(), "a/b");
        assert_eq!(
            new_alias_name(Some("alias/pay-1.x".into()))
                .unwrap_err()
                .code,
            "ValidationException"
        );
        assert_eq!(
            new_alias_name(Some("alias/aws/s3".into()))
                .unwrap_err()
                .code,
            "NotAuthorizedException"
        );
        assert_eq!(
            alias_name(Some("alias/aws/s3".into())).unwrap_err().code,
            "NotAuthorizedException"
        );
    }
}
