"""The DTrace output parser on real captured output (tests/fixtures/dtrace-output).

The captures come from Oracle's DTrace for Linux, whose consumer prints as illumos'
does; every expected value below follows from the fixed values in the capture's .d
program (or, for the live captures, from the 1,000 getppid calls its helper made).
A few layouts no capture shows (two stacks in one key, negative distribution counts,
over-wide strings) are built with the consumer's own format strings and marked so.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dtscope.collectors.dtrace_output import (
    DTraceOutputError,
    bucket_bounds,
    classify_stderr,
    parse_bucket_line,
    parse_printa,
)
from dtscope.collectors.model import Bucket

CAPTURES = Path(__file__).parent / "fixtures" / "dtrace-output"


def lines(name: str, first: int, last: int) -> str:
    """Lines first..last (1-based, inclusive) of a capture's stdout."""
    text = (CAPTURES / f"{name}.out").read_text().split("\n")
    return "\n".join(text[first - 1 : last]) + "\n"


def buckets(row) -> list[tuple]:
    return [(b.lo, b.hi, b.count) for b in row.buckets]


# --------------------------------------------------------------------------- scalars


@pytest.mark.parametrize(
    "line, name, function, value",
    [
        (2, "c", "count", 3),
        (3, "s", "sum", 1000000000007),  # 10 - 3 + 10^12: wider than most columns
        (4, "a", "avg", 2),  # (1 + 2 + 4) / 3, integer division as the consumer prints it
        (5, "mi", "min", -7),
        (6, "ma", "max", 9),
        (7, "sd", "stddev", 2),  # population stddev of 2,4,4,4,5,5,7,9
    ],
)
def test_unkeyed_scalars(line, name, function, value):
    (row,) = parse_printa(lines("scalars", line, line), name, function)
    assert (row.aggregation, row.function, row.keys, row.value, row.buckets) == (name, function, (), value, None)


def test_string_keys():
    rows = parse_printa(lines("scalars", 8, 9), "kc", "count", ["str"])
    assert [(r.keys, r.value) for r in rows] == [(("alpha",), 1), (("beta",), 2)]


@pytest.mark.parametrize("kinds", [["str", "int"], ["", ""]], ids=["known-kinds", "guessed-kinds"])
def test_several_keys_negative_values_and_a_key_with_a_space(kinds):
    rows = parse_printa(lines("scalars", 10, 12), "ks", "sum", kinds)
    assert [(r.keys, r.value) for r in rows] == [
        (("beta", 2), -5),
        (("with space", 3), 7),
        (("alpha", 1), 100),
    ]


def test_live_count_keyed_by_execname():
    (row,) = parse_printa(lines("live_syscalls", 2, 2), "calls", "count", ["str"])
    assert (row.keys, row.value) == (("sysloop",), 1000)


def test_agg_drops_capture_has_exact_integer_keys():
    rows = parse_printa(lines("agg_drops", 2, 21), "", "count", ["int"])
    assert [(r.keys, r.value) for r in rows] == [((i,), 1) for i in range(20)]


# --------------------------------------------------------------------------- distributions


def test_quantize_with_negatives_and_zero():
    (row,) = parse_printa(lines("quantize", 2, 24), "q", "quantize")
    # values 0, 1, 1, 2, 3, 7, 8, 1000, -1, -100
    assert buckets(row) == [
        (-127, -63, 1),  # -100
        (-1, 0, 1),  # -1
        (0, 1, 1),
        (1, 2, 2),
        (2, 4, 2),  # 2, 3
        (4, 8, 1),  # 7
        (8, 16, 1),
        (512, 1024, 1),  # 1000
    ]
    assert row.value == 10 and row.keys == ()


def test_quantize_labels_wider_than_their_column():
    (row,) = parse_printa(lines("quantize", 25, 154), "big", "quantize")
    assert buckets(row) == [(-(2**63) + 1, -(2**62) + 1, 1), (2**62, 2**63, 1)]
    assert row.value == 2


def test_keyed_quantize():
    rows = parse_printa(lines("quantize", 155, 169), "kq", "quantize", ["str"])
    assert [(r.keys, buckets(r), r.value) for r in rows] == [
        (("write",), [(64, 128, 1)], 1),
        (("read",), [(512, 1024, 1), (4096, 8192, 1)], 2),
    ]


