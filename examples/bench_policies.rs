//! Training-batch time of every network kind on the reference workload (arm26, random reaches, 128 units,
//! batch 32, 100 steps, Adam, L1 loss), as ratios to the one-layer GRU measured in the same run. The kinds
//! take turns batch by batch, so a change in the machine's load affects them alike.
//!
//! ```sh
//! cargo run --release --example bench_policies                 # 30 rounds, 1 thread
//! cargo run --release --example bench_policies -- --rounds 60 --threads 2
//! ```

use motornet::runtime::policy::PolicyConfig;
use motornet::training::TrainConfig;
use std::time::Instant;

mod common;
use common::flag;

fn policy(toml: &str) -> PolicyConfig {
    TrainConfig::from_toml(&format!("[policy]\n{toml}"))
        .expect("a valid [policy] table")
        .policy
}

fn main() -> Result<(), motornet::Error> {
    let rounds: usize = flag("rounds", 30);
    let threads: usize = flag("threads", 1);
    let kinds = [
        ("gru", policy("kind = \"gru\"")),
        ("lstm", policy("kind = \"lstm\"")),
        ("rnn (tanh)", policy("kind = \"rnn\"")),
        ("ctrnn", policy("kind = \"ctrnn\"\ntau = 0.05")),
        ("gru, 2 layers", policy("kind = \"gru\"\nlayers = 2")),
        (
            "modular_gru, dense",
            policy("kind = \"modular_gru\"\nmodule_size = [64, 64]"),
        ),
        (
            "modular_gru, 50 % sparse",
            policy(
                "kind = \"modular_gru\"\nmodule_size = [64, 64]\n\
                 connectivity_mask = [[0.5, 0.5], [0.5, 0.5]]",
            ),
        ),
        (
            "modular_gru, delays 2",
            policy(
                "kind = \"modular_gru\"\nmodule_size = [64, 64]\n\
                 connectivity_delay = [[0, 2], [2, 0]]",
            ),
        ),
    ];
    let mut trainers = Vec::new();
    for (name, p) in &kinds {
        let mut cfg = TrainConfig {
            policy: p.clone(),
            ..TrainConfig::default()
        };
        cfg.optim.threads = threads;
        let mut t = cfg.trainer()?;
        // Warm-up: allocation, caches, the thread team.
        for b in 0..2 {
            t.train_batch(b)?;
        }
        trainers.push((*name, t, Vec::new()));
    }
    for round in 0..rounds {
        for (_, t, times) in trainers.iter_mut() {
            let start = Instant::now();
            t.train_batch(2 + round as u64)?;
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let medians: Vec<(&str, f64)> = trainers
        .iter_mut()
        .map(|(name, _, times)| (*name, median(times)))
        .collect();
    let gru = medians[0].1;
    println!(
        "training batch, arm26, 128 units, batch 32, 100 steps, {threads} thread(s), median of {rounds}"
    );
    println!("{:<28} {:>10} {:>10}", "network", "ms/batch", "× GRU");
    for (name, ms) in medians {
        println!("{name:<28} {ms:>10.2} {:>10.2}", ms / gru);
    }
    Ok(())
}
