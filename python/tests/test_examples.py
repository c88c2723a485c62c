import importlib.util
import os

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_tutorial_example_runs_and_learns():
    pytest.importorskip("torch")
    losses = load("tutorial").main(["--batches", "12", "--batch-size", "8", "--hidden", "16", "--duration", "0.3"])
    assert len(losses) == 12
    assert all(l == l for l in losses)  # finite
    assert min(losses[-3:]) < losses[0]


def test_ppo_example_runs():
    pytest.importorskip("stable_baselines3")
    mean = load("ppo").main(["--timesteps", "2048", "--num-envs", "4"])
    assert mean == mean
