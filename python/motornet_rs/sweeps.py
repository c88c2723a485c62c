"""Parameter sweeps on Ray: every combination of a grid of settings, once per seed, each trained by the Rust
trainer into its own run directory (``python -m motornet_rs sweep``; see docs/sweeps.md).

The run directories are the only state: a run is finished when its ``sweep_result.json`` says so, and an
interrupted one resumes from its checkpoint, so a rerun of the same sweep picks up where the last stopped
(after Ctrl-C, a crash or a kill) without any bookkeeping of Ray's.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import io
import itertools
import json
import math
import os
import re
import sys
import time

from . import _core
from .training import config_to_toml

MotornetError = _core.MotornetError

SPEC_KEYS = ("seeds", "base", "grid", "target_metric")
SPEC_FILE = "sweep.json"  # the spec a sweep directory was created by
RESULT_FILE = "sweep_result.json"  # in a run directory: the run's row, written when the run ends
RESULTS = "results.csv"
COLUMNS = (
    "run_id",
    "seed",
    "status",
    "final_metric",
    "best_metric",
    "seconds_to_target",
    "batches_done",
    "train_seconds",
    "wall_seconds",
    "error",
)
DEFAULT_TARGET = 0.007  # metres: the trainer's own `seconds_to_0_7cm`


def _tomllib():
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        try:
            import tomli as tomllib
        except ImportError:
            raise MotornetError("reading a sweep spec needs Python >= 3.11 or `pip install tomli`") from None
    return tomllib


def _ray():
    try:
        import ray
    except ImportError:
        raise MotornetError("sweeps run on Ray, which is not installed: `pip install ray`") from None
    return ray


def write_atomic(path: str, text: str) -> None:
    """Replaces ``path`` by ``text`` so that an interruption leaves the old file or the new one."""
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# -- the spec --------------------------------------------------------------------------------------


class Run:
    """One run of a sweep: its settings (grid key → value), seed, id and resolved configuration."""

    __slots__ = ("run_id", "settings", "seed", "config")

    def __init__(self, run_id, settings, seed, config):
        self.run_id, self.settings, self.seed, self.config = run_id, settings, seed, config


def load_spec(spec) -> tuple[dict, str]:
    """A spec (dict, TOML path) as a dict, and the directory relative model paths are read from."""
    if isinstance(spec, dict):
        try:
            return json.loads(json.dumps(spec)), os.getcwd()  # a deep copy of plain data
        except (TypeError, ValueError) as e:
            raise MotornetError(f"sweep spec: {e}; a spec holds numbers, strings, booleans, lists and dicts") from None
    if isinstance(spec, (str, os.PathLike)):
        path = os.fspath(spec)
        try:
            with open(path, "rb") as f:
                data = _tomllib().load(f)
        except OSError as e:
            raise MotornetError(f"{path}: {e.strerror}") from None
        except ValueError as e:  # tomllib.TOMLDecodeError
            raise MotornetError(f"{path}: {e}") from None
        try:
            json.dumps(data)
        except TypeError as e:  # dates and times
            raise MotornetError(f"{path}: {e}; a sweep spec holds numbers, strings, booleans, lists and tables") from None
        return data, os.path.dirname(os.path.abspath(path))
    raise MotornetError("sweep: the spec must be a dict or the path of a TOML file")


def _is_param(key: str) -> bool:
    return key.startswith("param.")


def _set(cfg: dict, key: str, value) -> None:
    """Applies one grid setting to a configuration dict: ``param.NAME`` is a model parameter override,
    ``table.key`` a key of a table, ``key`` a top-level key."""
    if _is_param(key):
        name = key[len("param."):]
        # A later override of the same parameter replaces the base's (both would apply, the last winning).
        kept = [o for o in cfg.get("overrides", []) if o.split("=", 1)[0].strip() != name]
        text = value if isinstance(value, str) else json.dumps(value)
        cfg["overrides"] = kept + [f"{name}={text}"]
    elif "." in key:
        table, name = key.split(".", 1)
        sub = cfg.setdefault(table, {})
        if not isinstance(sub, dict):
            raise MotornetError(f"`{table}` is not a table")
        sub[name] = value
    else:
        cfg[key] = value


def _absolute_model(cfg: dict, base_dir: str) -> None:
    """A model file named relative to the spec is read from the spec's directory (workers may run
    elsewhere)."""
    model = cfg.get("model")
    if isinstance(model, str) and model not in _core.builtin_models() and not os.path.isabs(model):
        candidate = os.path.join(base_dir, model)
        if os.path.exists(candidate):
            cfg["model"] = os.path.abspath(candidate)


def _resolve(cfg: dict) -> str:
    """The trainer's own parsing and validation (every problem at once, by key)."""
    return _core.resolve_config(config_to_toml(cfg))


