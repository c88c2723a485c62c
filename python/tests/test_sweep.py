"""Parameter sweeps on Ray (motornet_rs.sweeps): a sweep interrupted (Ctrl-C) and killed midway, then
rerun to completion; a failing run among good ones; spec validation; the report."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import motornet_rs as mn
from motornet_rs import sweeps

ray = pytest.importorskip("ray")

# Short runs (~1.5 s, a third of it training): 20 batches of a small network on 1 s reaches of arm26, a
# checkpoint every 2 batches, so that a sweep can be stopped in the middle of a run.
BASE = {
    "model": "arm26",
    "env": {"episode_duration": 1.0},
    "optim": {"hidden": 32, "batch_size": 64},
    "run": {"batches": 20, "eval_every": 5, "eval_episodes": 8, "eval_last_steps": 5, "checkpoint_every": 2},
}
SPEC = {"seeds": [0, 1], "base": BASE, "grid": {"env.proprioception_delay": [0.01, 0.05]}}


def spec_toml(spec):
    """The spec as TOML ([base] and its tables, [grid] with quoted dotted keys)."""
    lines = [f"seeds = {json.dumps(spec['seeds'])}"]
    base = spec["base"]
    lines += ["[base]"] + [f"{k} = {json.dumps(v)}" for k, v in base.items() if not isinstance(v, dict)]
    for table, values in base.items():
        if isinstance(values, dict):
            lines += [f"[base.{table}]"] + [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    lines += ["[grid]"] + [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in spec["grid"].items()]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def cluster():
    """One local Ray cluster for the module; the command-line sweeps connect to it by address."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def start_sweep(spec_path, out, address, *extra):
    # Its own session, so that a signal reaches the sweep only.
    return subprocess.Popen(
        [sys.executable, "-m", "motornet_rs", "sweep", str(spec_path), "--out", str(out), "--address", address, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )


def results(out):
    with open(out / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def batches_saved(run_dir):
    """Batches of the run's last checkpoint (its summary is cut back to it on resume)."""
    s = run_dir / "summary.json"
    return json.loads(s.read_text())["batches_done"] if (run_dir / "checkpoint.safetensors").exists() else 0


def wait_for(condition, proc, timeout=240):
    t = time.monotonic()
    while not condition():
        assert proc.poll() is None, f"the sweep ended early: {proc.communicate()}"
        assert time.monotonic() - t < timeout, "timed out"
        time.sleep(0.02)


def test_interrupted_and_killed_sweep_resumes_to_four_complete_rows(cluster, tmp_path):
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(spec_toml(SPEC))
    out = tmp_path / "sweep"
    runs = [r.run_id for r in sweeps.plan(SPEC, os.getcwd())]
    assert runs == [
        "env.proprioception_delay=0.01,seed=0",
        "env.proprioception_delay=0.01,seed=1",
        "env.proprioception_delay=0.05,seed=0",
        "env.proprioception_delay=0.05,seed=1",
    ]
    dirs = [out / r for r in runs]

    # 1. One run at a time (2 CPUs each): Ctrl-C once the first run has finished and the second is midway.
    p = start_sweep(spec_path, out, cluster, "--cpus-per-run", "2")
    wait_for(lambda: (dirs[0] / "sweep_result.json").exists() and any(0 < batches_saved(d) < 20 for d in dirs[1:]), p)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert "Traceback" not in err
    rows = {r["run_id"]: r for r in results(out)}
    assert rows[runs[0]]["status"] == "ok"
    assert sorted(r["status"] for r in rows.values()).count("ok") < 4
    finished = (dirs[0] / "sweep_result.json").read_text()

    # 2. Two at a time: killed outright once some run is midway.
    before = [batches_saved(d) for d in dirs]

    def some_run_midway():
        now = [batches_saved(d) for d in dirs]
        return [i for i, n in enumerate(now) if before[i] < n < 20] or None

    p = start_sweep(spec_path, out, cluster)
    wait_for(some_run_midway, p)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    midway = some_run_midway()
    assert midway, [batches_saved(d) for d in dirs]

    # 3. The rerun skips the finished runs, resumes the others, and completes every row.
    p = start_sweep(spec_path, out, cluster)
    stdout, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    assert "already done" in stdout
    rows = results(out)
    assert [r["run_id"] for r in rows] == runs
    assert [r["status"] for r in rows] == ["ok"] * 4
    assert [r["env.proprioception_delay"] for r in rows] == ["0.01", "0.01", "0.05", "0.05"]
    assert [r["seed"] for r in rows] == ["0", "1", "0", "1"]
    for r, d in zip(rows, dirs):
        assert r["batches_done"] == "20"
        assert float(r["best_metric"]) <= float(r["final_metric"])
        log = (d / "log.csv").read_text().splitlines()[1:]
        assert [int(line.split(",")[0]) for line in log] == list(range(20))
        summary = json.loads((d / "summary.json").read_text())
        assert float(r["final_metric"]) == summary["final_metric"]
    assert (dirs[0] / "sweep_result.json").read_text() == finished  # not rerun
    # The delay reached the trainer, and a resumed run equals an uninterrupted one (bit for bit).
    assert "proprioception_delay = 0.05" in (dirs[3] / "config.toml").read_text()
    i = midway[0]
    fresh = mn.train((dirs[i] / "config.toml").as_posix(), out=tmp_path / "fresh")
    assert fresh["summary"]["final_metric"] == float(rows[i]["final_metric"])
    assert fresh["log"]["loss"].tolist() == [float(line.split(",")[1]) for line in (dirs[i] / "log.csv").read_text().splitlines()[1:]]

    # The same directory refuses another spec; the report draws every figure.
    other = tmp_path / "other.toml"
    other.write_text(spec_toml({**SPEC, "seeds": [0, 1, 2]}))
    p = start_sweep(other, out, cluster)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 2 and "different spec" in err and "Traceback" not in err
    pytest.importorskip("matplotlib")
    r = subprocess.run([sys.executable, "-m", "motornet_rs", "sweep-report", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for name in ("metric_vs_env.proprioception_delay", "learning_curves"):
        for ext in ("png", "svg"):
            assert (out / "report" / f"{name}.{ext}").stat().st_size > 1000


def test_a_failing_run_is_recorded_and_the_others_complete(cluster, tmp_path):
    spec = {
        "seeds": [0],
        "base": {**BASE, "run": {**BASE["run"], "batches": 5}},
        # A jerk weight that overflows the loss in the first batch (the trainer's non-finite check).
        "grid": {"loss.jerk": [0.0, 1e308]},
    }
    table = mn.sweep(spec, tmp_path / "s", quiet=True)
    rows = table.to_dict("records") if hasattr(table, "to_dict") else table
    assert [r["status"] for r in rows] == ["ok", "failed"]
    assert "non-finite" in rows[1]["error"]
    assert float(rows[0]["final_metric"]) > 0
    # A rerun keeps the failure without retrying it.
    again = mn.sweep(spec, tmp_path / "s", quiet=True)
    rows2 = again.to_dict("records") if hasattr(again, "to_dict") else again
    assert [r["status"] for r in rows2] == ["ok", "failed"]


def test_spec_problems_are_reported_together_by_key(tmp_path):
    bad = {
        "seeds": [],
        "grids": {},
        "base": {**BASE, "optim": {"hidden": 0}},
        "grid": {"env.vision_delay": []},
    }
    with pytest.raises(mn.MotornetError) as e:
        sweeps.plan(bad, str(tmp_path))
    msg = str(e.value)
    for part in ("`seeds`", "`grids`: unknown key; did you mean `grid`?", '[grid] "env.vision_delay"', "[base]", "[optim] hidden = 0"):
        assert part in msg, msg
    bad = {
        "seeds": [0],
        "base": BASE,
        "grid": {"env.vision_delay": [0.02, -1.0], "env.no_such_key": [1], "param.biceps.no_such": [1.0], "policy.kind": ["gru", "lstm"]},
    }
    with pytest.raises(mn.MotornetError) as e:
        sweeps.plan(bad, str(tmp_path))
    msg = str(e.value)
    assert msg.startswith("sweep spec: 3 problems"), msg
    for part in ('[grid] "env.vision_delay" = -1.0', "vision_delay = -1", '[grid] "env.no_such_key" = 1', "no_such_key",
                 '[grid] "param.biceps.no_such" = 1.0'):
        assert part in msg, msg
    # Values fine alone can clash together: every combination is checked too, and named by its run id.
    clash = {"seeds": [0, 1], "base": BASE, "grid": {"env.episode_duration": [0.05, 1.0], "run.eval_last_steps": [5, 10]}}
    with pytest.raises(mn.MotornetError) as e:
        sweeps.plan(clash, str(tmp_path))
    msg = str(e.value)
    assert msg.startswith("sweep spec: 1 problem") and "run `env.episode_duration=0.05,run.eval_last_steps=10,seed=0`" in msg, msg
    # The command line prints the problems, not a traceback, before starting anything.
    (tmp_path / "bad.toml").write_text('seeds = [0]\n[grid]\n"env.vision_delay" = [-1.0]\n')
    r = subprocess.run([sys.executable, "-m", "motornet_rs", "sweep", str(tmp_path / "bad.toml"), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "vision_delay" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()


def test_missing_ray_is_named(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(mn.MotornetError, match="pip install ray"):
        mn.sweep({"seeds": [0], "base": BASE}, tmp_path / "s")
