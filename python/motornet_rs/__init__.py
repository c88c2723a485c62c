"""motornet_rs: Python bindings of motornet (differentiable musculoskeletal effectors, MotorNet 0.3.0
parity, in Rust).

* :class:`Plant` — a built-in model compiled into the package (``Plant("arm26")``) or any ``.mnet`` file or
  text run as native code generated at run time (the JIT; the interpreter on request); batched
  ``reset`` / ``step`` / ``step_vjp`` / ``step_jvp`` on float64 numpy arrays; parameters by name.
* :mod:`motornet_rs.torch` — ``PlantStep`` (a ``torch.autograd.Function``) and ``Environment``, MotorNet's
  environment as a differentiable torch module (needs torch).
* :mod:`motornet_rs.gym` — ``ReachEnv`` (``gymnasium.Env``) and ``ReachVectorEnv`` (a
  ``gymnasium.vector.VectorEnv`` batched in Rust), registered as ``motornet_rs/RandomReach-v0``, … when
  gymnasium is installed.
* :func:`train` — the Rust trainer (``motornet train``) from Python.
* :func:`sweep` — parameter sweeps of the trainer on Ray (:mod:`motornet_rs.sweeps`; needs ray), also
  ``python -m motornet_rs sweep SPEC.toml --out DIR`` and ``sweep-report DIR``.
* ``python -m motornet_rs verify FILE…`` — reruns closed-loop reference files through torch.
"""

from __future__ import annotations

import importlib.util as _ilu

import numpy as np

from . import _core
from ._core import MotornetError, VecEnv, builtin_models, builtin_source
from .sweeps import sweep
from .training import train

try:
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("motornet-rs")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = [
    "MotornetError",
    "Plant",
    "VecEnv",
    "builtin_models",
    "builtin_source",
    "sweep",
    "train",
]


def _f64(name, x):
    try:
        return np.ascontiguousarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise MotornetError(f"`{name}` must be an array of numbers: {e}") from None


