import numpy as np
import pytest

import motornet_rs as mn

SMALL = {
    "model": "pointmass24_relu",
    "env": {"episode_duration": 0.2},
    "optim": {"hidden": 8, "batch_size": 4},
    "run": {"batches": 6, "eval_every": 3, "eval_episodes": 5, "eval_last_steps": 5, "checkpoint_every": 3},
}


def test_train_returns_history_weights_and_rollouts(tmp_path):
    r = mn.train(SMALL, out=tmp_path / "run")
    assert list(r["log"]["batch"]) == list(range(6))
    assert np.all(np.isfinite(r["log"]["loss"]))
    assert r["summary"]["batches_done"] == 6
    w = r["weights"]
    assert w["gru.weight_ih_l0"].shape == (24, r["obs_dim"])
    assert w["fc.weight"].shape == (4, 8)
    ev = r["evaluation"]
    assert ev["paths"].shape == (5, 21, 4)
    assert ev["activations"].shape == (5, 21, 4)
    assert abs(ev["metric"] - r["summary"]["final_metric"]) < 1e-12


def test_weights_load_into_torch_and_reproduce_the_evaluation(tmp_path):
    torch = pytest.importorskip("torch")
    import motornet_rs.torch as mt

    r = mn.train(SMALL, out=tmp_path / "run")
    w = r["weights"]
    gru = torch.nn.GRU(r["obs_dim"], 8, 1, batch_first=True).double()
    fc = torch.nn.Linear(8, 4).double()
    gru.load_state_dict({k[4:]: torch.from_numpy(v) for k, v in w.items() if k.startswith("gru.")})
    fc.load_state_dict({k[3:]: torch.from_numpy(v) for k, v in w.items() if k.startswith("fc.")})
    ev = r["evaluation"]
    env = mt.Environment("pointmass24_relu", max_ep_duration=0.2)
    joint = np.concatenate([np.zeros((5, 2)), np.zeros((5, 2))], axis=1)
    # Start each episode where the evaluation started (the point mass's joint state is its position).
    joint[:, :2] = ev["start"]
    obs, info = env.reset(options={"batch_size": 5, "joint_state": joint, "goal": ev["goal"], "deterministic": True})
    h = torch.zeros(1, 5, 8, dtype=torch.float64)
    paths = [info["states"]["cartesian"]]
    with torch.no_grad():
        for _ in range(env.steps):
            y, h = gru(obs[:, None, :], h)
            obs, _, _, _, info = env.step(torch.sigmoid(fc(y[:, 0])))
            paths.append(info["states"]["cartesian"])
    np.testing.assert_allclose(torch.stack(paths, 1).numpy(), ev["paths"], rtol=1e-9, atol=1e-9)


def test_train_from_toml_and_bad_config(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('model = "pointmass24_relu"\n[run]\nbatches = 2\neval_every = 2\neval_episodes = 2\n'
                   'eval_last_steps = 5\n[optim]\nhidden = 4\nbatch_size = 2\n[env]\nepisode_duration = 0.1\n')
    r = mn.train(str(cfg), out=tmp_path / "r")
    assert r["summary"]["batches_done"] == 2
    with pytest.raises(mn.MotornetError, match="batch_size"):
        mn.train({"optim": {"batch_size": 0}}, out=tmp_path / "bad")
    with pytest.raises(mn.MotornetError, match="unknown field"):
        mn.train({"optim": {"hiden": 4}}, out=tmp_path / "bad2")


def test_activation_scaled_by_max_force_from_python(tmp_path):
    """MotorNet's effort term (each muscle's activation weighed by its relative strength) is the same
    setting as on the command line; arm26's muscles differ in strength, so the first batch's loss moves."""
    def first_loss(scale, name):
        cfg = {
            "model": "arm26",
            "env": {"episode_duration": 0.1},
            "loss": {"position": 0.5, "activation": 5.0, "activation_scale": scale},
            "optim": {"hidden": 4, "batch_size": 2},
            "run": {"batches": 1, "eval_every": 1, "eval_episodes": 2, "eval_last_steps": 2, "checkpoint_every": 1},
        }
        return mn.train(cfg, out=tmp_path / name)["log"]["loss"][0]

    plain, scaled = first_loss("none", "plain"), first_loss("max_force", "scaled")
    assert np.isfinite(plain) and np.isfinite(scaled) and plain != scaled
    with pytest.raises(mn.MotornetError, match="activation_scale"):
        first_loss("strength", "bad")
