"""Where the scenarios are: the feature files, the step modules and their pytest root.

A checkout (or an editable install of one) runs its own top-level ``features/`` and
``steps/`` under the root ``conftest.py``. An installed wheel has no checkout: its build
(setup.py) put a copy of the feature files, of that conftest.py and of the pytest
settings campaigns need into the ``steps`` package, found here through
importlib.resources, so ``m2mconf run`` works from any directory.

Kept apart from harness.campaign (which re-exports the names) so that conftest.py and
the report writers can find the feature files without importing the campaign engine.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path


def scenario_tree() -> tuple[Path, Path, Path]:
    """(pytest rootdir, steps directory, features directory) of the scenarios to run."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "conftest.py").is_file() and (checkout / "features").is_dir():
        return checkout, checkout / "steps", checkout / "features"
    steps = Path(str(importlib.resources.files("steps")))
    return steps.parent, steps, steps / "features"


ROOT, STEPS_DIR, FEATURES_DIR = scenario_tree()
