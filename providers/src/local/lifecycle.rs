//! Key management of the local provider: creation, metadata, state changes, deletion,
//! rotation (on demand and scheduled) and the maintenance tick.

use keygate_core::{
    CreateKeyRequest, DueMaintenance, Error, KeyMetadata, KeyOrigin, KeyState, KeyUpdate,
    KeyVersion, Result, RotationKind, RotationSchedule, VersionState, validate_name,
};
use time::OffsetDateTime;

use super::error::LocalError;
use super::store::{KeyRecord, VersionRecord};
use super::{LocalProvider, not_found, validate, version_info};

impl LocalProvider {
    pub(super) async fn create_key_impl(&self, req: CreateKeyRequest) -> Result<KeyMetadata> {
        validate_name("key", &req.name)?;
        let usage = req.effective_usage()?;
        if !self.caps.key_specs.contains(&req.spec) {
            return Err(Error::unsupported(format!(
                "the local provider cannot create {} keys",
                req.spec
            )));
        }
        validate::description(&req.description)?;
        validate::labels(&req.labels)?;
        let now = self.clock.now();
        let rotation = match req.rotation {
            None => None,
            Some(s) => Some(self.schedule_from(s, now)?),
        };
        if self
            .store
            .key(&req.name)
            .await
            .map_err(|e| self.err(e))?
            .is_some()
        {
            return Err(Error::AlreadyExists(format!("key `{}`", req.name)));
        }
        let key = KeyRecord {
            id: req.name.clone(),
            spec: req.spec,
            usage,
            state: KeyState::Enabled,
            primary_version: 1,
            rotation,
            description: req.description.clone(),
            labels: req.labels.clone(),
            created: now,
        };
        if req.origin == KeyOrigin::External {
            return self.create_external(&req, key).await;
        }
        let material = self.generate(req.spec).await?;
        let wrapped = self
            .root
            .wrap(&req.name, 1, &material)
            .map_err(|e| self.err(e))?;
        let first = VersionRecord {
            version: 1,
            state: VersionState::Enabled,
            created: now,
            destroy_time: None,
            rotation: None,
            material: Some(wrapped),
        };
        match self.store.insert_key(&key, &first).await {
            Ok(()) => {}
            Err(e) if e.is_unique_violation() => {
                return Err(Error::AlreadyExists(format!("key `{}`", req.name)));
            }
            Err(e) => return Err(self.err(e)),
        }
        tracing::debug!(provider = %self.info.name, key = %key.id, spec = %key.spec, "created key");
        Ok(self.metadata(&key))
    }

    pub(super) async fn update_key_impl(
        &self,
        key_id: &str,
        update: KeyUpdate,
    ) -> Result<KeyMetadata> {
        if let Some(d) = &update.description {
            validate::description(d)?;
        }
        validate::labels(&update.set_labels)?;
        self.change_key(key_id, &|k| {
            if k.state == KeyState::Destroyed {
                return Err(Error::state(format!("key `{}` is destroyed", k.id)).into());
            }
            if let Some(d) = &update.description {
                k.description.clone_from(d);
            }
            validate::apply_labels(&mut k.labels, &update.set_labels, &update.remove_labels);
            Ok(())
        })
        .await
    }

    pub(super) async fn enable_key_impl(&self, key_id: &str) -> Result<KeyMetadata> {
        let meta = self
            .change_key(key_id, &|k| match k.state {
                KeyState::Enabled | KeyState::Disabled => {
                    k.state = KeyState::Enabled;
                    Ok(())
                }
                state => Err(Error::state(format!(
                    "key `{}` is {state}; only a disabled key can be enabled (cancel the deletion first)",
                    k.id
                ))
                .into()),
            })
            .await?;
        tracing::debug!(provider = %self.info.name, key = %key_id, "enabled key");
        Ok(meta)
    }

