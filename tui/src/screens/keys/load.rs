//! Loading: one command lists the providers, then one command per provider lists its keys;
//! each answer is merged as it arrives (answers of an older load are dropped by generation).

use std::sync::Arc;

use keygate_core::KeyMetadata;
use keygate_core::api::Gateway;

use super::{Cmd, Load, Msg, Row, Slot, State};
use crate::screens::actions::{self, Provider};
use crate::screens::{Ctx, Effect, Emit};

impl State {
    pub(super) fn reload(&mut self, ctx: &Ctx) -> Vec<Effect<Cmd>> {
        self.generation += 1;
        self.loading_providers = true;
        self.loaded_at = Some(ctx.now);
        for s in &mut self.slots {
            s.reloading = true;
        }
        let generation = self.generation;
        vec![
            Effect::Run(Cmd::Providers { generation }),
            Effect::Run(Cmd::Aliases { generation }),
        ]
    }

    pub(super) fn providers_loaded(
        &mut self,
        result: Result<Vec<Provider>, String>,
    ) -> Vec<Effect<Cmd>> {
        self.loading_providers = false;
        let providers = match result {
            Ok(p) => p,
            Err(e) => {
                self.providers_error = Some(e);
                for s in &mut self.slots {
                    s.reloading = false;
                }
                return Vec::new();
            }
        };
        self.providers_error = None;
        let old = std::mem::take(&mut self.slots);
        self.slots = providers
            .into_iter()
            .map(|provider| {
                let load = old
                    .iter()
                    .find(|s| s.provider.name == provider.name)
                    .map_or(Load::Loading, |s| s.load.clone());
                Slot {
                    provider,
                    load,
                    reloading: true,
                }
            })
            .collect();
        // Keys of providers that are gone go too.
        let before = self.rows.len();
        let slots = &self.slots;
        self.rows
            .retain(|r| slots.iter().any(|s| s.provider.name == r.meta.provider));
        if self.rows.len() != before {
            self.resort();
        }
        let generation = self.generation;
        self.slots
            .iter()
            .map(|s| {
                Effect::Run(Cmd::Keys {
                    generation,
                    provider: s.provider.name.clone(),
                })
            })
            .collect()
    }

    pub(super) fn keys_loaded(&mut self, provider: &str, result: Result<Vec<KeyMetadata>, String>) {
        let Some(slot) = self.slots.iter_mut().find(|s| s.provider.name == provider) else {
            return;
        };
        slot.reloading = false;
        self.rows.retain(|r| r.meta.provider != provider);
        match result {
            Ok(keys) => {
                slot.load = Load::Loaded(keys.len());
                let aliases = &self.aliases;
                self.rows.extend(keys.into_iter().map(|k| {
                    let a = aliases.get(&k.key_ref()).cloned().unwrap_or_default();
                    Row::new(k, a)
                }));
            }
            Err(e) => slot.load = Load::Failed(e),
        }
        self.resort();
    }
}

/// Runs a command against the gateway.
pub async fn run(cmd: Cmd, gateway: Arc<dyn Gateway>, emit: Emit<Msg>) {
    match cmd {
        Cmd::Providers { generation } => {
            let result = gateway
                .providers()
                .await
                .map(|ps| ps.into_iter().map(Provider::from).collect())
                .map_err(|e| e.to_string());
            emit.send(Msg::Providers { generation, result });
        }
        Cmd::Keys {
            generation,
            provider,
        } => {
            let result = match gateway.list_keys(Some(&provider)).await {
                Ok(l) if l.errors.is_empty() => Ok(l.keys),
                Ok(l) => Err(l
                    .errors
                    .iter()
                    .map(|e| format!("{}: {}", e.kind, e.message))
                    .collect::<Vec<_>>()
                    .join("; ")),
                Err(e) => Err(e.to_string()),
            };
            emit.send(Msg::ProviderKeys {
                generation,
                provider,
                result,
            });
        }
        Cmd::Aliases { generation } => {
            let result = gateway.list_aliases().await.map_err(|e| e.to_string());
            emit.send(Msg::Aliases { generation, result });
        }
        Cmd::Mutate(m) => {
            let result = actions::perform(m, gateway.as_ref()).await;
            emit.send(Msg::Done(result));
        }
    }
}
