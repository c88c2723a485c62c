#!/usr/bin/env python3
"""JIT, `model!`-compiled and interpreted plants side by side, for every shipped model, in one sitting.

Runs `motornet bench MODEL --no-train --json` with `--jit`, without a flag (compiled) and with
`--interpreted`, one right after the other per model, and prints a Markdown table of the step at batch 1
(`Effector::step`, one thread) and at batch 1024 (one thread), with the JIT's ratio to the compiled plant
(higher is better; 1.0 = as fast) and the 1-minute load average before and after.

    cargo build --release && python3 scripts/bench_backends.py [--motornet target/release/motornet]
"""
import argparse
import json
import os
import subprocess

MODELS = [
    "arm26",
    "arm26_rigid_thelen",
    "arm26_rigid_mujoco",
    "arm26_compliant",
    "pointmass24_relu",
    "arm210_thelen_paths",
    "chain3_torque_rk4",
    "wrap_elbow",
]


def bench(binary, model, flag):
    cmd = [binary, "bench", model, "--no-train", "--json"] + ([flag] if flag else [])
    out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    steps = {(s["batch"], s["threads"], s["check_finite"]): s for s in out["plant"]["steps"]}
    return {
        "b1": steps[(1, 1, False)]["ns_per_effector_step"],
        "b1024": steps[(1024, 1, False)]["ns_per_effector_step"],
        "jit_ms": out.get("jit_compile_ms"),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--motornet", default="target/release/motornet")
    ap.add_argument("models", nargs="*", default=MODELS)
    a = ap.parse_args()
    load = os.getloadavg()[0]
    print("| model | batch 1: JIT | compiled | interpreted | JIT/compiled | batch 1024: JIT | compiled "
          "| interpreted | JIT/compiled | JIT compile |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for m in a.models:
        j = bench(a.motornet, m, "--jit")
        c = bench(a.motornet, m, None)
        i = bench(a.motornet, m, "--interpreted")
        print(
            f"| {m} | {j['b1']:.0f} ns | {c['b1']:.0f} ns | {i['b1']:.0f} ns | {c['b1'] / j['b1']:.2f} "
            f"| {j['b1024']:.0f} ns | {c['b1024']:.0f} ns | {i['b1024']:.0f} ns | {c['b1024'] / j['b1024']:.2f} "
            f"| {j['jit_ms']:.0f} ms |",
            flush=True,
        )
    print(f"\n1-minute load average: {load:.2f} before, {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
