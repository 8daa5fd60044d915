"""The ``m2mconf`` command: run a campaign, list purposes, validate a SUT profile.

Exit codes follow CI conventions and never blur a SUT problem with a setup problem:
0 every applicable purpose passed, 1 a purpose failed, 2 the command or a profile is
wrong (nothing ran), 3 no failure but an error or inconclusive verdict left the campaign
undecided. The campaign engine, the profile loader and the reference SUT are imported
only when a subcommand needs them, so ``--help`` and ``requirements`` work on their own.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shlex
import sys
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from harness import __version__

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_CONFIG = 2
EXIT_UNDECIDED = 3
DEFAULT_REPORT_DIR = Path("reports/latest")
REFERENCE = "reference"

EXIT_CODES_HELP = """exit codes:
  0  every applicable test purpose passed
  1  at least one test purpose failed
  2  bad command line, SUT profile or spec profile (no test ran)
  3  no failure, but an error or inconclusive verdict left the campaign undecided
     (also when nothing was decided: every purpose not applicable, or none ran; and
     when the harness itself crashed before giving verdicts)
"""


# --- lazily imported collaborators ---------------------------------------------------------


def _module(name: str) -> ModuleType:
    return importlib.import_module(name)


def _config_error_types() -> tuple[type[BaseException], ...]:
    """The exceptions that mean 'your configuration is wrong' (exit 2), whichever of the
    modules that define them exist in this tree."""
    found: list[type[BaseException]] = []
    for module_name, names in (
        ("harness.campaign", ("ConfigError",)),
        ("harness.sut.profile", ("ProfileError", "ProfileErrors")),
        ("harness.spec_profile", ("SpecProfileError",)),
    ):
        try:
            module = _module(module_name)
        except ImportError:
            continue
        for name in names:
            cls = getattr(module, name, None)
            if isinstance(cls, type) and issubclass(cls, BaseException):
                found.append(cls)
    return tuple(found)


def error_lines(exc: BaseException) -> list[str]:
    """Every error an exception carries, one per line (a ProfileErrors lists them all)."""
    nested = getattr(exc, "errors", None)
    if isinstance(nested, list | tuple) and nested:
        return [line for e in nested for line in str(e).splitlines()]
    return str(exc).splitlines() or [type(exc).__name__]


def _report_config_error(exc: BaseException, err: TextIO, what: str = "configuration error") -> int:
    lines = error_lines(exc)
    print(f"m2mconf: {what}:", file=err)
    for line in lines:
        print(f"  {line}", file=err)
    return EXIT_CONFIG


def _load_profile(spec: str) -> Any:
    profile_module = _module("harness.sut.profile")
    if spec == REFERENCE:
        return profile_module.reference_profile()
    return profile_module.load_profile(Path(spec))


def _write_json(data: Any, out: TextIO, ensure_ascii: bool = True) -> int:
    """The ``--format json`` answer of a listing subcommand: one indented document."""
    json.dump(data, out, indent=2, ensure_ascii=ensure_ascii)
    out.write("\n")
    return EXIT_PASS


# --- subcommands ---------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.sut != REFERENCE and not Path(args.sut).is_file():
        print(f"m2mconf: --sut: no such SUT profile file: {args.sut}", file=err)
        return EXIT_CONFIG
    if args.spec_profile is not None and not args.spec_profile.is_file():
        print(f"m2mconf: --spec-profile: no such file: {args.spec_profile}", file=err)
        return EXIT_CONFIG
    from harness.report import write_reports
    from harness.report.progress import Progress

    campaign = _module("harness.campaign")
    if args.select:
        # Before anything runs or the report directory is touched: a selection that
        # matches nothing leaves the previous report as it was.
        selection = campaign.select_purposes(args.select)
        if selection.empty:
            return _report_selection(selection, err)
        for expression in selection.unmatched:
            print(f"m2mconf: warning: --select {expression!r} matches no test purpose", file=err)
    progress = Progress(out, quiet=args.quiet)
    options = campaign.CampaignOptions(
        sut=args.sut,
        faults=list(args.fault),
        select=list(args.select),
        report_dir=args.report,
        spec_profile=args.spec_profile,
        progress=progress,
        workers=args.workers,
    )
    try:
        result = campaign.run_campaign(options)
    except _config_error_types() as exc:
        return _report_config_error(exc, err)
    except Exception as exc:  # noqa: BLE001 - a tester crash must not read as a SUT failure
        traceback.print_exc(file=err)
        print(f"m2mconf: harness error, no verdict: {type(exc).__name__}: {exc}", file=err)
        return EXIT_UNDECIDED
    result.command_line = result.command_line or args.command_line
    result.tool_version = result.tool_version or __version__
    if getattr(args, "redact", False):  # before any report: every format alike
        from harness.redact import redact_result

        redact_result(result)
    paths = write_reports(result, args.report)
    progress.finish(result, paths["html"])
    return result.exit_code()


def _report_selection(selection: Any, err: TextIO) -> int:
    """Exit 2 for a selection that matches nothing, naming every expression."""
    print("m2mconf: --select: no test purpose matches the selection:", file=err)
    for expression in selection.unmatched:
        print(f"  --select {expression!r} matches no test purpose", file=err)
    print("  (ids and requirement IDs are case-insensitive; see 'm2mconf list')", file=err)
    return EXIT_CONFIG


def _applicability(info: Any, profile: Any) -> str | None:
    """None if the profile's ICS lets the purpose run on some transport, else why not."""
    contract = _module("harness.sut.contract")
    try:
        role = contract.Role(info.sut_role)
        framework = contract.Framework(info.framework)
    except ValueError:
        return f"unknown role/framework {info.sut_role}/{info.framework}"
    transports = sorted(profile.ics.transports) or [contract.Transport.TLS]
    reasons = [profile.ics.supports(role, framework, t) for t in transports]
    return None if any(r is None for r in reasons) else reasons[0]


