"""Fixtures for workloads that are slow to set up and can be shared."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def zfs_pool():
    """One zfs-fuse pool on a file for the whole session (daemon started if needed)."""
    if shutil.which("zfs-fuse") is None:
        pytest.skip("zfs-fuse is not installed")
    from workloads.zfs import ZfsPool

    pool = ZfsPool()
    yield pool
    pool.close()
