//! Renders captcha text into a small PNG that people read and stock OCR does not.
//!
//! Each glyph is scaled, rotated and offset at random, the whole picture is
//! warped by two sine waves, and two curves in the glyphs' own colours cross
//! the text. The result is quantised to 13 colours and written as a 4-bit
//! indexed PNG, which keeps it around 2 KB.

use crate::domain::CaptchaText;
use crate::random::Random;
use ab_glyph::{Font, FontRef, point};
use std::f32::consts::TAU;
use std::sync::LazyLock;

pub const WIDTH: usize = 120;
pub const HEIGHT: usize = 44;

static FONT_BYTES: &[u8] = include_bytes!("../assets/captcha-font.ttf");

static FONT: LazyLock<FontRef<'static>> = LazyLock::new(|| {
    // The font is compiled in and checked by a unit test, so this cannot fail at run time.
    #[allow(clippy::expect_used)]
    FontRef::try_from_slice(FONT_BYTES).expect("the embedded captcha font parses")
});

/// Dark, saturated ink colours that stand out on the light backgrounds.
const INKS: [[u8; 3]; 8] = [
    [0x1f, 0x3a, 0x93],
    [0x8b, 0x1e, 0x3f],
    [0x1b, 0x6b, 0x3a],
    [0x5b, 0x2a, 0x86],
    [0x9a, 0x4a, 0x00],
    [0x00, 0x5f, 0x73],
    [0x6d, 0x1a, 0x1a],
    [0x2f, 0x2f, 0x2f],
];

const BACKGROUNDS: [[u8; 3]; 4] = [[0xf6, 0xf3, 0xea], [0xee, 0xf4, 0xf7], [0xf3, 0xee, 0xf6], [0xf0, 0xf5, 0xec]];

/// Coverage is quantised to this many ink levels (plus background).
const LEVELS: usize = 3;

