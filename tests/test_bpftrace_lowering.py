"""The D -> bpftrace lowering, as text: fast, no tracer needed.

Every case is data, in tests/cases/bpftrace_lowering.txt: a D program and the bpftrace
program it lowers to, with its maps (the contract with the collector), or the refusals,
each with its position. The host is a :class:`StaticHost` with a few tracepoints, so the
cases do not depend on the kernel they run on. What the programs do when bpftrace runs
them is in test_bpftrace_lowering_real.py. To accept changed output, after reading it:

    DTSCOPE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_bpftrace_lowering.py
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest
from dtscope.dscript import parse
from dtscope.dscript.bpftrace import MapInfo, StaticHost, lower
from dtscope.dscript.bpftrace.maps import companion_bucket
from dtscope.dscript.diagnostics import DiagnosticError
from dtscope.dscript.tracepoints import parse_format

CASES_FILE = Path(__file__).resolve().parent / "cases" / "bpftrace_lowering.txt"
UPDATE = os.environ.get("DTSCOPE_UPDATE_GOLDEN") == "1"

READ_ENTER = """name: sys_enter_read
ID: 842
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:unsigned int fd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:char * buf;\toffset:24;\tsize:8;\tsigned:0;
\tfield:size_t count;\toffset:32;\tsize:8;\tsigned:0;

