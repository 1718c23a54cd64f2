"""Every way `dtscope run` can fail gives a clear message and the documented exit status.

0 ok, 1 tracing or script errors, 2 usage errors; never a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from dtscope.commands.run import parse_duration
from dtscope.errors import UsageError

COUNTING_D = "syscall::getppid:entry { @calls[execname] = count(); }\n"


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "calls.d"
    path.write_text(COUNTING_D)
    return path


def assert_clean_failure(code, stderr, expected_code, *needles):
    assert code == expected_code, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    for needle in needles:
        assert needle in stderr, stderr


@pytest.mark.parametrize("text,seconds", [("500ms", 0.5), ("10s", 10.0), ("10", 10.0), ("1m", 60.0),
                                          ("1.5h", 5400.0), ("250us", 0.00025)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "ten", "5x", "-1s", "0", "0ms", "1m30s"])
def test_bad_durations(text):
    with pytest.raises(UsageError):
        parse_duration(text)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--duration", "soon"], "--duration 'soon'"),
        (["--interval", "0s"], "--interval '0s': must be greater than zero"),
        (["--duration", "1s", "--interval", "5s"], "longer than --duration"),
        (["-o", "out.txt"], "unknown output type '.txt'"),
        (["-o", "/no/such/dir/out.jsonl"], "does not exist"),
        (["-p", "0"], "-p 0: not a process id"),
        (["-p", "4194304"], "-p 4194304: no such process"),  # above Linux's pid_max limit
        (["--speed", "fast"], "--speed 'fast'"),
        (["-c", "no-such-command-here --flag"], "no-such-command-here: command not found"),
        (["-c", "echo 'unbalanced"], "No closing quotation"),
        (["--backend", "replay"], "needs a saved run"),
    ],
)
def test_usage_errors_exit_2(dtscope_cli, script, args, needle):
    code, _, stderr = dtscope_cli("run", str(script), *args)
    assert_clean_failure(code, stderr, 2, needle)


@pytest.mark.tracing
def test_target_without_a_process_is_a_usage_error(dtscope_cli, tmp_path):
    path = tmp_path / "target.d"
    path.write_text("syscall::getppid:entry /pid == $target/ { @ = count(); }\n")
    code, _, stderr = dtscope_cli("run", str(path), "--duration", "1s")
    assert_clean_failure(code, stderr, 2, "$target", "-c CMD or -p PID")


def test_unknown_backend_is_an_argparse_error(dtscope_cli, script):
    code, _, stderr = dtscope_cli("run", str(script), "--backend", "strace")
    assert_clean_failure(code, stderr, 2, "invalid choice")


def test_missing_script_or_probe(dtscope_cli, tmp_path):
    code, _, stderr = dtscope_cli("run", str(tmp_path / "nope.d"))
    assert_clean_failure(code, stderr, 2, "nope.d: no such file")
    code, _, stderr = dtscope_cli("run", "no-such-probe-name")
    assert_clean_failure(code, stderr, 2, "no such file or probe")


def test_syntax_error_points_at_file_line_col(dtscope_cli, tmp_path):
    path = tmp_path / "broken.d"
    path.write_text("syscall::getppid:entry\n{\n    @calls[execname = count();\n}\n")
    code, _, stderr = dtscope_cli("run", str(path), "--duration", "1s")
    assert_clean_failure(code, stderr, 1, f"{path}:3:", "syntax error")


@pytest.mark.tracing  # the lowering reads the tracepoint formats, which only root may
def test_untranslatable_script_is_reported_with_its_position(dtscope_cli, tmp_path):
    path = tmp_path / "args.d"
    path.write_text("syscall::getppid:entry { @[arg0] = count(); }\n")
    code, _, stderr = dtscope_cli("run", str(path), "--duration", "1s")
    assert_clean_failure(code, stderr, 1, f"{path}:1:", "getppid has 0 argument")


def test_destructive_actions_need_the_flag(dtscope_cli, tmp_path):
    path = tmp_path / "boom.d"
    path.write_text('BEGIN { system("true"); exit(0); }\n')
    code, _, stderr = dtscope_cli("run", str(path), "--duration", "1s")
    assert_clean_failure(code, stderr, 2, "destructive", "--destructive")


def test_missing_tracer_says_how_to_install_it(dtscope_cli, script, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    code, _, stderr = dtscope_cli("run", str(script), "--duration", "1s", env={"PATH": str(empty)})
    assert_clean_failure(code, stderr, 1, "bpftrace is not installed", "apt-get install bpftrace")


def test_a_wrong_tracer_path(dtscope_cli, script, tmp_path):
    code, _, stderr = dtscope_cli("run", str(script), "--bpftrace", str(tmp_path / "bpftrace"))
    assert_clean_failure(code, stderr, 1, "no such executable", "apt-get install bpftrace")


def test_a_corrupt_saved_run(dtscope_cli, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("{}\n")
    code, _, stderr = dtscope_cli("run", str(path), "--speed", "max")
    assert_clean_failure(code, stderr, 1, "line 1: not a dtscope record")


@pytest.fixture
def world_readable_dir():
    """A directory uid 65534 can read (pytest's tmp_path is private to root)."""
    path = tempfile.mkdtemp(prefix="dtscope-test-", dir="/tmp")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def traversable_checkout():
    """Lets uid 65534 reach this checkout and its .venv for the test's duration.

    A checkout in a private directory (``mktemp -d`` makes them 0700) cannot be
    entered by another user; the execute bit for others is added to such directories
    above it, and taken away again after.
    """
    import dtscope

    changed = []
    for root in {Path(dtscope.__file__).resolve().parent.parent, Path(sys.prefix)}:
        for directory in [root, *root.parents]:
            mode = directory.stat().st_mode
            if not mode & stat.S_IXOTH:
                os.chmod(directory, mode | stat.S_IXOTH)
                changed.append((directory, mode))
    try:
        yield
    finally:
        for directory, mode in reversed(changed):
            os.chmod(directory, stat.S_IMODE(mode))


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
def test_not_root_says_which_privilege(script, world_readable_dir, traversable_checkout):
    target = os.path.join(world_readable_dir, "calls.d")
    shutil.copy(script, target)
    os.chmod(target, 0o644)
    proc = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         sys.executable, "-m", "dtscope", "run", str(target), "--duration", "1s"],
        capture_output=True, text=True, timeout=120, cwd="/", check=False,
        env={**os.environ, "HOME": "/", "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert_clean_failure(proc.returncode, proc.stderr, 1, "must run as root", "CAP_BPF", "CAP_PERFMON")


def _fake_dying_tracer(tmp_path) -> str:
    """A --bpftrace wrapper that runs the real one and kills it after its first snapshots."""
    wrapper = tmp_path / "dying-bpftrace"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'{shutil.which("bpftrace")} "$@" &\n'
        "child=$!\n"
        "sleep 2.5\n"
        "kill -9 $child\n"
        "wait $child\n"
    )
    wrapper.chmod(0o755)
    return str(wrapper)


