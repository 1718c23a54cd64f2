"""Run a probe through the real ``dtscope run`` around workloads (the probe tests).

:func:`run_probe` starts ``dtscope run PROBE -c 'gate.py DIR' -o run.jsonl``, waits until
the gate reports that the tracer is attached, calls ``during()`` (which releases the
workloads and waits for their work to end), lets the gate exit, and returns the run's
rows. :func:`rows` and :func:`value` pick rows out by aggregation and key.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
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
