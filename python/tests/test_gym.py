import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")

import motornet_rs  # noqa: E402,F401  (registers the environments)
from motornet_rs.gym import ReachEnv, ReachVectorEnv  # noqa: E402

IDS = ["motornet_rs/RandomReach-v0", "motornet_rs/CentreOut-v0", "motornet_rs/DelayedReach-v0"]


@pytest.mark.parametrize("env_id", IDS)
def test_registered_and_passes_check_env(env_id):
    from gymnasium.utils.env_checker import check_env

    env = gymnasium.make(env_id, model="arm26", max_ep_duration=0.2)
    check_env(env.unwrapped)
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert isinstance(reward, float) and reward <= 0


def test_mnet_path_model(tmp_path):
    from conftest import MODELS

    env = gymnasium.make("motornet_rs/RandomReach-v0", model=f"{MODELS}/pointmass24_relu.mnet", max_ep_duration=0.05)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (2 + 2 + 8,)


def test_episode_ends_after_its_duration():
    env = ReachEnv("pointmass24_relu", max_ep_duration=0.05)
    env.reset(seed=1)
    done = [env.step(np.zeros(4))[2] for _ in range(5)]
    assert done == [False] * 4 + [True]


def test_reset_is_reproducible_by_seed():
    env = ReachEnv("arm26")
    a, _ = env.reset(seed=7)
    b, _ = env.reset(seed=7)
    c, _ = env.reset(seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_make_vec_vector_entry_point():
    envs = gymnasium.make_vec(
        "motornet_rs/RandomReach-v0", num_envs=16, vectorization_mode="vector_entry_point", model="arm26",
        max_ep_duration=0.05,
    )
    assert isinstance(envs.unwrapped, ReachVectorEnv)
    obs, info = envs.reset(seed=0)
    assert obs.shape == (16, 16)
    for t in range(5):
        obs, reward, terminated, truncated, info = envs.step(envs.action_space.sample())
        assert reward.shape == (16,)
    assert terminated.all()
    # NEXT_STEP autoreset: the next step starts new episodes.
    obs, reward, terminated, truncated, info = envs.step(envs.action_space.sample())
    assert not terminated.any() and np.all(reward == 0)
    envs.close()


def test_vector_env_agrees_with_single_env():
    single = ReachEnv("arm26", max_ep_duration=0.05)
    vec = ReachVectorEnv(3, "arm26", max_ep_duration=0.05, threads=2)
    obs_v, _ = vec.reset(seed=5)
    goals = obs_v[:, :2]
    joint = vec._vec.episodes()["joint_state"]
    obs_s, _ = single.reset(seed=0, options={"joint_state": joint[1], "goal": goals[1]})
    np.testing.assert_allclose(obs_s, obs_v[1], rtol=0, atol=1e-15)
    a = np.full((3, 6), 0.25)
    for _ in range(3):
        obs_v, rv, *_ = vec.step(a)
        obs_s, rs, *_ = single.step(a[1])
        np.testing.assert_allclose(obs_s, obs_v[1], rtol=1e-13, atol=1e-13)


def test_vector_env_bad_actions_raise():
    vec = ReachVectorEnv(2, "arm26")
    vec.reset(seed=0)
    with pytest.raises(motornet_rs.MotornetError):
        vec.step(np.zeros((3, 6)))
    with pytest.raises(motornet_rs.MotornetError, match="excitation"):
        vec.step(np.full((2, 6), np.nan))


def test_vector_env_threads_give_the_same_trajectories():
    a = np.full((1030, 6), 0.3)
    out = []
    for threads in (1, 3):
        vec = ReachVectorEnv(1030, "arm26", max_ep_duration=0.03, threads=threads)
        obs, _ = vec.reset(seed=2)
        for _ in range(3):
            obs, *_ = vec.step(a)
        out.append((obs, vec.states()))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])


def test_vector_env_states_split_by_name():
    vec = ReachVectorEnv(6, "arm26")
    _, info = vec.reset(seed=0)
    s = vec.plant.split(vec.states())
    assert s["muscle"].shape == (6, 7, 6)
    np.testing.assert_array_equal(s["cartesian"], info["cartesian"])
    _, _, _, _, info = vec.step(np.full((6, 6), 0.5))
    np.testing.assert_array_equal(vec.plant.split(vec.states())["cartesian"], info["cartesian"])


def test_module_prefixed_id_imports_the_package():
    env = gymnasium.make("motornet_rs:motornet_rs/RandomReach-v0", model="pointmass24_relu")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (12,)
    assert motornet_rs.__version__ == "0.1.0"


def test_vector_env_perturbations_as_the_trainer_draws_them():
    n, dt = 8, 0.01
    kw = dict(max_ep_duration=0.2, threads=1)
    a = np.full((n, 6), 0.2)

    def rollout(perturbations):
        vec = ReachVectorEnv(n, "arm26", perturbations=perturbations, **kw)
        obs, info = vec.reset(seed=4)
        steps = [(obs, info)]
        for _ in range(vec._vec.steps):
            obs, _, _, _, info = vec.step(a)
            steps.append((obs, info))
        return vec, steps

    _, plain = rollout(None)
    # A perturbation that never applies changes nothing; a constant load moves every endpoint.
    _, never = rollout([{"kind": "load", "magnitude": 5.0, "direction": 90.0, "probability": 0.0}])
    np.testing.assert_array_equal(plain[-1][1]["cartesian"], never[-1][1]["cartesian"])
    _, loaded = rollout([{"kind": "load", "magnitude": 5.0, "direction": 90.0}])
    moved = np.linalg.norm(loaded[-1][1]["cartesian"][:, :2] - plain[-1][1]["cartesian"][:, :2], axis=1)
    assert np.all(moved > 1e-3), moved

    # A target jump at 0.1 s: the goal shown (observation and info) changes at step 10, not before.
    vec, jumped = rollout([{"kind": "target_jump", "time": 0.1, "distance": 0.05}])
    first = jumped[0][1]["goal"]
    for t, (obs, info) in enumerate(jumped):
        np.testing.assert_array_equal(obs[:, :2], info["goal"])
        same = np.all(info["goal"] == first, axis=1)
        assert same.all() if t < round(0.1 / dt) else not same.any(), t
    np.testing.assert_allclose(np.linalg.norm(jumped[-1][1]["goal"] - first, axis=1), 0.05, rtol=1e-12)

    # A visuomotor rotation of 90°: vision shows the endpoint turned a quarter about the start.
    vec, rotated = rollout([{"kind": "visuomotor_rotation", "angle": 90.0}])
    start = vec._vec.episodes()["start"]
    for obs, info in rotated:
        d = info["cartesian"][:, :2] - start
        np.testing.assert_allclose(obs[:, 2:4], start + np.stack([-d[:, 1], d[:, 0]], axis=1), atol=1e-15)

    # Mistakes are named by table and key, as in a configuration file, all at once.
    bad = [{"kind": "load", "direction": 90.0}, {"kind": "curl", "k": 5.0, "probability": 1.5}]
    with pytest.raises(motornet_rs.MotornetError, match=r"(?s)2 problems.*\[perturbation 1\] magnitude = "
                       r"\(missing\).*\[perturbation 2\] probability = 1.5"):
        ReachVectorEnv(n, "arm26", perturbations=bad)
    with pytest.raises(motornet_rs.MotornetError, match=r"\[perturbation 1\] kind = \"gravity_flip\""):
        ReachEnv("arm26", perturbations=[{"kind": "gravity_flip"}])
