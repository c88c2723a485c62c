"""Throughput of a sweep of 16 short runs on Ray against the same 16 runs one by one in one process
(BENCHMARKS.md, "Sweeps"): runs per minute of each, wall clock from start to the last result (Ray's
start-up included), and the machine's load before and after.

    python scripts/bench_sweep.py [--batches 100] [--out DIR]
"""

import argparse
import os
import subprocess
import tempfile
import time

import motornet_rs as mn
from motornet_rs import _core, sweeps


def spec(batches):
    # 2 delays × 2 networks × 4 seeds = 16 runs of a small arm26 controller.
    return {
        "seeds": [0, 1, 2, 3],
        "base": {
            "model": "arm26",
            "env": {"episode_duration": 1.0},
            "optim": {"hidden": 32, "batch_size": 32},
            "run": {"batches": batches, "eval_every": 50, "eval_episodes": 32, "checkpoint_every": 50},
        },
        "grid": {"env.proprioception_delay": [0.02, 0.05], "policy.kind": ["gru", "lstm"]},
    }


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batches", type=int, default=100)
    p.add_argument("--out", default=None)
    a = p.parse_args()
    out = a.out or tempfile.mkdtemp(prefix="motornet-bench-sweep-")
    s = spec(a.batches)
    runs = sweeps.plan(s, os.getcwd())
    print(f"{len(runs)} runs of {a.batches} batches; {os.cpu_count()} CPUs; {uptime()}")

    t = time.perf_counter()
    for r in runs:
        _core.train_run(r.config, os.path.join(out, "serial", r.run_id), False, True)
    serial = time.perf_counter() - t
    print(f"one by one, one process: {serial:.1f} s, {60 * len(runs) / serial:.1f} runs/min; {uptime()}")

    import ray

    t = time.perf_counter()
    ray.init(include_dashboard=False, log_to_driver=False)  # what `sweep` does, timed apart
    started = time.perf_counter() - t
    results = mn.sweep(s, os.path.join(out, "sweep"), quiet=True)
    swept = time.perf_counter() - t
    ray.shutdown()
    ok = sum(1 for st in (results["status"] if hasattr(results, "columns") else [r["status"] for r in results]) if st == "ok")
    print(f"sweep on Ray ({ok} ok): {swept:.1f} s ({started:.1f} s of it starting Ray), {60 * len(runs) / swept:.1f} runs/min; {uptime()}")

    def train_seconds(kind):
        return sum(sweeps.run_row(os.path.join(out, kind, r.run_id), "ok")["train_seconds"] for r in runs) / len(runs)

    print(f"training seconds per run: {train_seconds('serial'):.2f} one by one, {train_seconds('sweep'):.2f} in the sweep")
    # The same configurations and seeds: the same networks, whichever way they were run.
    same = all(
        sweeps.run_row(os.path.join(out, "serial", r.run_id), "ok")["final_metric"]
        == sweeps.run_row(os.path.join(out, "sweep", r.run_id), "ok")["final_metric"]
        for r in runs
    )
    print(f"speed-up {serial / swept:.2f}×; final metrics identical: {same}; run directories in {out}")


if __name__ == "__main__":
    main()
