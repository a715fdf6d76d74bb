//! Secrets at rest: SMS codes kept as HMACs, passwords as Argon2id hashes.

pub mod code_key;
pub mod password;
