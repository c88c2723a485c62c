//! Drawing a figure to PNG (supersampled, then downsampled) and SVG, and writing both atomically.

use super::*;

/// The PNG is drawn at this multiple of its size and then downsampled, which anti-aliases the
/// lines (plotters' bitmap backend draws them aliased).
pub(super) const SUPERSAMPLE: u32 = 2;

pub(super) type Drawn = Result<(), String>;

/// Pixel scale of a drawing: every size in pixels (fonts, margins, line widths, markers) is
/// multiplied by `k`, so a figure drawn with `k = 2` on a canvas twice as large looks the same.
///
/// `raster` is set for the bitmap backend, whose wide polylines need special care (see
/// [`draw_runs`]).
#[derive(Clone, Copy)]
pub(super) struct Px {
    pub(super) k: u32,
    pub(super) raster: bool,
}

impl Px {
    pub(super) fn n(self, v: u32) -> u32 {
        v * self.k
    }
    pub(super) fn i(self, v: i32) -> i32 {
        v * self.k as i32
    }
    pub(super) fn font(self, size: u32, color: RGBColor) -> TextStyle<'static> {
        ("sans-serif", self.n(size)).into_font().color(&color)
    }
}

/// A figure that can be drawn onto any plotters backend.
pub(super) trait Figure {
    /// Size of the figure in (unscaled) pixels.
    fn size(&self) -> (u32, u32) {
        FIGURE_SIZE
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, px: Px) -> Drawn;
}

/// Turns plotters' errors (generic over the backend) into messages.
pub(super) trait OrMessage<T> {
    fn msg(self) -> Result<T, String>;
}

impl<T, E: Display> OrMessage<T> for Result<T, E> {
    fn msg(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

pub(super) fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        // Every generic family maps to the one embedded font, so no text can miss a font.
        ["sans-serif", "serif", "monospace"]
            .iter()
            .all(|family| plotters::style::register_font(family, FontStyle::Normal, FONT).is_ok())
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

pub(super) fn render<F: Figure>(
    dir: &Path,
    stem: &str,
    figure: &F,
) -> Result<Vec<PathBuf>, PlotError> {
    if stem.is_empty() || stem.contains(['/', '\\']) || stem == "." || stem == ".." {
        return Err(PlotError::BadStem(stem.to_string()));
    }
    ensure_font()?;
    let png_path = dir.join(format!("{stem}.png"));
    let svg_path = dir.join(format!("{stem}.svg"));
    let (w, h) = figure.size();
    let draw_error = |file: &str| {
        let file = file.to_string();
        move |message| PlotError::Draw { file, message }
    };

    let (sw, sh) = (w * SUPERSAMPLE, h * SUPERSAMPLE);
    let mut pixels = vec![255u8; sw as usize * sh as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (sw, sh)).into_drawing_area();
        figure
            .draw(
                &root,
                Px {
                    k: SUPERSAMPLE,
                    raster: true,
                },
            )
            .and_then(|()| root.present().msg())
            .map_err(draw_error(&format!("{stem}.png")))?;
    }
    let pixels = downsample(&pixels, sw, sh, SUPERSAMPLE);
    let png = encode_png(&pixels, w, h).map_err(|message| PlotError::Encode {
        file: png_path.clone(),
        message,
    })?;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        figure
            .draw(
                &root,
                Px {
                    k: 1,
                    raster: false,
                },
            )
            .and_then(|()| root.present().msg())
            .map_err(draw_error(&format!("{stem}.svg")))?;
    }

    std::fs::create_dir_all(dir).map_err(|source| PlotError::Io {
        path: dir.to_path_buf(),
        action: "create plot directory",
        source,
    })?;
    write_atomic(&png_path, &png)?;
    write_atomic(&svg_path, svg.as_bytes())?;
    Ok(vec![png_path, svg_path])
}

/// Average `k`×`k` blocks of an RGB image of `w`×`h` pixels.
pub(super) fn downsample(rgb: &[u8], w: u32, h: u32, k: u32) -> Vec<u8> {
    let (w, h, k) = (w as usize, h as usize, k as usize);
    let (ow, oh) = (w / k, h / k);
    let mut out = Vec::with_capacity(ow * oh * 3);
    for oy in 0..oh {
        for ox in 0..ow {
            let mut sum = [0u32; 3];
            for y in oy * k..(oy + 1) * k {
                for x in ox * k..(ox + 1) * k {
                    let p = (y * w + x) * 3;
                    for (s, &v) in sum.iter_mut().zip(&rgb[p..p + 3]) {
                        *s += u32::from(v);
                    }
                }
            }
            let n = (k * k) as u32;
            out.extend(sum.iter().map(|&s| ((s + n / 2) / n) as u8));
        }
    }
    out
}

pub(super) fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().msg()?;
    writer.write_image_data(rgb).msg()?;
    writer.finish().msg()?;
    Ok(out)
}

pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PlotError> {
    crate::runtime::files::write_atomic(path, bytes).map_err(|source| PlotError::Io {
        path: path.to_path_buf(),
        action: "write",
        source,
    })
}
