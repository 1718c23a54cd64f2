"""Stopping bpftrace: a tracer still printing after the stop is waited for; a silent one
gets a short grace, unless it resolves user stacks (which is silent and slow)."""

from __future__ import annotations

import sys

import pytest
from dtscope.dscript.bpftrace import StaticHost
from dtscope.dscript.bpftrace.maps import MapInfo

HOST = StaticHost()

# --------------------------------------------------------------------------- stop grace

STUB_TRACER = '''\
import json, signal, sys, time
silent, lines = float(sys.argv[-3]), int(sys.argv[-2])
stopped = []
signal.signal(signal.SIGINT, lambda *a: stopped.append(1))
print(json.dumps({"type": "attached_probes", "data": {"probes": 1}}), flush=True)
while not stopped:
    time.sleep(0.02)
time.sleep(silent)  # like bpftrace resolving user stacks: nothing printed meanwhile
for i in range(lines):  # like bpftrace printing a long END
    print(json.dumps({"type": "printf", "data": f"line {i}\\n"}), flush=True)
    time.sleep(0.3)
print(json.dumps({"type": "map", "data": {"@c": 7}}), flush=True)
'''


def run_stub(tmp_path, monkeypatch, program_text: str, silent: float, lines: int):
    """A stand-in tracer (argv: -f json PROGRAM SILENT LINES x) that is slow to finish after SIGINT."""
    import os

    from dtscope.collectors import bpftrace as collector
    from dtscope.collectors.base import RunOptions

    if os.geteuid() != 0:
        pytest.skip("the bpftrace backend runs only as root")
    stub = tmp_path / "slow-tracer"
    stub.write_text(f"#!{sys.executable}\n" + STUB_TRACER)
    stub.chmod(0o755)
    monkeypatch.setattr(collector.BpftraceBackend, "STOP_GRACE_SECONDS", 1.0)
    monkeypatch.setattr(collector.BpftraceBackend, "USTACK_STOP_GRACE_SECONDS", 4.0)
    maps = {"@c": MapInfo("@c", "c", "count")}
    printed: list[str] = []
    options = RunOptions(duration=0.2, tracer_path=str(stub), macro_args=[str(silent), str(lines), "x"],
                         on_output=printed.append)
    backend = collector.BpftraceBackend()
    snaps = list(backend.stream(collector.prepare_text(program_text, maps), options))
    return snaps, printed


def test_a_tracer_still_printing_after_the_stop_is_not_killed(tmp_path, monkeypatch):
    snaps, printed = run_stub(tmp_path, monkeypatch, "BEGIN { @c = count(); }", silent=0.0, lines=8)
    assert printed == [f"line {i}" for i in range(8)]  # 2.4 s of output, grace 1 s between lines
    assert [(r.aggregation, r.value) for r in snaps[-1].rows] == [("c", 7)]


def test_a_silent_tracer_gets_the_short_grace_unless_it_resolves_user_stacks(tmp_path, monkeypatch):
    from dtscope.collectors.base import TracerError

    with pytest.raises(TracerError, match="killed by signal 9"):
        run_stub(tmp_path, monkeypatch, "BEGIN { @c = count(); }", silent=2.5, lines=0)
    snaps, _ = run_stub(tmp_path, monkeypatch, "profile:hz:99 { @c[ustack] = count(); }", silent=2.5, lines=0)
    assert [(r.aggregation, r.value) for r in snaps[-1].rows] == [("c", 7)]
