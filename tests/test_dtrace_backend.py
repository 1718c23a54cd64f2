"""The DTrace backend end to end, through tests/fake_dtrace.py.

The fake is a stand-in ``dtrace`` that replays real captured DTrace output inside
dtscope's snapshot frames, at the program's own tick rate, and behaves as dtrace does
on SIGINT, on ``-c``, on compile errors, on missing privileges and when it dies. So
these tests exercise the real process handling: start, interval snapshots, duration,
early exit, stderr, exit codes.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pytest
from dtscope.collectors.base import RunOptions, TracerError, TracerNotFound, TracerPermissionError
from dtscope.collectors.dtrace import DTraceBackend
from dtscope.dscript.aggregations import aggregations_of, key_kind
from dtscope.dscript.script import LoadedScript
from dtscope.dscript import parse
from dtscope.dscript.diagnostics import DiagnosticError

from dtscope.errors import UsageError

FAKE_SCRIPT = Path(__file__).parent / "fake_dtrace.py"


def fake_dtrace_binary(directory: Path) -> Path:
    """An executable ``dtrace`` that runs the fake with this interpreter (quick start)."""
    binary = directory / "dtrace"
    binary.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "{FAKE_SCRIPT}" "$@"\n')
    binary.chmod(0o755)
    return binary


FAKE = fake_dtrace_binary(Path(tempfile.mkdtemp(prefix="fake-dtrace-")))

LIVE = 'syscall::getppid:entry /execname == "sysloop"/ { @calls[execname] = count(); @lat = quantize(1); }'
TICKS = 'int n;\ntick-200ms\n{\n\tn++;\n\t@t["ticks", n] = count();\n\t@h = quantize(n * 100);\n}\n'


@pytest.fixture
def argv_log(tmp_path, monkeypatch) -> Path:
    log = tmp_path / "argv.jsonl"
    monkeypatch.setenv("FAKE_DTRACE_LOG", str(log))
    return log


def logged(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def run(src: str, *, name: str = "test.d", dialect: str | None = "oracle", **opts):
    """(snapshots, program output lines, prepared) of one run through the fake."""
    output: list[str] = []
    options = RunOptions(tracer_path=str(FAKE), on_output=output.append, **opts)
    backend = DTraceBackend(dialect=dialect)
    prepared = backend.prepare(script(src, name), options)
    return list(backend.stream(prepared, options)), output, prepared


def script(src: str, name: str = "test.d") -> LoadedScript:
    return LoadedScript.of_program(parse(src, name), name)


def values(snap, aggregation: str) -> dict:
    return {r.keys: r.value for r in snap.rows if r.aggregation == aggregation}


def buckets(snap, aggregation: str, keys=()) -> list[tuple]:
    (row,) = [r for r in snap.rows if r.aggregation == aggregation and r.keys == keys]
    return [(b.lo, b.hi, b.count) for b in row.buckets]


# --------------------------------------------------------------------------- snapshots


def test_interval_snapshots_with_trunc(argv_log):
    started = time.monotonic()
    snaps, _, prepared = run(TICKS, interval=0.2)
    elapsed = time.monotonic() - started
    assert [(s.seq, s.final, s.tracer_state) for s in snaps] == [
        (0, False, "running"), (1, False, "running"), (2, False, "running"), (3, True, "exited"),
    ]
    assert [values(s, "t") for s in snaps] == [
        {("ticks", 1): 1, ("ticks", 2): 1},
        {("ticks", 3): 1, ("ticks", 4): 1},
        {("ticks", 5): 1, ("ticks", 6): 1},
        {},  # everything was printed and truncated by the ticks
    ]
    assert [buckets(s, "h") for s in snaps[:3]] == [
        [(64, 128, 1), (128, 256, 1)],
        [(256, 512, 2)],
        [(256, 512, 1), (512, 1024, 1)],
    ]
    # measured by (fake) dtrace's clock between frames: the tick rate, give or take load
    assert all(0.19 <= s.interval < 0.6 for s in snaps[:3]), [s.interval for s in snaps]
    assert elapsed >= 0.6  # replayed at the program's own tick rate
    assert snaps[0].aggregations["t"].key_names == ['"ticks"', "n"]
    assert "tick-200ms" in prepared.program.text and "trunc(@t);" in prepared.program.text


def test_duration_stops_dtrace_with_sigint_and_keeps_exact_totals(argv_log):
    started = time.monotonic()
    snaps, _, _ = run(LIVE, interval=0.1, duration=0.5)
    assert time.monotonic() - started < 10
    assert snaps[-1].final and snaps[-1].tracer_state == "exited"
    assert not any(s.final for s in snaps[:-1]) and len(snaps) >= 2
    assert sum(values(s, "calls").get(("sysloop",), 0) for s in snaps) == 1000
    lat = [r for s in snaps for r in s.rows if r.aggregation == "lat"]
    assert sum(b.count for r in lat for b in r.buckets) == 1000


def test_duration_counts_from_begin_not_from_dtrace_start_up(argv_log, monkeypatch):
    monkeypatch.setenv("FAKE_DTRACE_STARTUP", "1.0")
    started = time.monotonic()
    snaps, _, prepared = run(LIVE, interval=0.1, duration=0.3)
    assert time.monotonic() - started >= 1.3  # 1 s of start-up, then the 0.3 s duration
    assert snaps[-1].final and not any(s.final for s in snaps[:-1]) and len(snaps) >= 2
    assert sum(values(s, "calls").get(("sysloop",), 0) for s in snaps) == 1000
    assert "BEGIN\n{\n\tprintf(\"\\036dtscope-" in prepared.program.text


def test_stopped_before_tracing_began(argv_log, monkeypatch):
    monkeypatch.setenv("FAKE_DTRACE_STARTUP", "30")
    backend = DTraceBackend(dialect="oracle")
    options = RunOptions(tracer_path=str(FAKE), on_output=lambda line: None)
    run = backend.start(backend.prepare(script(LIVE), options), options)
    import threading

    threading.Timer(1.0, lambda: run.process.send_signal(__import__("signal").SIGINT)).start()
    with pytest.raises(TracerError) as caught:
        list(run)
    assert caught.value.snapshots == []


def test_no_interval_gives_one_final_snapshot_of_every_function(argv_log):
    src = """BEGIN
{
	@c = count(); @s = sum(10); @a = avg(1); @mi = min(5); @ma = max(5); @sd = stddev(2);
	@kc["alpha"] = count(); @ks["alpha", 1] = sum(100);
	exit(0);
}
"""
    (snap,), _, _ = run(src)
    assert (snap.final, snap.interval, snap.seq) == (True, None, 0)
    got = {r.aggregation: (r.function, r.value) for r in snap.rows if not r.keys}
    assert got == {
        "c": ("count", 3), "s": ("sum", 1000000000007), "a": ("avg", 2),
        "mi": ("min", -7), "ma": ("max", 9), "sd": ("stddev", 2),
    }
    assert values(snap, "kc") == {("alpha",): 1, ("beta",): 2}
    assert values(snap, "ks") == {("beta", 2): -5, ("with space", 3): 7, ("alpha", 1): 100}


def test_distributions_and_stacks_end_to_end(argv_log):
    (snap,), _, _ = run(
        "BEGIN { @q = quantize(0); @big = quantize(4611686018427387904); @kq[probefunc] = quantize(1); exit(0); }"
    )
    assert buckets(snap, "big") == [(-(2**63) + 1, -(2**62) + 1, 1), (2**62, 2**63, 1)]
    assert buckets(snap, "kq", ("read",)) == [(512, 1024, 1), (4096, 8192, 1)]
    (snap,), _, _ = run("BEGIN { @l = lquantize(0, 0, 100, 10); @l1 = lquantize(3, 0, 5); @kl[\"a\", 1] = lquantize(1, 0, 1000, 100); exit(0); }")
    assert buckets(snap, "l") == [(None, 0, 1), (0, 10, 1), (10, 20, 2), (90, 100, 1), (100, None, 2)]
    assert buckets(snap, "kl", ("b", 2)) == [(900, 1000, 1)]
    (snap,), _, _ = run("BEGIN { @ll = llquantize(0, 10, 0, 6, 20); @ll2 = llquantize(1, 10, 1, 2, 20); exit(0); }")
    assert buckets(snap, "ll2") == [(-9, 10, 1), (150, 200, 1), (1000, None, 1)]
    (snap,), _, _ = run("syscall::getppid:entry { @k[stack()] = count(); @u[ustack()] = count(); }")
    (k_row,) = [r for r in snap.rows if r.aggregation == "k"]
    assert k_row.keys[0].split("\n")[0] == "vmlinux`perf_syscall_enter+0x18d" and k_row.value == 1000
    assert values(snap, "u") == {("0x7fd43be8f829",): 1000}


# --------------------------------------------------------------------------- drops and errors


def test_aggregation_drops_with_droptags_and_the_anonymous_aggregation(argv_log):
    src = "BEGIN { i = 0; }\nprofile-1000 /i < 20000/ { @[i++] = count(); }\n"
    (snap,), _, _ = run(src)
    assert snap.drops == {"aggregation": 3892}  # from the -x droptags capture
    assert values(snap, "") == {(i,): 1 for i in range(20)}
    assert ["-x", "droptags"] == logged(argv_log)[-1][1:3]


def test_a_dtrace_without_droptags_is_rerun_without_it(argv_log, monkeypatch):
    monkeypatch.setenv("FAKE_DTRACE_NO_DROPTAGS", "1")
    src = "BEGIN { i = 0; }\nprofile-1000 /i < 20000/ { @[i++] = count(); }\n"
    (snap,), _, _ = run(src)
    assert snap.drops == {"aggregation": 3948}  # the untagged capture's wording
    assert ["droptags" in argv for argv in logged(argv_log)] == [True, False]


def test_dynamic_variable_drops(argv_log):
    (snap,), _, _ = run("profile-1000 { x[timestamp] = 1; }")
    assert snap.drops == {"dynamic": 976} and snap.rows == []


def test_runtime_errors_and_program_output(argv_log):
    (snap,), output, _ = run('BEGIN { trace(*(int *)0); }\nBEGIN { printf("after the error\\n"); exit(0); }')
    assert output == ["after the error"]
    assert len(snap.errors) == 1 and "invalid address (0x0)" in snap.errors[0]


@pytest.mark.parametrize(
    "src, expected",
    [
        (
            "BEGIN\n{\n\tx = 1;\n}\n\nfoo:bar:baz:qux { trace(1); }\n",
            "probe.d:6: error: probe description foo:bar:baz:qux does not match any probes",
        ),
        (
            "BEGIN { x = 1; }\nBEGIN\n{\n\ttrace(no_such_variable);\n}\n",
            "probe.d:4: error: failed to resolve no_such_variable: Unknown variable name",
        ),
        (
            "\n\nBEGIN { @a = lquantize(1, 10, 0, 1); exit(0); }\n",
            "probe.d:3: error: lquantize( ) base (argument #1) must be less than limit (argument #2) [D_LQUANT_MISMATCH]",
        ),
    ],
    ids=["unknown-probe", "unknown-variable", "errtags"],
)
def test_compile_errors_point_at_the_users_file_and_line(argv_log, src, expected):
    with pytest.raises(TracerError) as caught:
        run(src, name="probe.d")
    assert expected in str(caught.value)
    assert caught.value.snapshots == []


def test_dtrace_dying_mid_run_keeps_what_was_collected(argv_log):
    with pytest.raises(TracerError) as caught:
        run("profile-1000 { @dying = count(); }", interval=0.1)
    err = caught.value
    assert "exited with status 1, after 3 snapshot(s)" in str(err) and "processing aborted" in str(err)
    assert [(s.seq, s.tracer_state) for s in err.snapshots] == [(0, "running"), (1, "running"), (2, "failed")]
    assert values(err.snapshots[0], "dying") == {(): 3}


def test_missing_privileges(argv_log):
    with pytest.raises(TracerPermissionError, match="requires additional privileges"):
        run("BEGIN { @needs_privileges = count(); }")


def test_missing_binary(tmp_path, monkeypatch):
    with pytest.raises(TracerNotFound, match="--dtrace /no/such/dtrace"):
        DTraceBackend.find_binary("/no/such/dtrace")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TracerNotFound, match="illumos"):
        DTraceBackend.find_binary()
    with pytest.raises(TracerNotFound):
        DTraceBackend().prepare(script("BEGIN { @c = count(); }"), RunOptions())


# --------------------------------------------------------------------------- the command line


def test_command_line_options_target_and_macro_args(argv_log):
    src = 'syscall::getppid:entry /pid == $target/ { @calls[execname] = count(); }'
    started = time.monotonic()
    snaps, _, _ = run(src, target_command="sleep 0.3", tracer_options={"bufsize": "8m", "strsize": "512"},
                      macro_args=["42"])
    assert time.monotonic() - started < 5  # ended when the command did
    assert snaps[-1].final and values(snaps[-1], "calls") == {("sysloop",): 1000}
    argv = logged(argv_log)[-1]
    assert argv[:7] == ["-q", "-x", "droptags", "-x", "bufsize=8m", "-x", "strsize=512"]
    assert argv[7:9] == ["-c", "sleep 0.3"]
    assert argv[9] == "-s" and argv[10].endswith(".d") and argv[11:] == ["42"]


def test_pid_destructive_and_interval_rates():
    backend = DTraceBackend(dialect="illumos")
    cmd = backend.command("dtrace", "/tmp/p.d", RunOptions(target_pid=77, destructive=True, interval=1.0))
    assert cmd == ["dtrace", "-q", "-x", "droptags", "-x", "aggrate=20hz", "-x", "switchrate=20hz",
                   "-w", "-p", "77", "-s", "/tmp/p.d"]


def test_options_of_the_scripts_interpreter_line_are_passed():
    program = parse("BEGIN { @c = count(); }")
    program.interpreter_options = {"quiet": None, "Z": None, "bufsize": "4m", "strsize": "64"}
    backend = DTraceBackend(dialect="illumos")
    prepared = backend.prepare(LoadedScript.of_program(program), RunOptions())
    options = RunOptions(tracer_options={"strsize": "128"})
    cmd = backend.command("dtrace", "/tmp/p.d", options, script_options=prepared.script_options)
    assert cmd == ["dtrace", "-q", "-x", "droptags", "-Z", "-x", "bufsize=4m", "-x", "strsize=128", "-s", "/tmp/p.d"]


def test_destructive_actions_are_refused_before_running(argv_log):
    program = parse('BEGIN { system("echo hi"); exit(0); }')
    with pytest.raises(UsageError, match="--destructive"):
        DTraceBackend(dialect="oracle").prepare(LoadedScript.of_program(program), RunOptions(tracer_path=str(FAKE)))
    assert logged(argv_log) == []  # dtrace never ran
    prepared = DTraceBackend(dialect="oracle").prepare(LoadedScript.of_program(program), RunOptions(destructive=True))
    assert prepared.destructive is True


def test_options_that_change_the_printa_layout_are_refused():
    program = parse("#pragma D option aggpack\nBEGIN { @c = quantize(1); }")
    with pytest.raises(UsageError, match="aggpack changes how dtrace prints aggregations"):
        DTraceBackend(dialect="oracle").prepare(LoadedScript.of_program(program), RunOptions())


def test_unknown_tracer_option_is_refused():
    with pytest.raises(UsageError, match="-x bufsiz"):
        DTraceBackend(dialect="oracle").prepare(script("BEGIN { @c = count(); }"), RunOptions(tracer_options={"bufsiz": "4m"}))


def test_closing_the_stream_early_stops_dtrace(argv_log):
    backend = DTraceBackend(dialect="oracle")
    options = RunOptions(tracer_path=str(FAKE), interval=0.1, on_output=lambda line: None)
    run = backend.start(backend.prepare(script(LIVE), options), options)
    stream = iter(run)
    first = next(stream)
    assert values(first, "calls") == {("sysloop",): 1000}
    stream.close()
    assert run.process is not None and run.process.poll() is not None


# --------------------------------------------------------------------------- dialects


IF_ELSE = 'syscall::read:entry { if (arg0 == 0) { @r["stdin"] = count(); } else { @r["other"] = count(); } }'


def test_dialect_comes_from_dtrace_dash_V(monkeypatch):
    monkeypatch.setattr(DTraceBackend, "_dialects", {})
    options = RunOptions(tracer_path=str(FAKE))
    prepared = DTraceBackend().prepare(script(IF_ELSE), options)
    assert prepared.framing.dialect == "oracle"
    assert "if (" not in prepared.program.text and "/this->_dtscope_c1/" in prepared.program.text
    monkeypatch.setenv("FAKE_DTRACE_VERSION", "dtrace: Sun D 1.13")
    monkeypatch.setattr(DTraceBackend, "_dialects", {})
    prepared = DTraceBackend().prepare(script(IF_ELSE), options)
    assert prepared.framing.dialect == "illumos" and "if (arg0 == 0)" in prepared.program.text


def test_zonename_is_refused_for_oracle_d():
    program = parse("syscall:::entry { @[zonename] = count(); }", "z.d")
    with pytest.raises(DiagnosticError, match="z.d:1:.*zonename is not available"):
        DTraceBackend(dialect="oracle").prepare(LoadedScript.of_program(program), RunOptions())
    prepared = DTraceBackend(dialect="illumos").prepare(LoadedScript.of_program(program), RunOptions())
    assert "@[zonename] = count();" in prepared.program.text


def test_aggregation_info_and_key_kinds():
    program = parse(
        'syscall:::entry { @a[execname, pid, stack(), ustack(), func(arg0), self->x, copyinstr(arg1)] = sum(arg2); '
        '@b = lquantize(arg0, 0, 10); }'
    )
    info = aggregations_of(program)
    assert (info["a"].function, info["b"].function) == ("sum", "lquantize")
    assert info["a"].key_kinds == ["str", "int", "stack", "ustack", "sym", "", "str"]
    assert info["a"].key_names[:3] == ["execname", "pid", "stack()"]
    assert key_kind(parse("BEGIN { @[(string)arg0] = count(); }").clauses[0].body[0].keys[0]) == "str"


def test_fake_is_executable_on_its_own():
    assert os.access(FAKE_SCRIPT, os.X_OK)


def test_if_else_lowering_keeps_order_and_guards():
    from dtscope.dscript.d_dialects import OracleD2

    src = """syscall::read:entry
