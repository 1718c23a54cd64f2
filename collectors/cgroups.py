"""cgroup v2 ids -> cgroup paths, for keys such as ``zonename`` lowered to bpftrace's ``cgroup``.

On cgroup v2 the id the kernel reports (``bpf_get_current_cgroup_id``) is the inode
number of the cgroup's directory in the cgroup2 file system. We walk the hierarchy once
and cache id -> path; an id we do not know (a cgroup created since) triggers one
re-walk, and an id that is still unknown (a cgroup already removed) is kept as
``"cgroup:ID"`` so that its row survives.
"""

from __future__ import annotations

import os
import threading
import time

# A walk costs a few ms; ids of removed cgroups must not make us walk on every row.
RESCAN_MIN_SECONDS = 1.0

# Where cgroup2 may be mounted: hybrid hierarchies (systemd) put it under "unified".
CGROUP2_MOUNTS = ("/sys/fs/cgroup/unified", "/sys/fs/cgroup")


def find_cgroup2_root(candidates: tuple[str, ...] = CGROUP2_MOUNTS) -> str | None:
    """The first candidate that is a cgroup2 mount (it has ``cgroup.controllers``)."""
    for path in candidates:
        if os.path.exists(os.path.join(path, "cgroup.controllers")):
            return path
    return None


def scan_cgroup_ids(root: str) -> dict[int, str]:
    """Inode number of every cgroup directory under ``root`` -> its path ("/" for the root)."""
    ids: dict[int, str] = {}
    for directory, subdirs, _files in os.walk(root):
        try:
            inode = os.stat(directory).st_ino
        except OSError:
            continue  # removed while we walked
        relative = os.path.relpath(directory, root)
        ids[inode] = "/" if relative == "." else "/" + relative
    return ids


class CgroupResolver:
    def __init__(self, root: str | None = None):
        self.root = root if root is not None else find_cgroup2_root()
        self._ids: dict[int, str] | None = None
        self._lock = threading.Lock()
        self._scanned_at = float("-inf")

    def _rescan(self) -> dict[int, str]:
        self._ids = scan_cgroup_ids(self.root) if self.root else {}
        self._scanned_at = time.monotonic()
        return self._ids

    def path(self, cgroup_id: int) -> str:
        cgroup_id = int(cgroup_id)
        with self._lock:
            ids = self._ids if self._ids is not None else self._rescan()
            if cgroup_id not in ids and time.monotonic() - self._scanned_at >= RESCAN_MIN_SECONDS:
                ids = self._rescan()
            return ids.get(cgroup_id, f"cgroup:{cgroup_id}")


_default: CgroupResolver | None = None


def cgroup_path(cgroup_id: int) -> str:
    """Path of a cgroup v2 id on this machine (shared, cached resolver)."""
    global _default
    if _default is None:
        _default = CgroupResolver()
    return _default.path(cgroup_id)
