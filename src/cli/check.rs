use super::outln;
use motornet::dsl::diag::{Report, Style};
use motornet::Plant;
use std::io::IsTerminal;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Model files or built-in model names.
    #[arg(required = true)]
    files: Vec<std::path::PathBuf>,
    /// Plain output without colours (the default when not writing to a terminal).
    #[arg(long)]
    plain: bool,
}

pub fn run(a: Args) -> Result<ExitCode, motornet::Error> {
    let style = if a.plain || !std::io::stderr().is_terminal() {
        Style::Plain
    } else {
        Style::Fancy
    };
    let mut failed = 0;
    for path in &a.files {
        let mut name = path.display().to_string();
        let builtin = path.to_str().and_then(motornet::models::builtin_source);
        if builtin.is_some() {
            name = format!("models/{name}.mnet (built-in)");
        }
        let source = match builtin {
            Some(text) => text.to_string(),
            None if std::fs::symlink_metadata(path).is_err() && !path.exists() => {
                let names: Vec<&str> = motornet::models::BUILTIN.iter().map(|b| b.0).collect();
                eprintln!(
                    "{name}: no such file, and no built-in model of that name (built-in: {})",
                    names.join(", ")
                );
                failed += 1;
                continue;
            }
            // Regular files only, at most `MAX_MODEL_BYTES`, UTF-8 (a bad byte is located as path:line:col).
            None => {
                match motornet::input::read_text(path, "model", motornet::input::MAX_MODEL_BYTES) {
                    Ok(text) => text,
                    Err(e) => {
                        eprintln!("{}", input_error(&e));
                        failed += 1;
                        continue;
                    }
                }
            }
        };
        let (model, diags) = motornet::dsl::check::compile_source(&source);
        match model {
            Some(m) if diags.is_empty() => {
                let program = motornet::dsl::lower::lower(&m);
                let (_, step_ops) = program.size(&program.step);
                outln!(
                    "{name}: ok — model `{}`: {} coordinates, {} muscles, {} parameters, {step_ops} operations per step",
                    m.name,
                    m.dof(),
                    m.muscles.len(),
                    m.params.len()
                );
            }
            _ => {
                failed += 1;
                eprint!(
                    "{}",
                    Report {
                        file_name: &name,
                        source: &source,
                        diagnostics: &diags
                    }
                    .render(style)
                );
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The message of a file that could not be read (without the "input error" prefix the error's `Display`
/// may add: the message already names the file).
fn input_error(e: &motornet::Error) -> String {
    match e {
        motornet::Error::Input(m) => m.clone(),
        e => e.to_string(),
    }
}

#[derive(clap::Args)]
pub struct ParamsArgs {
    /// A model file or built-in model name.
    model: String,
}

pub fn params(a: ParamsArgs) -> Result<ExitCode, motornet::Error> {
    let (plant, _) = motornet::models::load(&a.model, true)?;
    let info = plant.info();
    let width = info.params.iter().map(|p| p.name.len()).max().unwrap_or(4);
    outln!("{:width$}  {:>14}  unit", "name", "value");
    for p in &info.params {
        outln!(
            "{:width$}  {:>14}  {}",
            p.name,
            format!("{}", p.default),
            p.dim.si_unit()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct ExpandArgs {
    /// A model file or built-in model name.
    model: String,
}

pub fn expand(a: ExpandArgs) -> Result<ExitCode, motornet::Error> {
    let source = match motornet::models::builtin_source(&a.model) {
        Some(s) => s.to_string(),
        None => motornet::input::read_text(
            std::path::Path::new(&a.model),
            "model",
            motornet::input::MAX_MODEL_BYTES,
        )?,
    };
    let tokens = motornet::dsl::expand(&source, &a.model, None, quote_pub(), quote_rt(), None)
        .map_err(motornet::Error::Compile)?;
    super::print_stdout(&motornet::dsl::codegen::pretty(&tokens));
    Ok(ExitCode::SUCCESS)
}

fn quote_pub() -> motornet::dsl::TokenStream {
    "pub".parse().expect("tokens")
}

fn quote_rt() -> motornet::dsl::TokenStream {
    "::motornet::__private".parse().expect("tokens")
}