def _slug(value) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (list, tuple)):
        text = "_".join(_slug(v) for v in value)
    else:
        text = str(value)
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", text).strip("_") or "_"


def run_id(settings: dict, seed: int) -> str:
    """``key=value,…,seed=N``: readable, and the same on every rerun of the spec."""
    rid = ",".join([f"{k}={_slug(v)}" for k, v in settings.items()] + [f"seed={seed}"])
    if len(rid) > 200:  # file names are limited to 255 bytes
        import hashlib

        rid = rid[:180] + "~" + hashlib.sha256(rid.encode()).hexdigest()[:12]
    return rid


def _indent(message: str) -> str:
    return message.replace("\n", "\n    ")


def plan(spec, base_dir: str | None = None) -> list[Run]:
    """Checks a whole spec — its own keys, the base configuration, every grid value and every
    combination, with the trainer's validation — and returns its runs. Raises :class:`MotornetError`
    listing every problem, each located by key, before anything runs."""
    if base_dir is None:
        spec, base_dir = load_spec(spec)
    problems = []
    for key in spec:
        if key not in SPEC_KEYS:
            near = difflib.get_close_matches(key, SPEC_KEYS, 1)
            hint = f"; did you mean `{near[0]}`?" if near else f" (keys: {', '.join(SPEC_KEYS)})"
            problems.append(f"`{key}`: unknown key{hint}")
    seeds = spec.get("seeds")
    if not isinstance(seeds, list) or not seeds:
        problems.append("`seeds`: must be a non-empty list of integers, e.g. `seeds = [0, 1, 2]`")
        seeds = []
    elif not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        problems.append(f"`seeds` = {seeds}: every seed must be an integer ≥ 0")
    elif len(set(seeds)) != len(seeds):
        problems.append(f"`seeds` = {seeds}: a seed is repeated")
    target = spec.get("target_metric", DEFAULT_TARGET)
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not (0 < target < math.inf):
        problems.append(f"`target_metric` = {target!r}: must be a positive number of metres")
    base = spec.get("base", {})
    if not isinstance(base, dict):
        problems.append("`base`: must be a table (`[base]`), a training configuration")
        base = {}
    base = json.loads(json.dumps(base))
    if isinstance(base.get("optim"), dict) and "seed" in base["optim"]:
        problems.append("[base.optim] seed: the seeds of a sweep are given by `seeds`")
    grid = spec.get("grid", {})
    if not isinstance(grid, dict):
        problems.append("`grid`: must be a table (`[grid]`) of lists")
        grid = {}
    grid = _flatten(grid)
    usable = {}  # the grid keys whose values are checked against the trainer below
    for key, values in grid.items():
        where = f'[grid] "{key}"'
        if key in ("seed", "optim.seed"):
            problems.append(f"{where}: the seeds of a sweep are given by `seeds`")
        elif key.count(".") > 1 and not _is_param(key) or key.endswith(".") or key == "param.":
            problems.append(f"{where}: a grid key is `name`, `table.name` or `param.NAME` (a model parameter)")
        elif not isinstance(values, list) or not values:
            problems.append(f"{where}: must be a non-empty list of values")
        elif any(isinstance(v, dict) for v in values):
            problems.append(f"{where}: values must be numbers, strings, booleans or lists")
        elif len({json.dumps(v) for v in values}) != len(values):
            problems.append(f"{where} = {values}: a value is repeated")
        else:
            usable[key] = values

    _absolute_model(base, base_dir)
    try:
        _resolve(base)
    except MotornetError as e:
        raise MotornetError(_report(problems + [f"[base]: {_indent(str(e))}"])) from None
    # Each value alone on the base, so that a bad value is reported once, by its key…
    for key, values in usable.items():
        for v in values:
            cfg = json.loads(json.dumps(base))
            try:
                _set(cfg, key, v)
                _absolute_model(cfg, base_dir)
                _resolve(cfg)
            except MotornetError as e:
                problems.append(f'[grid] "{key}" = {json.dumps(v)}: {_indent(str(e))}')
    if problems:
        raise MotornetError(_report(problems))
    # … then every combination (values can be fine alone and clash together) and seed.
    runs, seen = [], {}
    for combo in itertools.product(*grid.values()):
        settings = dict(zip(grid.keys(), combo))
        cfg = json.loads(json.dumps(base))
        for k, v in settings.items():
            _set(cfg, k, v)
        _absolute_model(cfg, base_dir)
        for seed in seeds:
            rid = run_id(settings, seed)
            cfg.setdefault("optim", {})["seed"] = seed
            try:
                resolved = _resolve(cfg)
            except MotornetError as e:
                problems.append(f"run `{rid}`: {_indent(str(e))}")
                break  # the same problem for every seed
            if rid in seen:
                problems.append(f"runs {seen[rid]} and {settings} have the same id `{rid}`: make the values differ in letters or digits")
            seen[rid] = settings
            runs.append(Run(rid, settings, seed, resolved))
    if problems:
        raise MotornetError(_report(problems))
    return runs