@pytest.mark.tracing
def test_early_tracer_exit_keeps_the_collected_snapshots_in_the_file(dtscope_cli, tmp_path):
    path = tmp_path / "tick.d"
    path.write_text("profile-97 { @samples = count(); }\n")
    out = tmp_path / "out.jsonl"
    code, _, stderr = dtscope_cli(
        "run", str(path), "--duration", "30s", "--interval", "200ms", "-o", str(out),
        "--bpftrace", _fake_dying_tracer(tmp_path),
    )
    # The wrapper shell reports its child's SIGKILL as status 137.
    assert_clean_failure(code, stderr, 1, "bpftrace exited with status 137 before the run ended, after")
    records = [json.loads(line) for line in out.read_text().splitlines()]
    statuses = [r for r in records if r.get("type") == "status"]
    assert len(statuses) >= 3
    assert statuses[-1]["tracer"] == "failed" and statuses[-1]["final"] is True
    assert any(r.get("aggregation") == "samples" and r["value"] > 0 for r in records)


@pytest.mark.tracing
def test_a_tracer_that_fails_to_start_leaves_no_file(dtscope_cli, script, tmp_path):
    failing = tmp_path / "failing-bpftrace"
    failing.write_text("#!/bin/sh\necho 'stdin:1:1-10: ERROR: something broke' >&2\nexit 1\n")
    failing.chmod(0o755)
    out = tmp_path / "out.jsonl"
    code, _, stderr = dtscope_cli("run", str(script), "--duration", "1s", "-o", str(out), "--bpftrace", str(failing))
    assert_clean_failure(code, stderr, 1, "bpftrace rejected the program", "something broke")
    assert not out.exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


@pytest.mark.tracing
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_or_terminate_finishes_the_file_with_the_totals(tmp_path, signum):
    """Ctrl-C at a terminal and SIGTERM from cron or systemd both end a run cleanly."""
    name = f"ticks{os.getpid()}x{int(signum)}"  # the tracer's program file is named after it
    path = tmp_path / f"{name}.d"
    path.write_text('BEGIN { printf("ready\\n"); }\nprofile-97 { @samples = count(); }\n')
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dtscope", "run", str(path), "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout.readline() == "ready\n"
        time.sleep(0.5)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    (row,) = [r for r in records if r.get("aggregation") == "samples"]
    assert row["value"] >= 20  # two CPUs at 97 Hz for half a second, and more
    assert records[-1]["type"] == "status" and records[-1]["final"] and records[-1]["tracer"] == "exited"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert not _processes_mentioning(f"{name}.bt")  # no tracer left behind


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "bpftrace" in cmdline and text in cmdline:
            found.append(cmdline)
    return found


@pytest.mark.tracing
def test_a_killed_dtscope_leaves_no_tracer_running(tmp_path):
    name = f"orphan{os.getpid()}"
    path = tmp_path / f"{name}.d"
    path.write_text('BEGIN { printf("ready\\n"); }\nprofile-97 { @samples = count(); }\n')
    proc = subprocess.Popen([sys.executable, "-m", "dtscope", "run", str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        assert _processes_mentioning(f"{name}.bt")
        # Not at once: bpftrace loses a SIGTERM that lands between its start and its first
        # wait for events, and a dead parent cannot send another.
        time.sleep(1)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 10
    while _processes_mentioning(f"{name}.bt") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _processes_mentioning(f"{name}.bt")