def test_keep_zero_buckets_keeps_the_context_rows():
    (row,) = parse_printa(lines("live_syscalls", 3, 8), "lat", "quantize", keep_zero_buckets=True)
    assert buckets(row) == [(0, 1, 0), (1, 2, 1000), (2, 4, 0)]


def test_lquantize_underflow_and_overflow_rows():
    (row,) = parse_printa(lines("lquantize", 2, 16), "l", "lquantize")
    # lquantize(v, 0, 100, 10) of -5, 0, 15, 15, 99, 100, 5000
    assert buckets(row) == [(None, 0, 1), (0, 10, 1), (10, 20, 2), (90, 100, 1), (100, None, 2)]
    assert row.value == 7


def test_lquantize_default_step():
    (row,) = parse_printa(lines("lquantize", 17, 23), "l1", "lquantize")
    assert buckets(row) == [(3, 4, 1), (4, 5, 2)]


def test_keyed_lquantize_with_two_keys():
    rows = parse_printa(lines("lquantize", 24, 35), "kl", "lquantize", ["str", "int"])
    assert [(r.keys, buckets(r)) for r in rows] == [(("a", 1), [(0, 100, 1)]), (("b", 2), [(900, 1000, 1)])]


def test_llquantize_log_linear_buckets():
    (row,) = parse_printa(lines("llquantize", 2, 116), "ll", "llquantize")
    # llquantize(v, 10, 0, 6, 20) of 0, 5, 55, 555, 5555, 5555555; Oracle's "0" row is
    # illumos' (and the bpftrace backend's) underflow bucket when nothing was negative
    assert buckets(row) == [
        (None, 1, 1),
        (5, 6, 1),
        (55, 60, 1),
        (550, 600, 1),
        (5500, 6000, 1),
        (5500000, 6000000, 1),
    ]


def test_llquantize_abs_bucket_and_overflow():
    (row,) = parse_printa(lines("llquantize", 117, 158), "ll2", "llquantize")
    # llquantize(v, 10, 1, 2, 20) of 1, 150, 5000: |v| < 10 is one bucket
    assert buckets(row) == [(-9, 10, 1), (150, 200, 1), (1000, None, 1)]


def test_three_interval_snapshots_of_tick_trunc():
    snapshots = [((3, 4), (6, 12)), ((15, 16), (18, 23)), ((26, 27), (29, 35))]
    seen = []
    for (t0, t1), (h0, h1) in snapshots:
        t_rows = parse_printa(lines("tick_trunc", t0, t1), "t", "count", ["str", "int"])
        (h_row,) = parse_printa(lines("tick_trunc", h0, h1), "h", "quantize")
        seen.append(([(r.keys, r.value) for r in t_rows], buckets(h_row)))
    assert seen == [
        ([(("ticks", 1), 1), (("ticks", 2), 1)], [(64, 128, 1), (128, 256, 1)]),
        ([(("ticks", 3), 1), (("ticks", 4), 1)], [(256, 512, 2)]),
        ([(("ticks", 5), 1), (("ticks", 6), 1)], [(256, 512, 1), (512, 1024, 1)]),
    ]


# --------------------------------------------------------------------------- stacks


def test_kernel_stack_key_spans_lines():
    (row,) = parse_printa(lines("stacks", 2, 7), "k", "count", ["stack"])
    frames = [
        "vmlinux`perf_syscall_enter+0x18d",
        "vmlinux`syscall_trace_enter+0x180",
        "vmlinux`do_syscall_64+0x1fa",
        "vmlinux`entry_SYSCALL_64_after_hwframe+0x76",
    ]
    assert row.keys == ("\n".join(frames),)
    assert row.value == 1000


def test_user_stack_key():
    (row,) = parse_printa(lines("stacks", 8, 10), "u", "count", ["ustack"])
    assert (row.keys, row.value) == (("0x7fd43be8f829",), 1000)


# Built with the consumer's format strings (no capture has these layouts):
# a stack is "\n" + "%14s%s\n" per frame; "  %-50s" a string; " %16lld" a value.
def frames(*names: str) -> str:
    return "\n" + "".join(f"{'':14}{n}\n" for n in names)


