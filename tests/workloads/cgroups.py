"""Two child cgroups, each holding a process that makes a known number of syscalls.

Parent side: :func:`make_cgroup` creates a child of the cgroup v2 hierarchy (mounted at
/sys/fs/cgroup/unified on the CI VM, /sys/fs/cgroup on pure v2 systems) and
:class:`SyscallWorkload` starts ``python cgroups.py --getppid N`` inside it. Child side: after
the go line the child calls ``getppid()`` exactly N times; glibc does not cache getppid,
so each call is one system call.
On Linux dtscope's "zone" of a task is its cgroup v2 path, e.g. ``/dtscope-test-a``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Self

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

CGROUP2_CANDIDATES = (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))


def cgroup2_root() -> Path:
    """The mount point of the cgroup v2 hierarchy."""
    with open("/proc/self/mounts") as mounts:
        for line in mounts:
            fields = line.split()
            if fields[2] == "cgroup2":
                return Path(fields[1])
    raise RuntimeError("no cgroup2 hierarchy is mounted")


class Cgroup:
    """A child cgroup that is removed again (after its processes exit) on close."""

    def __init__(self, name: str):
        self.root = cgroup2_root()
        self.path = self.root / name
        if self.path.exists():
            self._kill_and_remove()
        self.path.mkdir()
        self.name = "/" + name  # how dtscope shows it: the path under the hierarchy's root
        self.id = os.stat(self.path).st_ino  # bpftrace's `cgroup` builtin is this inode number

    def _kill_and_remove(self) -> None:
        kill = self.path / "cgroup.kill"
        if kill.exists():
            kill.write_text("1")
        for _ in range(100):
            try:
                self.path.rmdir()
                return
            except OSError:
                import time

                time.sleep(0.05)
        self.path.rmdir()

    def close(self) -> None:
        if self.path.exists():
            self._kill_and_remove()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def syscall_workload(cgroup: Cgroup, calls: int):
    """A :class:`Workload` in ``cgroup`` that makes ``calls`` getppid() calls after go."""
    from . import Workload

    return Workload("cgroups.py", "--getppid", str(calls), cgroup=cgroup.path)


def main() -> None:
    import _child

    parser = argparse.ArgumentParser(description="make exactly N getppid() system calls")
    parser.add_argument("--getppid", type=int, required=True)
    args = parser.parse_args()
    getppid = os.getppid
    calls = range(args.getppid)
    _child.set_comm("dtscope-sysc")
    _child.ready(pid=os.getpid(), cgroup=Path(f"/proc/{os.getpid()}/cgroup").read_text())
    for _ in calls:
        getppid()
    _child.done(getppid=args.getppid)
    _child.wait_for_exit()


if __name__ == "__main__":
    main()
