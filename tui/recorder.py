"""Keeps the run on disk so `w` can save it, without holding it in memory.

Every snapshot is appended as JSONL to spool files in the temporary directory; saving
copies them, oldest first, atomically to the path the user chose. The spool is a ring
of segments so that a long run at 10,000 keys (about 1.5 MB a second) cannot fill the
disk: past ``limit_bytes`` the oldest segment is dropped, and `w` says how many
snapshots it could still write. The spool is removed on close.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections import deque
from dataclasses import dataclass

from dtscope.collectors.model import Snapshot, atomic_write, write_jsonl

DEFAULT_LIMIT_BYTES = 512 * 2**20
SEGMENTS = 8


@dataclass
class _Segment:
    path: str
    snapshots: int = 0
    size: int = 0


class RunRecorder:
    def __init__(self, limit_bytes: int = DEFAULT_LIMIT_BYTES, segments: int = SEGMENTS) -> None:
        self.directory = tempfile.mkdtemp(prefix="dtscope-top-")
        self.segment_bytes = max(1, limit_bytes // segments)
        self.max_segments = segments
        self._segments: deque[_Segment] = deque()
        self._file = None
        self._lock = threading.Lock()
        self._closed = False
        self.snapshots = 0  # recorded in all
        self.dropped = 0  # recorded, then dropped with an old segment
        self._segment_number = 0
        self._next_segment()

    def _next_segment(self) -> None:
        if self._file is not None:
            self._file.close()
        self._segment_number += 1
        path = os.path.join(self.directory, f"{self._segment_number:08d}.jsonl")
        self._segments.append(_Segment(path))
        self._file = open(path, "w")  # noqa: SIM115 - closed on rotation and in close()
        while len(self._segments) > self.max_segments:
            oldest = self._segments.popleft()
            self.dropped += oldest.snapshots
            os.unlink(oldest.path)

    def record(self, snap: Snapshot) -> None:
        with self._lock:
            if self._closed:
                return
            segment = self._segments[-1]
            if segment.size >= self.segment_bytes and segment.snapshots:
                self._next_segment()
                segment = self._segments[-1]
            before = self._file.tell()
            write_jsonl([snap], self._file)
            segment.size += self._file.tell() - before
            segment.snapshots += 1
            self.snapshots += 1

    @property
    def kept(self) -> int:
        return self.snapshots - self.dropped

    def save(self, path: str) -> int:
        """Write every kept snapshot to ``path`` (atomically); returns how many."""
        with self._lock:
            self._file.flush()
            segments = list(self._segments)
            count = self.kept

            def copy(fh) -> None:
                for segment in segments:
                    with open(segment.path) as spool:
                        shutil.copyfileobj(spool, fh)

            atomic_write(path, copy)
        return count

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._file is not None and not self._file.closed:
                self._file.close()
            shutil.rmtree(self.directory, ignore_errors=True)
