"""The child side of the workload protocol (imported by workload scripts run by path).

A workload child prepares everything that makes noise (imports, sockets, the KVM VM,
files), prints one JSON line ``{"ready": ...}``, then blocks until the parent writes a
line to its stdin. Only then does it do the counted work, and it reports what it did as
one JSON line ``{"done": ...}``. This way a tracer attached between "ready" and "go"
sees exactly the counted work and none of the start-up.
"""

from __future__ import annotations

import ctypes
import json
import sys

PR_SET_NAME = 15


def set_comm(name: str) -> None:
    """Give the process a recognisable name (``comm``/``execname``, at most 15 bytes)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)


def ready(**info: object) -> None:
    """Announce readiness and block until the parent says go."""
    sys.stdout.write(json.dumps({"ready": info}) + "\n")
    sys.stdout.flush()
    if sys.stdin.readline() == "":
        sys.exit(3)  # the parent went away: do nothing


def done(**result: object) -> None:
    sys.stdout.write(json.dumps({"done": result}) + "\n")
    sys.stdout.flush()


def wait_for_exit() -> None:
    """Block until the parent closes stdin (keeps sockets, mounts or the VM alive)."""
    sys.stdin.read()
