//! Argon2id password hashing.

use crate::domain::Password;
use crate::random::Random;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Hashes passwords with Argon2id into PHC strings
/// (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`).
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    params: Params,
}

/// Hashing failed: parameters or salt out of range, a bug on our side.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(argon2::password_hash::Error);

impl PasswordHasher {
    /// OWASP's minimum for Argon2id: 19 MiB, two passes, one lane. On a
    /// 512 MB Lambda (a third of a vCPU) one hash takes about 60 ms; the
    /// memory cost stays well inside the function's memory.
    pub fn owasp() -> Self {
        Self::with_params(19 * 1024, 2, 1).unwrap_or_else(|_| Self { params: Params::default() })
    }

    /// Memory in KiB, passes and lanes.
    pub fn with_params(memory_kib: u32, passes: u32, lanes: u32) -> Result<Self, HashError> {
        let params = Params::new(memory_kib, passes, lanes, None).map_err(|e| HashError(e.into()))?;
        Ok(Self { params })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashes with a fresh 128-bit salt from `random`.
    pub fn hash(&self, password: &Password, random: &impl Random) -> Result<String, HashError> {
        let mut salt = [0u8; 16];
        random.fill(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(HashError)?;
        let hash = self.argon2().hash_password(password.expose(), &salt).map_err(HashError)?;
        Ok(hash.to_string())
    }

    /// Whether `password` matches a PHC string made by [`PasswordHasher::hash`].
    pub fn verify(&self, password: &Password, phc: &str) -> bool {
        PasswordHash::new(phc).is_ok_and(|hash| self.argon2().verify_password(password.expose(), &hash).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    fn password(text: &str) -> Password {
        Password::parse(text).unwrap()
    }

    #[test]
    fn a_hash_is_an_argon2id_phc_string_with_the_owasp_parameters() {
        let phc = PasswordHasher::owasp().hash(&password("correct horse"), &OsRandom).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    }

    #[test]
    fn the_right_password_verifies_and_a_wrong_one_does_not() {
        let hasher = PasswordHasher::owasp();
        let phc = hasher.hash(&password("correct horse"), &OsRandom).unwrap();
        assert!(hasher.verify(&password("correct horse"), &phc));
        assert!(!hasher.verify(&password("correct horsf"), &phc));
    }

    #[test]
    fn the_same_password_hashes_differently_each_time() {
        let hasher = PasswordHasher::owasp();
        let p = password("correct horse");
        assert_ne!(hasher.hash(&p, &OsRandom).unwrap(), hasher.hash(&p, &OsRandom).unwrap());
    }

    #[test]
    fn the_hash_does_not_contain_the_password() {
        let phc = PasswordHasher::owasp().hash(&password("correct horse"), &OsRandom).unwrap();
        assert!(!phc.contains("correct"));
    }
}