print fmt: "fd: 0x%08lx", ((unsigned long)(REC->fd))
"""

EXIT_FORMAT = """name: sys_exit_{name}
format:
\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:long ret;\toffset:16;\tsize:8;\tsigned:1;
"""

OPENAT_ENTER = """name: sys_enter_openat
format:
\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;
\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;
\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;
"""

PROCESS_EXIT = """name: sched_process_exit
format:
\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;
\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:bool group_dead;\toffset:32;\tsize:1;\tsigned:0;
"""

TRACEPOINTS = {
    "syscalls/sys_enter_read": READ_ENTER,
    "syscalls/sys_exit_read": EXIT_FORMAT.format(name="read"),
    "syscalls/sys_enter_readv": READ_ENTER.replace("sys_enter_read", "sys_enter_readv"),
    "syscalls/sys_exit_readv": EXIT_FORMAT.format(name="readv"),
    "syscalls/sys_enter_openat": OPENAT_ENTER,
    "syscalls/sys_exit_openat": EXIT_FORMAT.format(name="openat"),
    "raw_syscalls/sys_enter": "format:\n",
    "raw_syscalls/sys_exit": "format:\n",
    "sched/sched_process_exit": PROCESS_EXIT,
    "sched/sched_switch": "format:\n",
    "sched/sched_process_exec": "format:\n",
    "task/task_newtask": "format:\n",
    "block/block_rq_issue": "format:\n",
    "sock/inet_sock_set_state": "format:\n",
}
HOST = StaticHost(
    formats={tuple(name.split("/")): parse_format(text, *name.split("/")) for name, text in TRACEPOINTS.items()},
    syscalls={"read": 0, "write": 1, "openat": 257, "getppid": 110},
)


# --------------------------------------------------------------------------- the cases


@dataclasses.dataclass
class Case:
    name: str
    options: dict[str, str]
    d: str
    sections: dict[str, list[str]]  # "bpftrace", "maps", "features" | "refused"


def read_cases(text: str) -> list[Case]:
    cases: list[Case] = []
    section: list[str] | None = None
    for line in text.split("\n"):
        if line.startswith("=== "):
            name, *words = line[4:].split()
            options = dict(word.split("=", 1) for word in words)
            cases.append(Case(name, options, "", {}))
            section = None
            d_lines: list[str] = []
            cases[-1].sections["d"] = d_lines
            section = d_lines
        elif line.startswith("--- ") and cases:
            section = cases[-1].sections.setdefault(line[4:].strip(), [])
        elif section is not None:
            section.append(line)
        elif line.strip() and not line.startswith("#"):
            raise ValueError(f"{CASES_FILE.name}: text outside a case: {line!r}")
    for case in cases:
        for lines in case.sections.values():
            while lines and not lines[-1]:
                lines.pop()
        case.d = "\n".join(case.sections.pop("d"))
    return cases


def map_line(m: MapInfo) -> str:
    parts = [m.bt_name, m.aggregation or "@", m.function, m.role]
    if m.params:
        parts.append("params=" + ",".join(map(str, m.params)))
    if m.key_kinds:
        parts.append("keys=" + ",".join(f"{k}:{n}" for k, n in zip(m.key_kinds, m.key_names)))
    if m.negated:
        parts.append("negated")
    if m.value_offset:
        parts.append(f"offset={m.value_offset}")
    if m.cumulative:
        parts.append("cumulative")
    return " ".join(parts)


def lower_case(case: Case) -> dict[str, list[str]]:
    """What the lowering gives for a case, in the sections of the cases file."""
    host = HOST
    if "kprobes" in case.options:
        host = dataclasses.replace(host, kprobes=True)
    if "cgroup_root" in case.options:
        host = dataclasses.replace(host, cgroup_root=case.options["cgroup_root"])
    kwargs: dict = {}
    if "interval" in case.options:
        kwargs["interval"] = float(case.options["interval"])
    if "target_pid" in case.options:
        kwargs["target_pid"] = int(case.options["target_pid"])
    if "target_path" in case.options:
        kwargs["target_path"] = case.options["target_path"]
    try:
        out = lower(parse(case.d + "\n"), host, **kwargs)
    except DiagnosticError as err:
        return {"refused": [f"{d.span.line}:{d.span.col}: {d.message} [{d.code}]" for d in err.diagnostics]}
    got = {"bpftrace": out.text.rstrip("\n").split("\n"), "maps": [map_line(m) for m in out.framing.maps.values()]}
    if out.features:
        got["features"] = [" ".join(sorted(out.features))]
    return got


CASES = read_cases(CASES_FILE.read_text())


def _write_cases(results: dict[str, dict[str, list[str]]]) -> None:
    header = [line for line in CASES_FILE.read_text().split("\n") if line.startswith("#")]
    out = header + [""]
    for case in CASES:
        options = " ".join(f"{k}={v}" for k, v in case.options.items())
        out.append(f"=== {case.name}" + (f" {options}" if options else ""))
        out.append(case.d)
        for section, lines in results[case.name].items():
            out += [f"--- {section}", *lines]
        out.append("")
    CASES_FILE.write_text("\n".join(out))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_lowering(case: Case):
    got = lower_case(case)
    if UPDATE:
        test_lowering.results[case.name] = got  # type: ignore[attr-defined]
        if len(test_lowering.results) == len(CASES):  # type: ignore[attr-defined]
            _write_cases(test_lowering.results)  # type: ignore[attr-defined]
        return
    assert got == case.sections


test_lowering.results = {}  # type: ignore[attr-defined]


def test_the_cases_have_unique_names_and_both_outcomes():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert any("refused" in c.sections for c in CASES) and any("bpftrace" in c.sections for c in CASES)


# --------------------------------------------------------------------------- the command


def test_compile_command_lowers_to_bpftrace(dtscope_cli, tmp_path):
    script = tmp_path / "count.d"
    script.write_text("syscall:::entry /pid == 1/ { @[probefunc] = count(); }\n")
    code, out, err = dtscope_cli("compile", "--target", "bpftrace", str(script))
    assert code == 0, err
    assert "tracepoint:raw_syscalls:sys_enter\n/pid == 1/\n{\n    @[args->id] = count();\n}" in out
    bad = tmp_path / "bad.d"
    bad.write_text("BEGIN {\n  @ = sum(vtimestamp);\n}\n")
    code, out, err = dtscope_cli("compile", "--target", "bpftrace", str(bad))
    assert code != 0 and "Traceback" not in err
    assert f"{bad}:2:" in err and "vtimestamp" in err


def test_compile_command_prints_each_dtrace_dialect(dtscope_cli, tmp_path):
    script = tmp_path / "ifelse.d"
    script.write_text("BEGIN { if (pid > 1) { @a = count(); } else { @b = count(); } exit(0); }\n")
    code, illumos, err = dtscope_cli("compile", "--target", "illumos", str(script))
    assert code == 0, err
    assert "if (pid > 1) {" in illumos and "__dtscope" not in illumos
    code, oracle, err = dtscope_cli("compile", "--target", "oracle", str(script))
    assert code == 0, err
    assert "if (" not in oracle and re.search(r"/this->_dtscope_c\d+/", oracle)


def test_companion_map_buckets_are_dtrace_s():
    assert companion_bucket("main", 0, 0) == (0, 1)
    assert companion_bucket("main", 4, 7) == (4, 8)
    assert companion_bucket("negative", 4, 7) == (-7, -3)  # DTrace's bucket -4: -7..-4
    assert companion_bucket("high", 1, 1) == (1 << 31, 1 << 32)
    assert companion_bucket("negative_high", 2, 3) == (-(1 << 33) + 1, -(1 << 32) + 1)
    with pytest.raises(ValueError):
        companion_bucket("sumsq", 0, 0)
