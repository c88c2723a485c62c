#!/usr/bin/env python3
"""Times the Python package (`pip install ./python` first): gymnasium vector and single environments,
plant steps on numpy, and the differentiable torch environment.

    python scripts/bench_python.py [--repeats 5] [--json]
    python scripts/bench_python.py --train [--motornet target/release/motornet] [--batches 200]

`--train` instead times the trainer: `motornet_rs.train(config)` and `motornet train --config` on the same
configuration (arm26, GRU 128, batch 32, 1 s episodes, --batches batches, one evaluation at the end),
taking turns --repeats times. Two figures per run: the whole call's wall time (Python's includes reading the
results back and a deterministic evaluation of the final weights, which the CLI does not do), and the
training loop's own time (the last `wall_seconds` of the run's log.csv). Ratios are Python's over the CLI's.

Each figure is the best (minimum) of `--repeats` timed runs after a warm-up: on a shared machine the
minimum is the stable statistic.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def timed(fn, repeats):
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--train", action="store_true", help="time motornet_rs.train against `motornet train`")
    ap.add_argument("--motornet", default="target/release/motornet", help="the CLI binary for --train")
    ap.add_argument("--batches", type=int, default=200, help="training batches per run for --train")
    args = ap.parse_args()
    if args.train:
        return bench_train(args)
    import motornet_rs as mn
    from motornet_rs.gym import ReachEnv, ReachVectorEnv

    results = {}

    # gymnasium VectorEnv.step, 1024 arm26 environments, 100-step episodes.
    for threads in (1, 2):
        n, steps = 1024, 100
        envs = ReachVectorEnv(n, "arm26", threads=threads)
        a = np.full((n, 6), 0.2)

        def run():
            envs.reset(seed=0)
            for _ in range(steps):
                envs.step(a)

        s = timed(run, args.repeats)
        reset = timed(lambda: envs.reset(seed=0), args.repeats)
        key = f"vector_env_1024_arm26_threads{threads}"
        results[f"{key}_env_steps_per_s"] = n * steps / s
        results[f"{key}_us_per_step"] = 1e6 * s / steps
        # The same episode without its reset: the rate of `step` alone.
        results[f"{key}_step_only_env_steps_per_s"] = n * steps / (s - reset)
        results[f"{key}_reset_ms"] = 1e3 * reset

    # gymnasium Env.step latency, one arm26 environment.
    env = ReachEnv("arm26", max_ep_duration=1.0)
    a1 = np.full(6, 0.2)

    def run1():
        env.reset(seed=0)
        for _ in range(100):
            env.step(a1)

    results["env_step_arm26_us"] = 1e6 * timed(run1, args.repeats) / 100

    # Plant.step / step_vjp on numpy.
    p = mn.Plant("arm26")
    for b in (1, 1024):
        x = p.reset(np.tile([0.8, 1.2, 0.0, 0.0], (b, 1)))
        u = p.controls(np.full((b, 6), 0.2))
        w = np.ones_like(x)
        k = 1000 if b == 1 else 20

        def steps():
            for _ in range(k):
                p.step(x, u)

        def vjps():
            for _ in range(k):
                p.step_vjp(x, u, w)

        results[f"plant_step_arm26_batch{b}_us"] = 1e6 * timed(steps, args.repeats) / k
        results[f"plant_step_vjp_arm26_batch{b}_us"] = 1e6 * timed(vjps, args.repeats) / k

    # The differentiable torch environment: one 100-step episode of batch 32 with a GRU 128, and backward.
    try:
        import torch

        import motornet_rs.torch as mt

        tenv = mt.Environment("arm26", max_ep_duration=1.0)
        gru = torch.nn.GRU(tenv.obs_dim, 128, 1, batch_first=True).double()
        fc = torch.nn.Linear(128, 6).double()

        def episode():
            h = torch.zeros(1, 32, 128, dtype=torch.float64)
            obs, info = tenv.reset(seed=0, options={"batch_size": 32})
            xy = [info["states"]["fingertip"]]
            done = False
            while not done:
                y, h = gru(obs[:, None, :], h)
                obs, _, done, _, info = tenv.step(torch.sigmoid(fc(y[:, 0])))
                xy.append(info["states"]["fingertip"])
            loss = torch.mean(torch.abs(torch.stack(xy, 1) - info["goal"][:, None]).sum(-1))
            loss.backward()

        results["torch_env_episode_batch32_gru128_forward_backward_ms"] = 1e3 * timed(episode, args.repeats)
    except ImportError:
        pass

    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for k, v in results.items():
            print(f"{k:60} {v:14.3f}")


def bench_train(args):
    import csv
    import os
    import statistics
    import subprocess
    import tempfile

    import motornet_rs as mn
    from motornet_rs.training import config_to_toml

    config = {
        "model": "arm26",
        "run": {"batches": args.batches, "eval_every": args.batches},
        "optim": {"threads": 1},
    }
    if not os.path.isfile(args.motornet):
        raise SystemExit(f"bench_python: {args.motornet}: no such file (cargo build --release first)")
    python_s, cli_s, python_loop, cli_loop = [], [], [], []

    def loop_seconds(run_dir):
        with open(os.path.join(run_dir, "log.csv"), encoding="utf-8") as f:
            return float(list(csv.DictReader(f))[-1]["wall_seconds"])

    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "train.toml")
        with open(cfg, "w") as f:
            f.write(config_to_toml(config))
        for r in range(args.repeats):
            t0 = time.perf_counter()
            mn.train(config, out=os.path.join(tmp, f"py{r}"))
            python_s.append(time.perf_counter() - t0)
            python_loop.append(loop_seconds(os.path.join(tmp, f"py{r}")))
            t0 = time.perf_counter()
            subprocess.run([args.motornet, "train", "--config", cfg, "--out", os.path.join(tmp, f"cli{r}"),
                            "--quiet"], check=True, stdout=subprocess.DEVNULL)
            cli_s.append(time.perf_counter() - t0)
            cli_loop.append(loop_seconds(os.path.join(tmp, f"cli{r}")))
    res = {
        "batches": args.batches,
        "python_s": python_s,
        "cli_s": cli_s,
        "python_over_cli_median": statistics.median(python_s) / statistics.median(cli_s),
        "python_over_cli_min": min(python_s) / min(cli_s),
        "python_loop_s": python_loop,
        "cli_loop_s": cli_loop,
        "loop_python_over_cli_median": statistics.median(python_loop) / statistics.median(cli_loop),
        "loop_python_over_cli_min": min(python_loop) / min(cli_loop),
        "loadavg": os.getloadavg(),
    }
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print(f"motornet_rs.train: {', '.join(f'{x:.2f}' for x in python_s)} s")
        print(f"motornet train:    {', '.join(f'{x:.2f}' for x in cli_s)} s")
        print(f"training loops (log.csv): Python {', '.join(f'{x:.2f}' for x in python_loop)} s, "
              f"CLI {', '.join(f'{x:.2f}' for x in cli_loop)} s")
        print(f"loop Python / CLI: median {res['loop_python_over_cli_median']:.3f}, "
              f"best {res['loop_python_over_cli_min']:.3f}")
        print(f"whole call Python / CLI: median {res['python_over_cli_median']:.3f}, best {res['python_over_cli_min']:.3f}"
              f" (load average {res['loadavg'][0]:.1f})")


if __name__ == "__main__":
    main()