def test_two_stacks_in_one_key_are_separated_by_a_blank_line():
    text = (
        frames("unix`a+0x1", "unix`b+0x2") + frames("libc.so.1`read+0x8", "app`main+0x10") + f" {7:16d}\n"
        + frames("unix`c+0x3") + frames("app`main+0x10") + f" {5:16d}\n"
    )
    rows = parse_printa(text, "both", "count", ["stack", "ustack"])
    assert [(r.keys, r.value) for r in rows] == [
        (("unix`a+0x1\nunix`b+0x2", "libc.so.1`read+0x8\napp`main+0x10"), 7),
        (("unix`c+0x3", "app`main+0x10"), 5),
    ]


def test_string_then_stack_then_integer_keys():
    text = f"  {'bash':<50}" + frames("unix`x+0x1", "unix`y+0x2") + f" {4242:8d} {3:16d}\n"
    (row,) = parse_printa(text, "mix", "count", ["str", "stack", "int"])
    assert (row.keys, row.value) == (("bash", "unix`x+0x1\nunix`y+0x2", 4242), 3)


def test_stack_keyed_quantize():
    text = frames("unix`x+0x1") + "\n" + (
        f"{'value':>16} {'------------- Distribution -------------':>41} {'count':<9}\n"
        f"{4:16d} |{'':40} {0:<9}\n"
        f"{8:16d} |{'@' * 40} {3:<9}\n"
        f"{16:16d} |{'':40} {0:<9}\n"
        "\n"
    )
    (row,) = parse_printa(text, "lat", "quantize", ["stack"])
    assert (row.keys, buckets(row), row.value) == (("unix`x+0x1",), [(8, 16, 3)], 3)


def test_strings_wider_than_their_column_and_values_wider_than_theirs():
    long_key = "a string key that is much longer than fifty columns, with spaces"
    text = f"  {long_key:<50} {2**40:16d} {12345678901234567890:16d}\n"
    (row,) = parse_printa(text, "w", "sum", ["str", "int"])
    assert (row.keys, row.value) == ((long_key, 2**40), 12345678901234567890)


def test_two_string_keys():
    text = f"  {'first key':<50}  {'second':<50} {9:16d}\n"
    (row,) = parse_printa(text, "two", "count", ["str", "str"])
    assert (row.keys, row.value) == (("first key", "second"), 9)


def test_negative_distribution_counts_draw_left_of_the_bar():
    # quantize(v, -1): dt_print_quantline's negatives-only layout "%s%s| %-9lld".
    assert parse_bucket_line(f"{2:16d} {'':30}{'@' * 10}| {-3:<9}") == ("2", -3)
    assert parse_bucket_line(f"{'< 0':>16} {'':40}| {0:<9}") == ("< 0", 0)


def test_empty_aggregation_has_no_rows():
    assert parse_printa("", "x", "count") == []
    assert parse_printa("\n", "x", "quantize") == []


def test_malformed_output_says_where():
    with pytest.raises(DTraceOutputError, match="line 1"):
        parse_printa("  bash   not-a-number\n", "x", "count", ["str"])
    with pytest.raises(DTraceOutputError, match="distribution header"):
        parse_printa("\n   garbage\n", "x", "quantize")


def test_bucket_bounds_tables():
    assert bucket_bounds("quantize", ["-4", "-2", "-1", "0", "1", "2", "4"]) == [
        (-7, -3), (-3, -1), (-1, 0), (0, 1), (1, 2), (2, 4), (4, 8),
    ]
    assert bucket_bounds("lquantize", ["< -10", "-10", "0", "10", ">= 20"]) == [
        (None, -10), (-10, 0), (0, 10), (10, 20), (20, None),
    ]
    # Oracle's llquantize with negative values: symmetric buckets around |v| < 10.
    assert bucket_bounds("llquantize", ["<= -1000", "-150", "-100", "abs() < 10", "10", "15", ">= 1000"]) == [
        (None, -999), (-999, -149), (-149, -99), (-9, 10), (10, 15), (15, 1000), (1000, None),
    ]
    # (DTrace always prints the row before the first counted one, so "-1" has its lower neighbour)
    assert bucket_bounds("llquantize", ["-2", "-1", "0", "1"], [0, 2, 1, 0])[1:] == [(-1, 0), (0, 1), (1, 2)]
    assert bucket_bounds("llquantize", ["-2", "-1", "0", "1"], [0, 0, 1, 0])[2:] == [(None, 1), (1, 2)]
    assert Bucket(1, 2, 3).to_json() == {"lo": 1, "hi": 2, "count": 3}


