"""Every examples/NAME.py compiles to exactly examples/NAME.d, which is checked, valid D.

The .d files are golden text owned by this project (the canonical printer's format).
After a deliberate change, regenerate them with
``DTSCOPE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_examples.py`` and
review the diff as D.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
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
        capture_output=True,
        text=True,
        check=False,
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
    assert [p.text for c in compiled.program.clauses for p in c.probes] == [
        "profile-99",
        "profile-99",
    ]
    compiled = compile_file(str(EXAMPLES / "cpu_by_zone.py"), {"interval": "500ms"})
    assert compiled.program.clauses[1].probes[0].text == "tick-500ms"


# --------------------------------------------------------------------------- the guide

GUIDE = EXAMPLES.parent / "docs" / "python-scripts.md"


def _guide_rows() -> dict[str, str]:
    """example stem -> its Linux column in the guide's table of all examples."""
    rows = {}
    for line in GUIDE.read_text().splitlines():
        match = re.match(r"\| \[`(\w+)\.py`\].*\| (.*) \|$", line)
        if match:
            rows[match.group(1)] = match.group(2).split(" | ")[-1]
    return rows


def test_guide_lists_every_example():
    assert set(_guide_rows()) == {s.stem for s in SCRIPTS}


def test_guide_side_by_side_blocks_are_the_example_files():
    text = GUIDE.read_text()
    shown = re.findall(
        r"`examples/(\w+)\.py`:\n\n```python\n(.*?)```\n\ncompiles to\n\n```d\n(.*?)```",
        text,
        re.DOTALL,
    )
    assert len(shown) >= 3
    for stem, python, d in shown:
        assert python == (EXAMPLES / f"{stem}.py").read_text()
        assert d == (EXAMPLES / f"{stem}.d").read_text()


def test_guide_says_which_examples_lower_to_bpftrace():
    from dtscope.collectors.linux_host import LinuxHost
    from dtscope.dscript.bpftrace import lower
    from dtscope.dscript.diagnostics import DiagnosticError

    for stem, column in _guide_rows().items():
        program = compile_file(str(EXAMPLES / f"{stem}.py")).program
        try:
            lower(program, LinuxHost())
            lowers = True
        except DiagnosticError:
            lowers = False
        assert lowers == (column == "yes"), f"{stem}: the guide says {column!r}"


# On Linux a zone is a cgroup path, and there is no cgroup called "global".
LINUX_DEFINES = {"syscalls_in_zone": {"zone": "/"}}


@pytest.mark.tracing
def test_examples_that_lower_are_accepted_by_bpftrace(tmp_path):
    """bpftrace itself parses, type-checks and compiles each lowered example (no attach)."""
    from dtscope.collectors.linux_host import LinuxHost
    from dtscope.dscript.bpftrace import lower

    for stem, column in _guide_rows().items():
        if column != "yes":
            continue
        source = tmp_path / f"{stem}.bt"
        compiled = compile_file(str(EXAMPLES / f"{stem}.py"), LINUX_DEFINES.get(stem))
        source.write_text(lower(compiled.program, LinuxHost()).text)
        result = subprocess.run(
            ["bpftrace", "--emit-elf", str(tmp_path / f"{stem}.elf"), str(source)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, f"{stem}:\n{result.stderr}"


def test_dtscope_check_accepts_every_example(dtscope_cli):
    code, out, err = dtscope_cli("check", *map(str, SCRIPTS))
    assert (code, err) == (0, "")
    assert out.count(": ok\n") == len(SCRIPTS)


@pytest.mark.tracing
def test_syscalls_in_zone_counts_exactly_one_cgroups_calls(tmp_path, dtscope_cli):
    """The zone parameter (a string) filters for real: 777 getppid() calls in a fresh cgroup."""
    root = Path("/sys/fs/cgroup/unified")
    if not (root / "cgroup.procs").exists():
        root = Path("/sys/fs/cgroup")
    cgroup = root / f"dtscope-example-{os.getpid()}"
    cgroup.mkdir()
    try:
        workload = tmp_path / "getppid.py"
        workload.write_text("import os\nfor _ in range(777):\n    os.getppid()\n")
        wrapper = tmp_path / "in_cgroup.sh"
        wrapper.write_text(
            f"echo $$ > {cgroup}/cgroup.procs\nexec {sys.executable} -I -S {workload}\n"
        )
        out = tmp_path / "run.jsonl"
        code, _, err = dtscope_cli(
            "run",
            str(EXAMPLES / "syscalls_in_zone.py"),
            "-D",
            f"zone=/{cgroup.name}",
            "-c",
            f"/bin/sh {wrapper}",
            "-o",
            str(out),
        )
        assert code == 0, err
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        counts = {tuple(r["keys"]): r["value"] for r in rows if r.get("aggregation") == "calls"}
        assert counts[(Path(sys.executable).name[:15], "getppid")] == 777
        # Only the two processes that ran in the cgroup appear: the filter held.
        assert {keys[0] for keys in counts} <= {"sh", Path(sys.executable).name[:15]}
    finally:
        cgroup.rmdir()
