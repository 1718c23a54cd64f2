"""pid$target probes on bpftrace: uprobes on the target's objects (libc found by its
short name or by search), with -c and with -p, counting exactly."""

from __future__ import annotations

import json
import sys

import pytest
from dtscope.dscript.bpftrace import StaticHost
from workloads.dtscope_run import python_child, run_d_jsonl

HOST = StaticHost()

# --------------------------------------------------------------------------- pid$target with -c and -p

PID_PROBES = (
    'BEGIN { printf("ready\\n"); }\n'
    "pid$target::getppid:entry { @calls[probemod] = count(); }\n"  # no module: found in libc
    "pid$target:libc:getpid:entry { @pids = count(); }\n"  # a module by its short name
)


def pid_probe_counts(rows):
    return ({tuple(r["keys"]): r["value"] for r in rows if r["aggregation"] == "calls"},
            [r["value"] for r in rows if r["aggregation"] == "pids"])


@pytest.mark.tracing
def test_pid_target_uprobes_on_libc_with_c(dtscope_cli, tmp_path):
    command = python_child(tmp_path, """
        for _ in range(1234):
            os.getppid()
        for _ in range(77):
            os.getpid()
    """)
    rows, _, _, _ = run_d_jsonl(dtscope_cli, tmp_path, PID_PROBES, "-c", command)
    assert pid_probe_counts(rows) == ({("libc.so.6",): 1234}, [77])


@pytest.mark.tracing
def test_pid_target_uprobes_on_libc_with_p(tmp_path):
    import subprocess

    worker = subprocess.Popen(
        [sys.executable, "-c",
         ("import os, sys\nsys.stdin.readline()\nfor _ in range(4321): os.getppid()\n"
          "for _ in range(55): os.getpid()\nsys.stdin.readline()\n")],
        stdin=subprocess.PIPE, text=True,
    )
    script = tmp_path / "pid.d"
    script.write_text(PID_PROBES)
    out = tmp_path / "out.jsonl"
    run = subprocess.Popen(
        [sys.executable, "-m", "dtscope", "run", str(script), "-p", str(worker.pid), "--duration", "3s", "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert run.stdout.readline() == "ready\n"
        worker.stdin.write("go\n")
        worker.stdin.flush()
        _, stderr = run.communicate(timeout=60)
        worker.communicate("done\n", timeout=30)
    finally:
        for proc in (worker, run):
            if proc.poll() is None:
                proc.kill()
    assert run.returncode == 0, stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert pid_probe_counts([r for r in rows if r.get("type") != "status"]) == ({("libc.so.6",): 4321}, [55])
