"""Turn what the user names on the command line into a checked D program.

``load_script(spec, defines)`` accepts a D file (``.d``), a Python-authored script
(``.py``), a probe name from the library (``syscall-latency``), a saved run
(``.jsonl``, for replay) or ``-`` (D on standard input). Every command that takes a
script goes through here, so they all accept the same things.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from dtscope.dscript.checks import check as run_checks
from dtscope.dscript.checks import destructive_actions
from dtscope.dscript.diagnostics import DiagnosticError
from dtscope.dscript.parser import interpreter_options, parse
from dtscope.dscript.script import LoadedScript
from dtscope.errors import UsageError, UserError


def parse_defines(defines: Iterable[str] | dict[str, str] | None) -> dict[str, str]:
    """``["zone=web", "min=10ms"]`` -> ``{"zone": "web", "min": "10ms"}``."""
    if defines is None:
        return {}
    if isinstance(defines, dict):
        return dict(defines)
    out: dict[str, str] = {}
    for item in defines:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise UsageError(f"-D expects NAME=VALUE, got {item!r}")
        out[name.strip()] = value
    return out


def load_script(
    spec: str,
    defines: Iterable[str] | dict[str, str] | None = None,
    *,
    cpp: bool | None = None,
    include_dirs: Iterable[str] = (),
    check: bool = True,
) -> LoadedScript:
    """Load and (unless ``check=False``) check a script; raises DiagnosticError or UserError."""
    values = parse_defines(defines)
    if spec.endswith(".jsonl"):
        if not os.path.isfile(spec):
            raise UsageError(f"{spec}: no such file")
        return LoadedScript(name=_stem(spec), path=spec, kind="replay")
    if spec.endswith(".py"):
        script = _load_python(spec, values, kind="py")
    elif spec == "-" or spec.endswith(".d") or os.path.sep in spec or os.path.isfile(spec):
        script = _load_d(spec, values, cpp, include_dirs)
    else:
        script = _load_probe(spec, values)
    if check:
        errors = [d for d in run_checks(script.program) if d.severity == "error"]
        if errors:
            raise DiagnosticError(errors, script.sources)

    script.destructive = sorted({name for name, _ in destructive_actions(script.program)})
    return script


def _stem(path: str) -> str:
    base = os.path.basename(path)
    return base.rsplit(".", 1)[0] if "." in base else base


def _load_d(spec: str, defines: dict[str, str], cpp: bool | None, include_dirs: Iterable[str]) -> LoadedScript:
    if spec == "-":
        import sys

        text, path = sys.stdin.read(), None
        filename = "<stdin>"
    else:
        if not os.path.exists(spec):
            raise UsageError(f"{spec}: no such file (and no probe by that name: see `dtscope probes`)")
        try:
            with open(spec, "rb") as fh:
                text = fh.read().decode("utf-8", errors="surrogateescape")
        except OSError as err:
            raise UserError(f"{spec}: cannot read: {err.strerror}") from None
        path = filename = spec
    wants_cpp = cpp if cpp is not None else "C" in interpreter_options(text)
    if defines and not wants_cpp:
        raise UsageError("-D defines preprocessor macros for D scripts: add -C (or use $1.. macro arguments)")
    program = parse(text, filename, cpp=wants_cpp, include_dirs=include_dirs, defines=defines)
    return LoadedScript(name=_stem(filename), path=path, kind="d", program=program, sources={filename: text})


def _load_python(path: str, defines: dict[str, str], kind: str, name: str | None = None) -> LoadedScript:
    if not os.path.isfile(path):
        raise UsageError(f"{path}: no such file")
    # Imported here: loading D does not need the Python front end (`check x.d` starts fast).
    from dtscope.dscript.pyscript import compile_file

    compiled = compile_file(path, defines)
    metadata = dict(compiled.metadata)
    units = dict(metadata.get("units") or compiled.units)
    with open(path, encoding="utf-8", errors="replace") as fh:
        source = fh.read()
    return LoadedScript(
        name=name or metadata.get("name") or _stem(path),
        path=path,
        kind=kind,
        program=compiled.program,
        units=units,
        metadata=metadata,
        params=list(compiled.params),
        sources={path: source},
    )


def _load_probe(name: str, defines: dict[str, str]) -> LoadedScript:
    from dtscope import probes

    try:
        probe = probes.get(name)
    except KeyError:
        raise UsageError(f"{name}: no such file or probe (see `dtscope probes` for the probe library)") from None
    return _load_python(str(probe.path), defines, kind="probe", name=name)
