//! [`GcpConfig`]: a `[providers.<name>]` section of `keygate.toml` with `kind = "gcp"`.

use serde::Deserialize;

/// One Cloud KMS key ring, as configured in `keygate.toml`:
///
/// ```toml
/// [providers.gcp-prod]
/// kind = "gcp"
/// project = "acme-security"
/// location = "europe-west1"       # default: global
/// key_ring = "keygate"            # default: keygate
/// # Optional:
/// create_key_ring = false         # create the ring when it does not exist
/// probe_wait_ms = 2000            # with create_key_ring: how long opening waits for Cloud KMS
/// endpoint = "https://cloudkms.googleapis.com"  # another endpoint (a keygate gateway)
/// token_env = "KEYGATE_GCP_TOKEN" # a bearer token from this variable instead of ADC
/// destroy_scheduled_days = 30     # the destroy-scheduled duration of keys keygate creates
/// protection_level = "software"   # software | hsm
/// ```
///
/// Credentials are Application Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`, the
/// gcloud user credentials, the metadata server) unless `token_env` is set. One section is
/// one key ring; several sections name several rings under different provider names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcpConfig {
    /// The project id.
    pub project: String,
    /// The location (`global`, `europe-west1`, ...); default `global`.
    #[serde(default)]
    pub location: Option<String>,
    /// The key ring keys are listed from and created in; default `keygate`.
    #[serde(default)]
    pub key_ring: Option<String>,
    /// Create the key ring at start when it does not exist (default false).
    #[serde(default)]
    pub create_key_ring: Option<bool>,
    /// With `create_key_ring`: how long opening the provider waits for Cloud KMS to say
    /// whether the ring exists (and to make it), in milliseconds (default 2000). A slower
    /// or hung endpoint does not hold up keygate's start: the check goes on in the
    /// background, and the provider's calls report the endpoint's own answers.
    #[serde(default)]
    pub probe_wait_ms: Option<u64>,
    /// Another endpoint than Cloud KMS's (such as a keygate gateway's GCP dialect).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The name of an environment variable holding a bearer token to send as it is (a keygate
    /// token for a keygate endpoint). Takes precedence over Application Default Credentials.
    #[serde(default)]
    pub token_env: Option<String>,
    /// The destroy-scheduled duration of keys keygate creates, in days (1–120, default 30):
    /// the deletion window `schedule_deletion` accepts for them.
    #[serde(default)]
    pub destroy_scheduled_days: Option<u32>,
    /// `software` (the default) or `hsm`.
    #[serde(default)]
    pub protection_level: Option<String>,
    /// The URI prefix of this provider's keys; default
    /// `gcp-kms://projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/`.
    #[serde(default)]
    pub uri_prefix: Option<String>,
}
