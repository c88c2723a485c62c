"""Closed-loop verification from Python: reruns MotorNet's tutorial training step (a ``torch.nn.GRU`` +
``torch.nn.Linear`` policy driving the differentiable torch environment, the L1 + activation loss,
``loss.backward()`` through torch autograd and the plant's generated adjoints) on reference files
(``closed_loop/*.json``) and compares every observation, action, hidden state, state, the loss and every
parameter gradient with ``|ours − ref| / (1 + |ref|)`` against ``1e-6``.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import torch

from . import MotornetError
from .torch import Environment

TOLERANCE = 1e-6

FIELDS = ["observations", "actions", "hidden_states", "joint", "cartesian", "muscle", "loss"]


def model_for(ref: dict) -> str:
    """The built-in model of a closed-loop case."""
    case = str(ref.get("case", ""))
    effector = str(ref.get("effector", ""))
    if case.startswith("arm26") or effector.startswith("RigidTendonArm26"):
        return "arm26"
    if case.startswith("pointmass24") or effector.startswith("ReluPointMass24"):
        return "pointmass24_relu"
    raise MotornetError(f"case `{case}`: no built-in model for effector `{effector}`")


class Policy(torch.nn.Module):
    """MotorNet's ``PolicyGRU`` (the tutorial's ``Policy``)."""

    def __init__(self, n_inputs, n_hidden, n_outputs):
        super().__init__()
        self.gru = torch.nn.GRU(n_inputs, n_hidden, 1, batch_first=True)
        self.fc = torch.nn.Linear(n_hidden, n_outputs)

    def forward(self, obs, h):
        y, h = self.gru(obs[:, None, :], h)
        return torch.sigmoid(self.fc(y[:, 0])), h


def _need(ref, key, path):
    if key not in ref:
        raise MotornetError(f"{path}: missing field `{key}`")
    return ref[key]


def _delay(ref, kw, what):
    """A delay in seconds: `<what>_delay_s`, else the environment's keyword; `None` (MotorNet's default)
    and 0 mean one time step."""
    v = ref.get(f"{what}_delay_s", kw.get(f"{what}_delay"))
    return None if v is None else float(v)


def run_case(ref: dict, path: str = "<reference>", interpreted: bool = False) -> dict:
    """Reruns one closed-loop reference; returns ``{field: (largest scaled error, elements compared)}``."""
    steps = int(_need(ref, "steps", path))
    batch = int(_need(ref, "batch", path))
    dt = float(_need(ref, "dt", path))
    hidden = int(_need(ref, "hidden", path))
    kw = _need(ref, "environment_kwargs", path)
    for k in ("action_noise", "obs_noise", "proprioception_noise", "vision_noise"):
        if float(kw.get(k, 0.0)) != 0.0:
            raise MotornetError(f"{path}: environment_kwargs.{k} = {kw[k]}: only noise-free references can be compared")
    env = Environment(
        model_for(ref),
        "random_reach",
        max_ep_duration=steps * dt,
        proprioception_delay=_delay(ref, kw, "proprioception"),
        vision_delay=_delay(ref, kw, "vision"),
        action_frame_stacking=int(kw.get("action_frame_stacking", 0)),
        interpreted=interpreted,
    )
    if abs(env.dt - dt) > 1e-15:
        raise MotornetError(f"{path}: dt = {dt} but the model's time step is {env.dt}")
    m = env.n_muscles
    obs_dim = int(_need(ref, "obs_dim", path))
    if env.obs_dim != obs_dim:
        raise MotornetError(f"{path}: obs_dim = {obs_dim} but the environment observes {env.obs_dim} values")
    policy = Policy(obs_dim, hidden, m).double()
    params = _need(ref, "params", path)
    with torch.no_grad():
        named = dict(policy.named_parameters())
        for name in _need(ref, "param_names", path):
            if name not in named:
                raise MotornetError(f"{path}: params.{name}: not a parameter of the GRU policy")
            value = torch.tensor(_need(params, name, path + ": params"), dtype=torch.float64)
            if tuple(value.shape) != tuple(named[name].shape):
                raise MotornetError(
                    f"{path}: params.{name} has shape {tuple(value.shape)}, expected {tuple(named[name].shape)}"
                )
            named[name].copy_(value)

    # The tutorial's loop.
    h = torch.zeros(1, batch, hidden, dtype=torch.float64)
    obs, info = env.reset(
        options={
            "batch_size": batch,
            "joint_state": torch.tensor(_need(ref, "initial_joint_state", path), dtype=torch.float64),
            "goal": torch.tensor(_need(ref, "goal", path), dtype=torch.float64),
            "deterministic": True,
        }
    )
    observations, actions, hiddens = [obs], [], []
    states = [info["states"]]
    for _ in range(steps):
        action, h = policy(obs, h)
        obs, _, terminated, _, info = env.step(action=action)
        observations.append(obs)
        actions.append(action)
        hiddens.append(h[0])
        states.append(info["states"])
    if not terminated:
        raise MotornetError(f"{path}: the episode did not end after {steps} steps")
    xy = torch.stack([s["fingertip"] for s in states], dim=1)  # B × (T+1) × 2
    tg = info["goal"][:, None, :]
    l1 = torch.mean(torch.sum(torch.abs(xy - tg), dim=-1))
    act = torch.stack([s["muscle"][:, 0, :] for s in states[1:]], dim=1)  # B × T × M
    weight = float(ref.get("activation_weight", 1e-3))
    act_term = torch.mean(act**2)
    loss = l1 + weight * act_term
    policy.zero_grad()
    loss.backward()

    ours = {
        "observations": torch.stack(observations, dim=1),
        "actions": torch.stack(actions, dim=1),
        "hidden_states": torch.stack(hiddens, dim=1),
        "joint": torch.stack([s["joint"] for s in states], dim=1),
        "cartesian": torch.stack([s["cartesian"] for s in states], dim=1),
        "muscle": torch.stack([s["muscle"] for s in states], dim=1),
        "loss": loss,
    }
    if "loss_l1" in ref:
        ours["loss_l1"] = l1
    if "loss_activation" in ref:
        ours["loss_activation"] = act_term
    result = {}
    for field, value in ours.items():
        want = np.asarray(_need(ref, field, path), dtype=np.float64)
        got = value.detach().numpy()
        if got.shape != want.shape:
            raise MotornetError(f"{path}: field `{field}` has shape {want.shape}, ours {got.shape}")
        result[field] = (_scaled(got, want, path, field), want.size)
    grads = _need(ref, "grad", path)
    for name, p in policy.named_parameters():
        want = np.asarray(_need(grads, name, path + ": grad"), dtype=np.float64)
        got = p.grad.detach().numpy()
        if got.shape != want.shape:
            raise MotornetError(f"{path}: grad.{name} has shape {want.shape}, ours {got.shape}")
        result[f"grad.{name}"] = (_scaled(got, want, path, f"grad.{name}"), want.size)
    return result


def _scaled(got, want, path, field):
    if not np.all(np.isfinite(want)):
        raise MotornetError(f"{path}: field `{field}` holds non-finite values")
    if want.size == 0:
        raise MotornetError(f"{path}: field `{field}` is empty: nothing to compare")
    err = np.abs(got - want) / (1.0 + np.abs(want))
    worst = float(np.max(err))
    return worst if math.isfinite(worst) else math.inf


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(
        prog="python -m motornet_rs verify",
        description="Rerun closed-loop reference files through the torch environment and compare every field.",
    )
    ap.add_argument("files", nargs="+", help="closed_loop/*.json reference files")
    ap.add_argument("--interpreted", action="store_true", help="run the models with the interpreter")
    ap.add_argument("--tolerance", type=float, default=TOLERANCE)
    args = ap.parse_args(argv)
    failed = 0
    for path in args.files:
        try:
            with open(path, encoding="utf-8") as f:
                ref = json.load(f)
            if not isinstance(ref, dict):
                raise MotornetError(f"{path}: not a JSON object")
            result = run_case(ref, path, args.interpreted)
        except (OSError, ValueError, KeyError, TypeError) as e:
            print(f"{path}: FAILED: {e}")
            failed += 1
            continue
        bad = [k for k, (e, _) in result.items() if not e <= args.tolerance]
        worst = max(e for e, _ in result.values())
        status = "ok" if not bad else "FAILED"
        print(f"{path}: {status} (largest scaled error {worst:.2e}; tolerance {args.tolerance:g})")
        for field, (e, n) in result.items():
            mark = "" if e <= args.tolerance else "   <-- above tolerance"
            print(f"  {field:24} {e:9.2e}  ({n} values){mark}")
        failed += bool(bad)
    n = len(args.files)
    print(f"{n} files: {n - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