def _flatten(grid: dict, prefix: str = "") -> dict:
    """Unquoted dotted keys (`env.vision_delay = [...]`) are nested tables in TOML: the same as quoted."""
    flat = {}
    for k, v in grid.items():
        if isinstance(v, dict):
            flat.update(_flatten(v, f"{prefix}{k}."))
        else:
            flat[f"{prefix}{k}"] = v
    return flat


def _report(problems: list) -> str:
    n = len(problems)
    return f"sweep spec: {n} problem{'s' if n > 1 else ''}:\n  " + "\n  ".join(problems)


# -- one run (on a Ray worker) ---------------------------------------------------------------------


def _read_json(path: str):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def run_row(run_dir: str, status: str, error: str = "", wall_seconds: float | None = None, target: float = DEFAULT_TARGET) -> dict:
    """A run's row of results.csv from its ``summary.json`` (whatever exists of it)."""
    s = _read_json(os.path.join(run_dir, "summary.json")) or {}
    evals = s.get("evaluations") or []
    reached = [e["wall_seconds"] for e in evals if e["metric"] <= target]
    return {
        "status": status,
        "final_metric": s.get("final_metric"),
        "best_metric": min((e["metric"] for e in evals), default=None),
        "seconds_to_target": reached[0] if reached else None,
        "batches_done": s.get("batches_done"),
        "train_seconds": s.get("train_seconds"),
        "wall_seconds": wall_seconds,
        "error": error,
    }


@contextlib.contextmanager
def _locked(path: str, wait: bool = True):
    """An exclusive lock on ``path`` held while the block runs (released by the kernel if the process
    dies)."""
    import fcntl  # POSIX only: imported here so that `import motornet_rs` works everywhere

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise MotornetError(f"{os.path.dirname(path)}: another sweep is running in this directory") from None
        yield
    finally:
        os.close(fd)


def run_one(config: str, run_dir: str, target: float) -> dict:
    """Trains one run in ``run_dir`` — resuming from its checkpoint if it has one — and records its row.
    A failure is the run's result, not an exception."""
    os.makedirs(run_dir, exist_ok=True)
    # A worker of an interrupted sweep may still be finishing this run: wait for it, then reuse its result.
    with _locked(os.path.join(run_dir, ".lock")):
        done = _read_json(os.path.join(run_dir, RESULT_FILE))
        if done and done.get("status") == "ok":
            return done
        resume = os.path.exists(os.path.join(run_dir, "checkpoint.safetensors"))
        start = time.monotonic()
        try:
            _core.train_run(config, run_dir, resume, True)
            status, error = "ok", ""
        except Exception as e:  # NaN, a model that fails at run time, a full disk: this run's result
            status, error = "failed", str(e) if isinstance(e, MotornetError) else f"{type(e).__name__}: {e}"
        row = run_row(run_dir, status, error, time.monotonic() - start, target)
        write_atomic(os.path.join(run_dir, RESULT_FILE), json.dumps(row, indent=1))
        return row


# -- the sweep (the driver) ------------------------------------------------------------------------


def _claim(out: str, spec: dict) -> None:
    """Creates the sweep directory, or checks that it was created by this very spec."""
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, SPEC_FILE)
    saved = _read_json(path)
    if saved is None:
        if os.path.exists(path) or any(not n.startswith(".") for n in os.listdir(out)):
            raise MotornetError(f"{out}: not empty and not a sweep directory; choose another --out")
        write_atomic(path, json.dumps(spec, indent=1) + "\n")
    elif saved != spec:
        raise MotornetError(
            f"{out} holds a sweep of a different spec ({path}); rerun with the same spec to resume it, "
            "or choose another --out"
        )


