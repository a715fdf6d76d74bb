//! Argon2id password hashing in one place: hashing, verifying, the work
//! an unknown account costs, and whether a stored hash is due to be redone,
//! all from one set of parameters, and all off the async threads.
//!
//! Argon2id's working memory (19 MiB at OWASP's parameters) is allocated
//! once per hasher and reused by every hash and verification. Allocating it
//! per call let glibc keep each freed block resident: once the first block
//! was unmapped, glibc's dynamic mmap threshold rose above 19 MiB, later
//! blocks came from the blocking thread's malloc arena, and its heaps stayed
//! resident as successive blocks landed at new offsets: 160–310 MB in the
//! register function (docs/benchmark-notes.md, "Memory over warm calls").

use crate::domain::Password;
use crate::random::Random;
use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, TryLockError};
use subtle::ConstantTimeEq as _;

type PhcError = argon2::password_hash::Error;

/// The salt an unknown account's verification runs with: its result is
/// thrown away, only its work matters.
const UNKNOWN_ACCOUNT_SALT: [u8; 16] = *b"no such account!";

/// Hashes passwords with Argon2id into PHC strings
/// (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) and verifies them.
///
/// Clones share one working memory of `memory_kib`, allocated by the first
/// hash or verification and kept for the hasher's life. A call that finds it
/// busy (concurrent hashing, as in the local API) or too small (a PHC string
/// with a larger memory cost) allocates its own for that call instead of
/// waiting.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    memory: Arc<Mutex<Vec<Block>>>,
    /// Argon2 computations this hasher and its clones have run.
    computed: Arc<AtomicU64>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher").field("params", &self.params).finish_non_exhaustive()
    }
}

/// Hashing failed: parameters or salt out of range, or the blocking thread
/// gone: a bug on our side.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Argon2(PhcError),
    #[error("password hashing failed: {0}")]
    Thread(#[from] tokio::task::JoinError),
}

impl From<PhcError> for HashError {
    fn from(error: PhcError) -> Self {
        Self::Argon2(error)
    }
}

impl PasswordHasher {
    /// OWASP's minimum for Argon2id: 19 MiB, two passes, one lane. On a
    /// 512 MB Lambda (a third of a vCPU) one hash takes about 60 ms; the
    /// memory cost stays well inside the function's memory.
    pub fn owasp() -> Self {
        Self::with_params(19 * 1024, 2, 1).unwrap_or_else(|_| Self::from_params(Params::default()))
    }

    /// Memory in KiB, passes and lanes.
    pub fn with_params(memory_kib: u32, passes: u32, lanes: u32) -> Result<Self, HashError> {
        let params = Params::new(memory_kib, passes, lanes, None).map_err(PhcError::from)?;
        Ok(Self::from_params(params))
    }

    fn from_params(params: Params) -> Self {
        Self { params, memory: Arc::new(Mutex::new(Vec::new())), computed: Arc::default() }
    }

    /// Hashes with a fresh 128-bit salt from `random`, on a blocking thread:
    /// Argon2id takes tens of milliseconds of CPU.
    pub async fn hash(&self, password: &Password, random: &impl Random) -> Result<String, HashError> {
        let mut salt = [0u8; 16];
        random.fill(&mut salt);
        let (hasher, password) = (self.clone(), password.clone());
        off_thread(move || hasher.hash_with_salt(&password, &salt)).await?
    }

    /// Whether `password` matches an Argon2 PHC string, on a blocking
    /// thread (see [`PasswordHasher::verify_blocking`]).
    pub async fn verify(&self, password: &Password, phc: &str) -> Result<bool, HashError> {
        let (hasher, password, phc) = (self.clone(), password.clone(), phc.to_owned());
        off_thread(move || hasher.verify_blocking(&password, &phc)).await
    }

    /// The work of verifying a password against a hash made with this
    /// hasher's parameters, for an account that does not exist: an unknown
    /// account costs what a wrong password costs, and never matches.
    pub async fn verify_unknown(&self, password: &Password) -> Result<bool, HashError> {
        let (hasher, password) = (self.clone(), password.clone());
        off_thread(move || {
            let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
            let (algorithm, version) = (Algorithm::Argon2id, Version::V0x13);
            hasher.compute(
                algorithm,
                version,
                &hasher.params,
                password.expose(),
                &UNKNOWN_ACCOUNT_SALT,
                &mut output,
            )?;
            Ok(false)
        })
        .await?
    }

