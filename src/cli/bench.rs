use super::outln;
use motornet::bench::{expansion_ms, plant_figures};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// A model file or built-in model name.
    #[arg(default_value = "arm26")]
    model: String,
    /// Use the interpreter even for a built-in model.
    #[arg(long)]
    interpreted: bool,
    /// Use native code compiled at run time (the JIT) even for a built-in model; model files other than
    /// the built-in ones run on it by default.
    #[arg(long, conflicts_with = "interpreted")]
    jit: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Skip the training-batch measurement (it takes a few seconds).
    #[arg(long)]
    no_train: bool,
}

pub fn run(a: Args) -> Result<ExitCode, motornet::Error> {
    let choice = motornet::models::Choice::from_flags(a.interpreted, a.jit);
    // Fail early on a bad model; which backend it runs on is said with the figures.
    let (first, backend) = motornet::models::load_as(&a.model, choice)?;
    // Native code generation of the whole model, uncached (the plants below share cached code).
    let jit_compile_ms = match backend {
        motornet::models::Backend::Jit => {
            let (text, file, _) = motornet::models::model_source(&a.model)?;
            let plant = motornet::InterpretedPlant::from_source(&text, &file)?;
            motornet::jit::compile_seconds(plant.program())
                .ok()
                .map(|s| s * 1e3)
        }
        _ => None,
    };
    drop(first);
    let model = a.model.clone();
    let make = move || {
        motornet::models::load_as(&model, choice)
            .expect("loaded above")
            .0
    };
    let plant = plant_figures(&a.model, &make, &[1, 32, 1024]);
    let expand = motornet::models::source("arm26")
        .map(expansion_ms)
        .unwrap_or(f64::NAN);
    let step1 = plant.steps.iter().find(|s| s.batch == 1).expect("batch 1");
    // The best batch-1024 figure without the NaN check (all threads where that helps).
    let step1024 = plant
        .steps
        .iter()
        .filter(|s| s.batch == 1024 && !s.check_finite)
        .max_by(|a, b| a.effector_steps_per_s.total_cmp(&b.effector_steps_per_s))
        .expect("batch 1024");
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let train: Vec<(usize, f64)> = if a.no_train {
        Vec::new()
    } else {
        let mut counts = vec![1];
        if all > 1 {
            counts.push(all);
        }
        counts
            .into_iter()
            .map(|t| motornet::bench::train_batch_ms("arm26", t, 10).map(|ms| (t, ms)))
            .collect::<Result<_, _>>()?
    };
    let best_train = train.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1));
    if a.json {
        let out = serde_json::json!({
            "model": a.model,
            "backend": backend.name(),
            "jit_compile_ms": jit_compile_ms,
            "step_batch1_ns": step1.ns_per_effector_step,
            "step_batch1_threads": step1.threads,
            "step_batch1024_effector_steps_per_s": step1024.effector_steps_per_s,
            "step_batch1024_threads": step1024.threads,
            "adjoint_over_primal": plant.adjoint_over_primal,
            "adjoint_threads": 1,
            "train_batch_ms": best_train.map(|t| t.1),
            "train_batch_threads": best_train.map(|t| t.0),
            "train_batch_ms_by_threads": train,
            "plant": plant,
            "macro_expansion_arm26_ms": expand,
        });
        outln!("{}", serde_json::to_string_pretty(&out).expect("json"));
        return Ok(ExitCode::SUCCESS);
    }
    outln!("motornet bench: {} ({})", a.model, backend.name());
    outln!(
        "{:<44} {:>14} {:>20}",
        "workload",
        "ns/effector-step",
        "effector-steps/s"
    );
    for s in &plant.steps {
        outln!(
            "{:<44} {:>14.1} {:>20.0}",
            format!(
                "plant step, batch {}, {} thread{}{}",
                s.batch,
                s.threads,
                if s.threads == 1 { "" } else { "s" },
                if s.check_finite { ", NaN check" } else { "" }
            ),
            s.ns_per_effector_step,
            s.effector_steps_per_s
        );
    }
    outln!(
        "{:<44} {:>14.1}",
        "primal step (one effector)",
        plant.primal_step_ns
    );
    outln!(
        "{:<44} {:>14.1}   adjoint/primal = {:.2}",
        "adjoint step (one effector)",
        plant.adjoint_step_ns,
        plant.adjoint_over_primal
    );
    for r in &plant.rollout_gradient_100 {
        outln!(
            "{:<44} {:>11.3} ms",
            format!(
                "100-step rollout gradient, batch {}, {} thread{}",
                r.batch,
                r.threads,
                if r.threads == 1 { "" } else { "s" }
            ),
            r.ms
        );
    }
    for (t, ms) in &train {
        let label = format!(
            "training batch (GRU 128, b32, 100 steps), {t} thread{}",
            if *t == 1 { "" } else { "s" }
        );
        outln!("{label:<44} {ms:>11.3} ms");
    }
    outln!(
        "{:<44} {:>11.3} ms",
        "model! expansion of models/arm26.mnet",
        expand
    );
    if let Some(ms) = jit_compile_ms {
        outln!(
            "{:<44} {:>11.3} ms",
            "JIT compile (reset, step, adjoint, tangent)",
            ms
        );
    }
    Ok(ExitCode::SUCCESS)
}
