//! The built-in image captcha as a verifier: the answer kept when the image
//! was drawn, against the characters a person read, look-alikes mapped into
//! the alphabet. Spending the captcha (one atomic take) is the judgement's
//! only chance: right or wrong, it is judged once.

use super::{CaptchaProvider, Proof, Verdict, Verifier, VerifierError, unavailable};
use subtle::ConstantTimeEq;

/// The built-in image: needs no service, so it is never unavailable.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuiltinImage;

impl Verifier for BuiltinImage {
    fn provider(&self) -> CaptchaProvider {
        CaptchaProvider::Builtin
    }

    async fn verify(&self, proof: &Proof, stored: Option<&str>, _: Option<&str>) -> Result<Verdict, VerifierError> {
        let Proof::Image { answer, .. } = proof else {
            return Err(unavailable(CaptchaProvider::Builtin, "not an image captcha's answer"));
        };
        let Some(stored) = stored else {
            return Err(unavailable(CaptchaProvider::Builtin, "no stored answer was given"));
        };
        // As typed, or with look-alikes read into the alphabet: a stored
        // answer is drawn from the alphabet, so only the second can matter
        // in production, and neither widens what a guess within it can hit.
        let same = |given: &str| bool::from(stored.as_bytes().ct_eq(given.as_bytes()));
        if same(&answer.in_alphabet()) | same(answer.as_str()) {
            Ok(Verdict::Pass)
        } else {
            Ok(Verdict::Fail { reason: "incorrect".to_owned() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CaptchaAnswer, CaptchaId};

    fn proof(answer: &str) -> Proof {
        Proof::Image {
            id: CaptchaId::parse("3f0c9a5e-2b1d-4c8e-9f6a-1d2e3f4a5b6c").unwrap(),
            answer: CaptchaAnswer::parse(answer).unwrap(),
        }
    }

    async fn judge(stored: &str, answer: &str) -> Verdict {
        BuiltinImage.verify(&proof(answer), Some(stored), None).await.unwrap()
    }

    #[tokio::test]
    async fn look_alikes_a_person_reads_are_accepted_and_a_wrong_answer_is_still_refused() {
        // The three misses of the blind read: X for K, 7 for T, G for C.
        assert_eq!(judge("ktc2", "X7G2").await, Verdict::Pass);
        assert_eq!(judge("ktc2", "ktc2").await, Verdict::Pass);
        assert_eq!(judge("ktc2", "KTCZ").await, Verdict::Pass, "Z reads as 2");
        assert!(matches!(judge("ktc2", "ktc3").await, Verdict::Fail { .. }));
        assert!(matches!(judge("ktc2", "ktc").await, Verdict::Fail { .. }));
        assert!(matches!(judge("ktc2", "ktc22").await, Verdict::Fail { .. }));
        // A look-alike maps into the alphabet, never onto another of its characters.
        assert!(matches!(judge("ktc2", "K7C3").await, Verdict::Fail { .. }));
    }

    #[tokio::test]
    async fn another_providers_proof_or_no_stored_answer_is_no_pass() {
        let tencent = Proof::Tencent { ticket: "t".into(), randstr: "r".into() };
        assert!(BuiltinImage.verify(&tencent, Some("abcd"), None).await.is_err());
        assert!(BuiltinImage.verify(&proof("abcd"), None, None).await.is_err());
    }
}
