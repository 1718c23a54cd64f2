"""Keeps the whole run on disk so `w` can save it, without holding it in memory.

Every snapshot is appended as JSONL to a spool file in the temporary directory; saving
copies the spool atomically to the path the user chose. The spool is removed on close.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading

from dtscope.collectors.model import Snapshot, atomic_write, write_jsonl


class RunRecorder:
    def __init__(self) -> None:
        fd, self.spool_path = tempfile.mkstemp(prefix="dtscope-top-", suffix=".jsonl")
        self._spool = os.fdopen(fd, "w")
        self._lock = threading.Lock()
        self.snapshots = 0

    def record(self, snap: Snapshot) -> None:
        with self._lock:
            if self._spool.closed:
                return
            write_jsonl([snap], self._spool)
            self.snapshots += 1

    def save(self, path: str) -> int:
        """Write every snapshot recorded so far to ``path`` (atomically); returns how many."""
        with self._lock:
            self._spool.flush()
            count = self.snapshots

            def copy(fh) -> None:
                with open(self.spool_path) as spool:
                    shutil.copyfileobj(spool, fh)

            atomic_write(path, copy)
        return count

    def close(self) -> None:
        with self._lock:
            if not self._spool.closed:
                self._spool.close()
            try:
                os.unlink(self.spool_path)
            except OSError:
                pass
