"""Fixtures for workloads that are slow to set up or need something of the machine."""

from __future__ import annotations

import os
import shutil

import pytest


def need(available: bool, reason: str) -> None:
    """Skip without the workload's requirement, unless CI demands every real test run."""
    if not available:
        if os.environ.get("DTSCOPE_REQUIRE_TRACING") == "1":
            pytest.fail(f"DTSCOPE_REQUIRE_TRACING=1 but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def zfs_pool():
    """One zfs-fuse pool on a file for the whole session (daemon started if needed)."""
    need(shutil.which("zfs-fuse") is not None, "zfs-fuse is not installed (apt-get install zfs-fuse)")
    need(os.path.exists("/dev/fuse"), "/dev/fuse is not available")
    from workloads.zfs import ZfsPool

    pool = ZfsPool()
    yield pool
    pool.close()


@pytest.fixture
def kvm_available():
    need(os.access("/dev/kvm", os.R_OK | os.W_OK), "/dev/kvm is not available")


@pytest.fixture
def gcc_available():
    need(shutil.which("gcc") is not None, "gcc is not installed")
