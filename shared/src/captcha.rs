//! Renders captcha text into a PNG that people read at first sight and segmenting attacks do not.
//!
//! All glyphs and all clutter share one ink, so colour says nothing about
//! which glyph a pixel belongs to. Each glyph gets its own size, width, slant,
//! rotation and weight, and is set so that it touches or overlaps its
//! neighbours; the whole picture is warped by two sine waves; then a curve as
//! wide as the strokes crosses the text, inked over the background and cut out
//! of the glyphs, so an opening that removes it breaks the glyphs too and
//! connected components do not fall apart into letters. The result is
//! quantised to the background plus [`LEVELS`] shades of the ink and written
//! as a 2-bit indexed PNG.
//!
//! Hand-written rather than a captcha crate: the crates on the registry draw
//! one colour per glyph and thin clutter, which is what the attacks in
//! `scripts/captcha-attack` exploit, and their PNGs are several times larger.

use crate::domain::CaptchaText;
use crate::random::Random;
use ab_glyph::{Font, FontRef, point};
use std::f32::consts::TAU;
use std::sync::LazyLock;

/// Pixel size: twice the 120×44 CSS pixels it is shown at, for phone screens.
pub const WIDTH: usize = 240;
pub const HEIGHT: usize = 88;

static FONT_BYTES: &[u8] = include_bytes!("../assets/captcha-font.ttf");

static FONT: LazyLock<FontRef<'static>> = LazyLock::new(|| {
    // The font is compiled in and checked by a unit test, so this cannot fail at run time.
    #[allow(clippy::expect_used)]
    FontRef::try_from_slice(FONT_BYTES).expect("the embedded captcha font parses")
});

/// Dark, saturated inks that stand out on the light backgrounds; one per captcha.
const INKS: [[u8; 3]; 8] = [
    [0x1f, 0x3a, 0x93],
    [0x8b, 0x1e, 0x3f],
    [0x1b, 0x6b, 0x3a],
    [0x5b, 0x2a, 0x86],
    [0x8a, 0x42, 0x00],
    [0x00, 0x5a, 0x6e],
    [0x6d, 0x1a, 0x1a],
    [0x2f, 0x2f, 0x2f],
];

const BACKGROUNDS: [[u8; 3]; 4] = [[0xf6, 0xf3, 0xea], [0xee, 0xf4, 0xf7], [0xf3, 0xee, 0xf6], [0xf0, 0xf5, 0xec]];

/// Coverage is quantised to this many shades of the ink (plus background).
pub const LEVELS: usize = 3;

/// Largest rotation either way, in radians: well short of where a glyph turns into another.
const MAX_ANGLE: f32 = 0.22;

