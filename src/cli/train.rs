use super::outln;
use motornet::training::{evaluate_run, train, Hooks, Outcome, TrainConfig};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(clap::Args)]
pub struct Args {
    /// A model file or built-in model name (default: the configuration's, or `arm26`).
    model: Option<String>,
    /// Configuration file (TOML); `motornet train --print-config` shows every setting with its default.
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// Run directory (default: runs/<model>-<task>-seed<seed>).
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Continue the run in this directory from its last checkpoint, with its saved configuration
    /// (`--batches` extends the run, `--threads` changes the thread count; settings that would change
    /// what is being trained cannot be given).
    #[arg(long, conflicts_with_all = ["config", "model", "out", "seed", "overrides"])]
    resume: Option<std::path::PathBuf>,
    /// Number of training batches.
    #[arg(long)]
    batches: Option<u64>,
    /// Worker threads.
    #[arg(long)]
    threads: Option<usize>,
    #[arg(long)]
    seed: Option<u64>,
    /// Override a model parameter (`--set biceps.max_force=500`).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    overrides: Vec<String>,
    /// Print the resolved configuration and exit.
    #[arg(long)]
    print_config: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

pub fn run(a: Args) -> Result<ExitCode, motornet::Error> {
    let (dir, cfg, resume) = match &a.resume {
        Some(dir) => {
            let path = dir.join("config.toml");
            if !path.exists() {
                return Err(motornet::Error::Input(format!(
                    "{}: no such file (is {} a run directory?)",
                    path.display(),
                    dir.display()
                )));
            }
            let text = read_config(&path)?;
            let mut cfg = TrainConfig::from_toml(&text)?;
            if let Some(b) = a.batches {
                cfg.run.batches = b;
            }
            if let Some(t) = a.threads {
                // Legitimately changeable: results then differ only in the summation order of gradients.
                cfg.optim.threads = t;
            }
            (dir.clone(), cfg, true)
        }
        None => {
            let mut cfg = match &a.config {
                Some(p) => TrainConfig::from_toml(&read_config(p)?)?,
                None => TrainConfig::default(),
            };
            if let Some(m) = &a.model {
                cfg.model = m.clone();
            }
            if let Some(b) = a.batches {
                cfg.run.batches = b;
            }
            if let Some(t) = a.threads {
                cfg.optim.threads = t;
            }
            if let Some(s) = a.seed {
                cfg.optim.seed = s;
            }
            cfg.overrides.extend(a.overrides.iter().cloned());
            let stem = std::path::Path::new(&cfg.model)
                .file_stem()
                .map_or("model".into(), |s| s.to_string_lossy().into_owned());
            let dir = a.out.clone().unwrap_or_else(|| {
                format!(
                    "runs/{stem}-{}-seed{}",
                    cfg.task.build().name(),
                    cfg.optim.seed
                )
                .into()
            });
            (dir, cfg, false)
        }
    };
    if a.print_config {
        super::print_stdout(&cfg.to_toml());
        return Ok(ExitCode::SUCCESS);
    }
    if !resume && dir.join("checkpoint.safetensors").exists() {
        return Err(motornet::Error::Input(format!(
            "{} already holds a run; continue it with --resume {0} or choose another --out",
            dir.display()
        )));
    }
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // The first Ctrl-C asks the run to save a checkpoint after the current batch and stop; a second one
        // quits at once (files are written atomically, so nothing saved before is damaged).
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                eprintln!("\ninterrupted again: quitting without saving");
                std::process::exit(130);
            }
            eprintln!(
                "\ninterrupted: saving a checkpoint after this batch (Ctrl-C again to quit now)"
            );
        });
    }
    let bar = if a.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::new(cfg.run.batches);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} batches  {msg}  [{elapsed_precise} < {eta_precise}]",
            )
            .expect("template"),
        );
        b
    };
    eprintln!(
        "training `{}` on {} in {} ({} threads)",
        cfg.model,
        cfg.task.build().name(),
        dir.display(),
        cfg.optim.threads
    );
    let mut progress = |done: u64, _total: u64, loss: f64, metric: Option<f64>| {
        bar.set_position(done);
        let m = metric.map_or(String::new(), |m| format!("  eval {:.2} cm", m * 100.0));
        bar.set_message(format!("loss {loss:.4}{m}"));
    };
    let stopped = || stop.load(Ordering::SeqCst);
    let (outcome, summary) = train(
        &dir,
        &cfg,
        resume,
        Hooks {
            progress: &mut progress,
            interrupted: &stopped,
        },
    )?;
    bar.finish_and_clear();
    let metric = summary
        .final_metric
        .map_or("—".into(), |m| format!("{:.3} cm", m * 100.0));
    let metric_batch = summary
        .final_metric_batch
        .map_or(String::new(), |b| format!(" (after batch {b})"));
    match outcome {
        Outcome::Interrupted(b) => eprintln!(
            "interrupted: saved a checkpoint after batch {b}; continue with --resume {}",
            dir.display()
        ),
        Outcome::ReachedTarget => eprintln!(
            "reached the target metric after {} batches",
            summary.batches_done
        ),
        Outcome::Finished => {}
    }
    outln!(
        "{} batches in {:.1} s ({:.1} ms/batch); evaluation metric {metric}{metric_batch}; run directory {}",
        summary.batches_done,
        summary.train_seconds,
        summary.ms_per_batch,
        dir.display()
    );
    // 130 (128 + SIGINT) tells a batch script that the run was interrupted, not finished.
    Ok(match outcome {
        Outcome::Interrupted(_) => ExitCode::from(130),
        _ => ExitCode::SUCCESS,
    })
}

fn read_config(path: &std::path::Path) -> Result<String, motornet::Error> {
    motornet::input::read_text(path, "configuration", motornet::input::MAX_CONFIG_BYTES)
}

#[derive(clap::Args)]
pub struct EvalArgs {
    /// A run directory written by `motornet train`.
    run: std::path::PathBuf,
    /// Also write every evaluation reach's hidden activity, observations, actions, targets and states to
    /// RUN/eval.npz (numpy; the arrays are listed in docs/training.md).
    #[arg(long)]
    export: bool,
    /// Reaches to export (default: the run's `eval_episodes`).
    #[arg(long, requires = "export")]
    episodes: Option<usize>,
}

pub fn eval(a: EvalArgs) -> Result<ExitCode, motornet::Error> {
    if a.export {
        let path = motornet::analysis::export_run(&a.run, a.episodes)?;
        outln!("wrote {}", path.display());
    }
    let (metric, _) = evaluate_run(&a.run)?;
    outln!(
        "evaluation metric (mean endpoint-to-target distance over the final steps): {:.3} cm; plots in {}",
        metric * 100.0,
        a.run.join("plots").display()
    );
    Ok(ExitCode::SUCCESS)
}
