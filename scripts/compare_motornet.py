#!/usr/bin/env python3
"""Run MotorNet 0.3.0's equivalents of `motornet bench`'s workloads and print them next to ours.

MotorNet's side is timed in this process (PyTorch on the CPU, `torch.set_num_threads(--threads)`, MotorNet's
own float32 unless `--float64`); our side is `cargo run --release -- bench --json` (or `--motornet PATH bench
--json`), run first, as a subprocess, so that the two sets of figures come from one sitting on one machine.

Workloads (arm26 = `RigidTendonArm26(muscle=RigidTendonHillMuscle())`, mid-range joint state, excitation 0.2,
as `src/bench.rs` does):

  plant step          `effector.step(u)` under `torch.no_grad()` at batch 1, 32 and 1024; reset every 100
                      steps (inside the timing, as ours); ns per effector-step and effector-steps/s.
  rollout gradient    100 steps with autograd from a detached initial state (MotorNet detaches it), loss
                      = sum over steps and batch of the shoulder angle, `loss.backward()` to the
                      excitations; ms per rollout, batch 1 and 1024. Also timed apart: the forward
                      pass with and without autograd and the backward pass alone, which gives MotorNet's
                      adjoint/primal ratio (backward alone / forward without autograd, batch 1).
  training batch      MotorNet's tutorial loop: `RandomTargetReach(effector, max_ep_duration=1.)` (100
                      steps of 10 ms), `PolicyGRU(16, 128, 6)`, batch 32, Adam lr 1e-3, L1 loss
                      `mean(sum(|xy - target|, -1))` over the trajectory, `clip_grad_norm_(…, 1.)`; ms per
                      batch, median over --train-batches batches after --warmup warm-up batches.

Timing follows `motornet::bench::time_per_call`: a call is repeated for about 0.2 s, --repeats times, and
the median is reported.

Needs only `pip install motornet==0.3.0 torch` (numpy and gymnasium come with them). No Rust test depends on
this script. Exit status: 0 on success, 2 if `torch` or `motornet` cannot be imported (or, as with any
argparse program, on a bad command line).

  tutorial loop       (--torch-env) the training batch above twice, batch by batch in turn: on MotorNet's
                      environment, and with only the environment replaced by motornet_rs.torch.Environment
                      (the Python package; `pip install ./python`). --only-torch-env runs just this.

usage: python3 scripts/compare_motornet.py [--threads N] [--motornet PATH | --ours-json FILE | --no-ours]
                                           [--repeats R] [--float64] [--torch-env | --only-torch-env] [--json]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 100  # one 1 s episode at dt = 0.01 s
DASH = "\u2014"


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="Time MotorNet 0.3.0 (PyTorch) on the workloads of `motornet bench` and compare.")
    p.add_argument("--threads", type=int, default=1,
                   help="torch.set_num_threads for MotorNet; also selects our figure at that thread count "
                        "when our JSON has one (default 1)")
    p.add_argument("--motornet", metavar="PATH",
                   help="our `motornet` binary (default: `cargo run --release -- bench --json` in the repo)")
    p.add_argument("--ours-json", metavar="FILE",
                   help="read our figures from a saved `motornet bench --json` output instead of running it")
    p.add_argument("--no-ours", action="store_true", help="time MotorNet only")
    p.add_argument("--model", default="arm26", help="our model name passed to `motornet bench` (default arm26)")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats per plant figure; median (default 5)")
    p.add_argument("--train-batches", type=int, default=20, help="timed training batches; median (default 20)")
    p.add_argument("--warmup", type=int, default=3, help="warm-up training batches (default 3)")
    p.add_argument("--skip-train", action="store_true", help="skip MotorNet's training-batch measurement")
    p.add_argument("--torch-env", action="store_true",
                   help="also run MotorNet's tutorial loop with only the environment replaced by "
                        "motornet_rs.torch.Environment (needs the Python package: pip install ./python), "
                        "taking turns with MotorNet's own batch by batch")
    p.add_argument("--only-torch-env", action="store_true",
                   help="run only the --torch-env comparison (no plant figures, no `motornet bench`)")
    p.add_argument("--float64", action="store_true",
                   help="run MotorNet in float64 (default: float32, MotorNet's own precision)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    a = p.parse_args(argv)
    if a.threads < 1 or a.repeats < 1 or a.train_batches < 1 or a.warmup < 0:
        p.error("--threads, --repeats and --train-batches must be >= 1, --warmup >= 0")
    if a.motornet and not os.path.isfile(a.motornet):
        p.error(f"--motornet {a.motornet}: no such file")
    if sum(map(bool, (a.motornet, a.ours_json, a.no_ours))) > 1:
        p.error("give at most one of --motornet, --ours-json and --no-ours")
    return a


def import_motornet(float64):
    try:
        import torch
    except ImportError as e:
        sys.stderr.write(f"compare_motornet: cannot import torch ({e}).\n"
                         "Install MotorNet's side with:  pip install motornet==0.3.0 torch\n")
        sys.exit(2)
    if float64:
        # MotorNet asks for torch.float32 explicitly in many places; as in
        # ../shared/reference/generators/motornet_reference.py, make every such request float64.
        torch.set_default_dtype(torch.float64)
        torch.float32 = torch.float64
    try:
        import motornet
    except ImportError as e:
        sys.stderr.write(f"compare_motornet: cannot import motornet ({e}).\n"
                         "Install MotorNet's side with:  pip install motornet==0.3.0 torch\n")
        sys.exit(2)
    if getattr(motornet, "__version__", "?") != "0.3.0":
        sys.stderr.write(f"compare_motornet: warning: motornet {motornet.__version__} is installed; "
                         "the figures are meant for 0.3.0\n")
    return torch, motornet


def time_per_call(f, repeats, target_s=0.2):
    """Median seconds per call of `f`, over `repeats` runs of enough calls to last about `target_s`."""
    t = time.perf_counter()
    f()
    once = max(time.perf_counter() - t, 1e-9)
    calls = max(1, min(10_000_000, int(-(-target_s // once))))
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(calls):
            f()
        samples.append((time.perf_counter() - t) / calls)
    return statistics.median(samples)


# ---------------------------------------------------------------------------------------------------------
# MotorNet's side
# ---------------------------------------------------------------------------------------------------------

def arm26(mn):
    return mn.effector.RigidTendonArm26(muscle=mn.muscle.RigidTendonHillMuscle())


def mid_range_joint(th, eff):
    lb = eff.pos_lower_bound.reshape(-1)
    ub = eff.pos_upper_bound.reshape(-1)
    q = 0.5 * (lb + ub)
    return th.cat([q, th.zeros_like(q)])[None, :].clone()  # (1, 2 * dof)


def bench_steps(th, mn, batches, repeats):
    out = []
    for batch in batches:
        eff = arm26(mn)
        x0 = mid_range_joint(th, eff)
        u = th.full((batch, eff.n_muscles), 0.2)
        count = [0]

        def reset():
            eff.reset(options={"batch_size": batch, "joint_state": x0})
            count[0] = 0

        def call():
            eff.step(u)
            count[0] += 1
            if count[0] >= STEPS:
                reset()

        with th.no_grad():
            reset()
            t = time_per_call(call, repeats)
        per = t / batch
        out.append({"batch": batch, "ns_per_effector_step": per * 1e9, "effector_steps_per_s": 1.0 / per})
    return out


def bench_rollout_gradient(th, mn, batches, repeats):
    out = []
    for batch in batches:
        eff = arm26(mn)
        x0 = mid_range_joint(th, eff)
        acts = th.full((STEPS, batch, eff.n_muscles), 0.2, requires_grad=True)
        split = {"fwd_grad": [], "bwd": []}

        def forward():
            eff.reset(options={"batch_size": batch, "joint_state": x0})
            loss = 0.0
            for t in range(STEPS):
                eff.step(acts[t])
                loss = loss + eff.states["joint"][:, 0].sum()
            return loss

        def call():
            t0 = time.perf_counter()
            loss = forward()
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
            acts.grad = None
            split["fwd_grad"].append(t1 - t0)
            split["bwd"].append(t2 - t1)

        total = time_per_call(call, repeats)

        def primal():
            with th.no_grad():
                forward()

        fwd_nograd = time_per_call(primal, repeats)
        fwd_grad = statistics.median(split["fwd_grad"])
        bwd = statistics.median(split["bwd"])
        out.append({
            "batch": batch,
            "ms": total * 1e3,
            "forward_with_autograd_ms": fwd_grad * 1e3,
            "backward_ms": bwd * 1e3,
            "forward_no_grad_ms": fwd_nograd * 1e3,
            "backward_over_primal": bwd / fwd_nograd,
        })
    return out


def tutorial_batch(th, mn, env, batch_size=32, hidden=128):
    """MotorNet's tutorial training step on `env` with a fresh `PolicyGRU` and Adam: a function that runs
    one batch and returns (steps, loss)."""
    th.manual_seed(0)
    env.reset(seed=0, options={"batch_size": batch_size})
    obs_dim = env.observation_space.shape[0]
    policy = mn.policy.PolicyGRU(obs_dim, hidden, env.n_muscles, device=th.device("cpu"))
    optimizer = th.optim.Adam(policy.parameters(), lr=1e-3)

    def l1(x, y):
        return th.mean(th.sum(th.abs(x - y), dim=-1))

    def one_batch():
        h = policy.init_hidden(batch_size=batch_size)
        obs, info = env.reset(options={"batch_size": batch_size})
        terminated = False
        xy = [info["states"]["fingertip"][:, None, :]]
        tg = [info["goal"][:, None, :]]
        n = 0
        while not terminated:
            action, h = policy(obs, h)
            obs, reward, terminated, truncated, info = env.step(action=action)
            xy.append(info["states"]["fingertip"][:, None, :])
            tg.append(info["goal"][:, None, :])
            n += 1
        loss = l1(th.cat(xy, dim=1), th.cat(tg, dim=1))
        optimizer.zero_grad()
        loss.backward()
        th.nn.utils.clip_grad_norm_(policy.parameters(), max_norm=1.)
        optimizer.step()
        return n, float(loss.detach())

    return one_batch, obs_dim


def time_batches(loops, batches, warmup):
    """Runs the loops' batches in turn (A, B, A, B …, so that a change of load hits both alike) and
    summarises each loop's times after `warmup` batches."""
    times = [[] for _ in loops]
    steps = [set() for _ in loops]
    losses = [[] for _ in loops]
    for b in range(warmup + batches):
        for i, one_batch in enumerate(loops):
            t = time.perf_counter()
            n, loss = one_batch()
            dt = time.perf_counter() - t
            steps[i].add(n)
            losses[i].append(loss)
            if b >= warmup:
                times[i].append(dt)
    return [{
        "ms": statistics.median(times[i]) * 1e3,
        "min_ms": min(times[i]) * 1e3,
        "max_ms": max(times[i]) * 1e3,
        "batches": batches,
        "warmup": warmup,
        "steps_per_episode": sorted(steps[i]),
        "first_loss": losses[i][0],
        "last_loss": losses[i][-1],
    } for i in range(len(loops))]