/// Why a captcha could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("encoding the captcha PNG failed")]
pub struct RenderError(#[from] png::EncodingError);

/// Draws `text` and returns the PNG bytes.
pub fn render(text: &CaptchaText, random: &impl Random) -> Result<Vec<u8>, RenderError> {
    let picture = draw(text, random);
    let ink = INKS[random.below(INKS.len() as u32) as usize];
    let background = BACKGROUNDS[random.below(BACKGROUNDS.len() as u32) as usize];
    encode(&picture, background, ink)
}

/// Ink coverage (0..=1) per pixel, glyphs and clutter alike.
fn draw(text: &CaptchaText, random: &impl Random) -> Layer {
    let glyphs: Vec<Glyph> = text.as_str().chars().filter_map(|c| Glyph::new(c, random)).collect();
    let overlaps: Vec<f32> = (1..glyphs.len()).map(|_| random.between(1.0, 9.0)).collect();
    let total = glyphs.iter().map(|g| g.width).sum::<f32>() - overlaps.iter().sum::<f32>();
    let slack = (WIDTH as f32 - 12.0 - total).max(0.0);
    let mut left = 6.0 + random.between(0.2, 0.8) * slack;
    let middle = HEIGHT as f32 / 2.0 + random.between(-3.0, 3.0);

    let mut flat = Layer::new();
    for (index, glyph) in glyphs.iter().enumerate() {
        let centre = (left + glyph.width / 2.0, middle + random.between(-5.0, 5.0));
        glyph.draw(&mut flat, centre);
        left += glyph.width - overlaps.get(index).copied().unwrap_or(0.0);
    }

    let mut picture = warp(&flat, random);
    cross_out(&mut picture, random, middle);
    picture
}

/// Coverage (0..=1) per pixel.
struct Layer(Vec<f32>);

impl Layer {
    fn new() -> Self {
        Self(vec![0.0; WIDTH * HEIGHT])
    }

    /// Bilinear coverage at a fractional position; nothing outside the picture.
    fn sample(&self, x: f32, y: f32) -> f32 {
        if x < 0.0 || y < 0.0 || x > (WIDTH - 1) as f32 || y > (HEIGHT - 1) as f32 {
            return 0.0;
        }
        bilinear(&self.0, WIDTH, HEIGHT, x, y)
    }
}

fn bilinear(cells: &[f32], width: usize, height: usize, x: f32, y: f32) -> f32 {
    let (x0, y0) = (x as usize, y as usize);
    let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let c = |x: usize, y: usize| cells[y * width + x];
    (c(x0, y0) * (1.0 - fx) + c(x1, y0) * fx) * (1.0 - fy) + (c(x0, y1) * (1.0 - fx) + c(x1, y1) * fx) * fy
}

/// One character, rasterised upright, with its own transform.
struct Glyph {
    upright: Vec<f32>,
    size: (usize, usize),
    /// Maps a destination offset from the glyph's centre back into the upright raster.
    inverse: [f32; 4],
    /// Horizontal extent once transformed.
    width: f32,
    half_height: f32,
}

impl Glyph {
    fn new(character: char, random: &impl Random) -> Option<Self> {
        let font = &*FONT;
        let scale = random.between(62.0, 72.0);
        let glyph = font.glyph_id(character).with_scale_and_position(scale, point(0.0, 0.0));
        let outlined = font.outline_glyph(glyph)?;
        let bounds = outlined.px_bounds();
        let (w, h) = (bounds.width().ceil() as usize + 3, bounds.height().ceil() as usize + 3);
        let mut upright = vec![0.0f32; w * h];
        outlined.draw(|x, y, c| {
            if let Some(cell) = upright.get_mut((y as usize + 1) * w + x as usize + 1) {
                *cell = c;
            }
        });
        let upright = match random.below(3) {
            0 => morph(&upright, w, h, f32::min),
            1 => upright,
            _ => morph(&upright, w, h, f32::max),
        };

        // Forward transform: stretch, slant, then rotate.
        let (stretch, slant, angle) =
            (random.between(0.82, 1.12), random.between(-0.22, 0.22), random.between(-MAX_ANGLE, MAX_ANGLE));
        let (sin, cos) = angle.sin_cos();
        let forward = [cos * stretch, cos * slant - sin, sin * stretch, sin * slant + cos];
        let det = forward[0] * forward[3] - forward[1] * forward[2];
        let inverse = [forward[3] / det, -forward[1] / det, -forward[2] / det, forward[0] / det];
        let (half_w, half_h) = (w as f32 / 2.0, h as f32 / 2.0);
        let corners = [(-half_w, -half_h), (half_w, -half_h), (-half_w, half_h), (half_w, half_h)];
        let extent = |row: usize| {
            corners.iter().map(|&(x, y)| (forward[2 * row] * x + forward[2 * row + 1] * y).abs()).fold(0.0f32, f32::max)
        };
        Some(Self { upright, size: (w, h), inverse, width: 2.0 * extent(0), half_height: extent(1) })
    }

    fn draw(&self, layer: &mut Layer, centre: (f32, f32)) {
        let (w, h) = self.size;
        let (half_w, half_h) = (w as f32 / 2.0, h as f32 / 2.0);
        let [a, b, c, d] = self.inverse;
        let x_range =
            (centre.0 - self.width / 2.0).max(0.0) as usize..=((centre.0 + self.width / 2.0) as usize).min(WIDTH - 1);
        let y_range =
            (centre.1 - self.half_height).max(0.0) as usize..=((centre.1 + self.half_height) as usize).min(HEIGHT - 1);
        for y in y_range {
            for x in x_range.clone() {
                let (dx, dy) = (x as f32 - centre.0, y as f32 - centre.1);
                let (sx, sy) = (a * dx + b * dy + half_w, c * dx + d * dy + half_h);
                if sx < 0.0 || sy < 0.0 || sx >= (w - 1) as f32 || sy >= (h - 1) as f32 {
                    continue;
                }
                let coverage = bilinear(&self.upright, w, h, sx, sy);
                let cell = &mut layer.0[y * WIDTH + x];
                *cell = cell.max(coverage);
            }
        }
    }
}

/// A 3×3 minimum (thinner strokes) or maximum (heavier strokes).
fn morph(cells: &[f32], w: usize, h: usize, pick: fn(f32, f32) -> f32) -> Vec<f32> {
    let mut out = cells.to_vec();
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let mut value = cells[y * w + x];
            for (nx, ny) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)] {
                value = pick(value, cells[ny * w + nx]);
            }
            out[y * w + x] = value;
        }
    }
    out
}