    /// How many Argon2 computations (hashes and verifications, an unknown
    /// account's included) this hasher and its clones have run: what the
    /// tests count to show that a refused request costs none.
    pub fn computed(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }

    /// Whether a stored hash was made otherwise than this hasher makes
    /// them now (another algorithm, version, memory, passes, lanes or
    /// length), so a login should redo it. An unreadable string is due too.
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(hash) = PasswordHash::new(phc) else { return true };
        let current = hash.algorithm == Algorithm::Argon2id.ident()
            && hash.version == Some(Version::V0x13.into())
            && Params::try_from(&hash).is_ok_and(|params| {
                (params.m_cost(), params.t_cost(), params.p_cost())
                    == (self.params.m_cost(), self.params.t_cost(), self.params.p_cost())
            })
            && hash
                .hash
                .is_some_and(|output| output.len() == self.params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN));
        !current
    }

    /// [`PasswordHasher::hash`] on the calling thread.
    pub fn hash_blocking(&self, password: &Password, random: &impl Random) -> Result<String, HashError> {
        let mut salt = [0u8; 16];
        random.fill(&mut salt);
        self.hash_with_salt(password, &salt)
    }

    fn hash_with_salt(&self, password: &Password, salt: &[u8; 16]) -> Result<String, HashError> {
        let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
        self.compute(Algorithm::Argon2id, Version::V0x13, &self.params, password.expose(), salt, &mut output)?;
        let salt = SaltString::encode_b64(salt)?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params)?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&output)?),
        };
        Ok(phc.to_string())
    }

    /// Whether `password` matches an Argon2 PHC string: one made by
    /// [`PasswordHasher::hash`] or with other parameters (those of the
    /// string are used). The hashes are compared in constant time. On the
    /// calling thread.
    pub fn verify_blocking(&self, password: &Password, phc: &str) -> bool {
        self.matches(password.expose(), phc).unwrap_or(false)
    }

    fn matches(&self, password: &[u8], phc: &str) -> Result<bool, PhcError> {
        let hash = PasswordHash::new(phc)?;
        let algorithm = Algorithm::try_from(hash.algorithm)?;
        let version = hash.version.map(Version::try_from).transpose()?.unwrap_or_default();
        let params = Params::try_from(&hash)?;
        let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
            return Err(PhcError::PhcStringField);
        };
        let mut salt_buffer = [0u8; Salt::MAX_LENGTH];
        let salt = salt.decode_b64(&mut salt_buffer)?;
        let mut output = [0u8; Output::MAX_LENGTH];
        let output = &mut output[..expected.len()];
        self.compute(algorithm, version, &params, password, salt, output)?;
        Ok(bool::from(output.ct_eq(expected.as_bytes())))
    }

    /// Argon2 into `output`, on the shared working memory when it is free
    /// and large enough.
    fn compute(
        &self,
        algorithm: Algorithm,
        version: Version,
        params: &Params,
        password: &[u8],
        salt: &[u8],
        output: &mut [u8],
    ) -> Result<(), PhcError> {
        self.computed.fetch_add(1, Ordering::Relaxed);
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let own = self.params.block_count();
        let shared = if params.block_count() <= own {
            match self.memory.try_lock() {
                Ok(memory) => Some(memory),
                // The memory is scratch space, rewritten by every call: a
                // panic that poisoned the lock left nothing to distrust.
                Err(TryLockError::Poisoned(poisoned)) => Some(PoisonError::into_inner(poisoned)),
                Err(TryLockError::WouldBlock) => None,
            }
        } else {
            None
        };
        match shared {
            Some(mut memory) => {
                if memory.len() < own {
                    memory.resize(own, Block::default());
                }
                argon2.hash_password_into_with_memory(password, salt, output, &mut memory[..])?;
            }
            None => argon2.hash_password_into(password, salt, output)?,
        }
        Ok(())
    }
}