def bench_train(th, mn, batches, warmup, batch_size=32, hidden=128):
    env = mn.environment.RandomTargetReach(effector=arm26(mn), max_ep_duration=1.)
    one_batch, obs_dim = tutorial_batch(th, mn, env, batch_size, hidden)
    out = time_batches([one_batch], batches, warmup)[0]
    out.update({"batch_size": batch_size, "hidden": hidden, "obs_dim": obs_dim})
    return out


def bench_torch_env(th, mn, batches, warmup, batch_size=32, hidden=128):
    """MotorNet's tutorial loop twice, taking turns batch by batch: on MotorNet's environment, and with
    only the environment replaced by `motornet_rs.torch.Environment("arm26")` (its tensors in the dtype
    MotorNet's policy uses; the plant computes in float64 either way)."""
    try:
        import motornet_rs
        import motornet_rs.torch as ours
    except ImportError as e:
        return {"error": f"cannot import motornet_rs ({e}); pip install ./python"}
    theirs_env = mn.environment.RandomTargetReach(effector=arm26(mn), max_ep_duration=1.)
    ours_env = ours.Environment("arm26", max_ep_duration=1., dtype=th.get_default_dtype())
    a, obs_a = tutorial_batch(th, mn, theirs_env, batch_size, hidden)
    b, obs_b = tutorial_batch(th, mn, ours_env, batch_size, hidden)
    theirs, mine = time_batches([a, b], batches, warmup)
    return {"motornet": theirs, "motornet_rs": mine, "speedup": theirs["ms"] / mine["ms"],
            "motornet_rs_version": getattr(motornet_rs, "__version__", "?"), "obs_dim": [obs_a, obs_b],
            "batch_size": batch_size, "hidden": hidden}


