"""Shared test fixtures.

Tests that need a real tracer are marked ``@pytest.mark.tracing``. They skip when the
machine cannot trace (not root, no bpftrace, no tracefs) unless
``DTSCOPE_REQUIRE_TRACING=1`` is set (as CI does), in which case they fail: a CI run
that silently skipped the real tests would prove nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
REQUIRE_TRACING = os.environ.get("DTSCOPE_REQUIRE_TRACING") == "1"


def tracing_unavailable_reason(tool: str = "bpftrace") -> str | None:
    if os.geteuid() != 0:
        return "tracing needs root"
    if shutil.which(tool) is None:
        return f"{tool} is not installed"
    if tool == "bpftrace" and not os.path.isdir("/sys/kernel/tracing/events"):
        return "tracefs is not mounted at /sys/kernel/tracing"
    return None


def require_tracing(tool: str = "bpftrace") -> None:
    """Call at the top of a test (or use the ``tracing`` marker) that needs a real tracer."""
    reason = tracing_unavailable_reason(tool)
    if reason is None:
        return
    if REQUIRE_TRACING:
        pytest.fail(f"DTSCOPE_REQUIRE_TRACING=1 but {reason}")
    pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("tracing")
    if marker is not None:
        require_tracing(*(marker.args or ("bpftrace",)))


@pytest.fixture
def dtscope_cli():
    """Run the real `dtscope` command line in a subprocess: (returncode, stdout, stderr)."""

    def run(*args: str, input: str | None = None, timeout: float = 120, env: dict | None = None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        proc = subprocess.run(
            [sys.executable, "-m", "dtscope", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
        )
        return proc.returncode, proc.stdout, proc.stderr

    return run