def write_results(out: str, runs: list, rows: dict) -> None:
    """``results.csv``: one row per run, in the spec's order, written atomically."""
    keys = list(runs[0].settings) if runs else []
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["run_id", *keys, *COLUMNS[1:]])
    for r in runs:
        row = rows[r.run_id]
        values = [json.dumps(v) if isinstance(v, list) else v for v in r.settings.values()]
        w.writerow([r.run_id, *values, r.seed, *("" if row[c] is None else row[c] for c in COLUMNS[2:])])
    write_atomic(os.path.join(out, RESULTS), buf.getvalue())


def _table(out: str):
    """results.csv as a pandas DataFrame when pandas is installed, else a list of dicts."""
    path = os.path.join(out, RESULTS)
    try:
        import pandas
    except ImportError:
        with open(path, encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))
    return pandas.read_csv(path, keep_default_na=False, na_values=[""])


def _fmt(row: dict) -> str:
    if row["status"] != "ok":
        first = (row["error"] or "").splitlines()[0] if row["error"] else ""
        return f"{row['status']}: {first}"
    m = row["final_metric"]
    wall = row["wall_seconds"]
    return f"ok, final metric {m * 100:.3f} cm" + (f" ({wall:.1f} s)" if wall is not None else "")


def sweep(spec, out, *, address=None, cpus_per_run=None, num_cpus=None, retry_failed=False, quiet=False):
    """Runs a sweep on Ray and returns its results (a pandas DataFrame when pandas is installed, else a
    list of dicts; the rows of ``out/results.csv``).

    ``spec`` is a dict or the path of a TOML file (docs/sweeps.md); ``out`` the sweep directory, one run
    directory per run. ``address`` connects to a running Ray cluster (default: a local one, ``num_cpus``
    CPUs, or Ray's current session if one is open); ``cpus_per_run`` CPUs reserved per run (default:
    the run's ``[optim] threads``). A rerun skips finished runs, resumes interrupted ones, and reruns
    failed ones only with ``retry_failed``.
    """
    spec, base_dir = load_spec(spec)
    runs = plan(spec, base_dir)
    if cpus_per_run is not None and not (isinstance(cpus_per_run, (int, float)) and cpus_per_run > 0):
        raise MotornetError(f"--cpus-per-run {cpus_per_run}: must be a positive number")
    if address and "ray" not in sys.modules:
        # `ray start` enables token authentication when a token exists, but a driver connecting by address
        # sends it only in token mode, read when ray is imported: the same rule as Ray's command line.
        token = os.environ.get("RAY_AUTH_TOKEN") or os.path.exists(os.path.expanduser("~/.ray/auth_token"))
        if token and "RAY_AUTH_MODE" not in os.environ:
            os.environ["RAY_AUTH_MODE"] = "token"
    ray = _ray()
    out = os.path.abspath(os.fspath(out))
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    os.makedirs(out, exist_ok=True)
    with _locked(os.path.join(out, ".sweep.lock"), wait=False):
        _claim(out, spec)
        for name in os.listdir(out):  # what a killed sweep's atomic writes left
            if name.startswith(".") and ".tmp" in name:
                os.remove(os.path.join(out, name))
        target = float(spec.get("target_metric", DEFAULT_TARGET))
        rows, todo = {}, []
        for r in runs:
            d = os.path.join(out, r.run_id)
            saved = _read_json(os.path.join(d, RESULT_FILE))
            if saved and (saved["status"] == "ok" or (saved["status"] == "failed" and not retry_failed)):
                rows[r.run_id] = saved
            else:
                rows[r.run_id] = _unfinished(d, target)
                todo.append(r)
        write_results(out, runs, rows)
        say(f"sweep: {len(runs)} runs, {len(runs) - len(todo)} already done, {len(todo)} to run → {out}")
        if todo:
            _run_on_ray(ray, todo, out, rows, runs, target, address, cpus_per_run, num_cpus, say)
        failed = sum(rows[r.run_id]["status"] == "failed" for r in runs)
        say(f"sweep: {len(runs) - failed} runs finished, {failed} failed → {os.path.join(out, RESULTS)}")
    return _table(out)