def cmd_list(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    profile = None
    if args.sut is not None:
        try:
            profile = _load_profile(args.sut)
        except (*_config_error_types(), OSError) as exc:
            return _report_config_error(exc, err, f"invalid SUT profile {args.sut}")
    campaign = _module("harness.campaign")
    if args.select:
        selection = campaign.select_purposes(args.select)
        if selection.empty:
            return _report_selection(selection, err)
        for expression in selection.unmatched:
            print(f"m2mconf: warning: --select {expression!r} matches no test purpose", file=err)
        purposes = list(selection.purposes)
    else:
        purposes = campaign.list_test_purposes()
    rows = []
    for info in purposes:
        row: dict[str, Any] = {
            "tp": info.tp,
            "title": info.title,
            "feature": info.feature,
            "framework": info.framework,
            "sut_role": info.sut_role,
            "requirements": list(info.requirements),
        }
        if profile is not None:
            reason = _applicability(info, profile)
            row["applicable"] = reason is None
            row["not_applicable_reason"] = reason
        rows.append(row)
    if args.format == "json":
        return _write_json(rows, out)
    for row in rows:
        mark = ""
        if profile is not None:
            mark = (
                "  [applicable]"
                if row["applicable"]
                else f"  [not applicable: {row['not_applicable_reason']}]"
            )
        out.write(f"{row['tp']}  {row['title']}{mark}\n")
        if row["requirements"]:
            out.write(f"    {' '.join(row['requirements'])}\n")
    out.write(f"{len(rows)} test purposes\n")
    return EXIT_PASS


def _suite_names(codes: Iterable[int]) -> list[str]:
    try:
        suite_name = _module("harness.tls.suites").suite_name
    except (ImportError, AttributeError):
        return [f"0x{c:04X}" for c in codes]
    return [suite_name(c) for c in codes]


def profile_summary(profile: Any) -> list[str]:
    """The few lines that tell a user what the profile declares."""
    sut, ics = profile.sut, profile.ics
    name = " ".join(str(getattr(sut, k, "") or "") for k in ("vendor", "name", "version")).strip()
    adapter = (
        getattr(profile.adapter, "kind", None)
        or getattr(profile.adapter, "name", None)
        or profile.adapter
    )
    return [
        f"SUT: {name or '?'}",
        f"adapter: {adapter}",
        f"roles: {', '.join(sorted(str(r) for r in ics.roles)) or '-'}",
        f"frameworks: {', '.join(sorted(str(f) for f in ics.frameworks)) or '-'}",
        f"transports: {', '.join(sorted(str(t) for t in ics.transports)) or '-'}",
        f"cipher suites: {', '.join(_suite_names(ics.cipher_suites)) or '-'}",
        f"extended master secret: {'yes' if getattr(ics, 'extended_master_secret', False) else 'no'}",
        f"observation channel: {'yes' if getattr(ics, 'observation_channel', False) else 'no'}",
    ]


def cmd_validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.profile != REFERENCE and not Path(args.profile).is_file():
        print(f"m2mconf: {args.profile}: no such file", file=err)
        return EXIT_CONFIG
    try:
        profile = _load_profile(args.profile)
    except (*_config_error_types(), OSError) as exc:
        return _report_config_error(exc, err, f"invalid SUT profile {args.profile}")
    out.write(f"{args.profile}: valid\n")
    for line in profile_summary(profile):
        out.write(f"  {line}\n")
    return EXIT_PASS


def cmd_faults(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        faults = _module("harness.frameworks").reference_faults()
    except (ImportError, AttributeError) as exc:
        print(f"m2mconf: the reference SUT is not available: {exc}", file=err)
        return EXIT_CONFIG
    width = max((len(n) for n in faults), default=0)
    for name, info in faults.items():
        out.write(f"{name:<{width}}  {info.framework:<8}  {info.description}\n")
    out.write("use: m2mconf run --sut reference --fault NAME [--fault NAME ...]\n")
    return EXIT_PASS


def cmd_requirements(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from harness.requirements_catalog import groups, load_catalog

    catalog = load_catalog()
    entries = list(catalog.values())
    if args.group:
        wanted = args.group.upper()
        entries = [e for e in entries if wanted in (e.group, e.subgroup)]
        if not entries:
            known = groups(catalog) + sorted(
                {e.subgroup for e in catalog.values()} - set(groups(catalog))
            )
            print(
                f"m2mconf: --group: unknown group {args.group}; known: {', '.join(known)}", file=err
            )
            return EXIT_CONFIG
    if args.format == "json":
        return _write_json({e.id: e.to_json() for e in entries}, out, ensure_ascii=False)
    for e in entries:
        out.write(f"{e.id}  [{e.keyword}; {e.role}; {e.phase}]\n    {e.text}\n")
    out.write(f"{len(entries)} requirements\n")
    return EXIT_PASS


# --- wiring ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="m2mconf",
        description="Conformance tester for the oneM2M TS-0003 security frameworks: plays "
        "every other party around a system under test (the peer, and the MAF or MEF where "
        "the framework has one) over real (D)TLS 1.2 on loopback and gives a verdict per "
        "test purpose.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"m2mconf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run a campaign against a SUT and write the reports",
        description="Run the selected test purposes against one SUT and write report.html, "
        "report.json, junit.xml, cucumber.json, allure-results/ and per-purpose captures "
        "into the report directory.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--sut",
        required=True,
        metavar="PROFILE|reference",
        help="a SUT profile TOML, or 'reference' for the built-in reference SUT",
    )
    run.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="switch on a fault of the reference SUT (repeatable; see 'm2mconf faults')",
    )
    run.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="EXPR",
        help="a TP id or glob (TP/SAEF-PSK/B/*), a requirement ID (SAEF-PSK-11) or a word "
        "of the title, case-insensitive (repeatable: any of them; default: all; preview "
        "with 'm2mconf list --select')",
    )
    run.add_argument(
        "--report",
        type=Path,
        default=DEFAULT_REPORT_DIR,
        metavar="DIR",
        help=f"report directory (default: {DEFAULT_REPORT_DIR})",
    )
    run.add_argument(
        "--spec-profile",
        type=Path,
        default=None,
        metavar="FILE",
        help="TOML overriding interpretation settings (I-01 ...; see report.html)",
    )
    run.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="run test purpose instances in N pytest-xdist worker processes, merged into one "
        "report identical in content to a sequential run's (default: the number of cores, "
        f"{os.cpu_count() or 1} here; 1: one process, in collection order)",
    )
    run.add_argument(
        "--redact",
        action="store_true",
        help="keep key material out of every report: the SUT's exporter values, any run "
        "of 32+ hex digits in verdict text, application-data plaintext, and the "
        "captures/*.keys key logs (not written); the pcaps stay",
    )
    run.add_argument("--quiet", action="store_true", help="print only the summary")
    run.set_defaults(handler=cmd_run)

    lst = sub.add_parser(
        "list",
        help="list the test purposes",
        description="List test purpose ids, titles and the requirement IDs they decide. "
        "With --sut, mark which ones the SUT's ICS makes applicable.",
    )
    lst.add_argument("--sut", metavar="PROFILE|reference", help="mark applicability for this SUT")
    lst.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="EXPR",
        help="preview what 'm2mconf run --select EXPR' would run (same expressions, repeatable)",
    )
    lst.add_argument("--format", choices=("text", "json"), default="text")
    lst.set_defaults(handler=cmd_list)

    validate = sub.add_parser(
        "validate",
        help="check a SUT profile",
        description="Check a SUT profile TOML; print a summary of its ICS, or every error "
        "with the field it concerns (exit 2).",
    )
    validate.add_argument("profile", metavar="PROFILE", help="SUT profile TOML (or 'reference')")
    validate.set_defaults(handler=cmd_validate)

    faults = sub.add_parser(
        "faults",
        help="list the reference SUT's fault switches",
        description="List the fault switches of the reference SUT (mutants used to show "
        "that each test purpose can fail).",
    )
    faults.set_defaults(handler=cmd_faults)

    reqs = sub.add_parser(
        "requirements",
        help="print the requirement catalogue",
        description="Print the catalogue of testable requirements (REQUIREMENTS.md).",
    )
    reqs.add_argument(
        "--group", metavar="GROUP", help="only one group, e.g. SAEF-PSK, PARAM, PARAM-CCF"
    )
    reqs.add_argument("--format", choices=("text", "json"), default="text")
    reqs.set_defaults(handler=cmd_requirements)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exc:  # argparse: --help/--version exit 0, usage errors exit 2
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_CONFIG
    args.command_line = shlex.join(["m2mconf", *arguments])
    try:
        return int(args.handler(args, sys.stdout, sys.stderr))
    except KeyboardInterrupt as exc:  # before or after the campaign (it handles its own)
        print(f"m2mconf: {exc or 'interrupted'}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 130))  # harness.interrupt: 128 + the signal


if __name__ == "__main__":
    raise SystemExit(main())
