"""The lowered programs under the real bpftrace, on workloads with exact known results.

Each test lowers D, runs ``bpftrace -f json`` as root and reads the maps straight from
bpftrace's JSON (not through the collector: this checks the lowering alone), then
compares with what DTrace's own bucket functions give for the same values.
"""

from __future__ import annotations

import collections
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time

import pytest
from dtscope.collectors.linux_host import LinuxHost
from dtscope.collectors.syscalls import syscall_numbers
from dtscope.dscript import parse
from dtscope.dscript.aggregations import dtrace_stddev, llquantize_bounds, llquantize_index
from dtscope.dscript.bpftrace import lower
from dtscope.dscript.bpftrace.maps import companion_bucket as quantize_bucket
from dtscope.dscript.bpftrace.maps import sum_of_squares
from dtscope.dscript.lowered import Lowered as BpftraceProgram

pytestmark = pytest.mark.tracing

PYTHON = sys.executable
COMM = os.path.basename(PYTHON)[:15]


def run(
    program: BpftraceProgram,
    tmp_path,
    *,
    command: str | None = None,
    args: tuple[str, ...] = (),
    timeout: float = 60,
) -> list[dict]:
    """Run the lowered text; returns bpftrace's JSON events in order."""
    path = tmp_path / "program.bt"
    path.write_text(program.text)
    cmd = ["bpftrace", "-f", "json"] + (["-c", command] if command else []) + [str(path), *args]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"bpftrace failed:\n{proc.stderr}\n--- program:\n{program.text}"
    assert "WARNING" not in proc.stderr, (
        f"bpftrace warned:\n{proc.stderr}\n--- program:\n{program.text}"
    )
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def final_maps(events: list[dict]) -> dict:
    """Every map as bpftrace printed it last (at exit)."""
    maps: dict = {}
    for event in events:
        if event["type"] in ("map", "hist", "stats"):
            maps.update(event["data"])
    return maps


def lowered(source: str, **kwargs) -> BpftraceProgram:
    return lower(parse(textwrap.dedent(source)), LinuxHost(), **kwargs)


def child(tmp_path, code: str) -> str:
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(code))
    return f"{PYTHON} {script}"


# --------------------------------------------------------------------------- DTrace's buckets


def dtrace_quantize_label(value: int) -> int:
    if value == 0:
        return 0
    magnitude = 1 << (abs(value).bit_length() - 1)
    return magnitude if value > 0 else -magnitude


def dtrace_lquantize_label(value: int, lo: int, hi: int, step: int) -> int | str:
    levels = (hi - lo) // step
    if value < lo:
        return "under"
    level = (value - lo) // step
    return lo + level * step if level < levels else lo + levels * step


def dtrace_quantize_range(value: int) -> tuple[int, int]:
    """DTrace's quantize bucket of a value as [lo, hi)."""
    label = dtrace_quantize_label(value)
    if label >= 0:
        return label, max(1, 2 * label)
    return 2 * label + 1, label + 1


def quantize_ranges(maps: dict, name: str) -> collections.Counter:
    """bpftrace hist entries of a quantize's four maps -> DTrace bucket ranges."""
    got: collections.Counter = collections.Counter()
    for role, prefix in (
        ("main", ""),
        ("negative", "dtscope_neg_"),
        ("high", "dtscope_hi_"),
        ("negative_high", "dtscope_neghi_"),
    ):
        for entry in maps.get(f"@{prefix}{name}", []):
            if entry["count"]:
                assert "min" in entry and entry["min"] >= 0, (
                    f"a negative value reached @{prefix}{name}"
                )
                assert entry["min"] < 1 << 31, "a label bpftrace 0.17 would print wrong"
                got[quantize_bucket(role, entry["min"], entry["max"])] += entry["count"]
    return got


def lhist_labels(entries: list[dict], offset: int) -> collections.Counter:
    got: collections.Counter = collections.Counter()
    for entry in entries:
        if entry["count"]:
            got["under" if "min" not in entry else entry["min"] + offset] += entry["count"]
    return got


# --------------------------------------------------------------------------- tests