/// Runs `work` on a blocking thread.
async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, HashError> {
    Ok(tokio::task::spawn_blocking(work).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    fn password(text: &str) -> Password {
        Password::parse(text).unwrap()
    }

    fn stock(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    fn owasp_params() -> Params {
        Params::new(19 * 1024, 2, 1, None).unwrap()
    }

    #[test]
    fn a_hash_is_an_argon2id_phc_string_with_the_owasp_parameters() {
        let phc = PasswordHasher::owasp().hash_blocking(&password("correct horse"), &OsRandom).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let parsed = PasswordHash::new(&phc).unwrap();
        assert_eq!(parsed.salt.unwrap().decode_b64(&mut [0u8; 64]).unwrap().len(), 16);
        assert_eq!(parsed.hash.unwrap().len(), 32);
    }

    #[test]
    fn the_right_password_verifies_and_a_wrong_one_does_not() {
        let hasher = PasswordHasher::owasp();
        let phc = hasher.hash_blocking(&password("correct horse"), &OsRandom).unwrap();
        assert!(hasher.verify_blocking(&password("correct horse"), &phc));
        assert!(!hasher.verify_blocking(&password("correct horsf"), &phc));
    }

    #[test]
    fn the_same_password_hashes_differently_each_time() {
        let hasher = PasswordHasher::owasp();
        let p = password("correct horse");
        assert_ne!(hasher.hash_blocking(&p, &OsRandom).unwrap(), hasher.hash_blocking(&p, &OsRandom).unwrap());
    }

    #[test]
    fn the_hash_does_not_contain_the_password() {
        let phc = PasswordHasher::owasp().hash_blocking(&password("correct horse"), &OsRandom).unwrap();
        assert!(!phc.contains("correct"));
    }

    #[test]
    fn the_stock_argon2_verifier_accepts_our_hash() {
        let phc = PasswordHasher::owasp().hash_blocking(&password("correct horse"), &OsRandom).unwrap();
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(stock(owasp_params()).verify_password(b"correct horse", &parsed).is_ok());
        assert!(stock(owasp_params()).verify_password(b"correct horsf", &parsed).is_err());
    }

    #[test]
    fn a_hash_from_the_stock_argon2_hasher_verifies() {
        let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
        let phc = stock(owasp_params()).hash_password(b"correct horse", &salt).unwrap().to_string();
        let hasher = PasswordHasher::owasp();
        assert!(hasher.verify_blocking(&password("correct horse"), &phc));
        assert!(!hasher.verify_blocking(&password("correct horsf"), &phc));
    }

    #[test]
    fn the_same_salt_gives_the_stock_hasher_s_exact_string() {
        struct Fixed;
        impl Random for Fixed {
            fn fill(&self, bytes: &mut [u8]) {
                bytes.fill(7);
            }
            fn below(&self, _: u32) -> u32 {
                0
            }
        }
        let ours = PasswordHasher::owasp().hash_blocking(&password("correct horse"), &Fixed).unwrap();
        let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
        let theirs = stock(owasp_params()).hash_password(b"correct horse", &salt).unwrap().to_string();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn hashes_with_other_parameters_verify_larger_and_smaller() {
        let hasher = PasswordHasher::owasp();
        for (m, t, p, output) in [(32 * 1024, 1, 2, None), (8 * 1024, 3, 1, Some(16)), (19 * 1024, 2, 1, Some(64))] {
            let params = Params::new(m, t, p, output).unwrap();
            let salt = SaltString::encode_b64(b"another salt!").unwrap();
            let phc = stock(params).hash_password(b"correct horse", &salt).unwrap().to_string();
            assert!(hasher.verify_blocking(&password("correct horse"), &phc), "{phc}");
            assert!(!hasher.verify_blocking(&password("correct horsf"), &phc), "{phc}");
        }
    }

    #[test]
    fn argon2i_and_argon2d_strings_verify_by_their_own_algorithm() {
        let hasher = PasswordHasher::owasp();
        for algorithm in [Algorithm::Argon2i, Algorithm::Argon2d] {
            let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
            let phc = Argon2::new(algorithm, Version::V0x13, Params::new(1024, 2, 1, None).unwrap())
                .hash_password(b"correct horse", &salt)
                .unwrap()
                .to_string();
            assert!(hasher.verify_blocking(&password("correct horse"), &phc), "{phc}");
            assert!(!hasher.verify_blocking(&password("correct horsf"), &phc), "{phc}");
        }
    }

    #[test]
    fn malformed_or_foreign_strings_do_not_verify() {
        let hasher = PasswordHasher::owasp();
        let phc = hasher.hash_blocking(&password("correct horse"), &OsRandom).unwrap();
        let without_hash = phc.rsplit_once('$').unwrap().0;
        for bad in ["", "correct horse", without_hash, "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"] {
            assert!(!hasher.verify_blocking(&password("correct horse"), bad), "{bad:?}");
        }
    }

    #[test]
    fn clones_share_one_working_memory_of_the_configured_size() {
        let hasher = PasswordHasher::owasp();
        let clone = hasher.clone();
        assert!(Arc::ptr_eq(&hasher.memory, &clone.memory));
        assert!(hasher.memory.lock().unwrap().is_empty(), "nothing is allocated before the first hash");
        clone.hash_blocking(&password("correct horse"), &OsRandom).unwrap();
        assert_eq!(hasher.memory.lock().unwrap().len(), 19 * 1024);
    }

    #[test]
    fn a_busy_memory_does_not_block_a_second_hash() {
        let hasher = PasswordHasher::with_params(1024, 1, 1).unwrap();
        let held = hasher.memory.lock().unwrap();
        let phc = hasher.hash_blocking(&password("correct horse"), &OsRandom).unwrap();
        assert!(hasher.verify_blocking(&password("correct horse"), &phc));
        drop(held);
        assert!(hasher.memory.lock().unwrap().is_empty(), "the busy memory was left alone");
    }

    #[test]
    fn a_hash_of_this_hasher_needs_no_rehash_and_one_of_other_parameters_does() {
        let hasher = PasswordHasher::owasp();
        assert!(!hasher.needs_rehash(&hasher.hash_blocking(&password("correct horse"), &OsRandom).unwrap()));
        let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
        for (algorithm, params) in [
            (Algorithm::Argon2id, Params::new(8 * 1024, 2, 1, None).unwrap()),
            (Algorithm::Argon2id, Params::new(19 * 1024, 3, 1, None).unwrap()),
            (Algorithm::Argon2id, Params::new(19 * 1024, 2, 2, None).unwrap()),
            (Algorithm::Argon2id, Params::new(19 * 1024, 2, 1, Some(16)).unwrap()),
            (Algorithm::Argon2i, owasp_params()),
        ] {
            let phc = Argon2::new(algorithm, Version::V0x13, params).hash_password(b"x", &salt).unwrap().to_string();
            assert!(hasher.needs_rehash(&phc), "{phc}");
        }
        assert!(hasher.needs_rehash("not a hash"));
        let other = PasswordHasher::with_params(8 * 1024, 2, 1).unwrap();
        assert!(other.needs_rehash(&hasher.hash_blocking(&password("correct horse"), &OsRandom).unwrap()));
    }

    #[tokio::test]
    async fn the_async_hash_and_verify_agree_with_the_blocking_ones() {
        let hasher = PasswordHasher::with_params(1024, 1, 1).unwrap();
        let phc = hasher.hash(&password("correct horse"), &OsRandom).await.unwrap();
        assert!(hasher.verify_blocking(&password("correct horse"), &phc));
        assert!(hasher.verify(&password("correct horse"), &phc).await.unwrap());
        assert!(!hasher.verify(&password("correct horsf"), &phc).await.unwrap());
        assert!(!hasher.needs_rehash(&phc));
    }

    #[tokio::test]
    async fn an_unknown_account_never_matches_and_works_with_the_hasher_s_own_memory() {
        let hasher = PasswordHasher::with_params(2048, 1, 1).unwrap();
        assert!(!hasher.verify_unknown(&password("correct horse")).await.unwrap());
        assert_eq!(hasher.memory.lock().unwrap().len(), 2048, "the same work as a hash of its parameters");
    }
}
