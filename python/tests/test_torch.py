import numpy as np
import pytest

torch = pytest.importorskip("torch")

import motornet_rs as mn  # noqa: E402
import motornet_rs.torch as mt  # noqa: E402


@pytest.mark.parametrize("name", mn.builtin_models())
def test_gradcheck_every_shipped_model(name):
    assert mt.gradcheck_plant(name, batch=2)


def test_gradcheck_interpreted_model():
    assert mt.gradcheck_plant(mn.Plant("arm26", interpreted=True), batch=1)


def test_forward_mode_matches_reverse_mode():
    p = mn.Plant("arm26")
    x0 = p.reset([[0.8, 1.2, 0.0, 0.0]] * 2)
    u0 = p.controls(np.full((2, 6), 0.3))
    x = torch.tensor(x0)
    u = torch.tensor(u0)
    tx, tu = torch.randn_like(x), torch.randn_like(u)
    import torch.autograd.forward_ad as fwAD

    with fwAD.dual_level():
        y = mt.PlantStep.apply(fwAD.make_dual(x, tx), fwAD.make_dual(u, tu), p)
        jvp = fwAD.unpack_dual(y).tangent
    np.testing.assert_allclose(jvp.numpy(), p.step_jvp(x0, u0, tx.numpy(), tu.numpy()), rtol=1e-12, atol=1e-12)


def _trajectory_inputs(p, batch, steps):
    rng = np.random.default_rng(3)
    b = p.bounds
    frac = rng.uniform(0.3, 0.7, (batch, p.dof))
    joint = np.concatenate([b[:, 0] + frac * (b[:, 1] - b[:, 0]), rng.uniform(-0.2, 0.2, (batch, p.dof))], axis=1)
    controls = np.zeros((steps, batch, p.control_dim))
    controls[..., : p.n_muscles] = rng.uniform(0.05, 0.95, (steps, batch, p.n_muscles))
    return joint, controls


@pytest.mark.parametrize("name", ["arm26", "pointmass24_relu"])
def test_rollout_in_one_call_is_the_step_loop_and_its_gradient_the_step_by_step_one(name):
    p = mn.Plant(name)
    batch, steps = 6, 15
    joint, controls = _trajectory_inputs(p, batch, steps)
    # The trajectory: bit for bit the states of stepping one step at a time.
    states = p.rollout(joint, controls)
    x = p.reset(joint)
    looped = [x]
    for t in range(steps):
        x = p.step(x, controls[t])
        looped.append(x)
    np.testing.assert_array_equal(states, np.stack(looped))
    # The gradient of a loss on every state: the bits of torch backpropagating PlantStep step by step.
    w = torch.tensor(np.sin(np.arange(states.size)).reshape(states.shape))
    u = torch.tensor(controls, requires_grad=True)
    x = torch.tensor(p.reset(joint))
    loss = (x * w[0]).sum()
    for t in range(steps):
        x = mt.step(p, x, u[t])
        loss = loss + (x * w[t + 1]).sum()
    loss.backward()
    for threads in [1, 2]:
        gu, gx0 = p.rollout_gradient(joint, controls, w.numpy(), threads=threads)
        np.testing.assert_array_equal(gu, u.grad.numpy())
        assert gx0.shape == (batch, p.state_dim) and np.all(np.isfinite(gx0))
        u2 = torch.tensor(controls, requires_grad=True)
        (mt.rollout(p, joint, u2, threads=threads) * w).sum().backward()
        np.testing.assert_array_equal(u2.grad.numpy(), u.grad.numpy())
    assert np.any(u.grad.numpy() != 0)


def test_rollout_refuses_bad_shapes_with_a_located_message():
    p = mn.Plant("arm26")
    joint, controls = _trajectory_inputs(p, 2, 3)
    with pytest.raises(mn.MotornetError, match="controls.*expected"):
        p.rollout(joint, controls[:, :1])
    with pytest.raises(mn.MotornetError, match="joint"):
        p.rollout(joint[0], controls)
    with pytest.raises(mn.MotornetError, match="state_cotangent"):
        p.rollout_gradient(joint, controls, np.zeros((3, 2, p.state_dim)))
    with pytest.raises(mn.MotornetError, match="threads"):
        p.rollout_gradient(joint, controls, np.zeros((4, 2, p.state_dim)), threads=0)
    with pytest.raises(mn.MotornetError):
        p.rollout([[9.0, 9.0, 0.0, 0.0]] * 2, controls)  # outside the joint limits