    pub(super) async fn disable_key_impl(&self, key_id: &str) -> Result<KeyMetadata> {
        let meta = self
            .change_key(key_id, &|k| match k.state {
                KeyState::Enabled | KeyState::Disabled => {
                    k.state = KeyState::Disabled;
                    Ok(())
                }
                state => Err(Error::state(format!("key `{}` is {state}", k.id)).into()),
            })
            .await?;
        tracing::debug!(provider = %self.info.name, key = %key_id, "disabled key");
        Ok(meta)
    }

    pub(super) async fn schedule_deletion_impl(
        &self,
        key_id: &str,
        pending_days: u32,
    ) -> Result<KeyMetadata> {
        let window = self.caps.deletion_window;
        if !window.contains(pending_days) {
            return Err(Error::invalid(format!(
                "the deletion waiting period must be {window}, got {pending_days}"
            )));
        }
        let deletion_date = validate::add_days(self.clock.now(), pending_days)?;
        let meta = self
            .change_key(key_id, &|k| match k.state {
                KeyState::Enabled | KeyState::Disabled | KeyState::PendingImport => {
                    k.state = KeyState::PendingDeletion { deletion_date };
                    Ok(())
                }
                state => Err(Error::state(format!("key `{}` is already {state}", k.id)).into()),
            })
            .await?;
        tracing::debug!(provider = %self.info.name, key = %key_id, %deletion_date, "scheduled key deletion");
        Ok(meta)
    }

    pub(super) async fn cancel_deletion_impl(&self, key_id: &str) -> Result<KeyMetadata> {
        // A key of imported material without material waits for it again (AWS).
        let back = if self.is_external(key_id).await?
            && self
                .store
                .version(key_id, 1)
                .await
                .map_err(|e| self.err(e))?
                .is_some_and(|v| v.material.is_none())
        {
            KeyState::PendingImport
        } else {
            KeyState::Disabled
        };
        let meta = self
            .change_key(key_id, &|k| match k.state {
                KeyState::PendingDeletion { .. } => {
                    k.state = back;
                    Ok(())
                }
                state => Err(Error::state(format!(
                    "key `{}` is {state}, not pending deletion",
                    k.id
                ))
                .into()),
            })
            .await?;
        tracing::debug!(provider = %self.info.name, key = %key_id, "cancelled key deletion");
        Ok(meta)
    }

    pub(super) async fn rotate_key_impl(&self, key_id: &str) -> Result<KeyVersion> {
        self.refuse_external_rotation(key_id).await?;
        self.rotate_at(key_id, self.clock.now(), false)
            .await?
            .ok_or_else(|| Error::state(format!("key `{key_id}` could not be rotated")))
    }

    pub(super) async fn set_rotation_impl(
        &self,
        key_id: &str,
        schedule: Option<RotationSchedule>,
    ) -> Result<Option<RotationSchedule>> {
        if schedule.is_some() {
            self.refuse_external_rotation(key_id).await?;
        }
        let schedule = match schedule {
            None => None,
            Some(s) => Some(self.schedule_from(s, self.clock.now())?),
        };
        let meta = self
            .change_key(key_id, &|k| match k.state {
                KeyState::Enabled | KeyState::Disabled => {
                    k.rotation = schedule;
                    Ok(())
                }
                state => Err(Error::state(format!(
                    "key `{}` is {state}; its rotation cannot change",
                    k.id
                ))
                .into()),
            })
            .await?;
        Ok(meta.rotation)
    }

    /// The scheduled rotations and expired deletions (of keys and of versions) due at `now`,
    /// without running any.
    pub(super) async fn due_impl(&self, now: OffsetDateTime) -> Result<DueMaintenance> {
        let rotations = self
            .store
            .due_rotations(now)
            .await
            .map_err(|e| self.err(e))?;
        let destructions = self
            .store
            .due_deletions(now)
            .await
            .map_err(|e| self.err(e))?;
        let version_destructions = self
            .store
            .due_version_destructions(now)
            .await
            .map_err(|e| self.err(e))?
            .into_iter()
            .map(|(id, version)| (id, version.to_string()))
            .collect();
        let notifications = self.due_notifications(now).await?;
        let material_expirations = self.due_material_expirations(now).await?;
        Ok(DueMaintenance {
            rotations,
            destructions,
            version_destructions,
            notifications,
            material_expirations,
        })
    }