/// Displaces every pixel along two sine waves of random phase.
fn warp(flat: &Layer, random: &impl Random) -> Layer {
    let (amplitude_x, period_x, phase_x) =
        (random.between(2.5, 4.0), random.between(56.0, 80.0), random.between(0.0, TAU));
    let (amplitude_y, period_y, phase_y) =
        (random.between(3.0, 5.0), random.between(100.0, 160.0), random.between(0.0, TAU));
    let mut warped = Layer::new();
    for y in 0..HEIGHT {
        let shift_x = amplitude_x * (TAU * y as f32 / period_x + phase_x).sin();
        for x in 0..WIDTH {
            let sy = y as f32 + amplitude_y * (TAU * x as f32 / period_y + phase_y).sin();
            warped.0[y * WIDTH + x] = flat.sample(x as f32 + shift_x, sy);
        }
    }
    warped
}

/// A sine curve as wide as the strokes across the text near its `middle`: ink
/// on the background, background where it crosses a glyph.
fn cross_out(layer: &mut Layer, random: &impl Random, middle: f32) {
    let half_thickness = random.between(3.0, 3.9);
    let centre = middle + random.between(-3.0, 3.0);
    let amplitude = random.between(3.0, 6.0);
    let period = random.between(120.0, 260.0);
    let phase = random.between(0.0, TAU);
    let from = random.below(24) as usize;
    let to = WIDTH - random.below(24) as usize;
    for x in from..to {
        let curve_y = centre + amplitude * (TAU * x as f32 / period + phase).sin();
        let reach = half_thickness + 1.0;
        let (top, bottom) = ((curve_y - reach).max(0.0) as usize, ((curve_y + reach) as usize).min(HEIGHT - 1));
        for y in top..=bottom {
            let curve = (half_thickness + 0.5 - (y as f32 - curve_y).abs()).clamp(0.0, 1.0);
            let cell = &mut layer.0[y * WIDTH + x];
            *cell = *cell * (1.0 - curve) + curve * (1.0 - *cell);
        }
    }
}

