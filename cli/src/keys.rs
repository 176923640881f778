//! `keygate keys ...`.

use std::io::Write;

use anyhow::{Context as _, Result};
use keygate_core::api::Gateway;
use keygate_core::{
    CreateKeyRequest, KeyLocator, KeyMetadata, KeySpec, KeyUpdate, KeyUsage, Policy,
    RotationSchedule, parse_pairs,
};

use super::args::{
    CreateArgs, KeysCommand, OutputFormat, PublicKeyFormat, RotationArgs, UpdateArgs,
};
use super::io::{read_input, write_output};
use super::{Outcome, aliases_by_key, output, versions, view};

pub async fn run(api: &dyn Gateway, cmd: KeysCommand, out: &mut dyn Write) -> Result<Outcome> {
    match cmd {
        KeysCommand::List { provider, output } => {
            list(api, provider.as_deref(), output.output, out).await?
        }
        KeysCommand::Create(args) => create(api, args, out).await?,
        KeysCommand::Show { key, output } => {
            let meta = api.describe_key(&key.key).await?;
            // The key is known now: its versions are asked for by URI, not looked up by name
            // again. Providers that cannot list versions still show the key.
            let versions = match api.list_versions(&KeyLocator::of(&meta)).await {
                Ok(v) => Some(v.value),
                Err(keygate_core::Error::Unsupported(_)) => None,
                Err(e) => return Err(e.into()),
            };
            print_key(api, meta, versions, output.output, out).await?;
        }
        KeysCommand::Update(args) => update(api, args, out).await?,
        KeysCommand::Rotate { key, output } => {
            // One call: the answer names the key the reference resolved to.
            let rotated = api.rotate_key(&key.key).await?;
            match output.output {
                OutputFormat::Json => output::json(out, &rotated.value)?,
                OutputFormat::Table => writeln!(
                    out,
                    "rotated {}: version {} is now primary",
                    rotated.uri, rotated.value.id
                )?,
            }
        }
        KeysCommand::Rotation(args) => rotation(api, args, out).await?,
        KeysCommand::Versions { key, output } => {
            versions::list(api, &key.key, output.output, out).await?
        }
        KeysCommand::Version(cmd) => versions::change(api, cmd, out).await?,
        KeysCommand::Primary(args) => versions::primary(api, args, out).await?,
        KeysCommand::Enable { key, output } => {
            let meta = api.enable_key(&key.key).await?;
            confirm(api, "enabled", meta, output.output, out).await?;
        }
        KeysCommand::Disable { key, output } => {
            let meta = api.disable_key(&key.key).await?;
            confirm(api, "disabled", meta, output.output, out).await?;
        }
        KeysCommand::Delete { key, days, output } => {
            let meta = api.schedule_deletion(&key.key, days).await?;
            confirm(api, "scheduled deletion of", meta, output.output, out).await?;
        }
        KeysCommand::Undelete { key, output } => {
            let meta = api.cancel_deletion(&key.key).await?;
            confirm(api, "cancelled deletion of", meta, output.output, out).await?;
        }
        KeysCommand::PublicKey {
            key,
            format,
            version,
            out: path,
        } => {
            let public = api
                .get_public_key(&key.key, version.as_deref())
                .await?
                .value;
            match format {
                PublicKeyFormat::Pem => {
                    write_output(path.as_deref(), public.pem().as_bytes(), true)?
                }
                PublicKeyFormat::Der => write_output(path.as_deref(), &public.der, false)?,
            }
        }
        KeysCommand::Import(args) => super::import::import(api, args, out).await?,
        KeysCommand::DeleteMaterial { key, output } => {
            super::import::delete_material(api, &key.key, &output, out).await?
        }
        KeysCommand::Policy { key, set } => {
            let policy = match set {
                Some(path) => {
                    let text = read_input(Some(&path))?;
                    let policy: Policy = serde_json::from_slice(&text)
                        .context("the policy file is not valid keygate policy JSON")?;
                    api.set_key_policy(&key.key, policy).await?.value
                }
                None => api.get_key_policy(&key.key).await?.value,
            };
            let policy = keygate_core::keypolicy::with_parsed_document(policy);
            output::json(out, &policy)?;
        }
    }
    Ok(Outcome::Success)
}

