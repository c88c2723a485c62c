//! A bounded, deterministic mutation fuzzer for the file readers, run on every `cargo test` (cargo-fuzz
//! needs a nightly toolchain; its targets are in `fuzz/`). Seed inputs are small real references
//! (`tests/fuzz_seeds/*.json`, trimmed copies of the vendored ones) and training configurations
//! (`tests/fuzz_seeds/*.toml`); each iteration applies a few byte-level mutations — bit flips, inserted and
//! deleted bytes, splices from other seeds, truncation, numbers replaced by huge, tiny, negative,
//! non-finite or out-of-range values, duplicated keys, swapped brackets, deep nesting — and feeds the
//! result to the reader. A reader may refuse an input but must never panic. An input that panics is
//! saved under `$CARGO_TARGET_TMPDIR/fuzz-failures/` for reproduction and the test fails naming it.
//!
//! The iteration counts are fixed (not time-bounded) so that a run is reproducible; `MOTORNET_FUZZ_ITERS`
//! raises them for a longer local run and `MOTORNET_FUZZ_SEED` changes the stream.

use motornet::training::TrainConfig;
use motornet::verify::{check_text, parse_json, verify_path, verify_text, Options, Outcome};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

const REFERENCES: &[(&str, &str)] = &[
    (
        "trajectory_pointmass24_relu.json",
        include_str!("fuzz_seeds/trajectory_pointmass24_relu.json"),
    ),
    (
        "trajectory_arm26_rigid_kistemaker.json",
        include_str!("fuzz_seeds/trajectory_arm26_rigid_kistemaker.json"),
    ),
    (
        "trajectory_chain3_torque_rk4.json",
        include_str!("fuzz_seeds/trajectory_chain3_torque_rk4.json"),
    ),
    (
        "wrap_elbow.json",
        include_str!("fuzz_seeds/wrap_elbow.json"),
    ),
    (
        "pointmass24_relu.grad.json",
        include_str!("fuzz_seeds/pointmass24_relu.grad.json"),
    ),
    ("gru_small.json", include_str!("fuzz_seeds/gru_small.json")),
];

const CONFIGS: &[(&str, &str)] = &[
    (
        "train_centre_out.toml",
        include_str!("fuzz_seeds/train_centre_out.toml"),
    ),
    (
        "train_delayed_reach.toml",
        include_str!("fuzz_seeds/train_delayed_reach.toml"),
    ),
    ("empty.toml", ""),
    (
        "random_reach.toml",
        "model = \"arm26\"\n[task]\nkind = \"random_reach\"\ncurl = 5.0\n[optim]\nhidden = 8\n[run]\nbatches = 3\n",
    ),
];

/// Values that break naive number handling.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-1",
    "1e308",
    "-1e308",
    "1e999",
    "-1e999",
    "1e-320",
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775809",
    "4294967296",
    "1000000000000",
    "2.5",
    "3",
    "1e3",
    "0x10",
];
/// Values of other types, to put where a number or list belongs.
const VALUES: &[&str] = &[
    "null",
    "true",
    "false",
    "\"x\"",
    "[]",
    "{}",
    "[[]]",
    "[null]",
    "\"\"",
    "[1,2]",
    "{\"a\":1}",
];
const STRUCTURE: &[u8] = b"{}[],:\"'=\n\\ .-+e0123456789#";

fn iterations(default: usize) -> usize {
    std::env::var("MOTORNET_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn rng_for(name: &str) -> ChaCha8Rng {
    let base: u64 = std::env::var("MOTORNET_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x6d6f_746f_726e_6574);
    let h = name
        .bytes()
        .fold(base, |h, b| h.rotate_left(5) ^ u64::from(b));
    ChaCha8Rng::seed_from_u64(h)
}

/// Byte ranges of the numbers in `s` (a run of digits with sign, point and exponent).
fn number_spans(s: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i].is_ascii_digit() || (s[i] == b'-' && s.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let start = i;
            i += 1;
            while i < s.len() && (s[i].is_ascii_digit() || b".eE+-".contains(&s[i])) {
                i += 1;
            }
            out.push((start, i));
        } else {
            i += 1;
        }
    }
    out
}

fn splice(v: &mut Vec<u8>, at: usize, remove: usize, insert: &[u8]) {
    let at = at.min(v.len());
    let end = (at + remove).min(v.len());
    v.splice(at..end, insert.iter().copied());
}

