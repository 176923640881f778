//! GCP Cloud KMS's vocabulary shared by the GCP provider, keygate's GCP dialect and the
//! console.

/// The native format name of a key policy as a Cloud IAM policy.
pub const FORMAT: &str = "gcp-iam";
