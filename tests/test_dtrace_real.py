"""Opt-in: the DTrace backend against a real ``dtrace``.

Runs only with ``DTSCOPE_DTRACE=/path/to/dtrace`` (illumos/SmartOS, FreeBSD, macOS, or
Oracle's DTrace for Linux built from github.com/oracle/dtrace-utils), as root::

    DTSCOPE_DTRACE=/usr/sbin/dtrace .venv/bin/python -m pytest tests/test_dtrace_real.py -v -s

Known workloads with exact ground truth (a child started with ``-c`` that makes exactly
N system calls with known arguments) must give exact counts and buckets, in one final
snapshot and summed over interval snapshots. Every probe in the library must compile
with ``dtrace -e -Z``; a probe that uses what this DTrace lacks (Oracle's has no
``zonename``; some hosts have no ``fbt``) is listed with the reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import warnings

import pytest
from dtscope.collectors.base import RunOptions
from dtscope.collectors.dtrace import DTraceBackend
from dtscope.dscript import parse
from dtscope.dscript.diagnostics import DiagnosticError

DTRACE = os.environ.get("DTSCOPE_DTRACE")

pytestmark = pytest.mark.skipif(not DTRACE, reason="opt-in: set DTSCOPE_DTRACE=/path/to/dtrace")

CALLS = 1000
OFFSETS = [1000, 1500, 3000, 70000, 70001]  # lseek(fd, v, SEEK_SET): quantize/lquantize ground truth


def workload(calls: int = CALLS, offsets: list[int] = OFFSETS, delay: float = 0.5) -> str:
    """A command making exactly ``calls`` getppid() and one lseek per offset."""
    code = (
        f"import os, time, tempfile; time.sleep({delay!r}); fd = tempfile.TemporaryFile().fileno()\n"
        f"for _ in range({calls}): os.getppid()\n"
        f"for v in {offsets!r}: os.lseek(fd, v, 0)\n"
        f"time.sleep({delay!r})\n"
    )
    return f"{sys.executable} -S -c '{code}'"


PROGRAM = """
syscall::getppid:entry
/pid == $target/
{
	@calls[execname] = count();
}

syscall::lseek:entry
/pid == $target && arg2 == 0 && arg1 >= 1000/
{
	@q = quantize(arg1);
	@l = lquantize(arg1, 0, 5000, 1000);
	@ll = llquantize(arg1, 10, 3, 5, 10);
	@s = sum(arg1);
	@mx = max(arg1);
}
"""


def run(src: str, **opts):
    options = RunOptions(tracer_path=DTRACE, on_output=lambda line: None, **opts)
    backend = DTraceBackend()
    prepared = backend.prepare(parse(src, "real.d"), options)
    return list(backend.stream(prepared, options))


def rows(snaps, name: str) -> list:
    return [r for s in snaps for r in s.rows if r.aggregation == name]


def test_exact_counts_and_buckets_in_one_final_snapshot():
    snaps = run(PROGRAM, target_command=workload())
    assert len(snaps) == 1 and snaps[0].final
    assert sum(r.value for r in rows(snaps, "calls")) == CALLS
    (q,) = rows(snaps, "q")
    assert [(b.lo, b.hi, b.count) for b in q.buckets] == [(512, 1024, 1), (1024, 2048, 1), (2048, 4096, 1), (65536, 131072, 2)]
    (l,) = rows(snaps, "l")
    assert [(b.lo, b.hi, b.count) for b in l.buckets] == [(1000, 2000, 2), (3000, 4000, 1), (5000, None, 2)]
    (s,) = rows(snaps, "s")
    assert s.value == sum(OFFSETS)
    (mx,) = rows(snaps, "mx")
    assert mx.value == max(OFFSETS)
    (ll,) = rows(snaps, "ll")
    assert sum(b.count for b in ll.buckets) == len(OFFSETS)


def test_interval_snapshots_sum_to_the_exact_total():
    snaps = run(PROGRAM, target_command=workload(delay=1.2), interval=0.5)
    assert snaps[-1].final and len(snaps) >= 3
    assert sum(r.value for r in rows(snaps, "calls")) == CALLS
    assert sum(r.value for r in rows(snaps, "q")) == len(OFFSETS)


def test_generated_if_else_gives_the_same_counts():
    src = """
syscall::getppid:entry
/pid == $target/
{
	this->n = 1;
	if (this->n == 1) {
		@yes = count();
	} else {
		@no = count();
	}
	@all = count();
}
"""
    snaps = run(src, target_command=workload(offsets=[]))
    assert sum(r.value for r in rows(snaps, "yes")) == CALLS
    assert rows(snaps, "no") == []
    assert sum(r.value for r in rows(snaps, "all")) == CALLS


def _library_probes() -> list[str]:
    try:
        from dtscope import probes
    except ImportError:
        return []
    for attribute in ("names", "all_names", "list_probes"):
        lister = getattr(probes, attribute, None)
        if callable(lister):
            return sorted(str(getattr(p, "name", p)) for p in lister())
    table = getattr(probes, "PROBES", None) or getattr(probes, "REGISTRY", None)
    return sorted(table) if table else []


def test_every_library_probe_compiles_with_dtrace_e():
    from dtscope.scripts import load_script

    names = _library_probes()
    if not names:
        pytest.skip("the probe library lists no probes")
    dialect = DTraceBackend.detect_dialect(DTRACE)
    unsupported: list[str] = []
    failures: list[str] = []
    for name in names:
        script = load_script(name)
        try:
            prepared = DTraceBackend(dialect=dialect).prepare(script.program, RunOptions(destructive=True))
        except DiagnosticError as err:
            unsupported.append(f"{name}: {err.format()}")
            continue
        with tempfile.NamedTemporaryFile("w", suffix=".d", delete=False) as fh:
            fh.write(prepared.text)
        try:
            done = subprocess.run(
                [DTRACE, "-e", "-Z", "-q", "-w", "-s", fh.name], check=False, capture_output=True, text=True, timeout=120
            )
        finally:
            os.unlink(fh.name)
        if done.returncode != 0:
            message = done.stderr.strip().replace(fh.name, name)
            if "does not match any probes" in message or "fbt" in message:
                unsupported.append(f"{name}: this host lacks a provider: {message}")
            else:
                failures.append(f"{name}: {message}")
    report = "\n".join(unsupported)
    if unsupported:
        warnings.warn(f"probes this DTrace cannot run ({len(unsupported)}):\n{report}")
        print(f"\nprobes this DTrace cannot run:\n{report}")
    assert not failures, "\n".join(failures)
