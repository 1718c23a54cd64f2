"""Run a hand-written bpftrace program around a workload (the ground-truth proofs).

The probes are tested through ``dtscope run``; these helpers prove, independently of
dtscope, that each workload produces exactly the events it promises on this kernel.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

READY_MARK = "dtscope-ready"
# bpftrace 0.17 sometimes misses a SIGINT that arrives while it is not waiting in epoll and
# then runs forever, so the program stops itself when this process calls kill(STOP_PID, 0)
# on a pid that cannot exist (pid_max is at most 2**22).
STOP_PID = 0x7FFFFFF0


class Bpftrace:
    """bpftrace in JSON mode; the program's BEGIN probe marks the moment it is attached."""

    def __init__(self, program: str, timeout: float = 30):
        self.timeout = timeout
        self.proc = subprocess.Popen(
            ["bpftrace", "-f", "json", "-e", self._wrap(program)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if READY_MARK in line:
                return
        err = self.proc.stderr.read() if self.proc.stderr else ""
        raise RuntimeError(f"bpftrace did not start: {err}")

    @staticmethod
    def _wrap(program: str) -> str:
        return (
            f'BEGIN {{ printf("{READY_MARK}\\n"); }} '
            f"tracepoint:syscalls:sys_enter_kill /pid == {os.getpid()} && args->pid == {STOP_PID}/"
            " { exit(); } " + program
        )

    def stop(self) -> dict[str, Any]:
        """Stop bpftrace and return its maps: name -> {key: value} (keys as JSON strings)."""
        try:
            os.kill(STOP_PID, 0)
        except ProcessLookupError:
            pass
        out, _err = self.proc.communicate(timeout=self.timeout)
        maps: dict[str, Any] = {}
        for line in out.splitlines():
            if not line.startswith("{"):
                continue
            message = json.loads(line)
            if message.get("type") in ("map", "hist", "stats"):
                maps.update(message["data"])
        return maps
