"""Which bpftrace probes serve a D probe description, and what each one offers.

:class:`ProbeResolver` turns a D probe description (``syscall::read:entry``,
``profile-997``, ``pid$target:libc:malloc:entry``, ``tcp:::send``...) into the bpftrace
probes that serve it, each a :class:`ProbeContext`: the bpftrace probe, the filter that
narrows it to what D means, and what ``argN``, ``args[]`` and the built-in variables are
there (:mod:`.tables` holds the mappings as data). What it asks of the machine (tracepoint
formats, kprobes, the objects of a process) goes through the :class:`~.host.Host`; a
description no probe can serve faithfully is reported with its reason.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable

from .. import ast as A
from ..builtins import TIME_UNITS_NS
from . import tables as T
from .host import Host

_RATE_PROBE = re.compile(r"^(?P<kind>tick|profile)-(?P<n>\d+)(?P<unit>[a-z]*)$")
_PID_PROVIDER = re.compile(r"^pid(?P<pid>\d+|\$target)?$")
_USDT_PROVIDER = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*?)(?P<pid>\d+|\$target)?$")
# Providers with no faithful bpftrace counterpart (beyond the probes the tables serve).
_UNSERVED_PROVIDERS = (
    "proc", "sched", "io", "ip", "profile", "dtrace", "lockstat", "sdt", "fsinfo", "sysinfo",
    "vminfo", "mib", "cpc", "fpuinfo", "plockstat",
)


class ProbeContext:
    """One bpftrace probe that serves a D probe description: what a clause body is lowered for."""

    def __init__(
        self,
        target: T.ProbeTarget,
        desc: A.ProbeDesc,
        *,
        is_return: bool = False,
        errno_expr: str | None = None,
        probefunc: T.Served | None = None,
    ) -> None:
        self.target = target
        self.desc = desc
        self.is_return = is_return
        self.errno_expr = errno_expr
        self.probefunc = probefunc
        self.normalized: dict[str, tuple[str, A.Node]] = {}  # D agg name -> divisor text
        self.pending_normalize: dict[str, A.Node] = {}
        self.typed_args: dict[
            int, T.Served
        ] = {}  # args[i] where they differ from argN (typed fields)




def syscall_tracepoints(host: Host) -> list[str]:
    """Syscall names that have both ``sys_enter_NAME`` and ``sys_exit_NAME`` tracepoints."""
    events = set(host.tracepoint_events("syscalls"))
    return sorted(
        e[len("sys_enter_") :]
        for e in events
        if e.startswith("sys_enter_") and "sys_exit_" + e[len("sys_enter_") :] in events
    )


def module_matches(base: str, module: str) -> bool:
    """``libc`` and ``libc.so.6`` both name ``libc.so.6``, as DTrace module names do."""
    return base == module or base.startswith((module + ".", module + "-"))


class ProbeResolver:
    """D probe descriptions -> the bpftrace probes that serve them.

    ``report(message, node)`` receives every description that cannot be served, with the
    reason; ``features`` collects what the probes need (``cpid``: run with ``-c CMD``).
    """

    def __init__(
        self,
        host: Host,
        report: Callable[[str, A.Node | None], None],
        *,
        target_pid: int | None = None,
        target_path: str | None = None,
    ) -> None:
        self.host = host
        self.report = report
        self.target_pid = target_pid
        self.target_path = target_path
        self.features: set[str] = set()

    def resolve(self, desc: A.ProbeDesc) -> list[ProbeContext]:
        """The bpftrace probes that serve ``desc`` (none, after a report, when there is none)."""
        text = desc.text
        if text in ("BEGIN", "END", ":::BEGIN", "dtrace:::BEGIN", ":::END", "dtrace:::END"):
            name = text.rsplit(":", 1)[-1]
            return [
                ProbeContext(
                    T.ProbeTarget(
                        name,
                        "dtrace",
                        "",
                        "",
                        name,
                        no_args=f"{name} has no arguments",
                        features=frozenset(),
                    ),
                    desc,
                )
            ]
        prov, mod, func, name = desc.fields
        if "ERROR" == name and prov in ("", "dtrace"):
            self.report("the ERROR probe has no bpftrace counterpart", desc)
            return []
        rate = _RATE_PROBE.match(name)
        if rate and prov in ("", "profile") and not mod and not func:
            return self.rate_probe(desc, rate)
        if prov == "syscall":
            return self.syscall_probes(desc, func, name)
        if prov == "fbt":
            return self.fbt_probes(desc, func, name)
        if prov == "tcp":
            if name in T.TCP_UNSUPPORTED:
                self.report(T.TCP_UNSUPPORTED[name], desc)
                return []
            targets = T.tcp_targets(name)
            if targets is None:
                self.report(f"tcp:::{name} is not a tcp probe bpftrace can serve", desc)
                return []
            return [ProbeContext(t, desc) for t in targets if self.check_tracepoint(t, desc)]
        if (prov, name) in T.STATIC_PROBES:
            target = T.STATIC_PROBES[(prov, name)]
            return [ProbeContext(target, desc)] if self.check_tracepoint(target, desc) else []
        if prov in _UNSERVED_PROVIDERS:
            self.report(f"{prov}:::{name or '*'} has no faithful bpftrace counterpart", desc)
            return []
        pid_match = _PID_PROVIDER.match(prov)
        if pid_match:
            return self.pid_probes(desc, pid_match.group("pid"), mod, func, name)
        usdt = _USDT_PROVIDER.match(prov)
        if usdt and not any(ch in prov for ch in "*?["):
            return self.usdt_probes(desc, usdt.group("name"), usdt.group("pid"), mod, func, name)
        self.report(f"probe {text} has no bpftrace counterpart", desc)
        return []

    def check_tracepoint(self, target: T.ProbeTarget, desc: A.ProbeDesc) -> bool:
        if not target.bt_probe.startswith("tracepoint:"):
            return True
        _, category, event = target.bt_probe.split(":")
        fmt = self.host.tracepoint_format(category, event)
        if fmt is None:
            self.report(f"{desc.text} needs the tracepoint {category}:{event}, which this kernel does not have",
                desc)
            return False
        if (
            target.filter
            and "args->group_dead" in target.filter
            and fmt.field("group_dead") is None
        ):
            self.report(f"{desc.text}: this kernel's {category}:{event} cannot tell a process's last thread "
                "(no group_dead field)",
                desc)
            return False
        return True

    def rate_probe(self, desc: A.ProbeDesc, rate: re.Match) -> list[ProbeContext]:
        kind, n, unit = rate.group("kind"), int(rate.group("n")), rate.group("unit") or "hz"
        bt_kind = "interval" if kind == "tick" else "profile"
        if n <= 0:
            self.report(f"{desc.text}: the rate must be positive", desc)
            return []
        if unit == "hz":
            spec = f"{bt_kind}:hz:{n}"
        elif unit in TIME_UNITS_NS:
            ns = n * TIME_UNITS_NS[unit]
            if ns % 1_000_000_000 == 0:
                spec = f"{bt_kind}:s:{ns // 1_000_000_000}"
            elif ns % 1_000_000 == 0:
                spec = f"{bt_kind}:ms:{ns // 1_000_000}"
            elif ns % 1_000 == 0:
                spec = f"{bt_kind}:us:{ns // 1_000}"
            else:
                self.report(f"{desc.text}: bpftrace timers have microsecond resolution", desc)
                return []
        else:
            self.report(f"{desc.text}: unknown time unit {unit!r}", desc)
            return []
        reason = f"{kind}-N probes' arguments (the interrupted PCs) are not available from bpftrace"
        target = T.ProbeTarget(
            spec,
            "profile",
            "",
            "",
            rate.group(0),
            no_args=reason,
            features=frozenset({"profile" if kind == "profile" else "interval"}),
        )
        if kind == "tick":
            # A timer on one CPU: the interrupted thread is not known.
            target = T.ProbeTarget(
                spec,
                "profile",
                "",
                "",
                rate.group(0),
                no_args=reason,
                features=target.features,
                forbidden={
                    v: f"{v} is not meaningful in a tick probe under bpftrace (interval probes "
                    "run in no particular thread)"
                    for v in ("stack", "ustack")
                },
            )
        return [ProbeContext(target, desc)]

    def syscall_probes(self, desc: A.ProbeDesc, func: str, name: str) -> list[ProbeContext]:
        names = ["entry", "return"] if name in ("", "*") else [name]
        if any(n not in ("entry", "return") for n in names):
            self.report(f"syscall probes are named entry or return, not {name!r}", desc)
            return []
        out: list[ProbeContext] = []
        if func in ("", "*"):
            for n in names:
                out.append(self.raw_syscall_context(desc, n))
            return out
        available = syscall_tracepoints(self.host)
        if any(ch in func for ch in "*?["):
            matches = [s for s in available if fnmatch.fnmatchcase(s, func)]
            if not matches:
                self.report(f"{desc.text} matches no syscall tracepoint on this kernel", desc)
        else:
            matches = [func]
            if func not in available:
                self.report(f"this kernel has no tracepoint for syscall {func!r} (syscalls:sys_enter_{func})",
                    desc)
                return []
        for syscall in matches:
            for n in names:
                ctx = self.syscall_context(desc, syscall, n)
                if ctx:
                    out.append(ctx)
        return out

    def syscall_context(self, desc: A.ProbeDesc, syscall: str, name: str) -> ProbeContext | None:
        event = ("sys_enter_" if name == "entry" else "sys_exit_") + syscall
        fmt = self.host.tracepoint_format("syscalls", event)
        if fmt is None:
            self.report(f"cannot read the format of tracepoint syscalls:{event}", desc)
            return None
        if name == "entry":
            # argN are integers in D: pointers become their address.
            args = {
                i: ((f"(uint64)args->{f.name}" if f.is_pointer else f"args->{f.name}"), "int")
                for i, f in enumerate(fmt.fields)
            }
            typed = {
                i: (f"args->{f.name}", "str" if f.is_string else "int")
                for i, f in enumerate(fmt.fields)
            }
            target = T.ProbeTarget(
                f"tracepoint:syscalls:{event}",
                "syscall",
                "",
                syscall,
                name,
                args=args,
                no_args=f"syscall {syscall} has {len(fmt.fields)} argument(s)",
            )
            ctx = ProbeContext(target, desc)
            ctx.typed_args = typed
            return ctx
        ret = ("args->ret", "int")
        target = T.ProbeTarget(
            f"tracepoint:syscalls:{event}",
            "syscall",
            "",
            syscall,
            name,
            args={0: ret, 1: ret},
            no_args="a syscall return probe has arg0 and arg1 (the return value) only",
        )
        return ProbeContext(target, desc, is_return=True, errno_expr="(args->ret < 0 ? -args->ret : 0)")

    def raw_syscall_context(self, desc: A.ProbeDesc, name: str) -> ProbeContext:
        syscall_nr: T.Served = ("args->id", "syscall")
        if name == "entry":
            target = T.ProbeTarget(
                "tracepoint:raw_syscalls:sys_enter",
                "syscall",
                "",
                "",
                name,
                args={i: (f"args->args[{i}]", "int") for i in range(6)},
                no_args="syscall:::entry has arg0..arg5",
            )
            return ProbeContext(target, desc, probefunc=syscall_nr)
        ret = ("args->ret", "int")
        target = T.ProbeTarget(
            "tracepoint:raw_syscalls:sys_exit",
            "syscall",
            "",
            "",
            name,
            args={0: ret, 1: ret},
            no_args="a syscall return probe has arg0 and arg1 (the return value) only",
        )
        return ProbeContext(
            target,
            desc,
            is_return=True,
            errno_expr="(args->ret < 0 ? -args->ret : 0)",
            probefunc=syscall_nr,
        )

    def fbt_probes(self, desc: A.ProbeDesc, func: str, name: str) -> list[ProbeContext]:
        if not self.host.has_kprobes():
            self.report(f"{desc.text}: fbt probes need kprobes, and this kernel has none "
                f"(no {os.path.join(self.host.tracefs, 'kprobe_events')}); "
                "use a tracepoint-based provider (syscall, proc, sched, io, tcp)",
                desc)
            return []
        if name not in ("entry", "return") or not func or any(ch in func for ch in "?["):
            self.report(f"{desc.text}: fbt probes are lowered for FUNC:entry and FUNC:return only",
                desc)
            return []
        if name == "entry":
            target = T.ProbeTarget(
                f"kprobe:{func}",
                "fbt",
                "",
                func,
                name,
                args={i: (f"arg{i}", "int") for i in range(6)},
                features=frozenset({"kprobe"}),
            )
            return [ProbeContext(target, desc)]
        target = T.ProbeTarget(
            f"kretprobe:{func}",
            "fbt",
            "",
            func,
            name,
            args={1: ("retval", "int")},
            no_args="an fbt return probe's arg0 (the return offset) is not available; arg1 is",
            features=frozenset({"kprobe"}),
        )
        return [ProbeContext(target, desc)]

    def _target_binary(
        self, desc: A.ProbeDesc, pid_text: str | None, module: str
    ) -> tuple[str | None, str | None]:
        """(binary path, pid filter expression) for a user-space probe."""
        pid: int | None = None
        pid_expr: str | None = None
        if pid_text == "$target":
            if self.target_pid is not None:
                pid, pid_expr = self.target_pid, str(self.target_pid)
            else:
                pid_expr = "cpid"
                self.features.add("cpid")
        elif pid_text:
            pid, pid_expr = int(pid_text), pid_text
        if module in ("", "a.out", "*"):
            if self.target_path:
                return self.target_path, pid_expr
            if pid is not None:
                return f"/proc/{pid}/exe", pid_expr
            self.report(f"{desc.text}: the program's executable is unknown (give a pid with -p, or the command with -c)",
                desc)
            return None, None
        if module.startswith("/"):
            return module, pid_expr
        # A running process (-p): what it has mapped; -c: the command is not running yet,
        # so what its loader would map.
        if pid is not None or self.target_path:
            for lib in self.host.shared_objects(self.target_path or "", pid):
                if module_matches(os.path.basename(lib), module):
                    return lib, pid_expr
        self.report(f"{desc.text}: cannot locate module {module!r} (write its full path, or give a running pid)",
            desc)
        return None, None

    def pid_probes(
        self, desc: A.ProbeDesc, pid_text: str | None, module: str, func: str, name: str
    ) -> list[ProbeContext]:
        if not pid_text:
            self.report(f"{desc.text}: the pid provider needs a process (pid$target or pidNNN)",
                desc)
            return []
        if name not in ("entry", "return") or not func or any(ch in func for ch in "*?["):
            self.report(f"{desc.text}: pid probes are lowered for FUNC:entry and FUNC:return only",
                desc)
            return []
        if module in ("", "*"):
            # DTrace's pid provider with no module matches the function in every object of
            # the process: the executable first, then its shared libraries (libc...).
            paths, pid_expr = self._objects_defining(desc, pid_text, func)
        else:
            path, pid_expr = self._target_binary(desc, pid_text, module)
            paths = [path] if path else []
        return [ctx for path in paths for ctx in self._pid_contexts(desc, path, pid_expr, module, func, name)]

    def _objects_defining(
        self, desc: A.ProbeDesc, pid_text: str | None, func: str
    ) -> tuple[list[str], str | None]:
        """(objects of the target that define ``func``, pid filter expression)."""
        exe, pid_expr = self._target_binary(desc, pid_text, "")
        if exe is None:
            return [], None
        pid = self.target_pid if pid_text == "$target" else (int(pid_text) if pid_text and pid_text.isdigit() else None)
        objects = [exe] + [lib for lib in self.host.shared_objects(exe, pid) if lib != exe]
        found = [path for path in objects if func in self.host.elf_functions(path)]
        # Not found (a stripped executable, a process not running yet...): the executable,
        # as before, and bpftrace says so if it cannot resolve the symbol either.
        return found or [exe], pid_expr

    def _pid_contexts(
        self, desc: A.ProbeDesc, path: str, pid_expr: str | None, module: str, func: str, name: str
    ) -> list[ProbeContext]:
        filt = f"pid == {pid_expr}" if pid_expr else None
        if module in ("", "*"):
            module = os.path.basename(path)  # probemod names the object the probe is in
        if name == "entry":
            target = T.ProbeTarget(
                f"uprobe:{path}:{func}",
                desc.provider,
                module,
                func,
                name,
                filter=filt,
                args={i: (f"arg{i}", "int") for i in range(6)},
                features=frozenset({"uprobe"}),
            )
        else:
            target = T.ProbeTarget(
                f"uretprobe:{path}:{func}",
                desc.provider,
                module,
                func,
                name,
                filter=filt,
                args={1: ("retval", "int")},
                no_args="a pid return probe's arg0 (the return offset) is not available; arg1 is",
                features=frozenset({"uprobe"}),
            )
        return [ProbeContext(target, desc)]

    def usdt_probes(
        self,
        desc: A.ProbeDesc,
        provider: str,
        pid_text: str | None,
        module: str,
        func: str,
        name: str,
    ) -> list[ProbeContext]:
        if not name or any(ch in name + provider for ch in "*?["):
            self.report(f"{desc.text}: USDT probes need a provider and a probe name without wildcards",
                desc)
            return []
        path, pid_expr = self._target_binary(desc, pid_text, module)
        if path is None:
            return []
        elf_name = name.replace("-", "__")  # DTrace spells the ELF note's "__" as "-"
        filt = f"pid == {pid_expr}" if pid_expr else None
        target = T.ProbeTarget(
            f"usdt:{path}:{provider}:{elf_name}",
            desc.provider,
            module,
            func,
            name,
            filter=filt,
            args={i: (f"arg{i}", "int") for i in range(10)},
            features=frozenset({"usdt"}),
        )
        return [ProbeContext(target, desc)]
