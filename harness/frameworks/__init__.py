"""The frameworks the suite tests: one folder each, and this table of them.

A framework folder (``saef_psk``, ``saef_maf``, later ``sbf_psk``, ``saef_cert`` ...)
holds everything specific to it: its IXIT schema (``ixit.py``), its harness parties and
legs, its checks, its step definitions (``steps.py``, a pytest plugin), and its
reference roles and mutants (``reference/``). Common code (protocols, socket driving,
verdicts, trace, campaign) knows no framework; it reaches one only through the
:class:`FrameworkSpec` below, which names the framework's modules rather than importing
them, so loading a profile never loads a reference implementation or pytest steps.

Adding a framework is: a folder, its feature files, and one line in ``FRAMEWORKS``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType

from harness.frameworks import saef_maf, saef_psk, sbf_psk
from harness.frameworks.spec import FrameworkSpec
from harness.sut.contract import Framework

__all__ = ["FRAMEWORKS", "FrameworkSpec", "reference_faults", "reference_module", "spec_for"]

FRAMEWORKS: Mapping[Framework, FrameworkSpec] = {
    spec.framework: spec for spec in (saef_psk.SPEC, saef_maf.SPEC, sbf_psk.SPEC)
}


def spec_for(framework: Framework | str) -> FrameworkSpec | None:
    try:
        return FRAMEWORKS.get(Framework(framework))
    except ValueError:
        return None


def step_modules() -> list[str]:
    """Every framework's step definitions, as pytest plugin module names."""
    return [spec.steps for spec in FRAMEWORKS.values()]


def reference_module(framework: Framework) -> ModuleType | None:
    """The framework's reference package: ``start(request, fault_names)`` and ``FAULTS``."""
    spec = FRAMEWORKS.get(framework)
    if spec is None or spec.reference is None:
        return None
    return importlib.import_module(spec.reference)


@dataclass(frozen=True)
class FaultInfo:
    name: str
    framework: Framework
    description: str
    requirements: tuple[str, ...]


def reference_faults() -> dict[str, FaultInfo]:
    """Every reference mutant of every framework, by its (campaign-wide unique) name."""
    faults: dict[str, FaultInfo] = {}
    for framework in FRAMEWORKS:
        module = reference_module(framework)
        if module is None:
            continue
        for name, cls in module.FAULTS.items():
            if name in faults:
                raise RuntimeError(
                    f"reference fault {name!r} is defined by {faults[name].framework} "
                    f"and {framework}: names must be unique"
                )
            doc = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
            faults[name] = FaultInfo(name, framework, doc, tuple(getattr(cls, "requirements", ())))
    return faults
