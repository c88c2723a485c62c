"""PyTorch integration: the plant's step as a ``torch.autograd.Function`` (forward: the Rust step; backward:
the generated adjoint; forward mode: the generated tangent), and MotorNet's environment as a
differentiable torch module whose ``reset`` / ``step`` return tensors connected to autograd.

The observation layout is read from the Rust environment (``VecEnv.observation_layout``), the one
description of it; here it is only applied to tensors.
"""

from __future__ import annotations

import json

import numpy as np
import torch

from . import MotornetError, Plant, _core

__all__ = ["PlantStep", "step", "PlantRollout", "rollout", "Environment"]


def _np(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().to("cpu", torch.float64).numpy())


def _core_plant(plant):
    return plant.core() if isinstance(plant, Plant) else plant


class PlantStep(torch.autograd.Function):
    """``PlantStep.apply(state, controls, plant) -> next_state`` for ``batch × state_dim`` states and
    ``batch × control_dim`` controls (or single rows). Differentiable in reverse mode (``backward``: the
    plant's ``step_vjp``) and forward mode (``jvp``: ``step_jvp``). Computes in float64 and returns the
    dtype and device of ``state``."""

    # The forward takes `ctx` (no separate `setup_context`): with `setup_context`, every `apply` has torch
    # bind the arguments through `inspect.signature`, which cost more than the step itself.
    @staticmethod
    def forward(ctx, state, controls, plant):
        p = _core_plant(plant)
        ctx.plant = p
        ctx.save_for_backward(state, controls)
        ctx.save_for_forward(state, controls)
        out = p.step(_np(state), _np(controls))
        return torch.from_numpy(out).to(device=state.device, dtype=state.dtype)

    @staticmethod
    def backward(ctx, grad_next):
        state, controls = ctx.saved_tensors
        gx, gu = ctx.plant.step_vjp(_np(state), _np(controls), _np(grad_next))
        return (
            torch.from_numpy(gx).to(device=state.device, dtype=state.dtype),
            torch.from_numpy(gu).to(device=controls.device, dtype=controls.dtype),
            None,
        )

    @staticmethod
    def jvp(ctx, state_tangent, controls_tangent, _plant_tangent):
        state, controls = ctx.saved_tensors
        ts = torch.zeros_like(state) if state_tangent is None else state_tangent
        tu = torch.zeros_like(controls) if controls_tangent is None else controls_tangent
        out = ctx.plant.step_jvp(_np(state), _np(controls), _np(ts), _np(tu))
        return torch.from_numpy(out).to(device=state.device, dtype=state.dtype)


def step(plant, state: torch.Tensor, controls: torch.Tensor) -> torch.Tensor:
    """One differentiable plant step (see :class:`PlantStep`)."""
    return PlantStep.apply(state, controls, plant)


class PlantRollout(torch.autograd.Function):
    """``PlantRollout.apply(joint, controls, plant, threads) -> states``: the ``(steps + 1) × batch ×
    state_dim`` trajectory from joint states (``batch × joint_dim``) through ``controls`` (``steps × batch ×
    control_dim``), in one call. ``backward`` is the plant's ``rollout_gradient`` (blocks of four
    effectors forward and back, on ``threads`` threads), which gives the bits of backpropagating
    :class:`PlantStep` step by step. Differentiable with respect to ``controls``, not ``joint`` (the
    reset has no adjoint)."""

    @staticmethod
    def forward(ctx, joint, controls, plant, threads):
        p = _core_plant(plant)
        ctx.plant, ctx.threads = p, threads
        ctx.save_for_backward(joint, controls)
        out = p.rollout(_np(joint), _np(controls))
        return torch.from_numpy(out).to(device=controls.device, dtype=controls.dtype)

    @staticmethod
    def backward(ctx, grad_states):
        joint, controls = ctx.saved_tensors
        gu, _ = ctx.plant.rollout_gradient(_np(joint), _np(controls), _np(grad_states), ctx.threads)
        return None, torch.from_numpy(gu).to(device=controls.device, dtype=controls.dtype), None, None


