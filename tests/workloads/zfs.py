"""A zfs-fuse pool on a file, and a process that writes and reads a known number of bytes.

Parent side: :class:`ZfsPool` makes sure the zfs-fuse daemon runs (starting it if needed,
and stopping it again only if it started it), creates a pool on a sparse file in a
temporary directory, and destroys both on close. :func:`io_workload` starts
``python zfs.py io --dir MOUNTPOINT --bytes N``: after go, the child writes N bytes to a
new file in 64 KiB writes, fsyncs once, drops the file's pages from the page cache, and
reads the file back, so every byte crosses FUSE exactly once each way.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Self

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

CHUNK = 64 * 1024
_POOL_NUMBERS = itertools.count(1)
POOL_FILE_SIZE = 128 * 1024 * 1024  # zfs needs at least 64 MiB


def _zpool(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["zpool", *args], capture_output=True, text=True, check=check)


def daemon_running() -> bool:
    return shutil.which("zpool") is not None and _zpool("list", check=False).returncode == 0


def daemon_pid() -> int | None:
    found = subprocess.run(["pgrep", "-x", "zfs-fuse"], capture_output=True, text=True, check=False)
    pids = found.stdout.split()
    return int(pids[0]) if pids else None


class ZfsPool:
    """A pool on a file (named ``name``, or a fresh name), mounted under a temporary directory."""

    def __init__(self, name: str | None = None):
        if shutil.which("zfs-fuse") is None:
            raise RuntimeError("zfs-fuse is not installed (apt-get install zfs-fuse)")
        # One name per pool: several may share the daemon (one per test module).
        self.name = name or f"dtscope_{os.getpid()}_{next(_POOL_NUMBERS)}"
        self.daemon: subprocess.Popen | None = None
        self.workdir = Path(tempfile.mkdtemp(prefix="dtscope-zfs-"))
        try:
            if not daemon_running():
                self._start_daemon()
            self.image = self.workdir / "tank.img"
            with open(self.image, "wb") as image:
                image.truncate(POOL_FILE_SIZE)
            self.mountpoint = self.workdir / "mnt"
            _zpool("create", "-f", "-m", str(self.mountpoint), self.name, str(self.image))
            self.st_dev = os.stat(self.mountpoint).st_dev  # the FUSE connection id of the mount
            self.pid = daemon_pid()
        except BaseException:
            self.close()
            raise

    def _start_daemon(self) -> None:
        self.daemon = subprocess.Popen(
            ["zfs-fuse", "--no-daemon", "--no-kstat-mount"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while not daemon_running():
            if self.daemon.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the zfs-fuse daemon did not start")
            time.sleep(0.1)

    def close(self) -> None:
        if daemon_running() and _zpool("list", self.name, check=False).returncode == 0:
            _zpool("destroy", "-f", self.name, check=False)
        if self.daemon is not None:
            self.daemon.terminate()
            try:
                self.daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
            self.daemon = None
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def io_workload(pool: ZfsPool, nbytes: int):
    """A :class:`Workload` writing then reading ``nbytes`` in ``pool`` after go."""
    from . import Workload

    return Workload("zfs.py", "io", "--dir", str(pool.mountpoint), "--bytes", str(nbytes))


def write_then_read(directory: str, nbytes: int) -> dict[str, int]:
    path = os.path.join(directory, f"dtscope-{os.getpid()}.dat")
    payload = os.urandom(CHUNK)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    written = 0
    while written < nbytes:
        written += os.write(fd, payload[: min(CHUNK, nbytes - written)])
    os.fsync(fd)
    os.close(fd)
    fd = os.open(path, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # clean pages: the read goes to FUSE
    read = 0
    while chunk := os.read(fd, CHUNK):
        read += len(chunk)
    os.close(fd)
    return {"written": written, "read": read, "fsyncs": 1, "path": path}  # type: ignore[dict-item]


def main() -> None:
    import _child

    parser = argparse.ArgumentParser(description="write then read N bytes in a directory")
    parser.add_argument("role", choices=["io"])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--bytes", type=int, required=True)
    args = parser.parse_args()
    _child.set_comm("dtscope-zfsio")
    _child.ready(pid=os.getpid())
    _child.done(**write_then_read(args.dir, args.bytes))
    _child.wait_for_exit()


if __name__ == "__main__":
    main()