def test_syscalls_processes_and_errno_of_a_known_child(tmp_path):
    getppid_calls, bad_fchdirs, spawns = 37, 4, 3
    command = child(
        tmp_path,
        f"""
        import os, subprocess
        for _ in range({getppid_calls}):
            os.getppid()
        for _ in range({bad_fchdirs}):
            try:
                os.fchdir(999)
            except OSError:
                pass
        for _ in range({spawns}):
            subprocess.run(["/bin/true"], check=True)
        for _ in range(2):
            open("/etc/hostname").close()
    """,
    )
    program = lowered("""
        syscall::getppid:entry /pid == $target/ { @calls[execname, probefunc] = count(); self->ts = timestamp; }
        syscall::getppid:return /self->ts/ { @done = count(); @lat = quantize(timestamp - self->ts); self->ts = 0; }
        syscall:::entry /pid == $target && probefunc == "getppid"/ { @raw[probefunc] = count(); }
        syscall::fchdir:return /pid == $target/ { @err[errno, arg0] = count(); }
        proc:::create /pid == $target/ { @created = count(); }
        proc:::exec-success /ppid == $target/ { @execs[execname] = count(); }
        proc:::exit /ppid == $target/ { @exits = count(); }
        syscall::openat:entry /pid == $target/ { @opened[copyinstr(arg1)] = count(); }
    """)
    maps = final_maps(run(program, tmp_path, command=command))
    assert maps["@calls"] == {f"{COMM},getppid": getppid_calls}
    assert maps["@done"] == getppid_calls
    assert sum(e["count"] for e in maps["@lat"]) == getppid_calls
    assert maps["@raw"] == {str(syscall_numbers()["getppid"]): getppid_calls}
    assert maps["@err"] == {"9,-9": bad_fchdirs}  # EBADF
    assert maps["@created"] == spawns
    assert maps["@execs"] == {"true": spawns}
    assert maps["@exits"] == spawns
    assert maps["@opened"]["/etc/hostname"] == 2
    assert "@__self_ts" not in maps  # the program's own variables stay out of the exit dump


QUANTIZE_VALUES = [
    -(1 << 40),
    -(1 << 31) - 1,
    -(1 << 31),
    -(1 << 31) + 1,
    -1000,
    -1024,
    -1023,
    -5,
    -2,
    -1,
    0,
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    1000,
    1023,
    1024,
    (1 << 31) - 1,
    1 << 31,
    (1 << 32) + 5,
    1 << 40,
    (1 << 62) - 1,
]
LQUANTIZE_CASES = [(-10, 10, 5), (0, 25, 10), (0, 100, 10)]
LQUANTIZE_VALUES = [-100, -11, -10, -9, -6, -5, -1, 0, 4, 5, 9, 10, 19, 20, 24, 25, 99, 100, 1000]
LLQUANTIZE_PARAMS = (10, 0, 2, 10)
STDDEV_VALUES = [2, 4, 4, 4, 5, 5, 7, 9]
# squares far beyond 64 bits, and the 2**32 boundary of the limb split
STDDEV_BIG_VALUES = [
    3_000_000_000,
    -(1 << 32),
    1 << 32,
    (1 << 32) - 1,
    5_000_000_000_000,
    -(1 << 40) - 12345,
    7,
]
LLQUANTIZE_VALUES = [-5, 0, 1, 2, 9, 10, 11, 19, 20, 99, 100, 150, 999, 1000, 5000]


