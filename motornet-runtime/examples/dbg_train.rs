use motornet_runtime::env::EnvConfig;
use motornet_runtime::task::RandomReach;
use motornet_runtime::train::*;
fn main() {
    let threads: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(1);
    let n: u64 = std::env::args()
        .nth(2)
        .map(|s| s.parse().unwrap())
        .unwrap_or(50);
    let mut tr = Trainer::new(
        || {
            motornet_runtime::InterpretedPlant::from_source(
                &std::fs::read_to_string("models/arm26.mnet").unwrap(),
                "arm26",
            )
            .unwrap()
        },
        || Box::new(RandomReach::default()),
        EnvConfig::default(),
        LossConfig::default(),
        OptimConfig {
            threads,
            ..Default::default()
        },
    )
    .unwrap();
    let eval_eps = tr.episodes(u64::MAX - 1, 256);
    let t0 = std::time::Instant::now();
    for b in 0..n {
        let s = tr.train_batch(b).unwrap();
        if b % 100 == 0 || b == n - 1 {
            let ev = tr.evaluate(&eval_eps, 20).unwrap();
            println!(
                "batch {b} loss {:.4} grad {:.3} eval {:.4} cm  t={:.1}s ({:.2} ms/batch)",
                s.loss,
                s.grad_norm,
                ev.metric * 100.0,
                t0.elapsed().as_secs_f64(),
                t0.elapsed().as_secs_f64() * 1e3 / (b + 1) as f64
            );
        }
    }
}
