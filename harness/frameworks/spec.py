"""What the common code knows of a framework: the :class:`FrameworkSpec` data type.

It sits below both the registry (``harness.frameworks``) and the framework folders, so
that a framework's descriptor can be built without importing the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.sut.contract import Framework, Role

IxitSchema = Callable[[Any, Mapping[str, Any], str], dict[str, Any]]
"""Validates one role's IXIT table: (validator, table, dotted location) -> configuration.
The validator (harness.sut.validation.Validator) collects errors naming each field."""


@dataclass(frozen=True)
class FrameworkSpec:
    framework: Framework
    title: str  # e.g. "Pre-provisioned symmetric key SAEF (TS-0003 8.2.2.1)"
    sut_roles: tuple[Role, ...]  # the roles a SUT may play in it
    steps: str  # module of its step definitions (a pytest plugin)
    ixit: Mapping[Role, IxitSchema] = field(default_factory=dict)
    reference: str | None = None  # module with start(request, fault_names) and FAULTS
    legacy_ixit_tables: tuple[Role, ...] = ()
    """Roles whose IXIT may also be written at the top level, ``[ixit.<role>]``, as profiles
    did before frameworks had their own tables (the PSK SAEF only)."""
