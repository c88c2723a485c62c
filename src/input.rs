//! Reading the files a user or a script hands the program: regular files only, bounded in size, and text
//! checked as UTF-8 with the location of the first bad byte. An endless or huge input (`/dev/zero`, a
//! runaway export script) is refused before it is read into memory.

use crate::Error;
use std::io::Read;
use std::path::Path;

/// Largest model file read (a generated model of thousands of bodies is well under this).
pub const MAX_MODEL_BYTES: u64 = 32 << 20;
/// Largest configuration file read.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// Largest reference, summary or log file read.
pub const MAX_DATA_BYTES: u64 = 512 << 20;

/// The bytes of the regular file at `path`, refusing anything larger than `max` bytes. `what` names the
/// kind of file in messages ("model", "configuration").
pub fn read_bytes(path: &Path, what: &str, max: u64) -> Result<Vec<u8>, Error> {
    let fail = |msg: String| Error::Input(format!("{}: {msg}", path.display()));
    let file =
        std::fs::File::open(path).map_err(|e| fail(format!("cannot read the {what}: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| fail(format!("cannot read the {what}: {e}")))?;
    if !meta.is_file() {
        return Err(fail(format!(
            "the {what} must be a regular file (this is a {})",
            kind_of(&meta)
        )));
    }
    if meta.len() > max {
        return Err(fail(format!(
            "the {what} is {} bytes, more than the {max} bytes accepted",
            meta.len()
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // `take` guards against a file that grows while it is read.
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read the {what}: {e}")))?;
    if bytes.len() as u64 > max {
        return Err(fail(format!(
            "the {what} is larger than the {max} bytes accepted"
        )));
    }
    Ok(bytes)
}

/// The text of the regular file at `path` (see [`read_bytes`]); text that is not UTF-8 is refused with
/// the line and column of the first bad byte.
pub fn read_text(path: &Path, what: &str, max: u64) -> Result<String, Error> {
    let bytes = read_bytes(path, what, max)?;
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        // The prefix up to `at` is valid UTF-8 by definition.
        let before = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
        // Lines end at `\n`, `\r\n` or a lone `\r`, as the model parser counts them.
        let line = before.replace("\r\n", "\n").matches(['\n', '\r']).count() + 1;
        let col = before
            .rsplit(['\n', '\r'])
            .next()
            .map_or(0, |l| l.chars().count())
            + 1;
        Error::Input(format!(
            "{}:{line}:{col}: the {what} is not UTF-8 text (byte 0x{:02x}); save it as UTF-8",
            path.display(),
            bytes[at]
        ))
    })
}

/// `text` cut to its first `max` characters with an ellipsis, for echoing user input in messages.
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    if meta.is_dir() {
        return "directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_char_device() || t.is_block_device() {
            return "device";
        }
        if t.is_fifo() {
            return "pipe";
        }
        if t.is_socket() {
            return "socket";
        }
    }
    "special file"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("motornet-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn endless_devices_and_directories_are_refused_before_reading() {
        let e = read_bytes(Path::new("/dev/zero"), "model", MAX_MODEL_BYTES).unwrap_err();
        assert!(e.to_string().contains("regular file"), "{e}");
        assert!(e.to_string().contains("device"), "{e}");
        let e = read_bytes(Path::new("/"), "model", MAX_MODEL_BYTES).unwrap_err();
        assert!(e.to_string().contains("directory"), "{e}");
    }

    #[test]
    fn files_over_the_cap_are_refused() {
        let p = temp("big.toml", &[b'#'; 100]);
        let e = read_bytes(&p, "configuration", 99).unwrap_err();
        assert!(e.to_string().contains("100 bytes"), "{e}");
        assert_eq!(read_bytes(&p, "configuration", 100).unwrap().len(), 100);
    }

    #[test]
    fn bad_utf8_is_located() {
        let p = temp("latin1.mnet", b"model m {\n  body \xe9 { }\n}\n");
        let e = read_text(&p, "model", MAX_MODEL_BYTES).unwrap_err();
        assert!(e.to_string().contains("latin1.mnet:2:8:"), "{e}");
        assert!(e.to_string().contains("0xe9"), "{e}");
        // CR-only and CRLF line ends count as one line end each.
        let p = temp("cr.mnet", b"model m {\r\r\n  body \xe9 { }\r}\r");
        let e = read_text(&p, "model", MAX_MODEL_BYTES).unwrap_err();
        assert!(e.to_string().contains("cr.mnet:3:8:"), "{e}");
    }
}
