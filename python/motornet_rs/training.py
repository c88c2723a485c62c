"""The Rust trainer (``motornet train``) from Python."""

from __future__ import annotations

import csv
import json
import os
import tempfile

import numpy as np

from . import _core


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        if isinstance(v, float) and not np.isfinite(v):
            raise _core.MotornetError(f"configuration: {v} is not a finite number")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise _core.MotornetError(f"configuration: cannot write {v!r} ({type(v).__name__}) as TOML")


def config_to_toml(config: dict) -> str:
    """The TOML text of a configuration dict (top-level keys, then one table per nested dict)."""
    lines, tables = [], []
    for k, v in config.items():
        if isinstance(v, dict):
            tables.append((k, v, f"[{k}]"))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):  # [[perturbation]]
            tables.extend((k, x, f"[[{k}]]") for x in v)
        else:
            lines.append(f"{k} = {_toml_value(v)}")
    for name, table, header in tables:
        lines.append(f"\n{header}")
        for k, v in table.items():
            if isinstance(v, dict):
                raise _core.MotornetError(f"configuration: [{name}] {k}: nested tables are not part of the schema")
            lines.append(f"{k} = {_toml_value(v)}")
    return "\n".join(lines) + "\n"


def train(config=None, out=None, *, resume=False, quiet=True, **sections):
    """Trains as ``motornet train`` does and returns the results.

    ``config`` is a dict in the command line's configuration schema (``{"model": "arm26", "task":
    {...}, "env": {...}, "loss": {...}, "optim": {...}, "policy": {...}, "run": {...}}``), the path of a
    TOML file, or ``None`` (the defaults); keyword arguments update tables (``train(run={"batches":
    200})``). Unknown keys and bad values raise :class:`MotornetError` listing every problem by key.
    ``out`` is the run directory (default: a new temporary directory).

    Returns a dict: ``run_dir``; ``config`` (the resolved TOML); ``summary`` (``summary.json``); ``log``
    (arrays ``batch``, ``loss``, ``grad_norm``, ``wall_seconds``); ``weights`` (numpy arrays under
    PyTorch ``state_dict`` names, loadable into ``torch.nn.GRU`` + ``torch.nn.Linear``); ``evaluation``
    (deterministic rollouts of the final weights on the evaluation episodes: ``paths`` episodes ×
    (steps+1) × [x, y, vx, vy], ``activations``, ``goal``, ``start``, ``metric``).
    """
    if config is None:
        cfg = {}
    elif isinstance(config, (str, os.PathLike)):
        with open(config, encoding="utf-8") as f:
            text = f.read()
        cfg = None
    elif isinstance(config, dict):
        cfg = json.loads(json.dumps(config))  # a deep copy of plain data
    else:
        raise _core.MotornetError("train: `config` must be a dict, a TOML path or None")
    if cfg is not None:
        for k, v in sections.items():
            cfg.setdefault(k, {}).update(v) if isinstance(v, dict) else cfg.__setitem__(k, v)
        text = config_to_toml(cfg)
    elif sections:
        extra = config_to_toml(sections)
        text = text + "\n" + extra
    resolved = _core.resolve_config(text)
    if out is None:
        out = tempfile.mkdtemp(prefix="motornet_rs-run-")
    out = os.fspath(out)
    _core.train_run(resolved, out, resume, quiet)
    with open(os.path.join(out, "summary.json"), encoding="utf-8") as f:
        summary = json.load(f)
    log = {"batch": [], "loss": [], "grad_norm": [], "wall_seconds": []}
    with open(os.path.join(out, "log.csv"), encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for k in log:
                log[k].append(float(row[k]))
    log = {k: np.asarray(v, dtype=np.int64 if k == "batch" else np.float64) for k, v in log.items()}
    loaded = _core.load_run(resolved, os.path.join(out, "checkpoint.safetensors"))
    return {
        "run_dir": out,
        "config": resolved,
        "summary": summary,
        "log": log,
        "weights": loaded["weights"],
        "evaluation": loaded["evaluation"],
        "obs_dim": loaded["obs_dim"],
        "policy": loaded["policy"],
    }
