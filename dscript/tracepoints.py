"""Tracepoint formats: the kernel's own description of each tracepoint's fields.

The bpftrace lowering reads them (through its host, ``collectors/linux_host.py`` on a real
machine, from ``/sys/kernel/tracing/events/CATEGORY/EVENT/format``) so that D's
``arg0..argN`` map to the fields the running kernel really has, by position. Parsing is a
pure function of the file's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class TracepointField:
    name: str
    type: str  # as the format file writes it: "unsigned int", "char *", "__data_loc char[]"
    size: int
    signed: bool

    @property
    def is_string(self) -> bool:
        """A field bpftrace reads as a string: ``char name[16]`` or ``__data_loc char[]``."""
        return self.type.startswith("__data_loc char") or (
            self.type.startswith("char") and self.type.endswith("]")
        )

    @property
    def is_pointer(self) -> bool:
        return self.type.endswith("*")


@dataclass(frozen=True)
class TracepointFormat:
    category: str
    event: str
    fields: tuple[
        TracepointField, ...
    ]  # the event's own fields, in order (no common_*, no __syscall_nr)

    def field(self, name: str) -> TracepointField | None:
        return next((f for f in self.fields if f.name == name), None)


_FIELD_LINE = re.compile(
    r"^\s*field:(?P<decl>[^;]+);\s*offset:\d+;\s*size:(?P<size>\d+);\s*signed:(?P<signed>\d+);"
)
_DECL = re.compile(
    r"^(?P<type>.*?)\s*\b(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<dims>(\[[^\]]*\])*)$"
)


def parse_format(text: str, category: str, event: str) -> TracepointFormat:
    """Parse the text of one ``format`` file."""
    fields = []
    for line in text.splitlines():
        m = _FIELD_LINE.match(line)
        if not m:
            continue
        decl = _DECL.match(m.group("decl").strip())
        if not decl:
            continue
        name = decl.group("name")
        if name.startswith("common_") or name == "__syscall_nr":
            continue
        ftype = (decl.group("type") + decl.group("dims")).strip()
        fields.append(TracepointField(name, ftype, int(m.group("size")), m.group("signed") == "1"))
    return TracepointFormat(category, event, tuple(fields))