/// Quantises to the background plus [`LEVELS`] shades of the ink, and writes
/// a 2-bit indexed PNG.
fn encode(picture: &Layer, background: [u8; 3], ink: [u8; 3]) -> Result<Vec<u8>, RenderError> {
    let mut palette = Vec::with_capacity(3 * (1 + LEVELS));
    palette.extend_from_slice(&background);
    for level in 1..=LEVELS {
        let alpha = level as f32 / LEVELS as f32;
        palette
            .extend(ink.iter().zip(background).map(|(&i, b)| (b as f32 + (i as f32 - b as f32) * alpha).round() as u8));
    }

    let row_bytes = WIDTH.div_ceil(4);
    let mut packed = vec![0u8; row_bytes * HEIGHT];
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let level = (picture.0[y * WIDTH + x] * LEVELS as f32).round().clamp(0.0, LEVELS as f32) as u8;
            packed[y * row_bytes + x / 4] |= level << (6 - 2 * (x % 4));
        }
    }

    let mut png_bytes = Vec::with_capacity(4096);
    let mut encoder = png::Encoder::new(&mut png_bytes, WIDTH as u32, HEIGHT as u32);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Two);
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

    /// The palette and one palette index per pixel.
    fn decode(png_bytes: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes)).read_info().unwrap();
        let palette = reader.info().palette.as_ref().unwrap().to_vec();
        let mut packed = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut packed).unwrap();
        let row_bytes = WIDTH.div_ceil(4);
        let indices = (0..WIDTH * HEIGHT)
            .map(|at| (packed[(at / WIDTH) * row_bytes + (at % WIDTH) / 4] >> (6 - 2 * (at % 4))) & 0b11)
            .collect();
        (palette, indices)
    }

    /// The pixels a threshold at half coverage keeps as ink.
    fn ink_mask(indices: &[u8]) -> Vec<bool> {
        indices.iter().map(|&i| i as usize * 2 >= LEVELS).collect()
    }

    /// A morphological opening by a `size`×`size` square: what removes strokes narrower than `size`.
    fn opening(mask: &[bool], size: usize) -> Vec<bool> {
        let reach = (size / 2) as isize;
        let filter = |mask: &[bool], keep_if_all: bool| -> Vec<bool> {
            (0..mask.len())
                .map(|at| {
                    let (x, y) = ((at % WIDTH) as isize, (at / WIDTH) as isize);
                    let mut window = (-reach..=reach).flat_map(|dy| (-reach..=reach).map(move |dx| (x + dx, y + dy)));
                    let inside = |(nx, ny): (isize, isize)| {
                        nx >= 0
                            && ny >= 0
                            && nx < WIDTH as isize
                            && ny < HEIGHT as isize
                            && mask[ny as usize * WIDTH + nx as usize]
                    };
                    if keep_if_all { window.all(inside) } else { window.any(inside) }
                })
                .collect()
        };
        filter(&filter(mask, true), false)
    }

    /// 8-connected pieces of a mask, ignoring specks under 2 % of its pixels:
    /// what a segmenting attack sees.
    fn pieces(mask: &[bool]) -> usize {
        let inked = |at: usize| mask[at];
        let least = mask.iter().filter(|&&m| m).count() / 50;
        let mut seen = vec![false; mask.len()];
        let mut count = 0;
        for start in 0..mask.len() {
            if seen[start] || !inked(start) {
                continue;
            }
            let (mut stack, mut size) = (vec![start], 0);
            seen[start] = true;
            while let Some(at) = stack.pop() {
                size += 1;
                let (x, y) = ((at % WIDTH) as isize, (at / WIDTH) as isize);
                for (dx, dy) in [(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)] {
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < 0 || ny < 0 || nx >= WIDTH as isize || ny >= HEIGHT as isize {
                        continue;
                    }
                    let next = ny as usize * WIDTH + nx as usize;
                    if !seen[next] && inked(next) {
                        seen[next] = true;
                        stack.push(next);
                    }
                }
            }
            count += usize::from(size >= least);
        }
        count
    }

    #[test]
    fn the_font_has_a_glyph_for_every_alphabet_character() {
        for &c in ALPHABET {
            assert_ne!(FONT.glyph_id(c as char).0, 0, "no glyph for {}", c as char);
        }
    }

    #[test]
    fn a_captcha_is_a_240_by_88_png() {
        let random = SeededRandom::new(11);
        let png_bytes = render(&text(&random), &random).unwrap();
        let reader = png::Decoder::new(std::io::Cursor::new(png_bytes)).read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (240, 88));
    }

    #[test]
    fn captchas_stay_within_6_kb() {
        let random = SeededRandom::new(12);
        for _ in 0..100 {
            let size = render(&text(&random), &random).unwrap().len();
            assert!(size <= 6 * 1024, "{size} bytes");
        }
    }

    #[test]
    fn every_palette_entry_is_a_shade_of_the_one_ink() {
        let random = SeededRandom::new(14);
        for _ in 0..20 {
            let (palette, _) = decode(&render(&text(&random), &random).unwrap());
            assert_eq!(palette.len(), 3 * (1 + LEVELS), "background plus the shades, nothing per glyph");
            let (background, ink) = (&palette[..3], &palette[3 * LEVELS..]);
            for level in 1..=LEVELS {
                for channel in 0..3 {
                    let (b, i) = (background[channel] as f32, ink[channel] as f32);
                    let expected = b + (i - b) * level as f32 / LEVELS as f32;
                    assert!((palette[3 * level + channel] as f32 - expected).abs() <= 1.0);
                }
            }
        }
    }

    #[test]
    fn the_ink_hangs_together_instead_of_falling_apart_into_letters() {
        let random = SeededRandom::new(15);
        let runs = 100;
        let counts: Vec<usize> =
            (0..runs).map(|_| pieces(&ink_mask(&decode(&render(&text(&random), &random).unwrap()).1))).collect();
        let apart = counts.iter().filter(|&&n| n >= 4).count();
        assert!(apart * 5 < runs, "{apart} of {runs} fell into 4 or more pieces: {counts:?}");
    }

    #[test]
    fn an_opening_that_removes_the_clutter_breaks_the_glyphs_too() {
        let random = SeededRandom::new(16);
        let runs = 50;
        let counts: Vec<usize> = (0..runs)
            .map(|_| pieces(&opening(&ink_mask(&decode(&render(&text(&random), &random).unwrap()).1), 7)))
            .collect();
        let four = counts.iter().filter(|&&n| n == 4).count();
        assert!(four * 5 < runs, "{four} of {runs} opened into exactly four pieces: {counts:?}");
    }

    #[test]
    fn the_glyphs_cover_a_readable_share_of_the_picture() {
        let random = SeededRandom::new(13);
        for _ in 0..20 {
            let (_, indices) = decode(&render(&text(&random), &random).unwrap());
            let share = indices.iter().filter(|&&i| i != 0).count() as f32 / (WIDTH * HEIGHT) as f32;
            assert!((0.12..0.45).contains(&share), "ink covers {share}");
        }
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
