//! Cross-crate scenarios live in `tests/`.