def run_motornet(a):
    th, mn = import_motornet(a.float64)
    th.set_num_threads(a.threads)
    info = {
        "motornet_version": getattr(mn, "__version__", "?"),
        "torch_version": th.__version__,
        "dtype": str(th.get_default_dtype()).replace("torch.", "") if a.float64 else "float32",
        "threads": th.get_num_threads(),
        "cpu_capability": getattr(getattr(th.backends, "cpu", None), "get_cpu_capability", lambda: "?")(),
    }
    info["steps"] = bench_steps(th, mn, [1, 32, 1024], a.repeats)
    info["rollout_gradient_100"] = bench_rollout_gradient(th, mn, [1, 1024], a.repeats)
    info["adjoint_over_primal"] = info["rollout_gradient_100"][0]["backward_over_primal"]
    info["train"] = None if a.skip_train else bench_train(th, mn, a.train_batches, a.warmup)
    if a.torch_env:
        info["torch_env"] = bench_torch_env(th, mn, a.train_batches, a.warmup)
    return info


# ---------------------------------------------------------------------------------------------------------
# Our side
# ---------------------------------------------------------------------------------------------------------

def run_ours(a):
    """Our `bench --json` output as a dict, or (None, reason)."""
    if a.no_ours:
        return None, "skipped (--no-ours)"
    if a.ours_json:
        with open(a.ours_json) as f:
            text = f.read()
        cmd = ["(file)", a.ours_json]
    else:
        if a.motornet:
            if not os.path.exists(a.motornet):
                return None, f"{a.motornet}: no such file"
            cmd = [a.motornet, "bench", a.model, "--json"]
        else:
            cmd = ["cargo", "run", "--quiet", "--release", "--", "bench", a.model, "--json"]
        try:
            r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        except OSError as e:
            return None, f"{' '.join(cmd)}: {e}"
        if r.returncode != 0:
            return None, f"{' '.join(cmd)} exited with {r.returncode}: {r.stderr.strip()[-2000:]}"
        text = r.stdout
    start = text.find("{")
    try:
        return json.loads(text[start:]) if start >= 0 else None, " ".join(cmd)
    except json.JSONDecodeError as e:
        return None, f"{' '.join(cmd)}: output is not JSON ({e})"


