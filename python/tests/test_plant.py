import numpy as np
import pytest

import motornet_rs as mn
from conftest import MODELS

BUILTIN = mn.builtin_models()


def test_builtin_models_listed():
    assert "arm26" in BUILTIN and "pointmass24_relu" in BUILTIN
    assert "chain4" in BUILTIN and "arm4" in BUILTIN  # the spatial models
    assert len(BUILTIN) == 10


def mid_joint(p, batch, seed=0):
    rng = np.random.default_rng(seed)
    b = p.bounds
    lo = np.where(np.isfinite(b[:, 0]), b[:, 0], -1.0)
    hi = np.where(np.isfinite(b[:, 1]), b[:, 1], 1.0)
    q = lo + (hi - lo) * rng.uniform(0.3, 0.7, size=(batch, p.dof))
    return np.concatenate([q, np.zeros_like(q)], axis=1)


@pytest.mark.parametrize("name", BUILTIN)
def test_compiled_and_interpreted_agree(name):
    a = mn.Plant(name)
    b = mn.Plant(name, interpreted=True)
    assert a.backend == "compiled" and b.backend == "interpreted"
    x = a.reset(mid_joint(a, 5))
    np.testing.assert_allclose(x, b.reset(mid_joint(a, 5)), rtol=0, atol=1e-12)
    u = a.controls(np.full((5, a.n_muscles), 0.4))
    for _ in range(5):
        xa, xb = a.step(x, u), b.step(x, u)
        np.testing.assert_allclose(xa, xb, rtol=1e-10, atol=1e-10)
        x = xa


@pytest.mark.parametrize("name", BUILTIN)
def test_vjp_and_jvp_are_adjoint(name):
    p = mn.Plant(name)
    x = p.reset(mid_joint(p, 3))
    u = p.controls(np.full((3, p.n_muscles), 0.3))
    x = p.step(x, u)
    rng = np.random.default_rng(1)
    tx, tu = rng.normal(size=x.shape), rng.normal(size=u.shape)
    w = rng.normal(size=x.shape)
    jv = p.step_jvp(x, u, tx, tu)
    gx, gu = p.step_vjp(x, u, w)
    lhs = np.sum(jv * w, axis=1)
    rhs = np.sum(gx * tx, axis=1) + np.sum(gu * tu, axis=1)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-9)
    jac = p.step_jacobian(x[0], u[0])
    assert jac.shape == (p.state_dim, p.state_dim + p.control_dim)
    np.testing.assert_allclose(jac @ np.concatenate([tx[0], tu[0]]), jv[0], rtol=1e-9, atol=1e-9)


def test_states_by_name_in_motornets_layout():
    p = mn.Plant("arm26")
    x = p.reset([[0.8, 1.2, 0.0, 0.0]] * 2)
    s = p.split(x)
    assert s["joint"].shape == (2, 4)
    assert s["muscle"].shape == (2, len(p.muscle_state_names), 6)
    assert s["geometry"].shape == (2, 4, 6)
    assert s["cartesian"].shape == (2, 4)
    np.testing.assert_array_equal(s["fingertip"], s["cartesian"][:, :2])
    assert p.muscle_state_names[0] == "activation"
    # views, not copies
    assert np.shares_memory(s["muscle"], x)


def test_one_dimensional_inputs_give_one_dimensional_outputs():
    p = mn.Plant("pointmass24_relu")
    x = p.reset([0.1, 0.2, 0.0, 0.0])
    assert x.shape == (p.state_dim,)
    y = p.step(x, np.zeros(p.control_dim))
    assert y.shape == (p.state_dim,)


def test_parameters_by_name():
    p = mn.Plant("arm26", overrides=["biceps.max_force=500"])
    assert p.params["biceps.max_force"] == 500.0
    p.set_param("biceps.max_force", 450.0)
    assert p.get_param("biceps.max_force") == 450.0
    p.set_param("shoulder.range.max", "120 deg")
    assert abs(p.get_param("shoulder.range.max") - np.deg2rad(120)) < 1e-12
    p.set_params({"biceps.max_force": 400.0})
    assert p.get_param("biceps.max_force") == 400.0
    with pytest.raises(mn.MotornetError, match="did you mean `biceps.max_force`"):
        p.set_param("biceps.max_forc", 1.0)
    with pytest.raises(mn.MotornetError):
        p.set_param("upper_arm.mass", -1.0)
    assert p.get_param("biceps.max_force") == 400.0
    table = p.param_table()
    assert all(len(row) == 4 for row in table)


