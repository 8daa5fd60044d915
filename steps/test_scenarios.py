"""Binds every feature file to pytest: one test per scenario (and per outline example)."""

import pytest
from pytest_bdd import scenarios

from harness.campaign import FEATURES_DIR

# Every scenario gets the case fixture (and through it the transport and cipher_suite
# dimensions the campaign plugin parametrizes).
pytestmark = pytest.mark.usefixtures("case")

scenarios(str(FEATURES_DIR))
