//! `keygate keys ...`.

use std::io::Write;

use anyhow::{Context as _, Result, bail};
use keygate_core::{
    CreateKeyRequest, KeyMetadata, KeySpec, KeyUpdate, KeyUsage, Policy, RotationSchedule,
    parse_pairs,
};
use keygate_gateway::Registry;

use super::args::{
    CreateArgs, KeysCommand, OutputFormat, PublicKeyFormat, RotationArgs, UpdateArgs,
};
use super::{Outcome, aliases_by_key, output, read_input, view, write_output};

pub async fn run(registry: &Registry, cmd: KeysCommand, out: &mut dyn Write) -> Result<Outcome> {
    match cmd {
        KeysCommand::List { provider, output } => {
            list(registry, provider.as_deref(), output.output, out).await?
        }
        KeysCommand::Create(args) => create(registry, args, out).await?,
        KeysCommand::Show { key, output } => {
            let k = registry.resolve(&key.key).await?;
            let meta = k.provider.describe_key(&k.id).await?;
            let versions = if k.provider.capabilities().list_versions {
                Some(k.provider.list_versions(&k.id).await?)
            } else {
                None
            };
            print_key(registry, meta, versions, output.output, out).await?;
        }
        KeysCommand::Update(args) => update(registry, args, out).await?,
        KeysCommand::Rotate { key, output } => {
            let k = registry.resolve(&key.key).await?;
            let version = k.provider.rotate_now(&k.id).await?;
            match output.output {
                OutputFormat::Json => output::json(out, &version)?,
                OutputFormat::Table => writeln!(
                    out,
                    "rotated {}: version {} is now primary",
                    k.provider.info().key_uri(&k.id),
                    version.id
                )?,
            }
        }
        KeysCommand::Rotation(args) => rotation(registry, args, out).await?,
        KeysCommand::Versions { key, output } => {
            let k = registry.resolve(&key.key).await?;
            let versions = k.provider.list_versions(&k.id).await?;
            match output.output {
                OutputFormat::Json => output::json(out, &versions)?,
                OutputFormat::Table => output::version_table(out, &versions)?,
            }
        }
        KeysCommand::Enable { key, output } => {
            let k = registry.resolve(&key.key).await?;
            let meta = k.provider.enable_key(&k.id).await?;
            confirm(registry, "enabled", meta, output.output, out).await?;
        }
        KeysCommand::Disable { key, output } => {
            let k = registry.resolve(&key.key).await?;
            let meta = k.provider.disable_key(&k.id).await?;
            confirm(registry, "disabled", meta, output.output, out).await?;
        }
        KeysCommand::Delete { key, days, output } => {
            let k = registry.resolve(&key.key).await?;
            let meta = k.provider.schedule_deletion(&k.id, days).await?;
            confirm(registry, "scheduled deletion of", meta, output.output, out).await?;
        }
        KeysCommand::Undelete { key, output } => {
            let k = registry.resolve(&key.key).await?;
            let meta = k.provider.cancel_deletion(&k.id).await?;
            confirm(registry, "cancelled deletion of", meta, output.output, out).await?;
        }
        KeysCommand::PublicKey {
            key,
            format,
            version,
            out: path,
        } => {
            let k = registry.resolve(&key.key).await?;
            let public = k.provider.get_public_key(&k.id, version.as_deref()).await?;
            match format {
                PublicKeyFormat::Pem => {
                    write_output(path.as_deref(), public.pem().as_bytes(), true)?
                }
                PublicKeyFormat::Der => write_output(path.as_deref(), &public.der, false)?,
            }
        }
        KeysCommand::Policy { key, set } => {
            let k = registry.resolve(&key.key).await?;
            let policy = match set {
                Some(path) => {
                    let text = read_input(Some(&path))?;
                    let policy: Policy = serde_json::from_slice(&text)
                        .context("the policy file is not valid keygate policy JSON")?;
                    k.provider.set_policy(&k.id, policy).await?
                }
                None => k.provider.get_policy(&k.id).await?,
            };
            output::json(out, &policy)?;
        }
    }
    Ok(Outcome::Success)
}

async fn list(
    registry: &Registry,
    provider: Option<&str>,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<()> {
    let listings = registry.list_keys(provider).await?;
    let aliases = aliases_by_key(registry).await?;
    let mut views = Vec::new();
    let mut failed = Vec::new();
    for listing in listings {
        match listing.keys {
            Ok(keys) => views.extend(keys.into_iter().map(|k| view(k, &aliases, None))),
            Err(e) => failed.push((listing.provider, e)),
        }
    }
    views.sort_by(|a, b| (&a.key.provider, &a.key.name).cmp(&(&b.key.provider, &b.key.name)));
    match format {
        OutputFormat::Json => output::json(out, &views)?,
        OutputFormat::Table => output::key_table(out, &views)?,
    }
    for (provider, e) in &failed {
        eprintln!("keygate: provider {provider}: {e}");
    }
    if !failed.is_empty() {
        bail!("{} provider(s) could not be listed", failed.len());
    }
    Ok(())
}

async fn create(registry: &Registry, args: CreateArgs, out: &mut dyn Write) -> Result<()> {
    let provider = match &args.provider {
        Some(name) => registry.provider(name)?,
        None => registry.provider("local")?,
    };
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
    };
    let meta = provider.create_key(req).await?;
    confirm(registry, "created", meta, args.output.output, out).await
}

async fn update(registry: &Registry, args: UpdateArgs, out: &mut dyn Write) -> Result<()> {
    let k = registry.resolve(&args.key.key).await?;
    let set_labels = parse_pairs("label", &args.labels)?;
    let meta = k
        .provider
        .update_key(
            &k.id,
            KeyUpdate {
                description: args.description,
                set_labels,
                remove_labels: args.remove_labels,
            },
        )
        .await?;
    confirm(registry, "updated", meta, args.output.output, out).await
}

async fn rotation(registry: &Registry, args: RotationArgs, out: &mut dyn Write) -> Result<()> {
    let k = registry.resolve(&args.key.key).await?;
    let schedule = if args.off {
        None
    } else {
        args.every.map(RotationSchedule::every)
    };
    k.provider.set_rotation_schedule(&k.id, schedule).await?;
    let meta = k.provider.describe_key(&k.id).await?;
    confirm(registry, "set rotation of", meta, args.output.output, out).await
}

async fn print_key(
    registry: &Registry,
    meta: KeyMetadata,
    versions: Option<Vec<keygate_core::KeyVersion>>,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<()> {
    let aliases = aliases_by_key(registry).await?;
    let v = view(meta, &aliases, versions);
    match format {
        OutputFormat::Json => output::json(out, &v),
        OutputFormat::Table => output::key_detail(out, &v),
    }
}

/// After a change: one line for people (`created local://demo (AES_256, encrypt, enabled)`),
/// the whole key object for scripts.
async fn confirm(
    registry: &Registry,
    done: &str,
    meta: KeyMetadata,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<()> {
    match format {
        OutputFormat::Json => print_key(registry, meta, None, format, out).await,
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