def _pairs(v):
    """[[k, v], …], [{"threads": k, "ms": v}, …] or {"k": v} → {int k: float v}; anything else → {}."""
    out = {}
    if isinstance(v, dict):
        for k, x in v.items():
            try:
                out[int(k)] = float(x)
            except (TypeError, ValueError):
                pass
    elif isinstance(v, list):
        for x in v:
            try:
                if isinstance(x, (list, tuple)) and len(x) >= 2:
                    out[int(x[0])] = float(x[1])
                elif isinstance(x, dict):
                    k = x.get("threads", x.get("batch"))
                    val = x.get("ms", x.get("value"))
                    out[int(k)] = float(val)
            except (TypeError, ValueError):
                pass
    return out


def _num(v):
    return float(v) if isinstance(v, (int, float)) and v == v else None


def our_figures(ours, threads):
    """The figures of ours to compare, each as (value or None, note)."""
    f = {}
    if ours is None:
        return f
    plant = ours.get("plant") or {}
    steps = plant.get("steps") or []

    def step(batch, want_threads):
        # Without the NaN check (the row `motornet bench` adds with it is not what MotorNet does).
        exact = [s for s in steps if s.get("batch") == batch and s.get("threads", 1) == want_threads
                 and not s.get("check_finite", False)]
        return exact[0] if exact else None

    s1 = step(1, 1)
    f["step1_ns"] = (_num(ours.get("step_batch1_ns")) or (s1 and _num(s1.get("ns_per_effector_step"))),
                     f"{ours.get('step_batch1_threads', 1)} thr")
    s32 = step(32, threads) or step(32, 1)
    f["step32_ns"] = (s32 and _num(s32.get("ns_per_effector_step")), s32 and f"{s32.get('threads', 1)} thr")
    s1024 = step(1024, threads)
    if s1024:
        f["step1024_sps"] = (_num(s1024.get("effector_steps_per_s")), f"{s1024.get('threads', 1)} thr")
    else:
        f["step1024_sps"] = (_num(ours.get("step_batch1024_effector_steps_per_s")),
                             f"{ours.get('step_batch1024_threads', 1)} thr")

    def rollout(batch, want_threads):
        figs = [r for r in plant.get("rollout_gradient_100") or []
                if isinstance(r, dict) and r.get("batch") == batch]
        exact = ([r for r in figs if r.get("threads", 1) == want_threads]
                 or [r for r in figs if r.get("threads", 1) == 1])
        return (_num(exact[0].get("ms")), f"{exact[0].get('threads', 1)} thr") if exact else (None, None)

    f["rg1_ms"] = rollout(1, 1)
    f["rg1024_ms"] = rollout(1024, threads)
    f["adjoint_over_primal"] = (_num(ours.get("adjoint_over_primal")) or _num(plant.get("adjoint_over_primal")),
                                "one step")
    by_threads = _pairs(ours.get("train_batch_ms_by_threads"))
    if threads in by_threads:
        f["train_ms"] = (by_threads[threads], f"{threads} thr")
    else:
        f["train_ms"] = (_num(ours.get("train_batch_ms")),
                         ours.get("train_batch_threads") and f"{ours.get('train_batch_threads')} thr")
    return f


