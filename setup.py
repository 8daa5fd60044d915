"""Build step of m2mconf's wheel: the scenarios ship inside the ``steps`` package.

Everything else is declared in pyproject.toml. A checkout keeps its test purposes in
the top-level ``features/`` directory and its pytest wiring in the root
``conftest.py`` (the project layout is fixed), neither of which is a Python package,
so a plain wheel would carry no scenario at all. This build step copies them into the
built ``steps`` package, with the pytest settings a campaign needs from pyproject.toml
as ``steps/pytest.ini``::

    steps/features/*.feature   the feature files
    steps/conftest.py          the root conftest.py
    steps/pytest.ini           [tool.pytest.ini_options] timeout and filterwarnings

``harness.campaign`` finds them there through importlib.resources when it runs from
an installed wheel (no checkout next to the package). Editable installs skip the copy:
they run the checkout's own files.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# The pytest settings a campaign run depends on (testpaths, addopts: not for a campaign).
CAMPAIGN_INI_KEYS = ("timeout", "filterwarnings")


def campaign_ini() -> str:
    """steps/pytest.ini: the campaign's pytest settings, taken from pyproject.toml so
    the installed and the checkout campaign cannot drift apart."""
    options = tomllib.loads((HERE / "pyproject.toml").read_text(encoding="utf-8"))
    ini = options.get("tool", {}).get("pytest", {}).get("ini_options", {})
    lines = [
        "# Written by m2mconf's setup.py from pyproject.toml [tool.pytest.ini_options].",
        "[pytest]",
    ]
    for key in CAMPAIGN_INI_KEYS:
        value = ini.get(key)
        if isinstance(value, list):
            lines.append(f"{key} =")
            lines.extend(f"    {item}" for item in value)
        elif value is not None:
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


class BuildPyWithScenarios(build_py):
    """build_py, then the scenario files into the built ``steps`` package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install runs the checkout's features/ and conftest.py
        steps = Path(self.build_lib) / "steps"
        features = steps / "features"
        shutil.rmtree(features, ignore_errors=True)  # a feature removed since the last build
        features.mkdir(parents=True)
        sources = sorted((HERE / "features").glob("*.feature"))
        if not sources:
            raise SystemExit("setup.py: no features/*.feature to ship in the wheel")
        for source in sources:
            shutil.copy2(source, features / source.name)
        shutil.copy2(HERE / "conftest.py", steps / "conftest.py")
        (steps / "pytest.ini").write_text(campaign_ini(), encoding="utf-8")


setup(cmdclass={"build_py": BuildPyWithScenarios})
