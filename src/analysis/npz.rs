//! `.npz` archives as `numpy.savez` writes them: a zip of `.npy` files, one per named array (uncompressed,
//! so `np.load(..., mmap_mode=...)` works on the members). The `.npy` encoding is `npyz`'s, the archive
//! `zip`'s; this file only puts them together.

use npyz::WriterBuilder;
use std::io::{Cursor, Write};

/// An archive being assembled in memory; [`Npz::finish`] returns its bytes (written atomically by the
/// caller).
pub struct Npz {
    zip: zip::ZipWriter<Cursor<Vec<u8>>>,
    names: Vec<String>,
}

impl Default for Npz {
    fn default() -> Self {
        Npz {
            zip: zip::ZipWriter::new(Cursor::new(Vec::new())),
            names: Vec::new(),
        }
    }
}

fn err(name: &str, e: impl std::fmt::Display) -> crate::Error {
    crate::Error::Input(format!("writing array `{name}` of the .npz archive: {e}"))
}

impl Npz {
    fn start(&mut self, name: &str, bytes: usize) -> Result<(), crate::Error> {
        if self.names.iter().any(|n| n == name) {
            return Err(err(name, "two arrays of this name"));
        }
        self.names.push(name.to_string());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(bytes as u64 >= u32::MAX as u64 / 2);
        self.zip
            .start_file(format!("{name}.npy"), options)
            .map_err(|e| err(name, e))
    }

    /// A float64 array of the given shape (row-major `data`).
    pub fn f64(&mut self, name: &str, shape: &[usize], data: &[f64]) -> Result<(), crate::Error> {
        self.numbers(name, shape, data)
    }

    /// An int64 array of the given shape.
    pub fn i64(&mut self, name: &str, shape: &[usize], data: &[i64]) -> Result<(), crate::Error> {
        self.numbers(name, shape, data)
    }

    fn numbers<T: npyz::Serialize + npyz::AutoSerialize + Copy>(
        &mut self,
        name: &str,
        shape: &[usize],
        data: &[T],
    ) -> Result<(), crate::Error> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(err(
                name,
                format!("{} values for shape {shape:?}", data.len()),
            ));
        }
        let mut npy = Vec::with_capacity(data.len() * 8 + 128);
        let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&shape)
            .writer(&mut npy)
            .begin_nd()
            .map_err(|e| err(name, e))?;
        w.extend(data.iter().copied()).map_err(|e| err(name, e))?;
        w.finish().map_err(|e| err(name, e))?;
        self.start(name, npy.len())?;
        self.zip.write_all(&npy).map_err(|e| err(name, e))
    }

    /// A one-dimensional array of unicode strings (numpy dtype `<U{longest}`).
    pub fn strings(&mut self, name: &str, items: &[String]) -> Result<(), crate::Error> {
        let width = items
            .iter()
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
            .max(1);
        let dtype: npyz::TypeStr = format!("<U{width}").parse().map_err(|e| err(name, e))?;
        let mut npy = Vec::new();
        let mut w = npyz::WriteOptions::<String>::new()
            .dtype(npyz::DType::Plain(dtype))
            .shape(&[items.len() as u64])
            .writer(&mut npy)
            .begin_nd()
            .map_err(|e| err(name, e))?;
        w.extend(items.iter().cloned()).map_err(|e| err(name, e))?;
        w.finish().map_err(|e| err(name, e))?;
        self.start(name, npy.len())?;
        self.zip.write_all(&npy).map_err(|e| err(name, e))
    }

    /// The archive's bytes.
    pub fn finish(self) -> Result<Vec<u8>, crate::Error> {
        self.zip
            .finish()
            .map(Cursor::into_inner)
            .map_err(|e| crate::Error::Input(format!("finishing the .npz archive: {e}")))
    }
}