/pid != 0/
{
	self->n++;
	if (arg0 > 2) {
		@big = count();
		if (arg2 > 100) {
			@huge = count();
		}
	} else if (arg0 == 1) {
		@one = count();
	} else {
		@small = count();
	}
	@all = count();
}
"""
    text = OracleD2().generate(parse(src))
    clauses = [c.strip() for c in text.split("\n\n")]
    # Predicates: the original once, then each branch under the conjunction of its guards.
    assert [c.split("\n")[1] if c.split("\n")[1].startswith("/") else None for c in clauses] == [
        None,
        "/this->_dtscope_p1/",
        "/this->_dtscope_p1 && this->_dtscope_c2/",
        "/this->_dtscope_p1 && this->_dtscope_c2 && this->_dtscope_c3/",
        "/this->_dtscope_p1 && !this->_dtscope_c2/",
        "/this->_dtscope_p1 && !this->_dtscope_c2 && this->_dtscope_c4/",
        "/this->_dtscope_p1 && !this->_dtscope_c2 && !this->_dtscope_c4/",
        "/this->_dtscope_p1/",
    ]
    assert "this->_dtscope_p1 = pid != 0 ? 1 : 0;" in clauses[0]
    # The condition is evaluated after the statements before it, in the same clause.
    assert clauses[1].index("self->n++;") < clauses[1].index("this->_dtscope_c2 = arg0 > 2 ? 1 : 0;")
    assert "@all = count();" in clauses[-1] and "if" not in text.replace("this->", "")
    assert all(c.startswith("syscall::read:entry") for c in clauses)
    # The illumos dialect keeps if/else as written.
    from dtscope.dscript.d_dialects import IllumosD

    assert "} else if (arg0 == 1) {" in IllumosD().generate(parse(src))


def test_speculation_with_if_else_is_refused_for_oracle_d():
    from dtscope.dscript.d_dialects import OracleD2

    src = "syscall::read:entry { self->s = speculation(); speculate(self->s); if (arg0) { trace(arg0); } }"
    with pytest.raises(DiagnosticError, match="speculations"):
        OracleD2().generate(parse(src))


def test_source_map_points_generated_lines_at_the_source():
    from dtscope.dscript.d_dialects import OracleD2

    src = "BEGIN { x = 1; }\n\n\nsyscall::read:entry\n/arg0 == 0/\n{\n\tif (arg2 > 1) { @a = count(); }\n}\n"
    text, source_map = OracleD2().generate_mapped(parse(src, "m.d"))
    lines = text.split("\n")
    at = lines.index("\t@a = count();") + 1
    assert (source_map.lookup(at).file, source_map.lookup(at).line) == ("m.d", 7)
    assert source_map.lookup(1).line == 1 and source_map.lookup(10_000) is None


def test_request_stop_ends_the_run_with_a_final_snapshot(argv_log):
    import threading

    backend = DTraceBackend(dialect="oracle")
    options = RunOptions(tracer_path=str(FAKE), interval=0.1, on_output=lambda line: None)
    run = backend.start(backend.prepare(script(LIVE), options), options)
    threading.Timer(1.0, run.request_stop).start()
    snaps = list(run)  # no duration: only the request ends it
    assert snaps[-1].final and snaps[-1].tracer_state == "exited"
    assert sum(values(s, "calls").get(("sysloop",), 0) for s in snaps) == 1000


def test_a_tracer_error_keeps_only_the_latest_snapshots(argv_log, monkeypatch):
    from dtscope.collectors.runner import KEPT_ON_ERROR

    monkeypatch.setenv("FAKE_DTRACE_DIE_AFTER", str(KEPT_ON_ERROR + 4))
    with pytest.raises(TracerError) as caught:
        run("profile-1000 { @dying = count(); }", interval=0.02)
    kept = caught.value.snapshots
    assert f"after {KEPT_ON_ERROR + 5} snapshot(s)" in str(caught.value)
    assert len(kept) == KEPT_ON_ERROR and kept[-1].tracer_state == "failed"
    assert [s.seq for s in kept] == list(range(5, KEPT_ON_ERROR + 5))


def test_frames_are_found_after_program_output_without_a_newline():
    from dtscope.collectors.dtrace import DTraceReader
    from dtscope.collectors.model import AggInfo

    output: list[str] = []
    aggregations = {"c": AggInfo("c", "count", ["execname"], key_kinds=["str"])}
    reader = DTraceReader(framing("ab12"), aggregations, RunOptions(interval=1.0, on_output=output.append))
    mark = "\x1edtscope-ab12"
    lines = [
        f"{mark} started 1000000000 1700000000000000000",
        f"partial line{mark} snapshot interval 3000000000 1700000002000000000",
        f"{mark} agg c",
        "",
        f"  {'bash':<50} {7:16d}",
        f"{mark} end c",
        f"{mark} snapshot-end",
    ]
    snaps = [s for line in lines for s in reader.stdout(line)]
    assert output == ["partial line"]
    (snap,) = snaps
    assert [(r.keys, r.value) for r in snap.rows] == [(("bash",), 7)]
    assert snap.interval == 2.0  # by dtrace's clock, from BEGIN
    assert snap.time.isoformat() == "2023-11-14T22:13:22+00:00"


def test_runtime_error_floods_are_counted_not_kept():
    from dtscope.collectors.dtrace import ERRORS_KEPT_PER_SNAPSHOT, DTraceReader

    reader = DTraceReader(framing("ab12"), {}, RunOptions())
    message = "dtrace: error on enabled probe ID 2 (ID 1: dtrace:::BEGIN): invalid address (0x0) in action #1"
    for _ in range(ERRORS_KEPT_PER_SNAPSHOT + 25):
        reader.stderr(message)
    mark = "\x1edtscope-ab12"
    assert reader.stdout(f"{mark} snapshot interval") == []
    (snap,) = reader.stdout(f"{mark} snapshot-end")
    assert len(snap.errors) == ERRORS_KEPT_PER_SNAPSHOT + 1
    assert snap.errors[-1] == "... and 25 more runtime error(s)"


def framing(nonce: str):
    from dtscope.dscript.lowered import DTraceFraming, SourceMap

    return DTraceFraming(nonce, "oracle", SourceMap([]), 0)
