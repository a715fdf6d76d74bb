//! Captcha render + PNG encode time, and the PNG's size.

use criterion::{Criterion, criterion_group, criterion_main};
use shared::captcha::render;
use shared::domain::CaptchaText;
use shared::random::OsRandom;

fn captcha(c: &mut Criterion) {
    let sizes: Vec<usize> = (0..200)
        .map(|_| render(&CaptchaText::generate(&OsRandom), &OsRandom).map(|png| png.len()).unwrap_or(0))
        .collect();
    let mut sorted = sizes.clone();
    sorted.sort_unstable();
    println!(
        "captcha PNG size over 200: median {} B, max {} B, mean {} B",
        sorted[100],
        sorted[199],
        sizes.iter().sum::<usize>() / sizes.len()
    );
    c.bench_function("captcha render + PNG encode", |b| {
        b.iter(|| render(&CaptchaText::generate(&OsRandom), &OsRandom));
    });
}

criterion_group!(benches, captcha);
criterion_main!(benches);