# ---------------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------------

def rows(mn, ours, threads):
    o = our_figures(ours, threads)
    step = {s["batch"]: s for s in mn["steps"]}
    rg = {r["batch"]: r for r in mn["rollout_gradient_100"]}

    def get(key):
        return o.get(key, (None, None))

    def inv(v):
        return 1e9 / v if v else None

    def sps(v):
        return 1e9 / v if v else None

    out = []

    def add(name, unit, theirs, ours_v, note, lower_is_better, json_key):
        if theirs is None or ours_v is None or theirs <= 0 or ours_v <= 0 or lower_is_better is None:
            ratio = None
        else:
            ratio = theirs / ours_v if lower_is_better else ours_v / theirs
        out.append({"workload": name, "unit": unit, "motornet": theirs, "ours": ours_v, "ours_note": note,
                    "speedup": ratio, "our_json_key": json_key})

    v, n = get("step1_ns")
    add("plant step, batch 1", "ns/effector-step", step[1]["ns_per_effector_step"], v, n, True, "step_batch1_ns")
    add("plant step, batch 1", "effector-steps/s", step[1]["effector_steps_per_s"], sps(v), n, False,
        "step_batch1_ns")
    v, n = get("step32_ns")
    add("plant step, batch 32", "ns/effector-step", step[32]["ns_per_effector_step"], v, n, True,
        "plant.steps[batch=32]")
    v, n = get("step1024_sps")
    add("plant step, batch 1024", "ns/effector-step", step[1024]["ns_per_effector_step"], inv(v), n, True,
        "step_batch1024_effector_steps_per_s")
    add("plant step, batch 1024", "effector-steps/s", step[1024]["effector_steps_per_s"], v, n, False,
        "step_batch1024_effector_steps_per_s")
    v, n = get("rg1_ms")
    add("100-step rollout gradient, batch 1", "ms", rg[1]["ms"], v, n, True, "plant.rollout_gradient_100")
    v, n = get("rg1024_ms")
    add("100-step rollout gradient, batch 1024", "ms", rg[1024]["ms"], v, n, True,
        "plant.rollout_gradient_100")
    v, n = get("adjoint_over_primal")
    add("adjoint / primal", "ratio", mn["adjoint_over_primal"], v, n, None, "adjoint_over_primal")
    v, n = get("train_ms")
    add("training batch (GRU 128, batch 32, 100 steps)", "ms", mn["train"] and mn["train"]["ms"], v, n, True,
        "train_batch_ms")
    return out