/// Why a captcha could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("encoding the captcha PNG failed")]
pub struct RenderError(#[from] png::EncodingError);

/// Draws `text` and returns the PNG bytes.
pub fn render(text: &CaptchaText, random: &impl Random) -> Result<Vec<u8>, RenderError> {
    let inks = pick_inks(random);
    let mut flat = Layer::new();
    let glyphs = text.as_str().chars().count().max(1);
    let slot = (WIDTH as f32 - 16.0) / glyphs as f32;
    for (index, character) in text.as_str().chars().enumerate() {
        let centre_x = 8.0 + slot * (index as f32 + 0.5) + random.between(-3.0, 3.0);
        let centre_y = HEIGHT as f32 / 2.0 + random.between(-3.5, 3.5);
        let scale = random.between(31.0, 36.0);
        let angle = random.between(-0.45, 0.45);
        draw_glyph(&mut flat, character, scale, angle, (centre_x, centre_y), index as u8);
    }

    let mut picture = warp(&flat, random);
    for _ in 0..2 {
        let ink = random.below(glyphs as u32) as u8;
        draw_curve(&mut picture, random, ink);
    }
    for _ in 0..30 {
        let at = random.below((WIDTH * HEIGHT) as u32) as usize;
        let ink = random.below(glyphs as u32) as u8;
        picture.blend(at, 0.4 + random.between(0.0, 0.3), ink);
    }

    let background = BACKGROUNDS[random.below(BACKGROUNDS.len() as u32) as usize];
    encode(&picture, background, &inks[..glyphs.min(inks.len())])
}

fn pick_inks(random: &impl Random) -> [[u8; 3]; 4] {
    let mut pool = INKS;
    for i in 0..4 {
        let j = i + random.below((pool.len() - i) as u32) as usize;
        pool.swap(i, j);
    }
    [pool[0], pool[1], pool[2], pool[3]]
}

/// Ink coverage (0..=1) and which ink, per pixel.
struct Layer {
    coverage: Vec<f32>,
    ink: Vec<u8>,
}

impl Layer {
    fn new() -> Self {
        Self { coverage: vec![0.0; WIDTH * HEIGHT], ink: vec![0; WIDTH * HEIGHT] }
    }

    fn blend(&mut self, at: usize, coverage: f32, ink: u8) {
        if coverage > self.coverage[at] {
            self.coverage[at] = coverage.min(1.0);
            self.ink[at] = ink;
        }
    }

    /// Bilinear coverage and nearest ink at a fractional position.
    fn sample(&self, x: f32, y: f32) -> (f32, u8) {
        if x < 0.0 || y < 0.0 || x > (WIDTH - 1) as f32 || y > (HEIGHT - 1) as f32 {
            return (0.0, 0);
        }
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(WIDTH - 1), (y0 + 1).min(HEIGHT - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let c = |x: usize, y: usize| self.coverage[y * WIDTH + x];
        let top = c(x0, y0) * (1.0 - fx) + c(x1, y0) * fx;
        let bottom = c(x0, y1) * (1.0 - fx) + c(x1, y1) * fx;
        let nearest = (y.round() as usize).min(HEIGHT - 1) * WIDTH + (x.round() as usize).min(WIDTH - 1);
        (top * (1.0 - fy) + bottom * fy, self.ink[nearest])
    }
}

fn draw_glyph(layer: &mut Layer, character: char, scale: f32, angle: f32, centre: (f32, f32), ink: u8) {
    let font = &*FONT;
    let glyph = font.glyph_id(character).with_scale_and_position(scale, point(0.0, 0.0));
    let Some(outlined) = font.outline_glyph(glyph) else { return };
    let bounds = outlined.px_bounds();
    let (w, h) = (bounds.width().ceil() as usize + 1, bounds.height().ceil() as usize + 1);
    let mut upright = vec![0.0f32; w * h];
    outlined.draw(|x, y, c| {
        if let Some(cell) = upright.get_mut(y as usize * w + x as usize) {
            *cell = c;
        }
    });

    // Inverse mapping: for each destination pixel near the centre, rotate back into the upright glyph.
    let (sin, cos) = angle.sin_cos();
    let radius = ((w * w + h * h) as f32).sqrt() / 2.0 + 1.0;
    let (half_w, half_h) = (w as f32 / 2.0, h as f32 / 2.0);
    let (x_min, x_max) = ((centre.0 - radius).max(0.0) as usize, ((centre.0 + radius) as usize).min(WIDTH - 1));
    let (y_min, y_max) = ((centre.1 - radius).max(0.0) as usize, ((centre.1 + radius) as usize).min(HEIGHT - 1));
    for y in y_min..=y_max {
        for x in x_min..=x_max {
            let (dx, dy) = (x as f32 - centre.0, y as f32 - centre.1);
            let sx = cos * dx + sin * dy + half_w;
            let sy = -sin * dx + cos * dy + half_h;
            if sx < 0.0 || sy < 0.0 || sx >= (w - 1) as f32 || sy >= (h - 1) as f32 {
                continue;
            }
            let (x0, y0) = (sx as usize, sy as usize);
            let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
            let c = |x: usize, y: usize| upright[y * w + x];
            let coverage = (c(x0, y0) * (1.0 - fx) + c(x0 + 1, y0) * fx) * (1.0 - fy)
                + (c(x0, y0 + 1) * (1.0 - fx) + c(x0 + 1, y0 + 1) * fx) * fy;
            if coverage > 0.0 {
                layer.blend(y * WIDTH + x, coverage, ink);
            }
        }
    }
}

/// Displaces every pixel along two sine waves of random phase.
fn warp(flat: &Layer, random: &impl Random) -> Layer {
    let (amplitude_x, period_x, phase_x) =
        (random.between(1.5, 2.5), random.between(28.0, 40.0), random.between(0.0, TAU));
    let (amplitude_y, period_y, phase_y) =
        (random.between(2.0, 3.5), random.between(50.0, 80.0), random.between(0.0, TAU));
    let mut warped = Layer::new();
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let sx = x as f32 + amplitude_x * (TAU * y as f32 / period_x + phase_x).sin();
            let sy = y as f32 + amplitude_y * (TAU * x as f32 / period_y + phase_y).sin();
            let (coverage, ink) = flat.sample(sx, sy);
            let at = y * WIDTH + x;
            warped.coverage[at] = coverage;
            warped.ink[at] = ink;
        }
    }
    warped
}

