import glob
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")

from conftest import REFERENCE  # noqa: E402

FILES = sorted(glob.glob(os.path.join(REFERENCE, "*.json")))


def test_reference_files_are_vendored():
    assert len(FILES) == 3


@pytest.mark.parametrize("path", FILES, ids=os.path.basename)
def test_closed_loop_reference_agrees(path):
    from motornet_rs.verify import run_case

    with open(path) as f:
        ref = json.load(f)
    result = run_case(ref, path)
    for field, (err, n) in result.items():
        assert n > 0
        assert err <= 1e-6, f"{field}: {err}"
    assert {"observations", "actions", "hidden_states", "joint", "cartesian", "muscle", "loss"} <= set(result)
    assert sum(k.startswith("grad.") for k in result) == 6


def test_verify_command_exit_codes(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "motornet_rs", "verify", *FILES], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "3 files: 3 passed, 0 failed" in ok.stdout
    assert "grad.fc.bias" in ok.stdout
    # A perturbed reference fails.
    with open(FILES[0]) as f:
        ref = json.load(f)
    ref["grad"]["fc.bias"][0] += 1e-3
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(ref))
    out = subprocess.run([sys.executable, "-m", "motornet_rs", "verify", str(bad)], capture_output=True, text=True)
    assert out.returncode == 1
    assert "above tolerance" in out.stdout
    # A broken file is reported, not a traceback.
    broken = tmp_path / "broken.json"
    broken.write_text("{}")
    out = subprocess.run([sys.executable, "-m", "motornet_rs", "verify", str(broken)], capture_output=True, text=True)
    assert out.returncode == 1 and "missing field" in out.stdout


def test_default_delays_are_one_step():
    from motornet_rs.verify import _delay

    assert _delay({"vision_delay_s": None}, {}, "vision") is None
    assert _delay({}, {"vision_delay": 0.05}, "vision") == 0.05
    assert _delay({"vision_delay_s": 0.02}, {"vision_delay": 0.05}, "vision") == 0.02
