"""gymnasium integration: ``ReachEnv`` (a ``gymnasium.Env``) and ``ReachVectorEnv`` (a
``gymnasium.vector.VectorEnv`` whose environments are stepped together in Rust), registered as
``motornet_rs/RandomReach-v0``, ``motornet_rs/CentreOut-v0`` and ``motornet_rs/DelayedReach-v0`` (``import
motornet_rs`` registers them)::

    env = gymnasium.make("motornet_rs/RandomReach-v0", model="arm26")
    envs = gymnasium.make_vec("motornet_rs/RandomReach-v0", num_envs=1024,
                              vectorization_mode="vector_entry_point", model="arm26")

Observations are MotorNet's (goal, delayed vision, delayed proprioception, stacked actions, go cue; see
``describe_observation()``), actions are excitations in [0, 1], the reward is minus the L1 distance of the
fingertip from where it should be, and an episode ends (``terminated``) after ``max_ep_duration``.
``info`` holds ``cartesian`` (the endpoint [x, y, vx, vy]), ``goal`` (the goal shown: after a target jump,
the new one) and ``aim``; the single environment
adds the full state row ``states``, the vector environment gives all of them by ``states()``.
"""

from __future__ import annotations

import json

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from . import Plant, _core

TASKS = {"RandomReach": "random_reach", "CentreOut": "centre_out", "DelayedReach": "delayed_reach"}