def test_overrides_change_the_simulation():
    a, b = mn.Plant("arm26"), mn.Plant("arm26", overrides=["biceps.max_force=2000"])
    j = [[0.8, 1.2, 0.0, 0.0]]
    u = a.controls(np.full((1, 6), 0.5))
    assert not np.allclose(a.step(a.reset(j), u), b.step(b.reset(j), u))


def test_mnet_file_and_text(tmp_path):
    src = mn.builtin_source("arm26")
    f = tmp_path / "my_arm.mnet"
    f.write_text(src)
    # A file identical to a built-in model runs compiled; a changed one, or text, as native code (JIT),
    # or interpreted when asked.
    assert mn.Plant(str(f)).backend == "compiled"
    f.write_text(src.replace("414", "415", 1) if "414" in src else src + "\n")
    assert mn.Plant(str(f)).backend == "jit"
    assert mn.Plant(str(f), interpreted=True).backend == "interpreted"
    p = mn.Plant.from_source(src, "arm.mnet")
    assert p.backend == "jit" and p.n_muscles == 6


def test_broken_model_reports_location_and_snippet(tmp_path):
    f = tmp_path / "broken.mnet"
    f.write_text("model m {\n  timestep 0.01 s;\n  body a { mass -1 kg; }\n}\n")
    with pytest.raises(mn.MotornetError) as e:
        mn.Plant(str(f))
    msg = str(e.value)
    assert "broken.mnet:3:" in msg
    assert "mass -1 kg" in msg
    with pytest.raises(ValueError):  # MotornetError is a ValueError
        mn.Plant.from_source("model {", "x.mnet")


def test_bad_inputs_raise_not_panic():
    p = mn.Plant("arm26")
    x = p.reset([[0.8, 1.2, 0.0, 0.0]])
    with pytest.raises(mn.MotornetError, match="controls"):
        p.step(x, np.zeros((1, 3)))
    with pytest.raises(mn.MotornetError, match="rows"):
        p.step(np.vstack([x, x]), np.zeros((1, p.control_dim)))
    with pytest.raises(mn.MotornetError, match="shoulder"):
        p.reset([[10.0, 1.2, 0.0, 0.0]])
    with pytest.raises(mn.MotornetError, match="no model file"):
        mn.Plant("no_such_model")
    with pytest.raises(mn.MotornetError):
        p.step(x, [["a"] * p.control_dim])
    with pytest.raises(mn.MotornetError):
        p.step_jacobian(np.vstack([x, x]), np.zeros((2, p.control_dim)))
    with pytest.raises(mn.MotornetError):
        p.reset(np.zeros((2, 3, 4)))


def test_non_contiguous_inputs_are_accepted():
    p = mn.Plant("arm26")
    x = p.reset([[0.8, 1.2, 0.0, 0.0]] * 4)
    u = np.asfortranarray(p.controls(np.full((4, 6), 0.2)))
    np.testing.assert_array_equal(p.step(x[::1], u), p.step(x, np.ascontiguousarray(u)))


def test_plants_pickle_with_their_parameters():
    import pickle

    p = mn.Plant("arm26", overrides=["biceps.max_force=321"])
    q = pickle.loads(pickle.dumps(p))
    assert q.get_param("biceps.max_force") == 321.0 and q.backend == "compiled"
    t = mn.Plant.from_source(mn.builtin_source("pointmass24_relu"), "pm.mnet")
    r = pickle.loads(pickle.dumps(t))
    assert r.backend == "jit" and r.n_muscles == 4
    with pytest.raises(mn.MotornetError, match="values given"):
        p.core().set_param_values([1.0])
