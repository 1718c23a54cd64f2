"""What the bpftrace lowering needs to know about the host it lowers for, as one interface.

The generator reads no files and starts no processes: everything it needs from the machine
(the kernel's tracepoints and their formats, syscall numbers, kprobes and BTF, the cgroup2
mount, the functions a process's objects define, the bpftrace version) comes through a
:class:`Host`. The collector provides the real one (``collectors/linux_host.py``); tests and
offline uses give a :class:`StaticHost` with the facts written out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from ..tracepoints import TracepointFormat


@dataclass(frozen=True)
class TracerVersion:
    """The bpftrace release the program is for: ``bpftrace --version`` reads "bpftrace v0.17.0"."""

    major: int = 0
    minor: int = 17
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> TracerVersion | None:
        match = re.search(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text)
        if not match:
            return None
        return cls(int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))

    def at_least(self, major: int, minor: int, patch: int = 0) -> bool:
        return (self.major, self.minor, self.patch) >= (major, minor, patch)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


class Host(Protocol):
    """The machine a bpftrace program is lowered for."""

    cgroup_root: str  # where cgroup v2 is mounted: zonename compares against paths under it
    tracefs: str  # the tracefs directory (its events/ holds the tracepoints), for messages
    version: TracerVersion

    def tracepoint_format(self, category: str, event: str) -> TracepointFormat | None:
        """The format of ``category:event``, or None when the kernel has no such tracepoint."""

    def tracepoint_events(self, category: str) -> list[str]:
        """The names of a category's tracepoints, sorted (empty when there are none)."""

    def syscall_numbers(self) -> dict[str, int]:
        """Syscall name -> number on this architecture."""

    def has_kprobes(self) -> bool:
        """Whether the kernel has kprobes (``kprobe_events`` in tracefs)."""

    def has_btf(self) -> bool:
        """Whether the kernel has BTF (bpftrace follows ``curtask`` with it)."""

    def shared_objects(self, executable: str, pid: int | None) -> list[str]:
        """The objects a process maps (``pid``) or, before it runs, that its executable loads."""

    def elf_functions(self, path: str) -> frozenset[str]:
        """The functions an ELF object defines (empty for anything else)."""


@dataclass
class StaticHost:
    """A host described by data: for tests, and to lower without a kernel at hand."""

    formats: dict[tuple[str, str], TracepointFormat] = field(default_factory=dict)
    syscalls: dict[str, int] = field(default_factory=dict)
    kprobes: bool = False
    btf: bool = True
    cgroup_root: str = "/sys/fs/cgroup"
    tracefs: str = "/sys/kernel/tracing"
    version: TracerVersion = field(default_factory=TracerVersion)
    objects: dict[tuple[str, int | None], list[str]] = field(default_factory=dict)
    functions: dict[str, frozenset[str]] = field(default_factory=dict)

    def tracepoint_format(self, category: str, event: str) -> TracepointFormat | None:
        return self.formats.get((category, event))

    def tracepoint_events(self, category: str) -> list[str]:
        return sorted(event for cat, event in self.formats if cat == category)

    def syscall_numbers(self) -> dict[str, int]:
        return dict(self.syscalls)

    def has_kprobes(self) -> bool:
        return self.kprobes

    def has_btf(self) -> bool:
        return self.btf

    def shared_objects(self, executable: str, pid: int | None) -> list[str]:
        return list(self.objects.get((executable, pid), []))

    def elf_functions(self, path: str) -> frozenset[str]:
        return self.functions.get(path, frozenset())