def _unfinished(run_dir: str, target: float) -> dict:
    resumable = os.path.exists(os.path.join(run_dir, "checkpoint.safetensors"))
    return run_row(run_dir, "interrupted" if resumable else "pending", target=target)


def _run_on_ray(ray, todo, out, rows, runs, target, address, cpus_per_run, num_cpus, say):
    started = not ray.is_initialized()
    if started:
        if address:
            _check_reachable(address)
        try:
            ray.init(address=address, num_cpus=None if address else num_cpus, include_dashboard=False,
                     log_to_driver=False, configure_logging=False)
        except (ConnectionError, ValueError, RuntimeError) as e:
            raise MotornetError(f"ray: cannot {'connect to ' + address if address else 'start a local cluster'}: {e}") from None
    task = ray.remote(run_one)
    pending = {}
    try:
        for r in todo:
            cpus = cpus_per_run or _threads(r.config)
            # A worker that dies (killed, out of memory) is retried: the retry resumes from the checkpoint.
            ref = task.options(num_cpus=cpus, max_retries=2).remote(r.config, os.path.join(out, r.run_id), target)
            pending[ref] = r
        done = len(runs) - len(todo)
        while pending:
            # A timeout, so that Ctrl-C is seen while waiting.
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in ready:
                r = pending.pop(ref)
                try:
                    row = ray.get(ref)
                except ray.exceptions.RayError as e:  # the worker died more often than retried
                    d = os.path.join(out, r.run_id)
                    os.makedirs(d, exist_ok=True)
                    row = run_row(d, "failed", f"{type(e).__name__}: {e}", target=target)
                    write_atomic(os.path.join(d, RESULT_FILE), json.dumps(row, indent=1))
                rows[r.run_id] = row
                done += 1
                write_results(out, runs, rows)
                say(f"[{done}/{len(runs)}] {r.run_id}: {_fmt(row)}")
    except KeyboardInterrupt:
        # Stop the workers: each run directory keeps its last checkpoint, which a rerun resumes from. When
        # this driver owns its Ray connection, `ray.shutdown()` below ends the job and Ray kills the job's
        # workers; cancelling them first races with their replies and can abort the driver inside Ray
        # ("Tried to complete task that was not pending", ray-project/ray#54798). Only a session the
        # caller opened, which outlives this call, needs its tasks cancelled.
        for ref, r in pending.items():
            if not started:
                ray.cancel(ref, force=True)
            rows[r.run_id] = _unfinished(os.path.join(out, r.run_id), target)
        write_results(out, runs, rows)
        say(f"sweep: interrupted with {len(pending)} runs unfinished; rerun the same command to resume")
        raise
    finally:
        if started:
            ray.shutdown()


def _check_reachable(address: str) -> None:
    """Ray retries an unreachable address for minutes: fail in seconds with a clear message instead."""
    import socket

    if address == "auto" or "://" in address:
        return  # Ray looks the cluster up, or its client protocol
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
    except (OSError, ValueError) as e:
        raise MotornetError(
            f"--address {address}: no Ray cluster answers there ({e}); start one with `ray start --head` "
            "and pass the address it prints, or omit --address for a local one"
        ) from None


def _threads(config: str) -> int:
    return int(_tomllib().loads(config).get("optim", {}).get("threads", 1))


# -- the report ------------------------------------------------------------------------------------


