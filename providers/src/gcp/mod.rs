//! The GCP Cloud KMS provider, on google-cloud-kms-v1.

mod config;

pub use config::GcpConfig;
