"""Every examples/NAME.py compiles to exactly examples/NAME.d, which is checked, valid D.

The .d files are golden text owned by this project (the canonical printer's format).
After a deliberate change, regenerate them with
``DTSCOPE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_examples.py`` and
review the diff as D.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dtscope.dscript.checks import check
from dtscope.dscript.parser import parse
from dtscope.dscript.printer import to_d
from dtscope.dscript.pyscript import compile_file

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
UPDATE = os.environ.get("DTSCOPE_UPDATE_GOLDEN") == "1"


def test_there_are_at_least_ten_examples_each_beside_its_d():
    assert len(SCRIPTS) >= 10
    for script in SCRIPTS:
        assert script.with_suffix(".d").is_file(), f"{script.name} has no expected .d beside it"


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_example_compiles_checks_and_matches_its_d(script: Path):
    compiled = compile_file(str(script))
    problems = [d for d in check(compiled.program) if d.severity == "error"]
    assert problems == [], "\n".join(str(d) for d in problems)
    text = to_d(compiled.program)
    expected_path = script.with_suffix(".d")
    if UPDATE:
        expected_path.write_text(text)
    assert text == expected_path.read_text()
    # The golden text is D that the front end reads back to the same tree.
    assert parse(text, str(expected_path)) == compiled.program


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_example_imports_as_plain_python(script: Path):
    """Scripts are ordinary modules: importing one runs nothing and raises nothing."""
    spec = importlib.util.spec_from_file_location(f"example_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]


def test_examples_are_lint_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not os.path.exists(ruff):
        pytest.skip("ruff is not installed")
    result = subprocess.run(
        [ruff, "check", "--no-cache", "--select", "E,F,W,I", *map(str, SCRIPTS)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_example_metadata_comes_from_docstring_and_declarations():
    compiled = compile_file(str(EXAMPLES / "syscall_latency_by_zone.py"))
    assert compiled.metadata["name"] == "syscall-latency-by-zone"
    assert compiled.metadata["description"] == "System call latency by zone and system call."
    assert compiled.metadata["area"] == "zones"
    assert compiled.metadata["units"] == {"latency": "ns"}
    assert compiled.aggregations["latency"].labels == ("zone", "syscall")


def test_example_parameters_change_the_program():
    compiled = compile_file(str(EXAMPLES / "profile_stacks.py"), {"hz": "99"})
    assert [p.text for c in compiled.program.clauses for p in c.probes] == ["profile-99", "profile-99"]
    compiled = compile_file(str(EXAMPLES / "cpu_by_zone.py"), {"interval": "500ms"})
    assert compiled.program.clauses[1].probes[0].text == "tick-500ms"
