//! Argon2id's cost alone, in the bench binary.

use shared::crypto::password::PasswordHasher;
use shared::domain::Password;
use shared::random::OsRandom;
use std::time::Instant;
use tests::report::{Report, Samples, millis};

pub fn run(report: &mut Report) {
    let hasher = PasswordHasher::owasp();
    let password = Password::parse("correct horse battery").unwrap();
    let samples = Samples::new(
        (0..50)
            .map(|_| {
                let t = Instant::now();
                hasher.hash_blocking(&password, &OsRandom).unwrap();
                t.elapsed()
            })
            .collect(),
    );
    report.section(&format!(
        "Argon2id (m=19456 KiB, t=2, p=1), {} hashes on one core, in the bench binary (opt-level \"s\"; the register function is built at 3, see its end-to-end row above)",
        samples.count()
    ));
    report.paragraph(&format!(
        "p50 {}, p90 {}. Lambda gives a function CPU in proportion to memory (1,769 MB = one vCPU); at the template's 512 MB expect about 3.5× this.",
        millis(samples.p50()),
        millis(samples.p90())
    ));
}