def tutorial_loop(env, policy_hidden=8, batch=3, seed=0):
    torch.manual_seed(seed)
    gru = torch.nn.GRU(env.observation_space.shape[0], policy_hidden, 1, batch_first=True).double()
    fc = torch.nn.Linear(policy_hidden, env.n_muscles).double()
    h = torch.zeros(1, batch, policy_hidden, dtype=torch.float64)
    obs, info = env.reset(options={"batch_size": batch})
    terminated = False
    xy = [info["states"]["fingertip"][:, None, :]]
    tg = [info["goal"][:, None, :]]
    while not terminated:
        y, h = gru(obs[:, None, :], h)
        action = torch.sigmoid(fc(y[:, 0]))
        obs, reward, terminated, truncated, info = env.step(action=action)
        xy.append(info["states"]["fingertip"][:, None, :])
        tg.append(info["goal"][:, None, :])
    xy, tg = torch.cat(xy, dim=1), torch.cat(tg, dim=1)
    loss = torch.mean(torch.sum(torch.abs(xy - tg), dim=-1))
    loss.backward()
    return loss, gru, fc


def test_tutorial_loop_runs_and_backpropagates():
    env = mt.Environment("arm26", max_ep_duration=0.1, proprioception_delay=0.02, vision_delay=0.05)
    loss, gru, fc = tutorial_loop(env)
    assert torch.isfinite(loss)
    assert fc.bias.grad is not None and torch.any(fc.bias.grad != 0)
    assert gru.weight_ih_l0.grad.abs().sum() > 0


def test_curl_field_gradient_matches_finite_differences():
    # A state-dependent load: the gradient must flow through its derivative.
    env = mt.Environment("pointmass24_relu", {"kind": "random_reach", "curl": 5.0}, max_ep_duration=0.05)
    obs, info = env.reset(options={"batch_size": 2, "deterministic": True})
    a = torch.full((2, env.n_muscles), 0.3, dtype=torch.float64, requires_grad=True)

    def run(a):
        env.reset(seed=0, options={"batch_size": 2, "deterministic": True, "joint_state": env.joint0})
        total = 0
        for _ in range(env.steps):
            _, r, _, _, _ = env.step(a)
            total = total + r.sum()
        return total

    run(a).backward()
    eps = 1e-6
    for k in range(env.n_muscles):
        d = torch.zeros_like(a)
        d[0, k] = eps
        with torch.no_grad():
            fd = (run(a + d) - run(a - d)) / (2 * eps)
        assert abs(fd.item() - a.grad[0, k].item()) < 1e-6 * (1 + abs(fd.item()))


def test_environment_options_and_layout():
    env = mt.Environment("arm26", max_ep_duration=0.05, action_frame_stacking=1, obs_noise=0.01)
    layout = env.describe_observation()
    kinds = [c["kind"] for c in layout]
    assert kinds[:4] == ["goal", "goal", "vision", "vision"]
    assert kinds.count("proprioception") == 12 and kinds.count("action") == 6
    assert env.obs_dim == 2 + 2 + 12 + 6
    obs, info = env.reset(options={"batch_size": 4, "joint_state": torch.tensor([[0.8, 1.2]] * 4)})
    assert obs.shape == (4, env.obs_dim)
    np.testing.assert_allclose(info["states"]["joint"][:, :2].numpy(), [[0.8, 1.2]] * 4)
    with pytest.raises(mn.MotornetError, match="shape"):
        env.step(torch.zeros(4, 5))
    for _ in range(env.steps):
        env.step(torch.zeros(4, 6))
    with pytest.raises(mn.MotornetError, match="over"):
        env.step(torch.zeros(4, 6))


def test_bad_environment_settings_raise():
    with pytest.raises(mn.MotornetError, match="vision_delay"):
        mt.Environment("arm26", vision_delay=0.015)
    with pytest.raises(mn.MotornetError, match="task"):
        mt.Environment("arm26", {"kind": "nope"})


