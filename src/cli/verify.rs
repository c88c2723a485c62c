use super::outln;
use motornet::verify::{verify_path, Options, Outcome};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Reference files (e.g. ../shared/reference/motornet/*.json).
    #[arg(required = true)]
    files: Vec<std::path::PathBuf>,
    /// Model to run instead of the built-in one named by each case (a file or built-in name).
    #[arg(long)]
    model: Option<String>,
    /// Use the interpreter even where a compiled model exists.
    #[arg(long)]
    interpreted: bool,
    /// Use native code compiled at run time (the JIT) even where a compiled model exists.
    #[arg(long, conflicts_with = "interpreted")]
    jit: bool,
}

/// Runs every file and prints one line per compared field; a file passes only when it compared at least
/// one element and every field is within tolerance. Files that cannot be read, do not follow their
/// schema, or are of a kind this version cannot run make the exit code non-zero.
pub fn run(a: Args) -> Result<ExitCode, motornet::Error> {
    let opts = Options {
        model: a.model,
        interpreted: a.interpreted,
        jit: a.jit,
    };
    let mut failed = 0;
    let mut compared = 0;
    let (mut files_passed, mut files_failed, mut files_unsupported) = (0, 0, 0);
    outln!(
        "{:<36} {:<32} {:<10} {:>12} {:>10}  {:<6} worst at",
        "reference",
        "model",
        "field",
        "err/(1+|r|)",
        "|err|",
        "result"
    );
    for path in &a.files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        match verify_path(path, &opts) {
            Ok(Outcome::Compared(report)) => {
                if report.fields.is_empty() {
                    outln!(
                        "{:<36} {:<32} nothing to compare  FAIL",
                        report.case,
                        report.model
                    );
                    failed += 1;
                }
                for f in &report.fields {
                    compared += 1;
                    let verdict = if f.passed() { "ok" } else { "FAIL" };
                    if !f.passed() {
                        failed += 1;
                    }
                    let worst = if f.count == 0 {
                        "no element compared"
                    } else {
                        &f.worst_at
                    };
                    outln!(
                        "{:<36} {:<32} {:<10} {:>12.3e} {:>10.3e}  {:<6} {}",
                        report.case,
                        report.model,
                        f.field,
                        f.max_scaled,
                        f.max_abs,
                        verdict,
                        worst
                    );
                }
                if report.passed() {
                    files_passed += 1;
                } else {
                    files_failed += 1;
                }
            }
            Ok(Outcome::Unsupported { kind, .. }) => {
                files_unsupported += 1;
                outln!(
                    "{name:<36} not supported by this version: {} (nothing compared)",
                    kind.describe()
                );
            }
            Err(e) => {
                failed += 1;
                files_failed += 1;
                outln!("{name:<36} error: {e}");
            }
        }
    }
    outln!(
        "{} field{} compared, {failed} failure{} (tolerance: 1e-6·(1+|reference|); path geometry and OpenSim fields: absolute, per field)",
        compared,
        if compared == 1 { "" } else { "s" },
        if failed == 1 { "" } else { "s" }
    );
    let n = a.files.len();
    outln!(
        "{n} file{}: {files_passed} passed, {files_failed} failed, {files_unsupported} unsupported",
        if n == 1 { "" } else { "s" }
    );
    Ok(
        if files_passed == n && files_failed == 0 && files_unsupported == 0 && compared > 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}
