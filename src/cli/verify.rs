use motornet::verify::{verify_file, Options};
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
}

pub fn run(a: Args) -> Result<ExitCode, motornet::Error> {
    let opts = Options {
        model: a.model,
        interpreted: a.interpreted,
    };
    let mut failed = 0;
    let mut compared = 0;
    println!(
        "{:<36} {:<32} {:<10} {:>12} {:>10}  {:<6} worst at",
        "reference", "model", "field", "err/(1+|r|)", "|err|", "result"
    );
    for path in &a.files {
        match verify_file(path, &opts) {
            Ok(report) => {
                if report.fields.is_empty() {
                    println!(
                        "{:<36} {:<32} nothing to compare",
                        report.case, report.model
                    );
                    failed += 1;
                }
                for f in &report.fields {
                    compared += 1;
                    let verdict = if f.passed() { "ok" } else { "FAIL" };
                    if !f.passed() {
                        failed += 1;
                    }
                    println!(
                        "{:<36} {:<32} {:<10} {:>12.3e} {:>10.3e}  {:<6} {}",
                        report.case,
                        report.model,
                        f.field,
                        f.max_scaled,
                        f.max_abs,
                        verdict,
                        f.worst_at
                    );
                }
            }
            Err(e) => {
                failed += 1;
                println!(
                    "{:<36} error: {e}",
                    path.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                );
            }
        }
    }
    println!(
        "{} field{} compared, {failed} failure{} (tolerance: 1e-6·(1+|reference|))",
        compared,
        if compared == 1 { "" } else { "s" },
        if failed == 1 { "" } else { "s" }
    );
    Ok(if failed == 0 && compared > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
