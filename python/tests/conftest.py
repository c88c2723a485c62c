import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "reference", "closed_loop")
MODELS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "models")


@pytest.fixture
def reference_dir():
    return REFERENCE
