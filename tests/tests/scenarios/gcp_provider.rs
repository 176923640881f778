//! The GCP Cloud KMS provider against keygate's own GCP dialect: the conformance suite and
//! GCP-specific behaviour.
