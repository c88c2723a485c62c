//! `motornet analyze RUN`: the trained network's activity, as figures and `analysis.json`.

use super::outln;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// A run directory written by `motornet train`.
    run: std::path::PathBuf,
    /// Reaches to rerun (drawn from the run's task, the evaluation reaches first).
    #[arg(long, default_value_t = 256)]
    episodes: usize,
    /// Reach-direction groups for the population trajectories and activity maps.
    #[arg(long, default_value_t = 8)]
    bins: usize,
    /// Where the figures and analysis.json go (default: RUN/analysis).
    #[arg(long, short)]
    out: Option<std::path::PathBuf>,
    /// Average each reach's activity over its first STEPS steps (after the go cue) instead of all of it.
    #[arg(long, value_name = "STEPS")]
    window: Option<usize>,
    /// Probe with centre-out reaches from this joint state (positions, comma-separated; velocities 0)
    /// instead of the run's own task.
    #[arg(long, value_delimiter = ',', value_name = "Q1,Q2,…")]
    centre_out: Option<Vec<f64>>,
    /// Targets of the centre-out probe, evenly spaced on a circle.
    #[arg(long, default_value_t = 16, requires = "centre_out")]
    targets: usize,
    /// Radius of the centre-out probe's circle of targets, m.
    #[arg(long, default_value_t = 0.1, requires = "centre_out")]
    radius: f64,
}

pub fn run(a: Args) -> Result<ExitCode, motornet::Error> {
    let out = a.out.unwrap_or_else(|| a.run.join("analysis"));
    let probe = motornet::analysis::Probe {
        episodes: a.episodes,
        bins: a.bins,
        window: a.window,
        task: a
            .centre_out
            .map(|start_joint| motornet::config::TaskConfig::CentreOut {
                start_joint,
                n_targets: a.targets,
                radius: a.radius,
                curl: 0.0,
            }),
    };
    let (analysis, written) = motornet::analysis::analyze_run(&a.run, &probe, &out)?;
    let pd = &analysis.preferred_directions;
    outln!(
        "{} of {} units directionally tuned (cosine fit R² ≥ {}); their preferred directions: r1 = {:.3} \
         (Rayleigh p = {:.2e}), r2 = {:.3} (bimodal along {:.0}°, p = {:.2e})",
        analysis.tuned_units,
        analysis.hidden,
        motornet::analysis::TUNED_R2,
        pd.r1,
        pd.p_unimodal,
        pd.r2,
        pd.axis.to_degrees(),
        pd.p_bimodal
    );
    let explained: Vec<String> = analysis
        .explained_variance
        .iter()
        .map(|v| format!("{:.1} %", 100.0 * v))
        .collect();
    outln!(
        "variance explained by the first principal components: {}",
        explained.join(", ")
    );
    outln!("wrote {} files in {}", written.len(), out.display());
    Ok(ExitCode::SUCCESS)
}