/// An anti-aliased sine curve across the whole width.
fn draw_curve(layer: &mut Layer, random: &impl Random, ink: u8) {
    let centre = random.between(14.0, 30.0);
    let amplitude = random.between(5.0, 10.0);
    let period = random.between(60.0, 140.0);
    let phase = random.between(0.0, TAU);
    let half_thickness = random.between(0.5, 0.8);
    for x in 0..WIDTH {
        let curve_y = centre + amplitude * (TAU * x as f32 / period + phase).sin();
        let (from, to) = ((curve_y - 3.0).max(0.0) as usize, ((curve_y + 3.0) as usize).min(HEIGHT - 1));
        for y in from..=to {
            let coverage = (half_thickness + 0.5 - (y as f32 - curve_y).abs()).clamp(0.0, 1.0);
            if coverage > 0.0 {
                layer.blend(y * WIDTH + x, coverage, ink);
            }
        }
    }
}

/// Quantises to background plus [`LEVELS`] shades of each ink, and writes a
/// 4-bit indexed PNG.
fn encode(picture: &Layer, background: [u8; 3], inks: &[[u8; 3]]) -> Result<Vec<u8>, RenderError> {
    let mut palette = Vec::with_capacity(3 * (1 + inks.len() * LEVELS));
    palette.extend_from_slice(&background);
    for ink in inks {
        for level in 1..=LEVELS {
            let alpha = level as f32 / LEVELS as f32;
            palette.extend(
                ink.iter().zip(background).map(|(&i, b)| (b as f32 + (i as f32 - b as f32) * alpha).round() as u8),
            );
        }
    }

    let row_bytes = WIDTH.div_ceil(2);
    let mut packed = vec![0u8; row_bytes * HEIGHT];
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let at = y * WIDTH + x;
            let level = (picture.coverage[at] * LEVELS as f32).round() as usize;
            let ink = (picture.ink[at] as usize).min(inks.len().saturating_sub(1));
            let index = if level == 0 { 0 } else { 1 + ink * LEVELS + level.min(LEVELS) - 1 } as u8;
            packed[y * row_bytes + x / 2] |= if x % 2 == 0 { index << 4 } else { index };
        }
    }

    let mut png_bytes = Vec::with_capacity(2048);
    let mut encoder = png::Encoder::new(&mut png_bytes, WIDTH as u32, HEIGHT as u32);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Four);
    encoder.set_palette(palette);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&packed)?;
    writer.finish()?;
    Ok(png_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::captcha_answer::ALPHABET;
    use crate::random::SeededRandom;

    fn text(random: &SeededRandom) -> CaptchaText {
        CaptchaText::generate(random)
    }

    #[test]
    fn the_font_has_a_glyph_for_every_alphabet_character() {
        for &c in ALPHABET {
            assert_ne!(FONT.glyph_id(c as char).0, 0, "no glyph for {}", c as char);
        }
    }

    #[test]
    fn a_captcha_is_a_120_by_44_png() {
        let random = SeededRandom::new(11);
        let png_bytes = render(&text(&random), &random).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (WIDTH as u32, HEIGHT as u32));
    }

    #[test]
    fn captchas_stay_under_5_kb() {
        let random = SeededRandom::new(12);
        for _ in 0..50 {
            let size = render(&text(&random), &random).unwrap().len();
            assert!(size < 5 * 1024, "{size} bytes");
        }
    }

    #[test]
    fn the_glyphs_cover_a_readable_share_of_the_picture() {
        let random = SeededRandom::new(13);
        let png_bytes = render(&text(&random), &random).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes)).read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut pixels).unwrap();
        let inked = pixels.iter().flat_map(|b| [b >> 4, b & 0x0f]).filter(|&i| i != 0).count();
        let share = inked as f32 / (WIDTH * HEIGHT) as f32;
        assert!((0.08..0.5).contains(&share), "ink covers {share}");
    }

    #[test]
    fn the_same_seed_draws_the_same_picture_and_another_seed_another() {
        let draw = |seed| {
            let random = SeededRandom::new(seed);
            render(&text(&random), &random).unwrap()
        };
        assert_eq!(draw(5), draw(5));
        assert_ne!(draw(5), draw(6));
    }
}
