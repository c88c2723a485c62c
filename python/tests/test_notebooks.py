"""Executes every notebook of python/notebooks/ in a fresh kernel (nbclient) and fails on any cell error.

The notebooks run with the short settings of their parameter cells and check their own results with
`assert` cells (the loss falls, gradients are finite and match finite differences, moment arms are the
derivatives of the path lengths, …), so a notebook that runs but computes nonsense fails here too. Figures
go to matplotlib's Agg backend; files are written in a temporary working directory.
"""

import glob
import json
import os
import sys

import pytest

NOTEBOOKS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "notebooks")
NOTEBOOKS = sorted(glob.glob(os.path.join(NOTEBOOKS_DIR, "*.ipynb")))
# Modules a notebook needs beyond the package, torch, gymnasium and matplotlib.
EXTRA_REQUIREMENTS = {"07_ppo": ["stable_baselines3"]}
CELL_TIMEOUT = 600  # seconds, per cell
KERNEL = "motornet-rs-notebook-test"


def _name(path):
    return os.path.splitext(os.path.basename(path))[0]


def test_notebooks_exist():
    assert len(NOTEBOOKS) >= 8, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_notebook_is_stored_clean(path):
    """Notebooks are committed without outputs (clean diffs) and check their results with asserts."""
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for c in code:
        assert c.outputs == [] and c.execution_count is None, f"{_name(path)}: a cell has stored outputs"
    assert any("assert " in c.source for c in code), f"{_name(path)} checks nothing"


@pytest.fixture
def kernel_in_this_python(tmp_path, monkeypatch):
    """A kernel spec that runs this interpreter (the test venv), found first through JUPYTER_PATH."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "motornet_rs tests",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return KERNEL


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_notebook_runs(path, tmp_path, kernel_in_this_python):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    for module in ["torch", "gymnasium", "matplotlib"] + EXTRA_REQUIREMENTS.get(_name(path), []):
        pytest.importorskip(module)
    nb = nbformat.read(path, as_version=4)
    workdir = tmp_path / "work"
    workdir.mkdir()
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name=kernel_in_this_python,
        resources={"metadata": {"path": str(workdir)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as e:
        pytest.fail(f"{_name(path)}: {e}", pytrace=False)
