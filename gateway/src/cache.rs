//! The bounded data-key cache of envelope encryption (off by default).