def rollout(plant, joint: torch.Tensor, controls: torch.Tensor, threads: int = 1) -> torch.Tensor:
    """A differentiable trajectory of the plant in one call (see :class:`PlantRollout`)."""
    return PlantRollout.apply(torch.as_tensor(joint, dtype=torch.float64), controls, plant, threads)


class _Space:
    """A stand-in for ``gymnasium.spaces.Box`` when gymnasium is not installed (``.shape`` only)."""

    def __init__(self, shape, low, high):
        self.shape = shape
        self.low = low
        self.high = high


def _box(low, high, shape):
    try:
        from gymnasium.spaces import Box

        return Box(low=low, high=high, shape=shape, dtype=np.float64)
    except ImportError:
        return _Space(shape, low, high)


class Environment(torch.nn.Module):
    """MotorNet's environment, differentiable in torch.

    ``Environment(model="arm26", task="random_reach", max_ep_duration=1.0, proprioception_delay=None,
    vision_delay=None, action_noise=0.0, obs_noise=0.0, proprioception_noise=0.0, vision_noise=0.0,
    action_frame_stacking=0, perturbations=None, overrides=None, interpreted=False, seed=0)`` takes MotorNet's
    ``Environment`` arguments (delays in seconds, ``None`` meaning one step; a delay of ``d`` steps shows
    the state of step ``max(0, t − d + 1)``, as MotorNet's buffers do). ``model`` is a built-in name, a
    ``.mnet`` path or a :class:`motornet_rs.Plant`; ``task`` a kind (``"random_reach"``, ``"centre_out"``,
    ``"delayed_reach"``) or a dict with ``kind`` and its settings (the ``[task]`` table of the training
    configuration). ``perturbations`` is a list of dicts, the ``[[perturbation]]`` tables of the training
    configuration, drawn per episode as the trainer draws them: their loads act on the plant (and are
    differentiated through), target jumps change the goal shown and the reward's goal, a visuomotor
    rotation turns vision about the start.

    ``reset(seed=None, options={"batch_size": B, "joint_state": …, "goal": …, "deterministic": …})``
    returns ``(obs, info)``; ``step(action)`` returns ``(obs, reward, terminated, truncated, info)``, with
    ``info["states"]`` holding ``joint``, ``muscle``, ``geometry``, ``cartesian`` and ``fingertip``
    tensors connected to the autograd graph (through the plant's generated adjoint), ``info["goal"]``,
    ``info["action"]`` and ``info["noisy action"]``. So MotorNet's tutorial loop runs unchanged apart from
    construction.
    """

    def __init__(
        self,
        model="arm26",
        task="random_reach",
        *,
        max_ep_duration: float = 1.0,
        proprioception_delay=None,
        vision_delay=None,
        action_noise: float = 0.0,
        obs_noise: float = 0.0,
        proprioception_noise: float = 0.0,
        vision_noise: float = 0.0,
        action_frame_stacking: int = 0,
        perturbations=None,
        overrides=None,
        interpreted: bool = False,
        seed: int = 0,
        device=None,
        dtype=torch.float64,
    ):
        super().__init__()
        if isinstance(model, Plant):
            self.plant = model.copy()
            if overrides:
                self.plant.core().apply_overrides(list(overrides))
        else:
            self.plant = Plant(model, overrides, interpreted)
        dt = self.plant.timestep
        self.dt = dt
        self.task = {"kind": task} if isinstance(task, str) else dict(task)
        if self.task.get("kind") == "centre_out" and "start_joint" not in self.task:
            b = self.plant.bounds
            self.task["start_joint"] = [float(x) for x in (b[:, 0] + b[:, 1]) / 2]
        if self.task.get("kind") == "delayed_reach" and "go_steps" not in self.task:
            n = int(round(max_ep_duration / dt))
            self.task["go_steps"] = [max(0, n // 5), max(0, n // 2)]
        self.env_config = {
            "episode_duration": float(max_ep_duration),
            "proprioception_delay": float(dt if proprioception_delay in (None, 0) else proprioception_delay),
            "vision_delay": float(dt if vision_delay in (None, 0) else vision_delay),
            "action_noise": float(action_noise),
            "proprioception_noise": float(proprioception_noise),
            "vision_noise": float(vision_noise),
            "observation_noise": float(obs_noise),
            "action_frame_stacking": int(action_frame_stacking),
        }
        self.perturbations = [dict(p) for p in perturbations or []]
        self.max_ep_duration = max_ep_duration
        self.seed = seed
        self.device = torch.device("cpu") if device is None else torch.device(device)
        self.dtype = dtype
        self._vec = None
        self._make_vec(1)
        self.layout = self._vec.observation_layout()
        self.obs_dim = self._vec.obs_dim
        self.n_muscles = self.plant.n_muscles
        self.action_dim = self.n_muscles
        self.steps = self._vec.steps
        self.observation_space = _box(-np.inf, np.inf, (self.obs_dim,))
        self.action_space = _box(0.0, 1.0, (self.n_muscles,))
        self._compile_layout()
        self._generator = torch.Generator().manual_seed(seed)

    # -- construction helpers -------------------------------------------------------------------------
    def _make_vec(self, batch):
        # Rebuilt for another batch size, or when the plant's parameters changed (the task draws with them).
        params = tuple(self.plant.core().param_table())
        if self._vec is None or self._vec.num_envs != batch or params != self._vec_params:
            self._vec_params = params
            self._vec = _core.VecEnv(
                self.plant.core(), batch, json.dumps(self.task), json.dumps(self.env_config), self.seed, 1,
                json.dumps(self.perturbations),
            )

    def _compile_layout(self):
        st = [k for k, c in enumerate(self.layout) if c["kind"] in ("vision", "proprioception")]
        self._state_cols = st
        self._vision = [k for k, c in enumerate(self.layout) if c["kind"] == "vision"]
        self._state_index = torch.tensor([self.layout[k]["state_index"] for k in st], dtype=torch.long)
        scale = torch.tensor([self.layout[k]["scale"] for k in st], dtype=torch.float64)
        self._state_scale = scale.to(self.device, self.dtype)
        self._state_vision = torch.tensor([self.layout[k]["kind"] == "vision" for k in st])
        self._obs_noisy = torch.tensor([c["kind"] not in ("goal", "go_cue") for c in self.layout]).to(self.device)
        # The observation as runs of consecutive columns from one source, each one slice per step:
        # ("goal", first, end) components, ("go",), ("captured", delay, first, end) positions among the
        # captured state columns, ("action", lag, first, end) muscles.
        pos = {k: i for i, k in enumerate(st)}
        runs = []
        for k, c in enumerate(self.layout):
            kind = c["kind"]
            if kind == "goal":
                run = ("goal", None, c["component"])
            elif kind == "go_cue":
                runs.append(("go",))
                continue
            elif kind in ("vision", "proprioception"):
                run = ("captured", c["delay"], pos[k])
            else:
                run = ("action", c["lag"], c["muscle"])
            last = runs[-1] if runs else None
            if last and last[0] == run[0] and last[1] == run[1] and last[3] == run[2]:
                runs[-1] = (*last[:3], run[2] + 1)
            else:
                runs.append((*run, run[2] + 1))
        self._obs_runs = [r if r[0] != "goal" else ("goal", r[2], r[3]) for r in runs]

    def describe_observation(self) -> list:
        """The observation layout, column by column (from the Rust environment)."""
        return [dict(c) for c in self.layout]

    # -- noise ------------------------------------------------------------------------------------------
    def _randn(self, *shape):
        return torch.randn(*shape, generator=self._generator, dtype=torch.float64).to(self.device, self.dtype)

    # -- episode ----------------------------------------------------------------------------------------
    def reset(self, *, seed=None, options=None):
        options = dict(options or {})
        joint = options.get("joint_state")
        goal = options.get("goal")
        batch = options.get("batch_size")
        if batch is None:
            batch = 1 if joint is None else int(np.shape(joint)[0])
        self.deterministic = bool(options.get("deterministic", False))
        if seed is not None:
            self._generator.manual_seed(seed)
        self._make_vec(int(batch))
        j = None
        if joint is not None:
            j = _np(torch.as_tensor(joint, dtype=torch.float64)).reshape(batch, -1)
            if j.shape[1] == self.plant.dof:  # positions only: at rest
                j = np.concatenate([j, np.zeros_like(j)], axis=1)
        g = None if goal is None else _np(torch.as_tensor(goal, dtype=torch.float64)).reshape(batch, -1)
        self._vec.reset(seed=seed, joint_state=j, goal=g)
        ep = self._vec.episodes()
        self.batch_size = batch
        self.goal = torch.from_numpy(ep["goal"]).to(self.device, self.dtype)
        # Visuomotor rotations (radians per episode, 0 for none) turn vision about the start.
        angle = ep["vision_rotation"]
        self._rotation = None
        if np.any(angle):
            c, s_ = (torch.from_numpy(f(angle)).to(self.device, self.dtype) for f in (np.cos, np.sin))
            start = torch.from_numpy(ep["start"][:, :2]).to(self.device, self.dtype)
            self._rotation = (c, s_, start)
        self.joint0 = ep["joint_state"]
        state = torch.from_numpy(self.plant.reset(ep["joint_state"])).to(self.device, self.dtype)
        self.t = 0
        self.states = [state]
        self._captured = []
        self._applied = []
        self.elapsed = 0.0
        obs = self._observe()
        return obs, self._info(state, None, None)

    def _goal_at(self, t):
        """The goal shown at step `t`: the drawn one, or after a target jump the new one."""
        if not self.perturbations:
            return self.goal
        return torch.from_numpy(self._vec.goal(t)).to(self.device, self.dtype)

    def _observe(self):
        t = self.t
        state = self.states[t]
        b = state.shape[0]
        cap = state[:, self._state_index] * self._state_scale
        goal = self._goal_at(t)
        if not self.deterministic:
            sd_v = self.env_config["vision_noise"]
            sd_p = self.env_config["proprioception_noise"]
            if sd_v > 0 or sd_p > 0:
                sd = torch.where(self._state_vision, sd_v, sd_p).to(self.device, self.dtype)
                cap = cap + sd * self._randn(b, cap.shape[1])
        self._captured.append(cap)
        parts = []
        for run in self._obs_runs:
            kind = run[0]
            if kind == "goal":
                parts.append(goal[:, run[1] : run[2]])
            elif kind == "go":
                parts.append(torch.from_numpy(self._vec.go_signal(t)).to(self.device, self.dtype)[:, None])
            elif kind == "captured":
                parts.append(self._captured[max(0, t - run[1] + 1)][:, run[2] : run[3]])
            elif t >= run[1]:  # a stacked action, `lag` steps old
                parts.append(self._applied[t - run[1]][:, run[2] : run[3]])
            else:
                parts.append(torch.zeros(b, run[3] - run[2], device=self.device, dtype=self.dtype))
        obs = torch.cat(parts, dim=1)
        if self._rotation is not None:
            c, s_, start = self._rotation
            x, y = obs[:, self._vision[0]] - start[:, 0], obs[:, self._vision[1]] - start[:, 1]
            seen = torch.stack([start[:, 0] + c * x - s_ * y, start[:, 1] + s_ * x + c * y], dim=1)
            obs = torch.cat([obs[:, : self._vision[0]], seen, obs[:, self._vision[1] + 1 :]], dim=1)
        sd = self.env_config["observation_noise"]
        if sd > 0 and not self.deterministic:
            obs = obs + self._obs_noisy * sd * self._randn(*obs.shape)
        return obs

    def _info(self, state, action, noisy):
        info = {
            "states": self.plant.split(state),
            "goal": self._goal_at(self.t),
            "action": action,
            "noisy action": noisy,
        }
        return info

    def step(self, action, **kwargs):
        """One step with ``action`` (``batch × n_muscles`` excitations, a tensor; gradients flow through
        it). Returns ``(obs, reward, terminated, truncated, info)``; ``reward`` is minus the L1 distance of
        the fingertip from the goal, ``terminated`` is true after ``max_ep_duration``."""
        if not hasattr(self, "t"):
            raise MotornetError("step: call reset first")
        if self.t >= self.steps:
            raise MotornetError(f"step: the episode is over after {self.steps} steps; call reset")
        action = torch.as_tensor(action, device=self.device).to(self.dtype)
        b, m = self.batch_size, self.n_muscles
        if tuple(action.shape) != (b, m):
            raise MotornetError(f"step: `action` has shape {tuple(action.shape)}; expected ({b}, {m})")
        noisy = action
        sd = self.env_config["action_noise"]
        if sd > 0 and not self.deterministic:
            noisy = action + sd * self._randn(b, m)
        state = self.states[self.t]
        cart = self.plant.split(state)["cartesian"]
        f, jac = self._vec.endpoint_load(self.t, _np(cart))
        force = torch.from_numpy(f).to(self.device, self.dtype)
        if np.any(jac):
            # The load's value from Rust; its derivative by the chain rule through the endpoint state.
            j = torch.from_numpy(jac).to(self.device, self.dtype)
            force = force + torch.einsum("bij,bj->bi", j, cart - cart.detach())
        zeros = torch.zeros(b, self.plant.dof, device=self.device, dtype=self.dtype)
        controls = torch.cat([noisy, force, zeros], dim=1)
        nxt = PlantStep.apply(state, controls, self.plant)
        self.states.append(nxt)
        self._applied.append(noisy)
        self.t += 1
        self.elapsed = self.t * self.dt
        obs = self._observe()
        info = self._info(nxt, action, noisy)
        reward = -(info["states"]["fingertip"] - info["goal"]).abs().sum(dim=1)
        terminated = self.t >= self.steps
        return obs, reward, terminated, False, info

    def forward(self, action):
        return self.step(action)


def gradcheck_plant(plant, batch: int = 2, seed: int = 0, **kwargs) -> bool:
    """``torch.autograd.gradcheck`` of one step of ``plant`` at random mid-range states and excitations
    (float64)."""
    p = plant if isinstance(plant, Plant) else Plant(plant)
    rng = np.random.default_rng(seed)
    b = p.bounds
    lo = np.where(np.isfinite(b[:, 0]), b[:, 0], -1.0)
    hi = np.where(np.isfinite(b[:, 1]), b[:, 1], 1.0)
    q = lo + (hi - lo) * rng.uniform(0.3, 0.7, size=(batch, p.dof))
    v = rng.uniform(-0.5, 0.5, size=(batch, p.dof))
    x0 = p.reset(np.concatenate([q, v], axis=1))
    # Take a few steps so that muscle states are away from their reset values.
    u = p.controls(rng.uniform(0.2, 0.6, size=(batch, p.n_muscles)))
    for _ in range(3):
        x0 = p.step(x0, u)
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    c = torch.tensor(u, dtype=torch.float64, requires_grad=True)
    kwargs.setdefault("eps", 1e-6)
    kwargs.setdefault("atol", 1e-5)
    kwargs.setdefault("rtol", 1e-4)
    return torch.autograd.gradcheck(lambda x, c: PlantStep.apply(x, c, p), (x, c), **kwargs)