def _settings(model, task, overrides, interpreted, max_ep_duration, proprioception_delay, vision_delay,
              action_noise, obs_noise, proprioception_noise, vision_noise, action_frame_stacking):
    plant = model.copy() if isinstance(model, Plant) else Plant(model, overrides, interpreted)
    dt = plant.timestep
    task = {"kind": task} if isinstance(task, str) else dict(task)
    if task.get("kind") == "centre_out" and "start_joint" not in task:
        b = plant.bounds
        task["start_joint"] = [float(x) for x in (b[:, 0] + b[:, 1]) / 2]
    if task.get("kind") == "delayed_reach" and "go_steps" not in task:
        n = int(round(max_ep_duration / dt))
        task["go_steps"] = [n // 5, n // 2]
    env = {
        "episode_duration": float(max_ep_duration),
        "proprioception_delay": float(dt if proprioception_delay in (None, 0) else proprioception_delay),
        "vision_delay": float(dt if vision_delay in (None, 0) else vision_delay),
        "action_noise": float(action_noise),
        "proprioception_noise": float(proprioception_noise),
        "vision_noise": float(vision_noise),
        "observation_noise": float(obs_noise),
        "action_frame_stacking": int(action_frame_stacking),
    }
    return plant, task, env


class _Common:
    def _build(self, n, model, task, overrides, interpreted, max_ep_duration, proprioception_delay,
               vision_delay, action_noise, obs_noise, proprioception_noise, vision_noise,
               action_frame_stacking, seed, threads, perturbations):
        self.plant, self.task, self.env_config = _settings(
            model, task, overrides, interpreted, max_ep_duration, proprioception_delay, vision_delay,
            action_noise, obs_noise, proprioception_noise, vision_noise, action_frame_stacking)
        self.perturbations = [dict(p) for p in perturbations or []]
        self._vec = _core.VecEnv(self.plant.core(), n, json.dumps(self.task), json.dumps(self.env_config),
                                 seed, threads, json.dumps(self.perturbations))
        o, m = self._vec.obs_dim, self._vec.n_muscles
        self._single_obs = spaces.Box(-np.inf, np.inf, shape=(o,), dtype=np.float64)
        self._single_act = spaces.Box(0.0, 1.0, shape=(m,), dtype=np.float64)

    def describe_observation(self) -> list:
        """The observation layout, column by column (from the Rust environment)."""
        return self._vec.observation_layout()

    @staticmethod
    def _info(info):
        return {"cartesian": info["cartesian"], "goal": info["goal"], "aim": info["aim"]}

    def states(self):
        """The full state rows (``num_envs × state_dim``, MotorNet's layout; ``plant.split`` names them)."""
        return self._vec.states()


class ReachEnv(_Common, gymnasium.Env):
    """One environment (``gymnasium.Env``); keyword arguments as :class:`motornet_rs.torch.Environment`, plus
    ``perturbations``: a list of dicts, the ``[[perturbation]]`` tables of the training configuration (force
    pulses, loads, fields, channels, target jumps, visuomotor rotations, sequences; docs/training.md), drawn
    per episode with their probabilities exactly as the trainer draws them."""

    metadata = {"render_modes": []}

    def __init__(self, model="arm26", task="random_reach", *, overrides=None, interpreted=False,
                 max_ep_duration=1.0, proprioception_delay=None, vision_delay=None, action_noise=0.0,
                 obs_noise=0.0, proprioception_noise=0.0, vision_noise=0.0, action_frame_stacking=0,
                 perturbations=None, render_mode=None):
        self._build(1, model, task, overrides, interpreted, max_ep_duration, proprioception_delay,
                    vision_delay, action_noise, obs_noise, proprioception_noise, vision_noise,
                    action_frame_stacking, 0, 1, perturbations)
        self.observation_space = self._single_obs
        self.action_space = self._single_act
        self.render_mode = render_mode
        self._seeded = False

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        options = options or {}
        if seed is None and not self._seeded:
            seed = int(self.np_random.integers(0, 2**63 - 1))
        self._seeded = True
        j = options.get("joint_state")
        g = options.get("goal")
        obs, info = self._vec.reset(
            seed=seed,
            joint_state=None if j is None else np.asarray(j, dtype=np.float64).reshape(1, -1),
            goal=None if g is None else np.asarray(g, dtype=np.float64).reshape(1, -1),
        )
        return obs[0], self._one(info)

    def _one(self, info):
        out = {k: v[0] for k, v in self._info(info).items()}
        out["states"] = self._vec.states()[0]
        return out

    def step(self, action):
        a = np.asarray(action, dtype=np.float64).reshape(1, -1)
        obs, reward, terminated, info = self._vec.step(a)
        return obs[0], float(reward[0]), bool(terminated), False, self._one(info)


class ReachVectorEnv(_Common, VectorEnv):
    """``num_envs`` environments stepped together in Rust (one batched effector, ``threads`` threads for
    large batches). Autoreset: ``NEXT_STEP`` (the step after an episode ends resets it)."""

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs=1, model="arm26", task="random_reach", *, overrides=None, interpreted=False,
                 max_ep_duration=1.0, proprioception_delay=None, vision_delay=None, action_noise=0.0,
                 obs_noise=0.0, proprioception_noise=0.0, vision_noise=0.0, action_frame_stacking=0,
                 threads=1, perturbations=None, render_mode=None):
        self._build(num_envs, model, task, overrides, interpreted, max_ep_duration, proprioception_delay,
                    vision_delay, action_noise, obs_noise, proprioception_noise, vision_noise,
                    action_frame_stacking, 0, threads, perturbations)
        self.num_envs = num_envs
        self.single_observation_space = self._single_obs
        self.single_action_space = self._single_act
        self.observation_space = batch_space(self._single_obs, num_envs)
        self.action_space = batch_space(self._single_act, num_envs)
        self.render_mode = render_mode
        self._needs_reset = False
        self._seeded = False

    def reset(self, *, seed=None, options=None):
        if isinstance(seed, (list, tuple)):
            seed = seed[0]
        super().reset(seed=seed)
        if seed is None and not self._seeded:
            seed = int(self.np_random.integers(0, 2**63 - 1))
        self._seeded = True
        options = options or {}
        j, g = options.get("joint_state"), options.get("goal")
        obs, info = self._vec.reset(
            seed=seed,
            joint_state=None if j is None else np.asarray(j, dtype=np.float64),
            goal=None if g is None else np.asarray(g, dtype=np.float64),
        )
        self._needs_reset = False
        return obs, self._info(info)

    def step(self, actions):
        n = self.num_envs
        if self._needs_reset:
            obs, info = self._vec.reset()
            self._needs_reset = False
            return obs, np.zeros(n), np.zeros(n, dtype=bool), np.zeros(n, dtype=bool), self._info(info)
        obs, reward, terminated, info = self._vec.step(np.asarray(actions, dtype=np.float64))
        self._needs_reset = terminated
        return obs, reward, np.full(n, terminated), np.zeros(n, dtype=bool), self._info(info)


def register_envs():
    """Registers ``motornet_rs/<Task>-v0`` for every built-in task (idempotent)."""
    from gymnasium.envs.registration import register, registry

    for name, kind in TASKS.items():
        env_id = f"motornet_rs/{name}-v0"
        if env_id in registry:
            continue
        register(
            id=env_id,
            entry_point="motornet_rs.gym:ReachEnv",
            vector_entry_point="motornet_rs.gym:ReachVectorEnv",
            kwargs={"task": kind},
        )
