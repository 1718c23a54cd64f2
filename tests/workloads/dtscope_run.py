"""Run the real ``dtscope run`` around workloads.

:func:`run_probe` starts ``dtscope run PROBE -c 'gate.py DIR' -o run.jsonl``, waits until
the gate reports that the tracer is attached, calls ``during()`` (which releases the
workloads and waits for their work to end), lets the gate exit, and returns the run's
rows. :func:`rows` and :func:`value` pick rows out by aggregation and key.

:func:`python_child` and :func:`run_d_jsonl` serve the tests that run a D script on a
small Python child (``-c``) and read the JSONL it writes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


class ProbeRunError(AssertionError):
    pass


def run_probe(
    probe: str,
    during: Callable[[], Any],
    *,
    defines: tuple[str, ...] = (),
    timeout: float = 90,
) -> list[Any]:
    """Run ``probe`` while ``during()`` runs; returns the final snapshot's rows."""
    from dtscope.collectors.model import read_jsonl

    with tempfile.TemporaryDirectory(prefix="dtscope-probe-") as tmp:
        gate_dir = Path(tmp)
        output = gate_dir / "run.jsonl"
        command = [sys.executable, "-m", "dtscope", "run", probe, "-o", str(output)]
        for define in defines:
            command += ["-D", define]
        command += ["-c", f"{sys.executable} {HERE / 'gate.py'} {gate_dir} {timeout}"]
        tracer = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + timeout
            while not (gate_dir / "started").exists():
                if tracer.poll() is not None:
                    raise ProbeRunError(f"dtscope run {probe} exited ({tracer.returncode}): {tracer.stderr.read()}")
                if time.monotonic() > deadline:
                    raise ProbeRunError(f"dtscope run {probe} never attached")
                time.sleep(0.02)
            during()
        finally:
            (gate_dir / "finished").touch()
            try:
                _out, err = tracer.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                tracer.kill()
                _out, err = tracer.communicate()
        if tracer.returncode != 0:
            raise ProbeRunError(f"dtscope run {probe} failed ({tracer.returncode}): {err}")
        with open(output) as fh:
            snapshots = list(read_jsonl(fh))
    if not snapshots:
        raise ProbeRunError(f"dtscope run {probe} wrote no snapshot")
    return snapshots[-1].rows


def rows(all_rows: list[Any], aggregation: str) -> list[Any]:
    return [r for r in all_rows if r.aggregation == aggregation]


def value(all_rows: list[Any], aggregation: str, *keys: Any) -> Any:
    """The value of the row with exactly these keys (None if absent)."""
    for row in rows(all_rows, aggregation):
        if tuple(row.keys) == keys:
            return row.value
    return None


def python_child(tmp_path: Path, body: str, *, print_pid: bool = False, name: str = "child.py") -> str:
    """The command line of a Python child that runs ``body`` (``os``, ``sys`` and ``time``
    imported), for ``dtscope run -c``; with ``print_pid`` it prints ``pid N`` first.

    Its interpreter makes syscalls of its own while starting, so tests filter on what
    only ``body`` does (a file descriptor number, a comm it sets, the child's pid).
    """
    script = tmp_path / name
    head = "import os, sys, time\n" + ("print('pid', os.getpid(), flush=True)\n" if print_pid else "")
    script.write_text(head + textwrap.dedent(body))
    return f"{sys.executable} {script}"


def run_d_jsonl(dtscope_cli: Callable[..., Any], tmp_path: Path, d_text: str, *args: str,
                name: str = "script.d") -> tuple[list[dict], list[dict], str, str]:
    """``dtscope run`` of ``d_text`` (written to ``name``) with ``-o out.jsonl``; asserts it
    exits 0 and returns (snapshot rows, status records, stdout, stderr)."""
    script = tmp_path / name
    script.write_text(d_text)
    out = tmp_path / "out.jsonl"
    if out.exists():
        out.unlink()
    code, stdout, stderr = dtscope_cli("run", str(script), "-o", str(out), *args)
    assert code == 0, stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    rows = [r for r in records if r.get("type") != "status"]
    return rows, [r for r in records if r.get("type") == "status"], stdout, stderr