class Plant:
    """An effector model.

    ``Plant(model, overrides=None, interpreted=False)``: ``model`` is a built-in name (see
    :func:`builtin_models`; compiled, the fast path) or the path of a ``.mnet`` file (the JIT, or the
    interpreter with ``interpreted=True``);
    ``overrides`` a list of ``"name=value"`` strings, values with optional units
    (``"shoulder.range.max=120 deg"``). ``Plant.from_source(text, file_name)`` compiles model text.
    A model that does not compile raises :class:`MotornetError` whose message gives file:line:col and the
    snippet of every problem.

    States are float64 rows of ``state_dim`` values in MotorNet's layout (``parts``: ``joint``,
    ``muscle``, ``geometry``, ``cartesian``); :meth:`split` names them. Every batched method takes
    ``(batch, width)`` arrays (or one row) and returns new arrays; inputs that already are C-contiguous
    float64 arrays are read in place, without copies.
    """

    __slots__ = ("_p", "_layout")

    def __init__(self, model: str, overrides=None, interpreted: bool = False):
        self._layout = None
        if isinstance(model, _core.Plant):
            self._p = model
            return
        self._p = _core.Plant(str(model), list(overrides) if overrides else None, interpreted)

    @classmethod
    def from_source(cls, text: str, file_name: str = "<string>", overrides=None) -> "Plant":
        return cls(_core.Plant.from_source(text, file_name, list(overrides) if overrides else None))

    def copy(self) -> "Plant":
        """A new plant built the same way, with the same parameter values."""
        return Plant(self._p.copy())

    def __getattr__(self, name):
        if name in ("_p", "_layout"):  # not yet set (unpickling, copying): no recursion
            raise AttributeError(name)
        return getattr(self._p, name)

    def __reduce__(self):
        kind, a, b, interpreted = self._p.origin
        return (_rebuild_plant, (kind, a, b, interpreted, self._p.param_values()))

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __repr__(self):
        return repr(self._p)

    # -- parameters -------------------------------------------------------------------------------
    @property
    def params(self) -> dict:
        """Current parameter values by name (SI units)."""
        return {name: value for name, value, _, _ in self._p.param_table()}

    def set_params(self, values: dict) -> None:
        """Sets parameters by name: numbers in SI units or text with units (``"120 deg"``). All are
        checked together against the model's constraints; on error nothing changes."""
        overrides = []
        for name, v in values.items():
            overrides.append(f"{name}={v!r}" if isinstance(v, (int, float)) else f"{name}={v}")
        self._p.apply_overrides(overrides)

    # -- layout -----------------------------------------------------------------------------------
    def part_slices(self) -> dict:
        return {name: slice(at, at + n) for name, at, n in self._p.parts}

    def split(self, states) -> dict:
        """Named views of ``states`` (``batch × state_dim``, numpy or torch) in MotorNet's layout:
        ``joint`` (batch × 2·dof), ``muscle`` (batch × rows × muscles), ``geometry`` (batch × (2 + dof) ×
        muscles), ``cartesian`` (batch × 4, or × 6 in a 3D model) and ``fingertip`` (batch × 2, or × 3)."""
        if self._layout is None:  # the layout never changes; split runs several times per step
            sl = self.part_slices()
            rows = (len(self._p.muscle_state_names), len(self._p.geometry_state_names))
            self._layout = (sl["joint"], sl["muscle"], sl["geometry"], sl["cartesian"], rows, self._p.n_muscles)
        joint, muscle, geometry, cartesian, (mrows, grows), m = self._layout
        b = states.shape[:-1]
        out = {
            "joint": states[..., joint],
            "muscle": states[..., muscle].reshape(*b, mrows, m),
            "geometry": states[..., geometry].reshape(*b, grows, m),
            "cartesian": states[..., cartesian],
        }
        c = out["cartesian"]
        out["fingertip"] = c[..., : c.shape[-1] // 2]
        return out

    def controls(self, excitations, endpoint_load=None, joint_load=None) -> np.ndarray:
        """Stacks excitations (batch × muscles), endpoint forces (batch × 2, or × 3 in a 3D model) and joint
        loads (batch × dof) into the control rows :meth:`step` takes (missing loads are zero)."""
        e = np.atleast_2d(_f64("excitations", excitations))
        b = e.shape[0]
        d = self._p.control_dim - self._p.n_muscles - self._p.dof
        f = np.zeros((b, d)) if endpoint_load is None else np.broadcast_to(_f64("endpoint_load", endpoint_load), (b, d))
        j = np.zeros((b, self._p.dof)) if joint_load is None else np.broadcast_to(_f64("joint_load", joint_load), (b, self._p.dof))
        return np.concatenate([e, f, j], axis=1)

    # -- simulation and derivatives -----------------------------------------------------------------
    def reset(self, joint):
        """States right after reset from joint states (positions then velocities, within the limits)."""
        return self._p.reset(_f64("joint", joint))

    def step(self, states, controls):
        """One step of every row: ``controls`` = excitations, endpoint force (x, y), joint loads."""
        return self._p.step(_f64("states", states), _f64("controls", controls))

    def step_vjp(self, states, controls, next_cotangent):
        """Reverse mode: ``(state_cotangent, controls_cotangent)`` given the next states' cotangent."""
        return self._p.step_vjp(_f64("states", states), _f64("controls", controls), _f64("next_cotangent", next_cotangent))

    def step_jvp(self, states, controls, state_tangent, controls_tangent):
        """Forward mode: the next states' tangent given tangents of the states and controls."""
        return self._p.step_jvp(
            _f64("states", states),
            _f64("controls", controls),
            _f64("state_tangent", state_tangent),
            _f64("controls_tangent", controls_tangent),
        )

    def rollout(self, joint, controls):
        """A whole trajectory: ``(steps + 1) × batch × state_dim`` states, from ``joint`` (``batch × joint_dim``)
        through ``controls`` (``steps × batch × control_dim``)."""
        return self._p.rollout(_f64("joint", joint), _f64("controls", controls))

    def rollout_gradient(self, joint, controls, state_cotangent, threads=1):
        """The gradient of ``L = sum(state_cotangent * rollout(joint, controls))``: ``(∂L/∂controls, ∂L/∂initial
        state)``, computed in blocks of four effectors on ``threads`` threads without keeping the
        trajectory (the bits of stepping the adjoint back one step at a time)."""
        return self._p.rollout_gradient(
            _f64("joint", joint), _f64("controls", controls), _f64("state_cotangent", state_cotangent), threads
        )

    def step_jacobian(self, state, controls):
        """The Jacobian of one step, ``state_dim × (state_dim + control_dim)``."""
        return self._p.step_jacobian(_f64("state", state), _f64("controls", controls))

    def core(self) -> "_core.Plant":
        return self._p


def _rebuild_plant(kind, a, b, interpreted, values):
    p = Plant(a, interpreted=interpreted) if kind == "spec" else Plant.from_source(a, b)
    p.core().set_param_values(list(values))
    return p


def _register_gym():
    if _ilu.find_spec("gymnasium") is not None:
        try:
            from .gym import register_envs
        except ImportError:  # a broken gymnasium install must not break the package
            return
        register_envs()


_register_gym()