def test_float32_environment_for_motornets_float32_policies():
    env = mt.Environment("arm26", max_ep_duration=0.05, dtype=torch.float32)
    gru = torch.nn.GRU(env.observation_space.shape[0], 8, 1, batch_first=True)
    fc = torch.nn.Linear(8, 6)
    h = torch.zeros(1, 2, 8)
    obs, info = env.reset(seed=0, options={"batch_size": 2})
    assert obs.dtype == torch.float32
    done = False
    while not done:
        y, h = gru(obs[:, None], h)
        obs, _, done, _, info = env.step(action=torch.sigmoid(fc(y[:, 0])))
    info["states"]["fingertip"].sum().backward()
    assert fc.bias.grad is not None and torch.all(torch.isfinite(fc.bias.grad))


def test_parameter_changes_reach_the_environment():
    env = mt.Environment("arm26", max_ep_duration=0.05)
    env.reset(seed=1, options={"batch_size": 2})
    j0 = env.joint0.copy()
    env.plant.set_param("shoulder.range.max", "30 deg")
    env.reset(seed=1, options={"batch_size": 2})
    assert np.all(env.joint0[:, 0] <= np.deg2rad(30) + 1e-12)
    assert not np.array_equal(j0, env.joint0)


PERTURBED = [
    {"kind": "target_jump", "time": 0.05, "distance": 0.03},
    {"kind": "visuomotor_rotation", "angle": [20.0, 60.0], "probability": 0.6},
    {"kind": "curl", "k": 8.0},
]


@pytest.mark.parametrize(
    "task, perturbations",
    [("random_reach", None), ({"kind": "delayed_reach", "go_steps": [2, 4]}, None), ("random_reach", PERTURBED)],
)
def test_rust_vector_env_and_torch_env_observe_alike(task, perturbations):
    # Two implementations of the layout Rust describes: the Rust step-wise environment (ring buffers) and
    # the torch environment (tensors); with delays, stacked actions, a go cue and perturbations (a target
    # jump, rotated vision, a curl field) they must agree.
    from motornet_rs.gym import ReachVectorEnv

    kw = dict(max_ep_duration=0.12, proprioception_delay=0.02, vision_delay=0.05, action_frame_stacking=2,
              perturbations=perturbations)
    vec = ReachVectorEnv(5, "arm26", task, **kw)
    env = mt.Environment("arm26", task, **kw)
    obs_v, _ = vec.reset(seed=3)
    ep = vec._vec.episodes()
    obs_t, _ = env.reset(seed=3, options={"batch_size": 5, "joint_state": ep["joint_state"], "goal": ep["goal"]})
    np.testing.assert_allclose(obs_t.numpy(), obs_v, rtol=0, atol=1e-14)
    rng = np.random.default_rng(0)
    for _ in range(env.steps):
        a = rng.uniform(0, 1, size=(5, 6))
        obs_v, reward_v, _, _, info_v = vec.step(a)
        obs_t, _, _, _, info_t = env.step(torch.from_numpy(a))
        np.testing.assert_allclose(obs_t.numpy(), obs_v, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(info_t["goal"].numpy(), info_v["goal"])
    if perturbations:
        rotated = ep["vision_rotation"] != 0
        assert rotated.any() and not rotated.all(), ep["vision_rotation"]
        assert not np.array_equal(info_v["goal"], ep["goal"])


def test_gradcheck_through_the_environment_with_delays_stacking_and_curl():
    env = mt.Environment(
        "arm26", {"kind": "random_reach", "curl": 3.0}, max_ep_duration=0.04,
        proprioception_delay=0.02, vision_delay=0.03, action_frame_stacking=1,
    )
    env.reset(seed=4, options={"batch_size": 2, "deterministic": True})
    joint, goal = env.joint0.copy(), env.goal.clone()

    def rollout(actions):
        env.reset(options={"batch_size": 2, "joint_state": joint, "goal": goal, "deterministic": True})
        outs = []
        for t in range(env.steps):
            obs, _, _, _, info = env.step(actions[t])
            outs.append(obs)
            outs.append(info["states"]["muscle"].reshape(2, -1))
        return torch.cat(outs, dim=1)

    a = torch.rand(env.steps, 2, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    a = (0.2 + 0.6 * a).requires_grad_()
    assert torch.autograd.gradcheck(rollout, (a,), eps=1e-6, atol=1e-5, rtol=1e-4)