def fmt(v, unit):
    if v is None:
        return DASH
    if unit == "effector-steps/s":
        return f"{v:,.0f}"
    if unit == "ratio":
        return f"{v:.2f}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def print_table(report):
    mn = report["motornet"]
    if report.get("tutorial_only"):
        te = mn["torch_env"]
        print(f"torch {te['dtype']}, {te['threads']} thread(s); load average before/after: "
              f"{te['loadavg_before']} / {te['loadavg_after']}")
        print_torch_env(te)
        return
    print(f"MotorNet {mn['motornet_version']} (torch {mn['torch_version']}, {mn['dtype']}, "
          f"{mn['threads']} thread{'s' if mn['threads'] != 1 else ''}, {mn['cpu_capability']}) "
          f"vs motornet (Rust, float64): {report['ours_source']}")
    print(f"load average before/after: {report['loadavg_before']} / {report['loadavg_after']}  "
          f"({report['cpus']} CPUs)")
    head = ("workload", "unit", "MotorNet", "ours", "ours ×faster")
    w = (46, 18, 14, 20, 12)
    print("  ".join(h.ljust(w[i]) if i < 2 else h.rjust(w[i]) for i, h in enumerate(head)))
    print("  ".join("-" * x for x in w))
    for r in report["rows"]:
        ours = fmt(r["ours"], r["unit"])
        if r["ours"] is not None and r["ours_note"]:
            ours = f"{ours} ({r['ours_note']})"
        sp = DASH if r["speedup"] is None else f"{r['speedup']:,.1f}"
        cells = (r["workload"], r["unit"], fmt(r["motornet"], r["unit"]), ours, sp)
        print("  ".join(c.ljust(w[i]) if i < 2 else c.rjust(w[i]) for i, c in enumerate(cells)))
    rg = mn["rollout_gradient_100"]
    print()
    for r in rg:
        print(f"MotorNet 100-step rollout, batch {r['batch']}: forward without autograd "
              f"{r['forward_no_grad_ms']:.1f} ms, with autograd {r['forward_with_autograd_ms']:.1f} ms, "
              f"backward alone {r['backward_ms']:.1f} ms")
    print("MotorNet adjoint/primal = backward alone / forward without autograd (100 steps, batch 1); "
          "ours = one adjoint step / one primal step.")
    t = mn["train"]
    if t:
        print(f"MotorNet training batch: median {t['ms']:.1f} ms (min {t['min_ms']:.1f}, max {t['max_ms']:.1f}) "
              f"over {t['batches']} batches after {t['warmup']} warm-up; {t['steps_per_episode']} steps per "
              f"episode; loss {t['first_loss']:.4f} -> {t['last_loss']:.4f}")
    if mn.get("torch_env"):
        print_torch_env(mn["torch_env"])
    if report.get("ours_error"):
        print(f"our side: {report['ours_error']}")


def print_torch_env(te):
    if "error" in te:
        print(f"MotorNet's loop on motornet_rs.torch.Environment: {te['error']}")
    else:
        print(f"MotorNet's tutorial loop, taking turns (median ms per batch over {te['motornet']['batches']} "
              f"batches): MotorNet's environment {te['motornet']['ms']:.1f}, motornet_rs.torch.Environment "
              f"{te['motornet_rs']['ms']:.1f} -> {te['speedup']:.2f}x faster; loss "
              f"{te['motornet']['first_loss']:.4f} -> {te['motornet']['last_loss']:.4f} vs "
              f"{te['motornet_rs']['first_loss']:.4f} -> {te['motornet_rs']['last_loss']:.4f}")


def loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def main(argv=None):
    a = parse_args(argv)
    # Fail fast (exit 2) before spending minutes on our side if MotorNet's side cannot run.
    th, mn = import_motornet(a.float64)
    if a.only_torch_env:
        th.set_num_threads(a.threads)
        before = loadavg()
        te = bench_torch_env(th, mn, a.train_batches, a.warmup)
        te.update({"threads": a.threads, "loadavg_before": before, "loadavg_after": loadavg(),
                   "dtype": str(th.get_default_dtype()).replace("torch.", "")})
        if a.json or "error" in te:
            print(json.dumps(te, indent=2))
            return 0 if "error" not in te else 2
        print_table({"motornet": {"torch_env": te}, "tutorial_only": True})
        return 0
    before = loadavg()
    ours, source = run_ours(a)
    report = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "threads": a.threads,
        "loadavg_before": before,
        "ours_source": source if ours is not None else DASH,
        "ours_error": None if ours is not None else source,
    }
    report["motornet"] = run_motornet(a)
    report["loadavg_after"] = loadavg()
    report["ours"] = ours
    report["rows"] = rows(report["motornet"], ours, a.threads)
    if a.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
