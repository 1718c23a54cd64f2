"""Reading bpftrace's output: ``-f json`` lines as records, its standard error, its exit.

:func:`parse_line` is the pure "text in, records out" step: one line of ``bpftrace -f json``
becomes ``(kind, data)``:

* ``("map", {bt_name: data})`` for ``map``/``hist``/``stats`` records (a map's print);
* ``("printf", text)`` for printf() output (the snapshot and printa markers are printf lines);
* ``("lost_events", n)``; ``("attached_probes", n)`` (tracing has begun; ``None`` when the
  record is malformed);
* ``("text", text)`` for everything else that is program output: ``print(x)`` values
  (what D's ``trace(x)`` lowers to, one per line), ``time()``, ``system()`` and lines that
  are not JSON at all.

The records go to the :class:`~.bpftrace_assembler.SnapshotAssembler`; standard error is
classified here too (harmless lines, stack lookups that failed).
"""

from __future__ import annotations

import json
import re
from typing import Any

Record = tuple[str, Any]

# Harmless on kernels that account BPF memory to the cgroup instead of RLIMIT_MEMLOCK.
HARMLESS_STDERR = ("couldn't set RLIMIT_MEMLOCK",)
STACK_LOOKUP = re.compile(r"failed to look up stack id")


def parse_line(line: str) -> Record | None:
    """One line of ``bpftrace -f json`` as a record; None for a blank line or one to ignore."""
    line = line.strip()
    if not line:
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return "text", line + "\n"  # plain text (e.g. from system()) is program output
    if not isinstance(record, dict):
        return None
    kind, data = record.get("type"), record.get("data")
    if kind in ("map", "hist", "stats"):
        return ("map", data) if isinstance(data, dict) else None
    if kind == "printf":
        return "printf", str(data)
    if kind == "lost_events":
        lost = data.get("events", 0) if isinstance(data, dict) else data
        return "lost_events", int(lost or 0)
    if kind == "attached_probes":
        return "attached_probes", (data or {}).get("probes") if isinstance(data, dict) else None
    if kind == "value":  # print(x): what D's trace(x) lowers to, one value per line
        return "text", (data if isinstance(data, str) else json.dumps(data)) + "\n"
    if isinstance(data, str):
        return "text", data  # time(), join(), system() output and the like
    return None