def test_aggregations_of_fixed_values_match_dtrace(tmp_path):
    lines = [f"@q = quantize({v});" for v in QUANTIZE_VALUES]
    for i, (lo, hi, step) in enumerate(LQUANTIZE_CASES):
        lines += [f"@l{i} = lquantize({v}, {lo}, {hi}, {step});" for v in LQUANTIZE_VALUES]
    lines += [
        f"@ll = llquantize({v}, {', '.join(map(str, LLQUANTIZE_PARAMS))});"
        for v in LLQUANTIZE_VALUES
    ]
    lines += [
        "@s = sum(-5);",
        "@s = sum(3);",
        "@a = avg(-5);",
        "@a = avg(2);",
        "@mn = min(-5);",
        "@mn = min(3);",
        "@mx = max(-5);",
        "@mx = max(-3);",
    ]
    lines += [f"@sd = stddev({v});" for v in STDDEV_VALUES]
    lines += [f"@sdbig = stddev({v});" for v in STDDEV_BIG_VALUES]
    # D divides signed integers as C does (toward zero); BPF divides unsigned.
    lines += [
        "this->a = -7;",
        "this->b = 2;",
        "@d1 = sum(this->a / this->b);",
        "@d2 = sum(this->a % this->b);",
        "@d3 = sum(-this->a / -this->b);",
        "@d4 = sum(this->a / -2);",
        "@d5 = sum(-this->a % -this->b);",
        "this->c = 100;",
        "this->c /= this->a;",
        "@d6 = sum(this->c);",
    ]
    lines += [
        '@k["a,b", 3, -1] = count();',
        '@k["a,b", 3, -1] = count();',
        '@k["c", 4, 2] = count();',
    ]
    program = lowered("BEGIN {\n" + "\n".join(lines) + "\nexit(0);\n}")
    maps = final_maps(run(program, tmp_path))

    expected_q = collections.Counter(dtrace_quantize_range(v) for v in QUANTIZE_VALUES)
    assert quantize_ranges(maps, "q") == expected_q

    for i, (lo, hi, step) in enumerate(LQUANTIZE_CASES):
        info = program.framing.maps[f"@l{i}"]
        expected = collections.Counter(
            dtrace_lquantize_label(v, lo, hi, step) for v in LQUANTIZE_VALUES
        )
        assert lhist_labels(maps[f"@l{i}"], info.value_offset) == expected, (lo, hi, step)

    bounds = llquantize_bounds(*LLQUANTIZE_PARAMS)
    assert len(maps["@ll"]) <= len(bounds)
    got_ll = collections.Counter({e["min"]: e["count"] for e in maps["@ll"] if e["count"]})
    assert got_ll == collections.Counter(
        llquantize_index(*LLQUANTIZE_PARAMS, v) for v in LLQUANTIZE_VALUES
    )

    assert maps["@s"] == -2
    # avg runs as stats(): the collector divides as DTrace does (-3 / 2 in C: -1)
    assert (maps["@a"]["count"], maps["@a"]["total"]) == (2, -3)
    assert maps["@mn"] == -5
    assert program.framing.maps["@mx"].negated and -maps["@mx"] == -3
    for name, values in (("sd", STDDEV_VALUES), ("sdbig", STDDEV_BIG_VALUES)):
        stats = maps[f"@{name}"]
        squares = sum_of_squares({k: maps.get(f"@dtscope_sq{k}_{name}", 0) for k in range(4)})
        assert (stats["count"], stats["total"], squares) == (
            len(values),
            sum(values),
            sum(v * v for v in values),
        )
    assert dtrace_stddev(8, 40, 232) == 2
    assert maps["@k"] == {"a,b,3,-1": 2, "c,4,2": 1}
    assert [maps[f"@d{i}"] for i in range(1, 7)] == [-3, -1, -3, 3, 1, -14]


def test_printf_output(tmp_path):
    program = lowered(r"""
        BEGIN {
            printf("%d|%5s|%-4d|%x|%c|%s|%u%%\n", -3, "ab", 7, 255, 65, strjoin("x", strjoin("-", "y")), 12);
            printf("%%%d%% %s\n", 1, "x");
            printf("100%%\n");
            printf("%Y\n", walltimestamp);
            exit(0);
        }
    """)
    printed = [e["data"] for e in run(program, tmp_path) if e["type"] == "printf"]
    assert printed[0] == "-3|   ab|7   |ff|A|x-y|12%\n"
    assert printed[1:3] == ["%1% x\n", "100%\n"]
    assert re.fullmatch(r"\d{4} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d\n", printed[3])


