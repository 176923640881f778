//! The audit log: hash-chained rows written with group commit.
