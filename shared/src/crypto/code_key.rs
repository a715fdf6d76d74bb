//! SMS codes at rest: the table keeps only an HMAC-SHA256 of each code
//! under a key from configuration, so a dump of it reveals no usable code.

use crate::config::{Config, ConfigError};
use crate::domain::{SmsCode, SmsCodeId};
use crate::random::Random;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;
use std::fmt;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The key codes are tagged with. `Debug` shows nothing of it.
#[derive(Clone)]
pub struct CodeKey(Arc<SecretSlice<u8>>);

impl CodeKey {
    pub fn new(key: &[u8]) -> Self {
        Self(Arc::new(SecretSlice::from(key.to_vec())))
    }

    /// The configured key (`SMS_CODE_KEY`), which every function that stores
    /// or checks codes shares.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        Ok(Self::new(config.require_sms_code_key()?.expose_secret().as_bytes()))
    }

    /// A key that lives as long as the process: for the local API, whose
    /// codes need not outlive it.
    pub fn random(random: &impl Random) -> Self {
        let mut key = [0u8; 32];
        random.fill(&mut key);
        Self::new(&key)
    }

    /// The tag stored for `code`, bound to the send it belongs to.
    pub fn tag(&self, id: &SmsCodeId, code: &SmsCode) -> String {
        self.tag_parts(&[id.as_str(), code.as_str()])
    }

    /// The hex HMAC of `parts` joined by `:` (none of which may contain one).
    pub fn tag_parts(&self, parts: &[&str]) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.0.expose_secret()) else {
            unreachable!("HMAC takes a key of any length")
        };
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                mac.update(b":");
            }
            mac.update(part.as_bytes());
        }
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `code` is the one `stored` was made from, in constant time.
    pub fn verify(&self, id: &SmsCodeId, code: &SmsCode, stored: &str) -> bool {
        self.tag(id, code).as_bytes().ct_eq(stored.as_bytes()).into()
    }
}

impl fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeKey([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> SmsCodeId {
        SmsCodeId::parse(&"0f".repeat(16)).unwrap()
    }

    fn code(text: &str) -> SmsCode {
        SmsCode::parse(text).unwrap()
    }

    #[test]
    fn the_tag_is_hmac_sha256_of_id_and_code_in_hex() {
        // python3 -c "import hmac,hashlib;print(hmac.new(b'k'*32,b'0f'*16+b':123456',hashlib.sha256).hexdigest())"
        let key = CodeKey::new(&[b'k'; 32]);
        assert_eq!(key.tag(&id(), &code("123456")), "83355e138b51e11a7bbad342477cc29cbec15a04662e9039d9ee87a5d21d58b5");
    }

    #[test]
    fn the_right_code_verifies_and_another_code_key_or_send_does_not() {
        let key = CodeKey::new(b"a key of thirty-two bytes or so.");
        let stored = key.tag(&id(), &code("123456"));
        assert!(key.verify(&id(), &code("123456"), &stored));
        assert!(!key.verify(&id(), &code("123457"), &stored));
        assert!(!CodeKey::new(b"another key").verify(&id(), &code("123456"), &stored));
        assert!(!key.verify(&SmsCodeId::parse(&"1f".repeat(16)).unwrap(), &code("123456"), &stored));
    }

    #[test]
    fn the_tag_and_debug_show_nothing_of_the_code_or_key() {
        let key = CodeKey::new(b"secret-key-material");
        assert!(!key.tag(&id(), &code("123456")).contains("123456"));
        assert!(!format!("{key:?}").contains("secret"));
    }
}
