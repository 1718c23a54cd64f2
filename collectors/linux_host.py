"""The Linux machine as the bpftrace lowering sees it: the real :class:`~dtscope.dscript.bpftrace.host.Host`.

Everything here reads the running system: tracepoint formats from tracefs
(``/sys/kernel/tracing/events/CATEGORY/EVENT/format``, so that D's ``arg0..argN`` map to the
fields this kernel really has), the syscall table, whether kprobes and BTF exist, where
cgroup v2 is mounted, the objects a process maps and the functions an ELF object defines,
and the bpftrace version. Each answer is read once and cached.
"""

from __future__ import annotations

import functools
import os
import re
import struct
import subprocess

from dtscope.dscript.bpftrace.host import TracerVersion
from dtscope.dscript.tracepoints import TracepointFormat, parse_format

from .cgroups import find_cgroup2_root
from .syscalls import syscall_numbers

DEFAULT_EVENTS_ROOT = "/sys/kernel/tracing/events"
BTF_PATH = "/sys/kernel/btf/vmlinux"


class LinuxHost:
    """This machine. ``events_root`` points at a tracefs ``events`` directory (tests give a copy)."""

    def __init__(
        self,
        events_root: str = DEFAULT_EVENTS_ROOT,
        *,
        cgroup_root: str | None = None,
        bpftrace: str | None = None,
    ) -> None:
        self.events_root = events_root
        self.tracefs = os.path.dirname(os.path.normpath(events_root))
        self.cgroup_root = cgroup_root or find_cgroup2_root() or "/sys/fs/cgroup"
        self.bpftrace = bpftrace  # the binary whose version is asked (None: assume 0.17)
        self._formats: dict[tuple[str, str], TracepointFormat | None] = {}

    @functools.cached_property
    def version(self) -> TracerVersion:
        if self.bpftrace:
            found = bpftrace_version(self.bpftrace)
            if found is not None:
                return found
        return TracerVersion()

    def tracepoint_format(self, category: str, event: str) -> TracepointFormat | None:
        key = (category, event)
        if key not in self._formats:
            path = os.path.join(self.events_root, category, event, "format")
            try:
                with open(path, encoding="utf-8", errors="replace") as fh:
                    self._formats[key] = parse_format(fh.read(), category, event)
            except OSError:
                self._formats[key] = None
        return self._formats[key]

    def tracepoint_events(self, category: str) -> list[str]:
        directory = os.path.join(self.events_root, category)
        try:
            entries = os.listdir(directory)
        except OSError:
            return []
        return sorted(e for e in entries if os.path.isdir(os.path.join(directory, e)))

    def syscall_numbers(self) -> dict[str, int]:
        return syscall_numbers()

    def has_kprobes(self) -> bool:
        # Kernels built without CONFIG_KPROBE_EVENTS have no kprobe_events file.
        return os.path.exists(os.path.join(self.tracefs, "kprobe_events"))

    def has_btf(self) -> bool:
        return os.path.exists(BTF_PATH)

    def shared_objects(self, executable: str, pid: int | None) -> list[str]:
        return shared_objects(executable, pid)

    def elf_functions(self, path: str) -> frozenset[str]:
        return elf_functions(path)


def bpftrace_version(binary: str) -> TracerVersion | None:
    """``bpftrace --version`` ("bpftrace v0.17.0") as a TracerVersion; None when unreadable."""
    try:
        done = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return TracerVersion.parse(done.stdout + done.stderr)


def shared_objects(executable: str, pid: int | None) -> list[str]:
    """The shared objects of a process (from /proc/PID/maps) or, before it runs, of its executable.

    For an executable we ask the dynamic loader (``ldd``, which runs the loader, not the
    program: the same program dtscope is about to run with ``-c`` anyway).
    """
    if pid is not None:
        found: list[str] = []
        try:
            with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    parts = line.split(None, 5)
                    if len(parts) == 6 and parts[5].startswith("/"):
                        path = parts[5].strip()
                        if path not in found and not path.endswith(" (deleted)"):
                            found.append(path)
        except OSError:
            return []
        return found
    try:
        out = subprocess.run(
            ["ldd", executable], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    libs = []
    for line in out.splitlines():
        match = re.search(r"=>\s*(/\S+)|^\s*(/\S+)", line)
        if match:
            libs.append(match.group(1) or match.group(2))
    return libs


_ELF_FUNC_TYPES = (2, 10)  # STT_FUNC, STT_GNU_IFUNC
_ELF_CACHE: dict[tuple[str, float], frozenset[str]] = {}


def elf_functions(path: str) -> frozenset[str]:
    """Names of the functions an ELF64 little-endian object defines; empty for anything else."""
    try:
        key = (path, os.stat(path).st_mtime)
        if key in _ELF_CACHE:
            return _ELF_CACHE[key]
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return frozenset()
    names: set[str] = set()
    if data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1:
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
        sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
        for _name, kind, _f, _a, offset, size, link, _i, _al, entsize in sections:
            if kind not in (2, 11) or not entsize or link >= len(sections):  # SHT_SYMTAB, SHT_DYNSYM
                continue
            strings = sections[link][4]
            for at in range(offset, offset + size, entsize):
                st_name, st_info, _other, st_shndx = struct.unpack_from("<IBBH", data, at)
                if st_shndx and (st_info & 0xF) in _ELF_FUNC_TYPES:
                    end = data.index(b"\0", strings + st_name)
                    names.add(data[strings + st_name : end].decode("utf-8", "replace"))
    result = frozenset(names)
    _ELF_CACHE[key] = result
    return result