/// Keys across providers. A provider that could not be listed is a warning on stderr (the
/// JSON shape is an array of keys, a contract with no room for it): the others' keys are
/// still printed.
async fn list(
    api: &dyn Gateway,
    provider: Option<&str>,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<()> {
    let listing = api.list_keys(provider).await?;
    let aliases = aliases_by_key(api).await?;
    let mut views: Vec<_> = listing
        .keys
        .into_iter()
        .map(|k| view(k, &aliases, None))
        .collect();
    views.sort_by(|a, b| (&a.key.provider, &a.key.name).cmp(&(&b.key.provider, &b.key.name)));
    match format {
        OutputFormat::Json => output::json(out, &views)?,
        OutputFormat::Table => output::key_table(out, &views)?,
    }
    for failure in &listing.errors {
        eprintln!(
            "keygate: warning: provider {} could not be listed: {}: {}",
            failure.provider, failure.kind, failure.message
        );
    }
    Ok(())
}

async fn create(api: &dyn Gateway, args: CreateArgs, out: &mut dyn Write) -> Result<()> {
    let spec: KeySpec = args.spec.parse()?;
    let usage = args
        .usage
        .as_deref()
        .map(str::parse::<KeyUsage>)
        .transpose()?;
    let labels = parse_pairs("label", &args.labels)?;
    let req = CreateKeyRequest {
        name: args.name,
        spec,
        usage,
        description: args.description,
        labels,
        rotation: args.rotate_every.map(RotationSchedule::every),
        origin: args.origin.parse()?,
    };
    let meta = api.create_key(args.provider.as_deref(), req).await?;
    confirm(api, "created", meta, args.output.output, out).await
}

async fn update(api: &dyn Gateway, args: UpdateArgs, out: &mut dyn Write) -> Result<()> {
    let set_labels = parse_pairs("label", &args.labels)?;
    let meta = api
        .update_key(
            &args.key.key,
            KeyUpdate {
                description: args.description,
                set_labels,
                remove_labels: args.remove_labels,
            },
        )
        .await?;
    confirm(api, "updated", meta, args.output.output, out).await
}

async fn rotation(api: &dyn Gateway, args: RotationArgs, out: &mut dyn Write) -> Result<()> {
    let schedule = if args.off {
        None
    } else {
        args.every.map(RotationSchedule::every)
    };
    // One call: the answer is the key with its new schedule.
    let meta = api.set_rotation(&args.key.key, schedule).await?;
    confirm(api, "set rotation of", meta, args.output.output, out).await
}

async fn print_key(
    api: &dyn Gateway,
    meta: KeyMetadata,
    versions: Option<Vec<keygate_core::KeyVersion>>,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<()> {
    let aliases = aliases_by_key(api).await?;
    let v = view(meta, &aliases, versions);
    match format {
        OutputFormat::Json => output::json(out, &v),
        OutputFormat::Table => output::key_detail(out, &v),
    }
}

/// After a change: one line for people (`created local://demo (AES_256, encrypt, enabled)`),
/// the whole key object for scripts.
pub(super) async fn confirm(
    api: &dyn Gateway,
    done: &str,
    meta: KeyMetadata,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<()> {
    match format {
        OutputFormat::Json => print_key(api, meta, None, format, out).await,
        OutputFormat::Table => {
            let mut facts = vec![
                meta.spec.to_string(),
                meta.usage.to_string(),
                output::state_cell(&meta),
            ];
            if let Some(r) = meta.rotation {
                facts.push(format!("rotates every {}d", r.period_days));
            }
            writeln!(out, "{done} {} ({})", meta.uri, facts.join(", "))?;
            Ok(())
        }
    }
}
