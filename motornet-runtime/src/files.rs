//! Files that hold work: written atomically, so that an interruption at any instant leaves either the old
//! file or the new one, never a partial one; and the fault points the crash tests use to prove it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Writes `bytes` to `path` atomically (see [`AtomicFile`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)?;
    f.commit()
}

/// A file written in place of `path` atomically: into a temporary file next to it (`.NAME.tmpPID.N`),
/// then, on [`AtomicFile::commit`], flushed to disk, renamed over `path`, and the directory synced so the
/// rename is durable. Dropped without a commit (an error, a full disk), it removes its temporary file;
/// only a killed process can leave one, which [`is_temporary`] recognises.
pub struct AtomicFile {
    file: Option<std::io::BufWriter<std::fs::File>>,
    tmp: PathBuf,
    path: PathBuf,
}

impl AtomicFile {
    pub fn create(path: &Path) -> std::io::Result<AtomicFile> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = parent(path);
        let name = path.file_name().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{} is not a file path", path.display()),
            )
        })?;
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(
            ".{}.tmp{}.{n}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = std::fs::File::create(&tmp)?;
        Ok(AtomicFile {
            file: Some(std::io::BufWriter::new(file)),
            tmp,
            path: path.to_path_buf(),
        })
    }

    /// Makes the written bytes the contents of the destination.
    pub fn commit(mut self) -> std::io::Result<()> {
        let file = self.file.take().expect("not yet committed");
        let file = file
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        file.sync_all()?;
        drop(file);
        fault_point("before rename");
        std::fs::rename(&self.tmp, &self.path)?;
        // Not every platform lets a directory be opened and synced.
        if let Ok(d) = std::fs::File::open(parent(&self.path)) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.as_mut().expect("not yet committed").write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.as_mut().expect("not yet committed").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() || self.tmp.exists() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Whether a file name is one of [`write_atomic`]'s temporaries (`.NAME.tmpPID.N`).
pub fn is_temporary(name: &str) -> bool {
    let Some((_, tail)) = name.rsplit_once(".tmp") else {
        return false;
    };
    name.starts_with('.')
        && tail
            .split_once('.')
            .is_some_and(|(pid, n)| all_digits(pid) && all_digits(n))
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The environment variable that arms a fault point: `MOTORNET_FAULT=NAME@N` aborts the process (as
/// `kill -9` would end it) the `N`-th time, counting from 1, that the point `NAME` is reached.
pub const FAULT_VAR: &str = "MOTORNET_FAULT";

/// A named point in code that writes files, where the crash tests can abort the process. Unarmed, it
/// costs one check of a value read once.
pub fn fault_point(name: &str) {
    static ARMED: OnceLock<Option<(String, u64)>> = OnceLock::new();
    static HITS: AtomicU64 = AtomicU64::new(0);
    let armed = ARMED.get_or_init(|| {
        let spec = std::env::var(FAULT_VAR).ok()?;
        let (point, n) = spec.rsplit_once('@')?;
        Some((point.to_string(), n.parse().ok()?))
    });
    if let Some((point, n)) = armed {
        if point == name && HITS.fetch_add(1, Ordering::Relaxed) + 1 == *n {
            eprintln!("fault injection: aborting at `{name}` (hit {n})");
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporaries_are_recognised() {
        assert!(is_temporary(".log.csv.tmp123.0"));
        assert!(!is_temporary("log.csv"));
        assert!(!is_temporary(".log.csv.tmp"));
        assert!(!is_temporary("notes.tmp1.2"));
    }

    #[test]
    fn a_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("motornet-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.txt"]);
        // A write into a missing directory fails cleanly.
        assert!(write_atomic(&dir.join("missing/b.txt"), b"x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