# --------------------------------------------------------------------------- stderr


def err(name: str) -> str:
    return (CAPTURES / f"{name}.err").read_text().splitlines()[0]


def test_captured_drop_messages():
    e = classify_stderr(err("agg_drops"))
    assert (e.kind, e.drop_kind, e.count, e.cpu, e.tag) == ("drop", "aggregation", 3948, 0, None)
    e = classify_stderr(err("agg_drops_tags"))
    assert (e.kind, e.drop_kind, e.count, e.cpu, e.tag) == ("drop", "aggregation", 3892, 0, "DTRACEDROP_AGGREGATION")
    e = classify_stderr(err("dynvar_drops"))
    assert (e.kind, e.drop_kind, e.count, e.cpu) == ("drop", "dynamic", 976, None)


@pytest.mark.parametrize(
    "message, kind, count",
    [
        # The consumer's wording (libdtrace dt_handle.c), singular and plural.
        ("dtrace: 1 drop on CPU 3", "principal", 1),
        ("dtrace: 12 drops on CPU 0", "principal", 12),
        ("dtrace: 5 dynamic variable drops with non-empty rinsing list", "dynamic_rinsing", 5),
        ("dtrace: 2 dynamic variable drops with non-empty dirty list", "dynamic_dirty", 2),
        ("dtrace: 7 speculative drops", "speculative", 7),
        ("dtrace: 1 failed speculation (available buffer(s) still busy)", "speculation_busy", 1),
        ("dtrace: 4 failed speculations (no speculative buffer available)", "speculation_unavailable", 4),
        ("dtrace: 3 jstack()/ustack() string table overflows", "stack_string_overflow", 3),
        ("dtrace: 1 error in ERROR probe enabling", "error_probe", 1),
        ("dtrace: [DTRACEDROP_SPEC] 9 speculative drops", "speculative", 9),
        ("dtrace: [DTRACEDROP_DYNDIRTY] 6 dynamic variable drops with non-empty dirty list", "dynamic_dirty", 6),
    ],
)
def test_every_drop_kind(message, kind, count):
    e = classify_stderr(message)
    assert (e.kind, e.drop_kind, e.count) == ("drop", kind, count)


def test_compile_errors_keep_line_and_tag():
    e = classify_stderr(err("syntax_error"))
    assert (e.kind, e.line, e.tag, e.message) == ("compile_error", 3, None, 'syntax error near ";"')
    e = classify_stderr(err("syntax_error_tags"))
    assert (e.kind, e.line, e.tag) == ("compile_error", 1, "D_LQUANT_MISMATCH")
    assert e.message == "lquantize( ) base (argument #1) must be less than limit (argument #2)"
    e = classify_stderr(err("unknown_probe"))
    assert (e.kind, e.line, e.message) == ("compile_error", 1, "probe description foo:bar:baz:qux does not match any probes")
    e = classify_stderr(err("unknown_var"))
    assert (e.kind, e.line) == ("compile_error", 1)


def test_runtime_errors_info_and_privileges():
    assert classify_stderr(err("runtime_error")).kind == "runtime_error"
    # illumos words it differently
    illumos = "dtrace: error on enabled probe ID 2 (ID 1: dtrace:::BEGIN): invalid address (0x0) in action #1 at DIF offset 12"
    assert classify_stderr(illumos).kind == "runtime_error"
    assert classify_stderr(err("not_quiet")).kind == "info"
    assert classify_stderr("dtrace: pid 4242 has exited").kind == "info"
    e = classify_stderr("dtrace: failed to initialize dtrace: DTrace requires additional privileges")
    assert e.kind == "privileges"
    # Oracle's DTrace for Linux as a non-root user (seen on this project's VM)
    assert classify_stderr("dtrace: run as root for tracing and listing probes").kind == "privileges"
    assert classify_stderr("dtrace: processing aborted: Abort due to systemic unresponsiveness").kind == "other"
