"""A script as every command loads it: one type that the collectors may import.

``dtscope.scripts.load_script`` makes it from what the user names (a D file, a
Python-authored script, a probe of the library, or a saved run to replay); the
collectors' session and backends run it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import ast as A


@dataclass
class LoadedScript:
    name: str  # short name: probe name or file stem (used in metric names, titles)
    path: str | None  # file it came from (None for stdin/inline)
    kind: str  # "d" | "py" | "probe" | "replay"
    program: A.Program | None = None  # None for a saved run (replay)
    units: dict[str, str] = field(default_factory=dict)  # aggregation -> "ns" | "bytes" | "count"...
    destructive: list[str] = field(default_factory=list)  # destructive actions used
    metadata: dict[str, Any] = field(default_factory=dict)  # probe metadata (area, platforms...)
    params: list[Any] = field(default_factory=list)  # declared parameters (.py scripts)
    sources: dict[str, str] = field(default_factory=dict)  # file -> text, for diagnostics

    @property
    def display_name(self) -> str:
        return self.path or self.name

    @classmethod
    def of_program(cls, program: A.Program, name: str = "program") -> LoadedScript:
        """A script made of a tree (tests, and callers that build programs themselves)."""
        return cls(name=name, path=None, kind="d", program=program)
