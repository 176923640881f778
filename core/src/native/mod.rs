//! Each cloud's own vocabulary, shared by the provider that calls the cloud, keygate's dialect
//! that speaks its wire protocol, and the console: one reading of a native policy document or
//! a role name, so the three cannot drift apart.

pub mod aws;
pub mod azure;
pub mod gcp;
