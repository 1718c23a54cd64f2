"""Messages posted by the stream worker and the widgets (small dataclasses).

The stream worker runs in a thread and only ever posts these; the app applies them on
its own thread, so no widget is touched from the worker.
"""

from __future__ import annotations

from dataclasses import dataclass

from dtscope.collectors.model import Snapshot
from textual.message import Message


@dataclass
class SnapshotArrived(Message):
    snapshot: Snapshot


@dataclass
class StreamEnded(Message):
    """The tracer (or replay) finished; ``error`` is set when it failed."""

    error: str | None = None


@dataclass
class RowSelected(Message):
    """The table's cursor moved to another row (``index`` into the shown rows)."""

    index: int


@dataclass
class SortRequested(Message):
    """A click on a column header."""

    column: int
