//! Writes captchas and their answers into a folder, for looking at them and
//! for the OCR benchmark: `cargo run -p shared --example captcha_samples -- DIR COUNT`.

use shared::captcha::render;
use shared::domain::CaptchaText;
use shared::random::OsRandom;
use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "captcha-samples".to_owned()));
    let count: usize = args.next().map_or(Ok(20), |n| n.parse())?;
    std::fs::create_dir_all(&dir)?;
    let mut answers = std::fs::File::create(dir.join("answers.tsv"))?;
    for index in 0..count {
        let text = CaptchaText::generate(&OsRandom);
        let png = render(&text, &OsRandom)?;
        let name = format!("{index:04}.png");
        std::fs::write(dir.join(&name), png)?;
        writeln!(answers, "{name}\t{}", text.as_str())?;
    }
    println!("wrote {count} captchas and answers.tsv to {}", dir.display());
    Ok(())
}
