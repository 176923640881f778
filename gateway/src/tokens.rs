//! API tokens: issued once, stored as hashes, compared in constant time.
