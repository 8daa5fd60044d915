"""The wheel is a complete suite: built and installed (not editable) into a fresh venv,
``m2mconf run --sut reference`` works from a directory that is not a checkout.

The feature files and the root conftest.py live at the top of the checkout, outside
any package; setup.py's build step ships them inside the ``steps`` package and
harness.scenario_tree finds them there (README command 1 relies on it). The venv gets
the running interpreter's dependencies through a ``.pth`` file listing its
site-packages directories, whose own ``.pth`` files (the editable install of this
checkout) are not processed there, so the venv imports only the installed wheel.
About 10 s; it needs the index pip builds with (setuptools, wheel), as CI has.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from harness.campaign import list_test_purposes

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "conftest.py")
SOURCE_DIRS = ("harness", "steps", "features")

pytestmark = pytest.mark.packaging


def _run(command: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    proc = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, (
        f"{' '.join(command)}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    )
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the sources (the checkout gets no build/ dir)."""
    base = tmp_path_factory.mktemp("packaging")
    source = base / "src"
    source.mkdir()
    for name in SOURCES:
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCE_DIRS:
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(base / "dist"), "."],
        source,
    )
    (built,) = (base / "dist").glob("m2mconf-*.whl")
    return built


def test_the_wheel_carries_the_scenarios(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for feature in (ROOT / "features").glob("*.feature"):
        assert f"steps/features/{feature.name}" in names
    assert {"steps/conftest.py", "steps/pytest.ini", "steps/test_scenarios.py"} <= names
    assert "harness/report/templates/report.html.j2" in names
    assert "harness/data/requirements.json" in names
    ini = zipfile.ZipFile(wheel).read("steps/pytest.ini").decode()
    assert "timeout = " in ini and "filterwarnings" in ini


def test_an_installed_wheel_runs_a_campaign_from_any_directory(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    python = venv / "bin" / "python"
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            tmp_path,
        ).stdout.strip()
    )
    outer = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "m2mconf-test-dependencies.pth").write_text("\n".join(outer) + "\n", encoding="utf-8")
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps"]
        + ["--no-index", str(wheel)],
        tmp_path,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run(
        [
            str(python),
            "-c",
            "import harness.campaign as c; print(c.__file__); print(c.FEATURES_DIR)",
        ],
        elsewhere,
    ).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where  # the wheel, not the checkout
    m2mconf = str(venv / "bin" / "m2mconf")
    listed = _run([m2mconf, "list", "--format", "json"], elsewhere).stdout
    assert len(json.loads(listed)) == len(list_test_purposes())  # every feature file shipped
    selection = ["--select", "TP/SAEF-PSK/B/05", "--select", "tp/saef-maf/a/01"]
    _run(
        [m2mconf, "run", "--sut", "reference", *selection, "--report", "rep", "--workers", "2"],
        elsewhere,
    )
    report = json.loads((elsewhere / "rep" / "report.json").read_text(encoding="utf-8"))
    assert sorted(r["tp"] for r in report["results"]) == [
        "TP/SAEF-MAF/A/01[dtls]",
        "TP/SAEF-MAF/A/01[tls]",
        "TP/SAEF-PSK/B/05[dtls]",
        "TP/SAEF-PSK/B/05[tls]",
    ]
    assert {r["verdict"] for r in report["results"]} == {"pass"}
    for name in ("report.html", "junit.xml", "cucumber.json", "allure-results"):
        assert (elsewhere / "rep" / name).exists()


def _readme_commands() -> list[str]:
    """The command lines of the README's first code block (comments left out)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("```sh", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_readme_commands_and_ci_run_in_a_venv() -> None:
    """A stock Debian Python refuses pip outside a venv (PEP 668): both README commands
    make and use one, and .ci/run runs command 2 verbatim."""
    campaign, tests = _readme_commands()
    venv = "python3 -m venv .venv && . .venv/bin/activate && pip install "
    assert venv in campaign and venv in tests
    assert "pip install -q ." in campaign and "-e ." not in campaign  # the wheel path
    assert "apt-get install" in tests and "openssl gnutls-bin tshark" in tests
    assert "python3-venv" in tests and tests.endswith("python3 -m pytest")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert tests in ci.splitlines()