/// One to four random mutations of `input`; `pool` supplies splices.
fn mutate(rng: &mut ChaCha8Rng, input: &[u8], pool: &[&str]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let len = v.len();
        let pos = if len == 0 {
            0
        } else {
            rng.random_range(0..len)
        };
        match rng.random_range(0..12) {
            0 if len > 0 => v[pos] ^= 1 << rng.random_range(0..8),
            1 => {
                let b = if rng.random_bool(0.7) {
                    STRUCTURE[rng.random_range(0..STRUCTURE.len())]
                } else {
                    rng.random()
                };
                v.insert(pos, b);
            }
            2 => splice(&mut v, pos, rng.random_range(1..32), b""),
            3 => {
                let other = pool[rng.random_range(0..pool.len())].as_bytes();
                if !other.is_empty() {
                    let a = rng.random_range(0..other.len());
                    let b = (a + rng.random_range(1..256)).min(other.len());
                    splice(&mut v, pos, rng.random_range(0..16), &other[a..b]);
                }
            }
            4 => v.truncate(pos),
            5 | 6 => {
                let spans = number_spans(&v);
                if !spans.is_empty() {
                    let (a, b) = spans[rng.random_range(0..spans.len())];
                    let n = NUMBERS[rng.random_range(0..NUMBERS.len())];
                    splice(&mut v, a, b - a, n.as_bytes());
                }
            }
            7 => {
                // Duplicate a key: `"k":` (JSON) or `k =` (TOML) inserted again before itself.
                let keys: Vec<usize> = (0..len)
                    .filter(|&i| v[i] == b':' && i > 0 && v[i - 1] == b'"' || v[i] == b'=')
                    .collect();
                if !keys.is_empty() {
                    let end = keys[rng.random_range(0..keys.len())];
                    let start = if v[end] == b':' {
                        v[..end - 1].iter().rposition(|&c| c == b'"').unwrap_or(0)
                    } else {
                        v[..end]
                            .iter()
                            .rposition(|&c| c == b'\n')
                            .map_or(0, |p| p + 1)
                    };
                    let mut dup = v[start..=end].to_vec();
                    if v[end] == b':' {
                        dup.extend_from_slice(VALUES[rng.random_range(0..VALUES.len())].as_bytes());
                        dup.push(b',');
                    } else {
                        dup.extend_from_slice(b" 1\n");
                    }
                    splice(&mut v, start, 0, &dup);
                }
            }
            8 => {
                // Replace a number by a value of another type.
                let spans = number_spans(&v);
                if !spans.is_empty() {
                    let (a, b) = spans[rng.random_range(0..spans.len())];
                    let x = VALUES[rng.random_range(0..VALUES.len())];
                    splice(&mut v, a, b - a, x.as_bytes());
                }
            }
            9 => {
                // Copy a chunk of the input elsewhere in it.
                if len > 0 {
                    let a = rng.random_range(0..len);
                    let b = (a + rng.random_range(1..128)).min(len);
                    let chunk = v[a..b].to_vec();
                    let at = rng.random_range(0..=len);
                    splice(&mut v, at, 0, &chunk);
                }
            }
            10 => {
                // Swap brackets and separators.
                let swaps: &[(u8, u8)] = &[
                    (b'[', b'{'),
                    (b']', b'}'),
                    (b',', b':'),
                    (b'"', b'\''),
                    (b'[', b']'),
                ];
                let (from, to) = swaps[rng.random_range(0..swaps.len())];
                if let Some(i) = (pos..len).chain(0..pos).find(|&i| v[i] == from) {
                    v[i] = to;
                }
            }
            _ => {
                // Deep nesting.
                let depth = rng.random_range(1..400);
                let open = if rng.random_bool(0.5) { b'[' } else { b'{' };
                splice(&mut v, pos, 0, &vec![open; depth]);
            }
        }
    }
    v
}

/// Runs `target` on `n` mutations of the seeds; saves and names every input that panics.
fn fuzz(name: &str, seeds: &[(&str, &str)], n: usize, target: impl Fn(usize, &[u8])) {
    let mut rng = rng_for(name);
    let pool: Vec<&str> = seeds.iter().map(|s| s.1).collect();
    let mut panics = Vec::new();
    // The unmutated seeds first.
    let inputs = seeds
        .iter()
        .map(|s| s.1.as_bytes().to_vec())
        .collect::<Vec<_>>();
    for i in 0..inputs.len() + n {
        let input = if i < inputs.len() {
            inputs[i].clone()
        } else {
            let base = seeds[rng.random_range(0..seeds.len())].1.as_bytes();
            mutate(&mut rng, base, &pool)
        };
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| target(i, &input))) {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("{name}-{i}.bin"));
            std::fs::write(&path, &input).unwrap();
            panics.push(format!("{}: {msg}", path.display()));
        }
    }
    assert!(
        panics.is_empty(),
        "{name}: {} input(s) panicked (saved for reproduction):\n{}",
        panics.len(),
        panics.join("\n")
    );
}

#[test]
fn reference_reader_never_panics() {
    let opts = Options::default();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-references");
    std::fs::create_dir_all(&dir).unwrap();
    // How deep the mutated inputs get: read and checked, run and compared.
    let (checked, compared) = (Cell::new(0usize), Cell::new(0usize));
    let n = iterations(4000);
    fuzz("reference", REFERENCES, n, |i, bytes| {
        // Every 25th input also goes through the file reader (size cap, UTF-8 check).
        if i % 25 == 0 {
            let path = dir.join("input.json");
            std::fs::write(&path, bytes).unwrap();
            let _ = verify_path(&path, &opts);
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            return;
        };
        let _ = parse_json("fuzz.json", text);
        if check_text("fuzz.json", text).is_ok() {
            checked.set(checked.get() + 1);
        }
        // Running the model is the slow part; the checks above already reached the reader's decision.
        if i % 4 == 0 {
            if let Ok(Outcome::Compared(_)) = verify_text("fuzz.json", text, &opts) {
                compared.set(compared.get() + 1);
            }
        }
    });
    // The mutations must not all be refused at the first byte: a fair share is read and run.
    assert!(
        checked.get() >= n / 20 && compared.get() >= n / 200,
        "only {} of {n} inputs passed the checks and {} were compared",
        checked.get(),
        compared.get()
    );
}

#[test]
fn the_unmutated_seeds_pass() {
    for (name, text) in REFERENCES {
        match verify_text(name, text, &Options::default()) {
            Ok(Outcome::Compared(r)) => assert!(r.passed(), "{name}: {r:?}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    for (name, text) in CONFIGS {
        TrainConfig::from_toml(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn training_config_reader_never_panics() {
    fuzz("config", CONFIGS, iterations(6000), |_, bytes| {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return;
        };
        if let Ok(cfg) = TrainConfig::from_toml(text) {
            // What was read must be writable and readable again, and validated without panicking
            // (compiling an interpreted model for each input would take the test's time budget).
            let _ = TrainConfig::from_toml(&cfg.to_toml());
            if !cfg.interpreted {
                let _ = cfg.validate();
            }
        }
    });
}
