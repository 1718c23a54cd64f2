"""Workloads with exact, known ground truth for the probe tests.

Each workload is a small script in this folder run as a child process (stdlib only, so it
runs by path under any interpreter). The parent side is :class:`Workload`: start the
child, read its ``ready`` line (pid and anything else the test must know, such as a port),
attach the tracer, call :meth:`Workload.go`, then :meth:`Workload.finish` for the
``done`` line. The counted work happens only between ``go`` and ``done``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Self

HERE = Path(__file__).resolve().parent


class WorkloadError(RuntimeError):
    """The workload could not be set up or did not do what it promised."""


class Workload:
    def __init__(
        self,
        script: str,
        *args: str,
        cgroup: Path | None = None,
        timeout: float = 60,
        argv: list[str] | None = None,
    ):
        """Start ``script`` (a file in this folder) with ``args``, or any ``argv`` that
        speaks the same ready/go/done protocol (such as the compiled busy loop)."""
        self.script = script
        self.timeout = timeout
        preexec = None
        if cgroup is not None:
            procs = Path(cgroup) / "cgroup.procs"

            def preexec() -> None:  # runs in the child before exec: its whole life is in the cgroup
                procs.write_text(str(os.getpid()))

        self.proc = subprocess.Popen(
            argv or [sys.executable, str(HERE / script), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=preexec,  # noqa: PLW1509 - tests spawn workloads from one thread
        )
        self.info: dict[str, Any] = self._read_line("ready")
        self.pid: int = self.proc.pid
        self.result: dict[str, Any] | None = None

    def _read_line(self, key: str) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=self.timeout)
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise WorkloadError(f"{self.script} exited ({self.proc.returncode}) before {key!r}: {err}")
        message = json.loads(line)
        if key not in message:
            raise WorkloadError(f"{self.script}: expected {key!r}, got {line!r}")
        return message[key]

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def finish(self) -> dict[str, Any]:
        """Wait for the counted work to end; the child stays alive until :meth:`close`."""
        if self.result is None:
            self.result = self._read_line("done")
        return self.result

    def close(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_all(workloads: list[Workload]) -> list[dict[str, Any]]:
    """Release every workload at once and collect their results."""
    for w in workloads:
        w.go()
    return [w.finish() for w in workloads]
