//! The editor's I/O: loading and storing policies through the gateway API.

use std::sync::Arc;

use keygate_core::api::Gateway;
use keygate_core::{ErrorKind, KeyLocator};

use super::doc::Doc;
use super::{Cmd, Failure, Loaded, Msg};
use crate::app::PolicyTarget;
use crate::screens::Emit;

/// Runs a command against the gateway.
pub async fn run(cmd: Cmd, gateway: Arc<dyn Gateway>, emit: Emit<Msg>) {
    match cmd {
        Cmd::Load(target) => {
            let result = load(&target, gateway.as_ref()).await;
            emit.send(Msg::Loaded(target, Box::new(result)));
        }
        Cmd::Apply(target, doc) => {
            let result = match (&target, *doc) {
                (PolicyTarget::Gateway, Doc::Gateway(p)) => {
                    gateway.set_access_policy(p).await.map(drop)
                }
                (PolicyTarget::Key(uri), Doc::Key(p)) => gateway
                    .set_key_policy(&KeyLocator::Uri(uri.clone()), p)
                    .await
                    .map(drop),
                _ => Err(keygate_core::Error::invalid(
                    "the document does not belong to this policy",
                )),
            };
            emit.send(Msg::Applied(result.map_err(Failure::from)));
        }
    }
}

async fn load(target: &PolicyTarget, gateway: &dyn Gateway) -> Result<Loaded, Failure> {
    match target {
        PolicyTarget::Gateway => Ok(Loaded {
            doc: Doc::Gateway(gateway.get_access_policy().await?),
            title: "gateway access policy".into(),
        }),
        PolicyTarget::Key(uri) => {
            let key = KeyLocator::Uri(uri.clone());
            let meta = gateway.describe_key(&key).await?;
            // The providers' capabilities say whether keys there have policies at all; when
            // they cannot be read, asking for the policy is the next best test.
            let providers = gateway.providers().await.unwrap_or_default();
            if let Some(p) = providers.iter().find(|p| p.name == meta.provider)
                && !p.capabilities.key_policy
            {
                return Err(Failure {
                    kind: ErrorKind::Unsupported,
                    message: format!("keys of provider `{}` have no key policy", p.name),
                });
            }
            // A document keygate keeps as written comes as its text: the editor works on
            // the parsed document (its rows, its JSON form); saving puts that document.
            let policy = keygate_core::keypolicy::with_parsed_document(
                gateway.get_key_policy(&key).await?.value,
            );
            Ok(Loaded {
                doc: Doc::Key(policy),
                title: format!("{} ({})", meta.name, meta.uri),
            })
        }
    }
}
