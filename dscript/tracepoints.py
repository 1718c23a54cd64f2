"""What this kernel offers to bpftrace: tracepoint formats, syscall numbers, kprobes.

The bpftrace lowering reads the kernel's own description of each tracepoint
(``/sys/kernel/tracing/events/CATEGORY/EVENT/format``) so that D's ``arg0..argN`` map to
the fields the running kernel really has, by position. Everything here is a pure
function of a root directory, so tests can point it at a copy.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_EVENTS_ROOT = "/sys/kernel/tracing/events"

# The x86-64 syscall table as the C library headers spell it (package linux-libc-dev).
UNISTD_HEADERS = (
    "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
    "/usr/include/asm/unistd_64.h",
)


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


def read_format(
    category: str, event: str, root: str = DEFAULT_EVENTS_ROOT
) -> TracepointFormat | None:
    """The format of ``category:event``, or None when the kernel has no such tracepoint."""
    return _read_format_cached(category, event, root)


@lru_cache(maxsize=1024)
def _read_format_cached(category: str, event: str, root: str) -> TracepointFormat | None:
    path = os.path.join(root, category, event, "format")
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return parse_format(fh.read(), category, event)
    except OSError:
        return None


def list_events(category: str, root: str = DEFAULT_EVENTS_ROOT) -> list[str]:
    """Names of the tracepoints in one category (empty when unreadable)."""
    try:
        entries = os.listdir(os.path.join(root, category))
    except OSError:
        return []
    return sorted(e for e in entries if os.path.isdir(os.path.join(root, category, e)))


def syscall_tracepoints(root: str = DEFAULT_EVENTS_ROOT) -> list[str]:
    """Syscall names that have both ``sys_enter_NAME`` and ``sys_exit_NAME`` tracepoints."""
    events = set(list_events("syscalls", root))
    return sorted(
        e[len("sys_enter_") :]
        for e in events
        if e.startswith("sys_enter_") and "sys_exit_" + e[len("sys_enter_") :] in events
    )


def tracing_root(events_root: str) -> str:
    """The tracefs directory that holds ``events/``."""
    return os.path.dirname(os.path.normpath(events_root))


def kprobes_available(events_root: str = DEFAULT_EVENTS_ROOT) -> bool:
    """Kernels built without CONFIG_KPROBE_EVENTS have no ``kprobe_events`` file."""
    return os.path.exists(os.path.join(tracing_root(events_root), "kprobe_events"))


def btf_available() -> bool:
    """bpftrace needs the kernel's BTF to follow ``curtask`` (ppid, process name)."""
    return os.path.exists("/sys/kernel/btf/vmlinux")


@lru_cache(maxsize=4)
def syscall_numbers(headers: tuple[str, ...] = UNISTD_HEADERS) -> dict[str, int]:
    """Syscall name -> number on this architecture; empty when no header is installed."""
    for path in headers:
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError:
            continue
        return {
            m.group(1): int(m.group(2))
            for m in re.finditer(r"^#define\s+__NR_(\w+)\s+(\d+)\s*$", text, re.MULTILINE)
        }
    return {}


def syscall_names(headers: tuple[str, ...] = UNISTD_HEADERS) -> dict[int, str]:
    """Syscall number -> name: what a collector uses for keys of kind ``"syscall"``."""
    return {number: name for name, number in syscall_numbers(headers).items()}
