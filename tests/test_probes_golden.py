"""Each probe's D, as compiled for illumos, is pinned and passes the checks.

The D a probe compiles to is what runs on a SmartOS host; a change to it must be a
visible decision. Each script's D is kept in tests/golden/probes/: ``NAME.d`` for the
script serving illumos, ``NAME.linux.d`` for a separate Linux script. To accept a change:

    DTSCOPE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_probes_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dtscope.dscript.checks import check
from dtscope.dscript.parser import parse
from dtscope.dscript.printer import to_d
from dtscope.dscript.pyscript import compile_file

from dtscope import probes

GOLDEN = Path(__file__).resolve().parent / "golden" / "probes"
UPDATE = os.environ.get("DTSCOPE_UPDATE_GOLDEN") == "1"


def _scripts() -> list[tuple[str, Path]]:
    """(golden file name, script) for every distinct script of the library."""
    out = []
    for probe in probes.list():
        illumos = probe.scripts.get("illumos")
        if illumos is not None:
            out.append((f"{probe.name}.d", illumos))
        linux = probe.scripts.get("linux")
        if linux is not None and linux != illumos:
            out.append((f"{probe.name}.linux.d", linux))
    return out


SCRIPTS = _scripts()


@pytest.mark.parametrize("golden_name, script", SCRIPTS, ids=[name for name, _ in SCRIPTS])
def test_probe_d_is_pinned_and_checks(golden_name, script):
    program = compile_file(str(script)).program
    text = to_d(program)
    problems = [d for d in check(program) if d.severity == "error"]
    assert not problems, [d.message for d in problems]
    # The printed D parses back and passes the checks too: it is what `dtrace -s` gets.
    assert not [d for d in check(parse(text, golden_name)) if d.severity == "error"]
    golden = GOLDEN / golden_name
    if UPDATE:
        golden.write_text(text)
    assert golden.exists(), f"no golden file {golden_name}: run with DTSCOPE_UPDATE_GOLDEN=1"
    assert text == golden.read_text(), f"{script.name} compiles to different D than {golden_name}"


def test_no_stale_golden_files():
    expected = {name for name, _ in SCRIPTS}
    present = {p.name for p in GOLDEN.glob("*.d")}
    assert present - expected == set(), "golden files for probes that no longer exist"


def test_dtscope_check_accepts_every_probe(dtscope_cli):
    # One run for all: `dtscope check` reports every file, and probe names are accepted too.
    files = [str(GOLDEN / name) for name, _ in SCRIPTS]
    code, out, err = dtscope_cli("check", *files, "zone-syscalls", "kvm-io")
    assert code == 0, err
    assert out.count(": ok") == len(files) + 2
