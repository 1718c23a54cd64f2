"""The bpftrace collector: pure parsing of its JSON output, then real runs with exact counts.

The real tests run bpftrace as root on child processes whose syscalls we know exactly
(bpftrace's ``-c`` starts the child only once the probes are attached, and ``cpid`` is
its pid), so every assertion is an exact number, not a lower bound.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys

import pytest
from dtscope.collectors.base import RunOptions, TracerError
from dtscope.collectors.bpftrace import BpftraceBackend, prepare_text
from dtscope.collectors.bpftrace_assembler import (
    SnapshotAssembler,
    companion_buckets,
    hist_buckets,
    split_key,
    stack_frames,
)
from dtscope.collectors.model import Bucket
from dtscope.dscript.aggregations import llquantize_bounds
from dtscope.dscript.bpftrace.maps import PRINTA_BEGIN, PRINTA_END, SNAPSHOT_MARKER, MapInfo
from workloads.dtscope_run import python_child, run_d_jsonl


def maps_of(*infos: MapInfo) -> dict[str, MapInfo]:
    return {info.bt_name: info for info in infos}


# --------------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    "text,kinds,expected",
    [
        ("x,y,3", ["str", "int"], ["x,y", "3"]),
        ("3,x,y", ["int", "str"], ["3", "x,y"]),
        ("1,-2,3", ["int", "int", "int"], ["1", "-2", "3"]),
        ("7,a,b,c,9", ["int", "str", "int"], ["7", "a,b,c", "9"]),
        ("\n    f,1\n    g+2\n,dd", ["stack", "str"], ["\n    f,1\n    g+2\n", "dd"]),
        (",\n    u+1\n,dd", ["stack", "ustack", "str"], ["", "\n    u+1\n", "dd"]),
        ("\n    f+1\n,5,a,b", ["stack", "int", "str"], ["\n    f+1\n", "5", "a,b"]),
        ("a,b,\n    f+1\n", ["str", "stack"], ["a,b", "\n    f+1\n"]),
        ("a,b", ["str", "str"], ["a", "b"]),
    ],
)
def test_split_key_by_kinds(text, kinds, expected):
    pieces, ambiguous = split_key(text, kinds)
    assert pieces == expected and not ambiguous


def test_two_string_keys_with_commas_are_flagged_ambiguous():
    pieces, ambiguous = split_key("a,b,c", ["str", "str"])
    assert ambiguous and pieces == ["a", "b,c"]  # commas go to the later key


def test_a_key_that_fits_no_split_is_an_error():
    with pytest.raises(ValueError):
        split_key("x,y", ["int", "int"])


def test_stack_frames_are_trimmed_innermost_first():
    assert stack_frames("\n    vfs_read+125\n    ksys_read+102\n") == "vfs_read+125\nksys_read+102"
    assert stack_frames("") == ""


# --------------------------------------------------------------------------- buckets


def test_quantize_buckets_from_hist_entries():
    entries = [
        {"max": -1, "count": 1},
        {"min": 0, "max": 0, "count": 2},
        {"min": 1, "max": 1, "count": 0},
        {"min": 4, "max": 7, "count": 3},
    ]
    assert hist_buckets(entries, "quantize") == [
        Bucket(None, 0, 1), Bucket(0, 1, 2), Bucket(1, 2, 0), Bucket(4, 8, 3),
    ]


def test_negative_companion_mirrors_into_dtrace_negative_buckets():
    # DTrace's -1 bucket holds -1, -2 holds -3..-2, -4 holds -7..-4: [-2v+1, -v+1).
    entries = [{"min": 1, "max": 1, "count": 5}, {"min": 2, "max": 3, "count": 1}, {"min": 4, "max": 7, "count": 2}]
    assert sorted(companion_buckets("negative", entries), key=lambda b: b.lo) == [
        Bucket(-7, -3, 2), Bucket(-3, -1, 1), Bucket(-1, 0, 5)]


def test_lquantize_underflow_and_overflow():
    entries = [{"max": -1, "count": 1}, {"min": 0, "max": 9, "count": 2}, {"min": 100, "count": 4}]
    assert hist_buckets(entries, "lquantize", (0, 100, 10)) == [
        Bucket(None, 0, 1), Bucket(0, 10, 2), Bucket(100, None, 4),
    ]


def test_llquantize_bounds_match_dtrace():
    bounds = llquantize_bounds(10, 0, 1, 10)
    assert bounds[0] == (None, 1)
    assert bounds[1:10] == [(v, v + 1) for v in range(1, 10)]
    assert bounds[10:19] == [(v, v + 10) for v in range(10, 100, 10)]
    assert bounds[-1] == (100, None)
    entries = [{"min": 0, "max": 0, "count": 1}, {"min": 3, "max": 3, "count": 2}, {"min": 19, "max": 19, "count": 1}]
    assert hist_buckets(entries, "llquantize", (10, 0, 1, 10)) == [
        Bucket(None, 1, 1), Bucket(3, 4, 2), Bucket(100, None, 1),
    ]


# --------------------------------------------------------------------------- assembling captured output

CAPTURED = """\
{"type": "attached_probes", "data": {"probes": 3}}
{"type": "printf", "data": "hello "}
{"type": "printf", "data": "world\\n"}
{"type": "map", "data": {"@calls": {"a,b,3": 4, "z,4": 1}}}
{"type": "hist", "data": {"@lat": {"dd": [{"min": 0, "max": 0, "count": 1}, {"min": 4, "max": 7, "count": 2}]}}}
{"type": "hist", "data": {"@__neg_lat": {"dd": [{"min": 2, "max": 3, "count": 1}], "cat": [{"min": 1, "max": 1, "count": 6}]}}}
{"type": "map", "data": {"@__internal": {"1": 9}}}
{"type": "lost_events", "data": {"events": 12}}
{"type": "printf", "data": "__dtscope_snapshot__\\n"}
{"type": "map", "data": {"@calls": {"a,b,3": 1}}}
{"type": "map", "data": {"@": 0}}
{"type": "printf", "data": "__dtscope_snapshot__\\n"}
{"type": "map", "data": {"@": 0}}
"""

CAPTURED_MAPS = maps_of(
    MapInfo("@calls", "calls", "count", key_kinds=["str", "int"], key_names=["execname", "arg0"]),
    MapInfo("@lat", "lat", "quantize", key_kinds=["str"]),
    MapInfo("@__neg_lat", "lat", "quantize", role="negative", key_kinds=["str"]),
    MapInfo("@", "", "count"),
)


def test_assembler_turns_captured_output_into_snapshots():
    printed: list[str] = []
    assembler = SnapshotAssembler(CAPTURED_MAPS, interval=1.0, on_output=printed.append)
    snaps = [s for s in map(assembler.feed, CAPTURED.splitlines()) if s is not None]
    snaps.append(assembler.snapshot(final=True, tracer_state="exited"))
    assert printed == ["hello world"]
    assert len(snaps) == 3
    first = {(r.aggregation, r.keys): r for r in snaps[0].rows}
    assert first[("calls", ("a,b", 3))].value == 4 and first[("calls", ("z", 4))].value == 1
    dd = first[("lat", ("dd",))]
    assert dd.buckets == [Bucket(-3, -1, 1), Bucket(0, 1, 1), Bucket(4, 8, 2)] and dd.value == 4
    cat = first[("lat", ("cat",))]  # only negative values: the row comes from the companion alone
    assert cat.buckets == [Bucket(-1, 0, 6)] and cat.value == 6
    assert snaps[0].drops == {"lost_events": 12}
    assert snaps[0].aggregations["calls"].key_names == ["execname", "arg0"]
    assert "__internal" not in {r.aggregation for r in snaps[0].rows}
    assert [(r.aggregation, r.keys, r.value) for r in snaps[1].rows] == [("calls", ("a,b", 3), 1), ("", (), 0)]
    assert snaps[1].drops == {}
    # The exit print repeats cleared maps as 0: the final snapshot does not count them as data.
    assert snaps[2].final and snaps[2].rows == [] and snaps[2].tracer_state == "exited"


def test_assembler_reports_ambiguous_keys_in_errors():
    maps = maps_of(MapInfo("@m", "m", "count", key_kinds=["str", "str"]))
    assembler = SnapshotAssembler(maps)
    assembler.feed(json.dumps({"type": "map", "data": {"@m": {"a,b,c": 1, "x,y": 2}}}))
    snap = assembler.snapshot(final=True)
    assert {r.keys for r in snap.rows} == {("a", "b,c"), ("x", "y")}
    assert len(snap.errors) == 1 and "@m: 1 key(s)" in snap.errors[0]


def test_stats_maps_give_avg_and_stddev():
    maps = maps_of(
        MapInfo("@a", "a", "avg", key_kinds=["int"]),
        MapInfo("@s", "s", "stddev"),
        MapInfo("@__s_sq", "s", "stddev", role="sumsq"),
    )
    assembler = SnapshotAssembler(maps)
    assembler.feed('{"type": "stats", "data": {"@a": {"1": 7}}}')
    # values 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population stddev 2
    assembler.feed('{"type": "stats", "data": {"@s": {"count": 8, "average": 5, "total": 40}}}')
    assembler.feed('{"type": "map", "data": {"@__s_sq": 232}}')
    rows = {r.aggregation: r for r in assembler.snapshot(final=True).rows}
    assert rows["a"].keys == (1,) and rows["a"].value == 7
    assert rows["s"].value == 2


def test_trace_values_are_program_output_a_line_each():
    printed: list[str] = []
    assembler = SnapshotAssembler({}, on_output=printed.append)
    for data in ("7", '"text"', "[1,\"a\"]"):
        assembler.feed(f'{{"type": "value", "data": {data}}}')
    assert printed == ["7", "text", '[1, "a"]']


def test_non_json_lines_are_program_output():
    printed: list[str] = []
    assembler = SnapshotAssembler({}, on_output=printed.append)
    assembler.feed("child says hi")
    assert printed == ["child says hi"]


# --------------------------------------------------------------------------- real runs

INTERVAL_TAIL = 'printf("' + SNAPSHOT_MARKER + '\\n");'


def child_command(tmp_path, body: str) -> str:
    """A Python child for bpftrace -c that prints its pid first, then runs ``body``."""
    return python_child(tmp_path, body, print_pid=True)


def run_program(text: str, maps: dict, **options):
    printed: list[str] = []
    opts = RunOptions(on_output=printed.append, **options)
    backend = BpftraceBackend()
    snaps = list(backend.stream(prepare_text(text, maps, "test"), opts))
    return snaps, printed


def child_pid(printed: list[str]) -> int:
    return next(int(line.split()[1]) for line in printed if line.startswith("pid "))


@pytest.mark.tracing
def test_exactly_n_getppid_calls_for_the_child(tmp_path):
    n = 4321
    text = "tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @calls[pid, comm] = count(); }"
    maps = maps_of(MapInfo("@calls", "calls", "count", key_kinds=["int", "str"]))
    command = child_command(tmp_path, f"""
        open('/proc/self/comm', 'w').write('getppid,loop')
        for _ in range({n}):
            os.getppid()
    """)
    snaps, printed = run_program(text, maps, target_command=command)
    assert len(snaps) == 1 and snaps[0].final and snaps[0].tracer_state == "exited"
    assert [(r.keys, r.value) for r in snaps[0].rows] == [((child_pid(printed), "getppid,loop"), n)]


QUANTIZE_VALUES = [0, 0, 1, 2, 3, 4, 7, 8, 1000, 1023, 1024, -1, -2, -3, -4, -100]


@pytest.mark.tracing
def test_quantize_of_known_values_gives_exact_buckets(tmp_path):
    text = """
    tracepoint:syscalls:sys_enter_lseek /pid == cpid && args->fd == 99 && args->whence == 0/ {
        if (args->offset < 0) { @__neg_q = hist(-args->offset); } else { @q = hist(args->offset); }
    }"""
    maps = maps_of(MapInfo("@q", "q", "quantize"), MapInfo("@__neg_q", "q", "quantize", role="negative"))
    command = child_command(tmp_path, f"""
        fd = os.dup2(os.open('/dev/null', os.O_RDONLY), 99)
        for v in {QUANTIZE_VALUES!r}:
            try:
                os.lseek(fd, v, os.SEEK_SET)
            except OSError:
                pass
    """)
    snaps, _ = run_program(text, maps, target_command=command)
    (row,) = snaps[-1].rows
    nonzero = [b for b in row.buckets if b.count]
    assert nonzero == [
        Bucket(-127, -63, 1),  # -100
        Bucket(-7, -3, 1),  # -4
        Bucket(-3, -1, 2),  # -2, -3
        Bucket(-1, 0, 1),  # -1
        Bucket(0, 1, 2),
        Bucket(1, 2, 1),
        Bucket(2, 4, 2),  # 2, 3
        Bucket(4, 8, 2),  # 4, 7
        Bucket(8, 16, 1),
        Bucket(512, 1024, 2),  # 1000, 1023
        Bucket(1024, 2048, 1),
    ]
    assert row.value == len(QUANTIZE_VALUES)


@pytest.mark.tracing
def test_lquantize_edges(tmp_path):
    text = "tracepoint:syscalls:sys_enter_lseek /pid == cpid && args->fd == 99 && args->whence == 0/ { @l = lhist(args->offset, 0, 100, 10); }"
    maps = maps_of(MapInfo("@l", "l", "lquantize", params=(0, 100, 10)))
    command = child_command(tmp_path, """
        fd = os.dup2(os.open('/dev/null', os.O_RDONLY), 99)
        for v in [-1, 0, 9, 10, 99, 100, 1000]:
            try:
                os.lseek(fd, v, os.SEEK_SET)
            except OSError:
                pass
    """)
    snaps, _ = run_program(text, maps, target_command=command)
    (row,) = snaps[-1].rows
    assert [b for b in row.buckets if b.count] == [
        Bucket(None, 0, 1), Bucket(0, 10, 2), Bucket(10, 20, 1), Bucket(90, 100, 1), Bucket(100, None, 2),
    ]


@pytest.mark.tracing
def test_multi_key_aggregation_with_commas_in_a_string_key(tmp_path):
    text = """
    tracepoint:syscalls:sys_enter_lseek /pid == cpid && args->fd == 99/ { @m[comm, args->whence, args->offset] = count(); @s[args->offset] = sum(args->offset); }
    """
    maps = maps_of(
        MapInfo("@m", "m", "count", key_kinds=["str", "int", "int"]),
        MapInfo("@s", "s", "sum", key_kinds=["int"]),
    )
    command = child_command(tmp_path, """
        open('/proc/self/comm', 'w').write('a,b,c')
        fd = os.dup2(os.open('/dev/null', os.O_RDONLY), 99)
        for offset, whence, times in [(5, 0, 3), (5, 1, 2), (-7, 0, 1)]:
            for _ in range(times):
                try:
                    os.lseek(fd, offset, whence)
                except OSError:
                    pass
    """)
    snaps, _ = run_program(text, maps, target_command=command)
    rows = {(r.aggregation, r.keys): r.value for r in snaps[-1].rows}
    assert rows == {
        ("m", ("a,b,c", 0, 5)): 3,
        ("m", ("a,b,c", 1, 5)): 2,
        ("m", ("a,b,c", 0, -7)): 1,
        ("s", (5,)): 25,
        ("s", (-7,)): -7,
    }
    assert snaps[-1].errors == []


@pytest.mark.tracing
def test_stack_aggregation_from_profile(tmp_path):
    text = """
    profile:hz:499 /pid == cpid/ { @stacks[ustack(4), kstack(2), comm] = count(); @samples = count(); }
    """
    maps = maps_of(
        MapInfo("@stacks", "stacks", "count", key_kinds=["ustack", "stack", "str"]),
        MapInfo("@samples", "samples", "count"),
    )
    command = child_command(tmp_path, """
        open('/proc/self/comm', 'w').write('spin,ner')
        end = time.time() + 0.6
        while time.time() < end:
            pass
    """)
    snaps, _ = run_program(text, maps, target_command=command)
    rows = snaps[-1].rows
    stacks = [r for r in rows if r.aggregation == "stacks"]
    (samples,) = [r.value for r in rows if r.aggregation == "samples"]
    assert samples > 50
    assert sum(r.value for r in stacks) == samples  # every sample's key survived the split
    # cpid is bpftrace's fork: it is "bpftrace", then "python" before the child renames itself.
    by_comm = {}
    for r in stacks:
        by_comm[r.keys[2]] = by_comm.get(r.keys[2], 0) + r.value
    assert set(by_comm) <= {"spin,ner", "python", "bpftrace"}
    assert by_comm["spin,ner"] > samples / 2
    user_frames = [f for r in stacks for f in r.keys[0].split("\n") if f]
    assert user_frames and all(f == f.strip() and "," not in f[:1] for f in user_frames)
    assert max(len(r.keys[0].split("\n")) for r in stacks) <= 4


@pytest.mark.tracing
def test_intervals_hold_their_own_counts_and_add_up(tmp_path):
    n = 3000
    text = (
        "tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @c = count(); }\n"
        "interval:ms:150 { print(@c); clear(@c); " + INTERVAL_TAIL + " }"
    )
    maps = maps_of(MapInfo("@c", "c", "count"))
    command = child_command(tmp_path, f"""
        for i in range({n}):
            os.getppid()
            if i % 500 == 499:
                time.sleep(0.1)
    """)
    snaps, _ = run_program(text, maps, target_command=command, interval=0.15)
    counts = [r.value for s in snaps for r in s.rows]
    assert sum(counts) == n
    assert len([c for c in counts if c]) >= 3  # spread over several intervals, none double counted
    assert snaps[-1].final and not any(s.final for s in snaps[:-1])
    assert [s.seq for s in snaps] == list(range(len(snaps)))


@pytest.mark.tracing
def test_duration_stops_after_the_expected_snapshots():
    text = "interval:ms:100 { @t = count(); print(@t); clear(@t); " + INTERVAL_TAIL + " }"
    snaps, _ = run_program(text, maps_of(MapInfo("@t", "t", "count")), duration=0.5, interval=0.1)
    assert len([s for s in snaps if not s.final]) == 5
    assert all(r.value == 1 for s in snaps[:5] for r in s.rows)
    assert snaps[-1].final and snaps[-1].tracer_state == "exited"


@pytest.mark.tracing
def test_early_tracer_exit_is_an_error_that_keeps_the_snapshots():
    text = "interval:ms:100 { @t = count(); print(@t); clear(@t); " + INTERVAL_TAIL + " }"
    run = BpftraceBackend().start(prepare_text(text, maps_of(MapInfo("@t", "t", "count"))), RunOptions(duration=30, interval=0.1))
    seen = []
    with pytest.raises(TracerError) as info:
        for snap in run:
            seen.append(snap)
            if len(seen) == 2:
                os.kill(run.process.pid, signal.SIGKILL)
    assert "killed by signal 9" in str(info.value)
    kept = info.value.snapshots
    assert kept[:2] == seen[:2] and kept[-1].tracer_state == "failed"


@pytest.mark.tracing
def test_a_rejected_program_is_a_tracer_error_with_bpftrace_message():
    with pytest.raises(TracerError) as info:
        run_program("tracepoint:syscalls:sys_enter_no_such_call { @x = count(); }", {}, duration=5)
    message = str(info.value)
    assert "tracepoint not found" in message and "<generated bpftrace>" in message
    assert "RLIMIT_MEMLOCK" not in message


# --------------------------------------------------------------------------- the whole path: D -> dtscope run


def d_script(tmp_path, text: str):
    path = tmp_path / "script.d"
    path.write_text(text)
    return path


def run_d_to_jsonl(dtscope_cli, tmp_path, text: str, *args: str, allowed_stderr: str = ""):
    rows, statuses, stdout, stderr = run_d_jsonl(dtscope_cli, tmp_path, text, *args)
    # no terminal: only errors would be printed (and health lines the caller allows)
    assert [line for line in stderr.splitlines() if not (allowed_stderr and allowed_stderr in line)] == []
    return rows, statuses, stdout


@pytest.mark.tracing
def test_d_script_counts_exactly_n_calls_for_the_child_pid(dtscope_cli, tmp_path):
    n = 2500
    command = child_command(tmp_path, f"""
        for _ in range({n}):
            os.getppid()
    """)
    rows, statuses, stdout = run_d_to_jsonl(
        dtscope_cli, tmp_path,
        "syscall::getppid:entry /pid == $target/ { @calls[pid] = count(); }\n"
        "syscall:::entry /pid == $target/ { @bycall[probefunc] = count(); }\n",
        "-c", command,
    )
    pid = child_pid(stdout.splitlines())  # the child's own stdout passes through
    calls = [r for r in rows if r["aggregation"] == "calls"]
    assert [(r["keys"], r["value"], r["function"]) for r in calls] == [([pid], n, "count")]
    bycall = {r["keys"][0]: r["value"] for r in rows if r["aggregation"] == "bycall"}
    assert bycall["getppid"] == n  # raw_syscalls numbers resolved to names
    assert len(statuses) == 1 and statuses[0]["final"] and statuses[0]["tracer"] == "exited"
    assert calls[0]["key_names"] == ["pid"]


BIG_VALUES = [2**31 + 5, 2**40, -(2**33)]


@pytest.mark.tracing
def test_d_quantize_and_lquantize_of_known_values(dtscope_cli, tmp_path):
    values = QUANTIZE_VALUES + BIG_VALUES
    command = child_command(tmp_path, f"""
        fd = os.dup2(os.open('/dev/null', os.O_RDONLY), 99)
        for v in {values!r}:
            try:
                os.lseek(fd, v, os.SEEK_SET)
            except OSError:
                pass
    """)
    rows, _, _ = run_d_to_jsonl(
        dtscope_cli, tmp_path,
        "syscall::lseek:entry /pid == $target && arg0 == 99/ {\n"
        "    @q = quantize((int64_t)arg1);\n"
        "    @l = lquantize((int64_t)arg1, -10, 10, 5);\n"
        "    @hi = max((int64_t)arg1); @lo = min((int64_t)arg1); @total = sum((int64_t)arg1);\n"
        "    @sd = stddev((int64_t)arg1);\n"
        "}\n",
        "-c", command,
    )
    by_name = {r["aggregation"]: r for r in rows}
    nonzero = [(b["lo"], b["hi"], b["count"]) for b in by_name["q"]["buckets"] if b["count"]]
    assert nonzero == [(-(2**34) + 1, -(2**33) + 1, 1),
                       (-127, -63, 1), (-7, -3, 1), (-3, -1, 2), (-1, 0, 1), (0, 1, 2), (1, 2, 1),
                       (2, 4, 2), (4, 8, 2), (8, 16, 1), (512, 1024, 2), (1024, 2048, 1),
                       (2**31, 2**32, 1), (2**40, 2**41, 1)]
    assert by_name["q"]["value"] == len(values)
    # lquantize(-10, 10, 5): below -10, -4..-1 in [-5, 0), 0..4 in [0, 5), 7 and 8 in [5, 10), the rest above
    lq = [(b["lo"], b["hi"], b["count"]) for b in by_name["l"]["buckets"] if b["count"]]
    assert lq == [(None, -10, 2), (-5, 0, 4), (0, 5, 6), (5, 10, 2), (10, None, 5)]
    assert by_name["hi"]["value"] == 2**40 and by_name["lo"]["value"] == -(2**33)
    assert by_name["total"]["value"] == sum(values)
    # DTrace's stddev: integer arithmetic on the exact (128-bit) sum of squares
    count, total, squares = len(values), sum(values), sum(v * v for v in values)
    assert by_name["sd"]["value"] == math.isqrt(squares // count - (abs(total) // count) ** 2)


@pytest.mark.tracing
def test_d_multi_key_with_commas_and_the_cgroup_as_zonename(dtscope_cli, tmp_path):
    command = child_command(tmp_path, """
        print('cgroup', open('/proc/self/cgroup').read().splitlines()[-1].split('::', 1)[1], flush=True)
        open('/proc/self/comm', 'w').write('x,y')
        fd = os.dup2(os.open('/dev/null', os.O_RDONLY), 99)
        for offset, whence in [(3, 0), (3, 0), (3, 1), (-9, 0)]:
            try:
                os.lseek(fd, offset, whence)
            except OSError:
                pass
    """)
    rows, _, stdout = run_d_to_jsonl(
        dtscope_cli, tmp_path,
        "syscall::lseek:entry /pid == $target && arg0 == 99/ {\n"
        "    @m[execname, arg2, (int64_t)arg1] = count();\n"
        "    @z[zonename] = count();\n"
        "}\n",
        "-c", command,
    )
    multi = sorted((tuple(r["keys"]), r["value"]) for r in rows if r["aggregation"] == "m")
    assert multi == [(("x,y", 0, -9), 1), (("x,y", 0, 3), 2), (("x,y", 1, 3), 1)]
    cgroup = next(line.split(" ", 1)[1] for line in stdout.splitlines() if line.startswith("cgroup "))
    assert [(r["keys"], r["value"]) for r in rows if r["aggregation"] == "z"] == [([cgroup], 4)]


@pytest.mark.tracing
def test_d_stack_aggregation_from_profile(dtscope_cli, tmp_path):
    command = child_command(tmp_path, """
        open('/proc/self/comm', 'w').write('spinner')
        end = time.time() + 0.6
        while time.time() < end:
            pass
    """)
    rows, _, _ = run_d_to_jsonl(
        dtscope_cli, tmp_path,
        "profile-499 /pid == $target/ { @s[ustack(3), stack(2), execname] = count(); @n = count(); }\n",
        "-c", command,
        # now and then bpftrace cannot look a stack id up (reported as a drop, not an error)
        allowed_stderr="stack lookup (data may be incomplete)",
    )
    stacks = [r for r in rows if r["aggregation"] == "s"]
    (samples,) = [r["value"] for r in rows if r["aggregation"] == "n"]
    assert samples > 50 and sum(r["value"] for r in stacks) == samples
    assert all(len(r["keys"]) == 3 and r["keys"][0].count("\n") <= 2 for r in stacks)
    assert sum(r["value"] for r in stacks if r["keys"][2] == "spinner") > samples / 2


@pytest.mark.tracing
def test_d_with_interval_gives_disjoint_snapshots_that_add_up(dtscope_cli, tmp_path):
    n = 2000
    command = child_command(tmp_path, f"""
        for i in range({n}):
            os.getppid()
            if i % 400 == 399:
                time.sleep(0.25)
    """)
    rows, statuses, _ = run_d_to_jsonl(
        dtscope_cli, tmp_path,
        "syscall::getppid:entry /pid == $target/ { @calls = count(); }\n",
        "-c", command, "--interval", "200ms",
    )
    counts = [r["value"] for r in rows]
    assert sum(counts) == n and len([c for c in counts if c]) >= 3
    assert all(r["interval"] == 0.2 for r in rows if not statuses or r["snapshot"] != statuses[-1]["snapshot"])
    assert statuses[-1]["final"] and [s["snapshot"] for s in statuses] == list(range(len(statuses)))


@pytest.mark.tracing
def test_d_with_p_traces_a_running_process_exactly(tmp_path):
    import subprocess

    n = 777
    child = subprocess.Popen(
        [sys.executable, "-c", f"import os, sys\nsys.stdin.readline()\nfor _ in range({n}):\n    os.getppid()\n"],
        stdin=subprocess.PIPE, text=True,
    )
    out = tmp_path / "out.jsonl"
    script = d_script(tmp_path, 'BEGIN { printf("ready\\n"); }\nsyscall::getppid:entry /pid == $target/ { @calls[pid] = count(); }\n')
    run = subprocess.Popen(
        [sys.executable, "-m", "dtscope", "run", str(script), "-p", str(child.pid), "--duration", "4s", "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert run.stdout.readline() == "ready\n"
        child.communicate("go\n", timeout=30)
        _, stderr = run.communicate(timeout=60)
    finally:
        for proc in (child, run):
            if proc.poll() is None:
                proc.kill()
    assert run.returncode == 0, stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["keys"], r["value"]) for r in rows if r.get("aggregation") == "calls"] == [([child.pid], n)]


@pytest.mark.tracing
def test_lost_events_are_reported_in_the_snapshot(tmp_path):
    """A flood of printf() through a one-page buffer loses events; the snapshot says how many.

    bpftrace counts what the kernel reports lost; events still in the buffer when the
    child exits are neither printed nor counted, so arrived + lost is at most n. The
    aggregation beside it is exact all the same.
    """
    n = 100_000
    text = 'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { printf("x\\n"); @calls = count(); }'
    command = child_command(tmp_path, f"""
        for _ in range({n}):
            os.getppid()
    """)
    maps = maps_of(MapInfo("@calls", "calls", "count"))
    snaps, printed = run_program(text, maps, target_command=command, tracer_options={"bufsize": "4k"})
    lost = sum(s.drops.get("lost_events", 0) for s in snaps)
    arrived = printed.count("x")
    assert lost > 0 and arrived > 0
    assert arrived + lost <= n
    assert [r.value for r in snaps[-1].rows] == [n]


def test_printa_between_markers_is_text_output_not_data():

    printed: list[str] = []
    maps = maps_of(MapInfo("@c", "c", "count", key_kinds=["str"]))
    assembler = SnapshotAssembler(maps, on_output=printed.append)
    lines = [
        json.dumps({"type": "printf", "data": PRINTA_BEGIN + "\n"}),
        json.dumps({"type": "map", "data": {"@c": {"bash": 3, "a,b": 12}}}),
        json.dumps({"type": "printf", "data": PRINTA_END + "\n"}),
        json.dumps({"type": "map", "data": {"@c": {"bash": 5}}}),
    ]
    for line in lines:
        assembler.feed(line)
    snap = assembler.snapshot(final=True)
    assert [(r.keys, r.value) for r in snap.rows] == [(("bash",), 5)]
    assert [line.split() for line in printed if line.strip()] == [["bash", "3"], ["a,b", "12"]]


# --------------------------------------------------------------------------- key kinds: syscall numbers, cgroup ids


def test_syscall_table_from_the_kernel_header_and_the_builtin_fallback(tmp_path):
    from dtscope.collectors import syscalls

    header = tmp_path / "unistd_64.h"
    header.write_text("#define __NR_read 0\n#define __NR_getppid 110\n#define __NR_futex_waitv 449\n")
    assert syscalls.parse_unistd_header(header.read_text()) == {0: "read", 110: "getppid", 449: "futex_waitv"}
    assert syscalls.syscall_table((str(header),))[110] == "getppid"
    builtin = syscalls.syscall_table((str(tmp_path / "missing.h"),))
    assert builtin[0] == "read" and builtin[110] == "getppid" and builtin[39] == "getpid"
    assert builtin[424] == "pidfd_send_signal"  # after the gap in the numbering
    assert syscalls.syscall_name(100_000) == "syscall_100000"


def test_cgroup_ids_are_directory_inodes(tmp_path):
    from dtscope.collectors.cgroups import CgroupResolver

    (tmp_path / "cgroup.controllers").write_text("")
    (tmp_path / "system.slice" / "cron.service").mkdir(parents=True)
    resolver = CgroupResolver(str(tmp_path))
    cron = os.stat(tmp_path / "system.slice" / "cron.service").st_ino
    assert resolver.path(cron) == "/system.slice/cron.service"
    assert resolver.path(os.stat(tmp_path).st_ino) == "/"
    assert resolver.path(987654321) == "cgroup:987654321"  # gone (or never there): kept as its id
    late = tmp_path / "user.slice"
    late.mkdir()
    resolver._scanned_at = float("-inf")  # as if a second had passed: a new cgroup is found
    assert resolver.path(os.stat(late).st_ino) == "/user.slice"