def test_actions_on_aggregations(tmp_path):
    program = lowered("""
        BEGIN { @s = sum(5000); @c["a"] = count(); @gone["x"] = count(); }
        BEGIN /pid != 0/ { @s = sum(2000); }
        tick-10ms { exit(0); }
        END { normalize(@s, 1000); printa(@s); clear(@c); printa(@c); trunc(@gone); trace(7); }
    """)
    events = run(program, tmp_path)
    end = [e for e in events if e["type"] in ("map", "value")]
    assert end[:3] == [
        {"type": "map", "data": {"@s": 7}},  # normalized: 7000 / 1000
        {"type": "map", "data": {"@c": {"a": 0}}},  # clear() keeps the key
        {"type": "value", "data": 7},
    ]
    assert final_maps(events)["@s"] == 7000 and "@gone" not in final_maps(events)


def test_zonename_is_the_cgroup(tmp_path):
    with open("/proc/self/cgroup") as fh:
        v2 = [line.split("::", 1)[1].strip() for line in fh if line.startswith("0::")]
    if not v2:
        pytest.skip("no cgroup v2 membership")
    program = lowered(
        f'BEGIN {{ @z[zonename] = count(); }} BEGIN /zonename == "{v2[0]}"/ {{ @mine = count(); exit(0); }}'
    )
    root = program.text.split('cgroupid("', 1)[1].split('"', 1)[0]
    maps = final_maps(run(program, tmp_path))
    assert maps["@z"] == {str(os.stat(root).st_ino): 1}  # a cgroup v2 id is its directory's inode
    assert maps["@mine"] == 1
    assert program.framing.maps["@z"].key_kinds == ["cgroup"]


def test_interval_snapshots_add_up(tmp_path):
    first, second = 11, 23
    command = child(
        tmp_path,
        f"""
        import os, time
        for _ in range({first}):
            os.getppid()
        time.sleep(0.7)
        for _ in range({second}):
            os.getppid()
        time.sleep(0.3)
    """,
    )
    program = lowered(
        "syscall::getppid:entry /pid == $target/ { @c[probefunc] = count(); @q = quantize(tid); }",
        interval=0.2,
    )
    events = run(program, tmp_path, command=command)
    marks = [
        i
        for i, e in enumerate(events)
        if e["type"] == "printf" and e["data"] == program.framing.snapshot_marker + "\n"
    ]
    assert len(marks) >= 3
    # @c is a running total (never cleared): each print is the count so far, and the
    # collector turns consecutive prints into intervals.
    totals = [
        event["data"]["@c"].get("getppid", 0)
        for event in events  # every snapshot, then the tail printed at exit
        if event["type"] == "map" and "@c" in event["data"]
    ]
    assert totals == sorted(totals) and totals[-1] == first + second
    assert first in totals  # a snapshot between the two bursts


def test_stack_aggregation_from_profile(tmp_path):
    command = child(
        tmp_path,
        """
        import time
        end = time.time() + 0.6
        while time.time() < end:
            pass
    """,
    )
    program = lowered("profile-997 /pid == $target/ { @u[ustack(4)] = count(); @n = count(); }")
    maps = final_maps(run(program, tmp_path, command=command))
    assert maps["@n"] >= 100
    # bpftrace skips a stack-keyed update when the kernel cannot walk the stack
    assert 0.9 * maps["@n"] <= sum(maps["@u"].values()) <= maps["@n"]
    assert all(key == "" or key.startswith("\n    ") for key in maps["@u"])  # frames, one per line
    assert program.framing.maps["@u"].key_kinds == ["ustack"]


