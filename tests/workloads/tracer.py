"""Run a hand-written bpftrace program around a workload (the ground-truth proofs).

The probes are tested through ``dtscope run``; these helpers prove, independently of
dtscope, that each workload produces exactly the events it promises on this kernel.

bpftrace runs with ``-c gate.py``: it starts that command only once every probe is
attached (its BEGIN probe fires earlier, before the other probes are attached, so it
cannot mark readiness), and it stops and prints its maps when the command exits (a
SIGINT can be lost by bpftrace 0.17 when it arrives outside its wait for events).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


class Bpftrace:
    """bpftrace in JSON mode, attached when the constructor returns."""

    def __init__(self, program: str, timeout: float = 60):
        self.timeout = timeout
        self._dir = tempfile.TemporaryDirectory(prefix="dtscope-bt-")
        gate = Path(self._dir.name)
        self._finished = gate / "finished"
        self.proc = subprocess.Popen(
            ["bpftrace", "-f", "json", "-e", program, "-c", f"{sys.executable} {HERE / 'gate.py'} {gate} {timeout}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + timeout
        while not (gate / "started").exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                _, err = self.proc.communicate()
                self._dir.cleanup()
                raise RuntimeError(f"bpftrace did not start: {err}")
            time.sleep(0.01)

    def stop(self) -> dict[str, Any]:
        """Stop bpftrace and return its maps: name -> {key: value} (keys as JSON strings)."""
        self._finished.touch()
        try:
            out, _err = self.proc.communicate(timeout=self.timeout)
        finally:
            self._dir.cleanup()
        maps: dict[str, Any] = {}
        for line in out.splitlines():
            if not line.startswith("{"):
                continue
            message = json.loads(line)
            if message.get("type") in ("map", "hist", "stats"):
                maps.update(message["data"])
        return maps