def report(out, figures=None) -> list:
    """Plots of a sweep directory (matplotlib): the final metric against each varied setting (mean and
    spread over seeds) and the learning curves of each condition; PNG and SVG in ``figures`` (default
    ``out/report``). Returns the files written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MotornetError("sweep-report plots with matplotlib, which is not installed: `pip install matplotlib`") from None
    out = os.fspath(out)
    spec = _read_json(os.path.join(out, SPEC_FILE))
    if spec is None or not os.path.exists(os.path.join(out, RESULTS)):
        raise MotornetError(f"{out}: not a sweep directory (no {SPEC_FILE} and {RESULTS})")
    grid = _flatten(spec.get("grid", {}))
    keys = list(grid)
    with open(os.path.join(out, RESULTS), encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["status"] == "ok"]
    if not rows:
        raise MotornetError(f"{out}: no finished runs to plot yet")
    figures = os.fspath(figures) if figures is not None else os.path.join(out, "report")
    os.makedirs(figures, exist_ok=True)
    written = []

    def save(fig, name):
        for ext in ("png", "svg"):
            path = os.path.join(figures, f"{name}.{ext}")
            fig.savefig(path, dpi=120)
            written.append(path)
        plt.close(fig)

    # A condition is one combination of the grid; its seeds are the spread.
    def condition(row, without=None):
        return tuple((k, row[k]) for k in keys if k != without)

    for key in keys:
        order = [json.dumps(v) if isinstance(v, list) else str(v) for v in grid[key]]
        numeric = all(_number(v) is not None for v in order)
        xs = {v: (_number(v) if numeric else i) for i, v in enumerate(order)}
        fig, ax = plt.subplots(figsize=(6, 4))
        for cond in sorted({condition(r, key) for r in rows}):
            pts = [(xs[r[key]], float(r["final_metric"]) * 100) for r in rows if condition(r, key) == cond and r[key] in xs]
            by_x = {}
            for x, y in pts:
                by_x.setdefault(x, []).append(y)
            x = sorted(by_x)
            mean = [sum(by_x[v]) / len(by_x[v]) for v in x]
            sd = [_sd(by_x[v]) for v in x]
            label = ", ".join(f"{k}={v}" for k, v in cond) or "all"
            line = ax.errorbar(x, mean, yerr=sd, marker="o", capsize=3, label=label)
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=8, alpha=0.4, color=line[0].get_color())
        if not numeric:
            ax.set_xticks(range(len(order)), order)
        ax.set_xlabel(key)
        ax.set_ylabel("final evaluation metric (cm)")
        ax.set_title("Final metric, mean ± sd over seeds", fontsize=10)
        if len(ax.get_legend_handles_labels()[0]) > 1:
            ax.legend(fontsize=7)
        fig.tight_layout()
        save(fig, "metric_vs_" + _slug(key))

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for cond in sorted({condition(r) for r in rows}):
        curves = {}
        for r in (r for r in rows if condition(r) == cond):
            s = _read_json(os.path.join(out, r["run_id"], "summary.json")) or {}
            for e in s.get("evaluations", []):
                curves.setdefault(e["batch"], []).append(e["metric"] * 100)
        x = sorted(curves)
        mean = [sum(curves[b]) / len(curves[b]) for b in x]
        sd = [_sd(curves[b]) for b in x]
        label = ", ".join(f"{k}={v}" for k, v in cond) or "all runs"
        (line,) = ax.plot(x, mean, label=label)
        ax.fill_between(x, [m - s for m, s in zip(mean, sd)], [m + s for m, s in zip(mean, sd)], alpha=0.2, color=line.get_color())
    ax.set_yscale("log")
    ax.set_xlabel("batch")
    ax.set_ylabel("evaluation metric (cm)")
    ax.set_title("Learning curves per condition (mean ± sd over seeds)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save(fig, "learning_curves")
    return written


def _number(text: str):
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _sd(values: list) -> float:
    if len(values) < 2:
        return 0.0
    m = sum(values) / len(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


# -- the command line ------------------------------------------------------------------------------


def main(argv) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m motornet_rs sweep", description="Runs a parameter sweep on Ray (docs/sweeps.md).")
    p.add_argument("spec", help="the sweep spec (TOML)")
    p.add_argument("--out", required=True, help="the sweep directory (one run directory per run, results.csv)")
    p.add_argument("--address", help="a running Ray cluster (`ray start --head` prints it); default: a local one")
    p.add_argument("--cpus-per-run", type=float, help="CPUs Ray reserves per run (default: the run's [optim] threads)")
    p.add_argument("--retry-failed", action="store_true", help="rerun the runs that failed before")
    a = p.parse_args(argv)
    try:
        results = sweep(a.spec, a.out, address=a.address, cpus_per_run=a.cpus_per_run, retry_failed=a.retry_failed)
    except MotornetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    statuses = [r["status"] for r in results] if isinstance(results, list) else list(results["status"])
    return 0 if all(s == "ok" for s in statuses) else 1  # 1: some runs failed (results.csv says why)


def main_report(argv) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m motornet_rs sweep-report", description="Plots a sweep's results.")
    p.add_argument("dir", help="the sweep directory")
    p.add_argument("--out", help="where the figures go (default: DIR/report)")
    a = p.parse_args(argv)
    try:
        files = report(a.dir, a.out)
    except MotornetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for f in files:
        print(f)
    return 0