    /// keygate makes no material for a key of imported material (AWS rotates imported keys
    /// only with newly imported material, which keygate does not take).
    async fn refuse_external_rotation(&self, key_id: &str) -> Result<()> {
        if self.is_external(key_id).await? {
            return Err(Error::unsupported(format!(
                "key `{key_id}` holds imported material; keygate does not rotate it"
            )));
        }
        Ok(())
    }

    /// Runs `key_id`'s scheduled rotation when it is due at `now` (checked again in the
    /// same store transaction that adds the version).
    pub(super) async fn rotate_due_impl(
        &self,
        key_id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<KeyVersion>> {
        self.rotate_at(key_id, now, true).await
    }

    /// Destroys `key_id`'s material when its deletion date is at or before `now` (checked in
    /// the store transaction that destroys it).
    pub(super) async fn destroy_due_impl(&self, key_id: &str, now: OffsetDateTime) -> Result<bool> {
        let destroyed = self
            .store
            .destroy_key(key_id, now)
            .await
            .map_err(|e| self.err(e))?;
        if destroyed {
            self.forget(key_id);
            tracing::info!(provider = %self.info.name, key = %key_id, "destroyed key material");
        }
        Ok(destroyed)
    }

    async fn rotate_at(
        &self,
        key_id: &str,
        now: OffsetDateTime,
        scheduled: bool,
    ) -> Result<Option<KeyVersion>> {
        let key = self.key_record(key_id).await?;
        if !scheduled {
            require_rotatable(&key)?;
        }
        let material = self.generate(key.spec).await?;
        let root = self.root.clone();
        let make =
            move |k: &mut KeyRecord, number: u32| -> std::result::Result<Vec<u8>, LocalError> {
                if scheduled {
                    let sched = match (k.state, k.rotation) {
                        (KeyState::Enabled, Some(s)) => s,
                        _ => return Err(LocalError::NotDue),
                    };
                    let next = sched.next_rotation.unwrap_or(now);
                    if next > now {
                        return Err(LocalError::NotDue);
                    }
                    k.rotation = Some(RotationSchedule {
                        period_days: sched.period_days,
                        next_rotation: Some(validate::next_after(next, sched.period_days, now)?),
                    });
                } else {
                    require_rotatable(k)?;
                }
                root.wrap(&k.id, number, &material)
            };
        // keygate's scheduler makes automatic rotations; every other caller asks for one.
        let kind = if scheduled {
            RotationKind::Automatic
        } else {
            RotationKind::OnDemand
        };
        match self.store.add_version(&key.id, now, kind, &make).await {
            Ok(Some((_, v))) => {
                tracing::debug!(provider = %self.info.name, key = %key.id, version = v.version,
                    scheduled, "rotated key");
                Ok(Some(version_info(&v, v.version)))
            }
            Ok(None) => Err(not_found(key_id)),
            Err(LocalError::NotDue) => Ok(None),
            Err(e) => Err(self.err(e)),
        }
    }

    fn schedule_from(&self, s: RotationSchedule, now: OffsetDateTime) -> Result<RotationSchedule> {
        let bounds = self
            .caps
            .rotation_period
            .ok_or_else(|| Error::unsupported("automatic rotation"))?;
        if !bounds.contains(s.period_days) {
            return Err(Error::invalid(format!(
                "the rotation period must be {bounds}, got {}",
                s.period_days
            )));
        }
        let next = match s.next_rotation {
            Some(t) => t,
            None => validate::add_days(now, s.period_days)?,
        };
        Ok(RotationSchedule {
            period_days: s.period_days,
            next_rotation: Some(next),
        })
    }
}

fn require_rotatable(key: &KeyRecord) -> std::result::Result<(), Error> {
    match key.state {
        KeyState::Enabled | KeyState::Disabled => Ok(()),
        state => Err(Error::state(format!(
            "key `{}` is {state} and cannot be rotated",
            key.id
        ))),
    }
}
