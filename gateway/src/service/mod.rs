//! The service layer: authorization and audit around every provider call.