def test_tcp_probes_on_loopback(tmp_path):
    with socket.socket() as probe_port:
        probe_port.bind(("127.0.0.1", 0))
        port = probe_port.getsockname()[1]
    connections = 3
    command = child(
        tmp_path,
        f"""
        import socket, time
        time.sleep(0.3)
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", {port}))
        server.listen()
        for _ in range({connections}):
            client = socket.create_connection(("127.0.0.1", {port}))
            peer, _ = server.accept()
            client.close()
            peer.close()
        time.sleep(0.2)
    """,
    )
    program = lowered("""
        tcp:::connect-request /args[4]->tcp_dport == $1/ { @request[args[2]->ip_daddr] = count(); }
        tcp:::connect-established /args[3]->tcps_rport == $1/ { @established[args[3]->tcps_state] = count(); }
        tcp:::accept-established /args[3]->tcps_lport == $1/ { @accepted[args[3]->tcps_laddr] = count(); }
        tcp:::state-change /args[3]->tcps_lport == $1 && args[3]->tcps_state == TCPS_LISTEN/ { @listen[args[5]->tcps_state] = count(); }
        ip:::send { @sent[args[3]->if_name] = count(); }
    """)
    maps = final_maps(run(program, tmp_path, command=command, args=(str(port),)))
    assert maps["@request"] == {"127.0.0.1": connections}
    assert maps["@established"] == {"0": connections}  # TCPS_ESTABLISHED in illumos numbering
    assert maps["@accepted"] == {"127.0.0.1": connections}
    assert maps["@listen"] == {"-6": 1}  # CLOSED -> LISTEN
    assert maps["@sent"]["lo"] >= 3 * connections  # at least the handshakes


def test_off_cpu_to_on_cpu_latency(tmp_path):
    sleeps = 5
    command = child(
        tmp_path,
        f"""
        import time
        for _ in range({sleeps}):
            time.sleep(0.05)
    """,
    )
    program = lowered("""
        sched:::off-cpu /pid == $target/ { self->ts = timestamp; }
        sched:::on-cpu /self->ts/ { @slept[execname] = quantize(timestamp - self->ts); self->ts = 0; }
    """)
    maps = final_maps(run(program, tmp_path, command=command))
    # (the child is called "bpftrace" until it execs python: it may have a key too)
    # 50 ms is in DTrace's bucket [2^25, 2^26) ns: every sleep lands there (or just above).
    long_naps = sum(e["count"] for e in maps["@slept"][COMM] if e.get("min", 0) >= 1 << 25)
    assert sleeps <= long_naps <= sleeps + 1


def test_uprobe_of_a_library_function_in_a_running_process(tmp_path):
    calls = 29
    script = tmp_path / "child.py"
    script.write_text(
        textwrap.dedent(f"""
        import os, sys, time
        sys.stdin.readline()  # wait until the tracer is attached
        for _ in range({calls}):
            os.getppid()
    """)
    )
    proc = subprocess.Popen([PYTHON, str(script)], stdin=subprocess.PIPE, text=True)
    try:
        time.sleep(0.3)  # let the dynamic loader map libc
        program = lowered(
            """
            pid$target:libc.so.6:getppid:entry { @calls[probefunc] = count(); }
            pid$target:libc.so.6:getppid:return { @ret = max(arg1); }
            proc:::exit /pid == $target/ { exit(0); }
            tick-20ms /!ready/ { ready = 1; printf("ready\\n"); }
        """,
            target_pid=proc.pid,
        )
        assert (
            f"uprobe:/proc/{proc.pid}/exe" not in program.text
            and "libc.so.6:getppid" in program.text
        )
        path = tmp_path / "program.bt"
        path.write_text(program.text)
        tracer = subprocess.Popen(
            ["bpftrace", "-f", "json", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # bpftrace announces its probes before attaching them; the timer, attached last, says when all are.
        for line in tracer.stdout:
            if json.loads(line) == {"type": "printf", "data": "ready\n"}:
                break
        time.sleep(0.1)
        proc.stdin.write("go\n")
        proc.stdin.close()
        out, err = tracer.communicate(timeout=30)
        assert tracer.returncode == 0, err
    finally:
        proc.kill()
        proc.wait()
    maps = final_maps([json.loads(line) for line in out.splitlines() if line.strip()])
    assert maps["@calls"] == {"getppid": calls}
    assert -maps["@ret"] == os.getpid()  # max(arg1) is stored negated


def test_fbt_on_this_kernel(tmp_path):
    from dtscope.dscript.diagnostics import DiagnosticError

    source = "fbt::vfs_read:entry { @ = count(); } tick-100ms { exit(0); }"
    if LinuxHost().has_kprobes():
        maps = final_maps(run(lowered(source), tmp_path))
        assert maps["@"] >= 0
    else:
        with pytest.raises(DiagnosticError, match="this kernel has none"):
            lowered(source)
