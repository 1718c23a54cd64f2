"""What every target generates for the probe library and the examples is pinned.

The bpftrace program of each Linux script, and the D of each script for illumos and for
Oracle's D 2.0 with the dtrace backend's snapshot machinery, are kept in
tests/golden/targets/: a change to any of them must be a visible decision. The bpftrace
lowering runs against a host recorded from a real Linux machine
(tests/fixtures/host/linux.json: its tracepoint formats and syscalls), so the programs do
not depend on the kernel the tests run on. To accept a change, after reading it:

    DTSCOPE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_targets_golden.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from dtscope.dscript import d_dialects
from dtscope.dscript.bpftrace import StaticHost, lower
from dtscope.dscript.diagnostics import DiagnosticError
from dtscope.dscript.parser import parse_file
from dtscope.dscript.pyscript import compile_file
from dtscope.dscript.tracepoints import parse_format

from dtscope import probes

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GOLDEN = HERE / "golden" / "targets"
UPDATE = os.environ.get("DTSCOPE_UPDATE_GOLDEN") == "1"


def recorded_host() -> StaticHost:
    data = json.loads((HERE / "fixtures" / "host" / "linux.json").read_text())
    formats = {}
    for name, text in data["formats"].items():
        category, event = name.split("/")
        formats[(category, event)] = parse_format(text, category, event)
    for category, events in data["events"].items():
        for event in events:
            formats.setdefault((category, event), parse_format("format:\n", category, event))
    return StaticHost(formats=formats, syscalls=data["syscalls"], kprobes=data["kprobes"], btf=data["btf"])


HOST = recorded_host()


def _scripts() -> list[tuple[str, Path]]:
    out = []
    for probe in probes.list():
        for platform, path in sorted(probe.scripts.items()):
            out.append((f"probe-{probe.name}.{platform}", path))
    for path in sorted((REPO / "examples").glob("*.[dp]*")):
        if path.suffix in (".d", ".py"):
            out.append((f"example-{path.stem}{path.suffix.replace('.', '-')}", path))
    return out


SCRIPTS = _scripts()


def _program(path: Path):
    return compile_file(str(path)).program if path.suffix == ".py" else parse_file(str(path))


def _relative(text: str) -> str:
    return text.replace(str(REPO) + "/", "")


def _outputs(path: Path) -> dict[str, str]:
    program = _program(path)
    out = {}
    for target, make in (
        ("bt", lambda: lower(program, HOST).text),
        ("illumos.d", lambda: d_dialects.lower(program, "illumos", nonce="0123abcd").text),
        ("oracle.d", lambda: d_dialects.lower(program, "oracle", interval=1.0, nonce="0123abcd").text),
    ):
        try:
            out[target] = _relative(make())
        except DiagnosticError as err:
            out[target] = "refused:\n" + "".join(f"{_relative(str(d.span))}: {d.message} [{d.code}]\n" for d in err.diagnostics)
    return out


@pytest.mark.parametrize("name, path", SCRIPTS, ids=[name for name, _ in SCRIPTS])
def test_generated_programs_are_pinned(name: str, path: Path):
    for target, text in _outputs(path).items():
        golden = GOLDEN / f"{name}.{target}"
        if UPDATE:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(text)
        assert golden.exists(), f"no golden file {golden.name}: run with DTSCOPE_UPDATE_GOLDEN=1"
        assert text == golden.read_text(), f"{path.name} generates a different {target} than {golden.name}"


def test_no_stale_golden_files():
    expected = {f"{name}.{target}" for name, _ in SCRIPTS for target in ("bt", "illumos.d", "oracle.d")}
    present = {p.name for p in GOLDEN.iterdir()} if GOLDEN.exists() else set()
    assert present <= expected, sorted(present - expected)
