//! The gateway access policy as stored: one current document, validated before it replaces the old one.
