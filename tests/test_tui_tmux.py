"""`dtscope top` for real: in tmux, on bpftrace, watching a workload we control.

The workload names itself ``dtscope-wl`` (prctl) and sleeps 20 ms at a time with
``clock_nanosleep`` until told to stop, counting its sleeps. Every sleep lasts between
20 ms and 20 ms + scheduling delay, so all of them fall in the quantize bucket
[2^24, 2^25) ns = [16.8 ms, 33.6 ms), which fixes the estimated percentiles exactly
(see dtscope.tui.estimate): p50 25.2ms, p90 31.9ms, p99 33.4ms, max 33.6ms. After it
stops, its row's count must equal what the tracer delivered (read back from the run
written with `w`), which is the number of sleeps it reports, less at most one per
interval boundary (see the note at the end of the test).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
WORKLOAD_NAME = "dtscope-wl"

WORKLOAD = r"""
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(15, b"dtscope-wl", 0, 0, 0) != 0:  # PR_SET_NAME: the execname tracers see
    sys.exit("prctl failed")
stop_file = sys.argv[1]
print("ready", flush=True)
sleeps = 0
while not os.path.exists(stop_file):
    time.sleep(0.020)  # one clock_nanosleep system call
    sleeps += 1
print(sleeps, flush=True)
"""


# A tmux server of our own (its own socket and configuration), so that the window is the
# size we ask for whatever other sessions the machine has: tmux 3 otherwise sizes a
# detached session's window by default-size (80x24).
SOCKET = f"dtscope-test-{os.getpid()}"
CONFIG = "set -g default-size 120x40\n"


def tmux(*args: str) -> str:
    config = Path(f"/tmp/{SOCKET}.conf")
    if not config.exists():
        config.write_text(CONFIG)
    # COLUMNS/LINES (pytest's plugins set them) would override the pane's size in the app.
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return subprocess.run(
        ["tmux", "-L", SOCKET, "-f", str(config), *args], capture_output=True, text=True, check=True, env=env
    ).stdout


def screen(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def wait_for(session: str, predicate, timeout: float, what: str) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = screen(session)
        if predicate(text):
            return text
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}; the screen was:\n{text}")


def workload_row(text: str) -> list[str] | None:
    for line in text.splitlines():
        fields = line.split()
        if fields[:2] == [WORKLOAD_NAME, "clock_nanosleep"]:
            return fields
    return None


@pytest.mark.tracing
def test_top_finds_the_workloads_row_on_a_real_tracer(tmp_path):
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed (apt-get install tmux)")
    session = f"dtscope-top-test-{os.getpid()}"
    rc_file = tmp_path / "rc"
    stop_file = tmp_path / "stop"
    command = (
        f"cd {REPO} && env -u COLUMNS -u LINES {sys.executable} -m dtscope top syscall-latency --interval 1s; "
        f"echo $? > {rc_file}; sleep 30"
    )
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", command)
    workload = None
    try:
        wait_for(session, lambda t: "tracer running" in t and "probefunc" in t, 60, "the tracer to attach")
        workload = subprocess.Popen(
            [sys.executable, "-c", WORKLOAD, str(stop_file)], stdout=subprocess.PIPE, text=True
        )
        assert workload.stdout.readline().strip() == "ready"

        # Show only the workload's rows, whatever else the machine is doing.
        tmux("send-keys", "-t", session, "/")
        wait_for(session, lambda t: "filter rows" in t, 10, "the filter prompt")
        time.sleep(0.5)
        tmux("send-keys", "-t", session, "-l", WORKLOAD_NAME)
        tmux("send-keys", "-t", session, "Enter")

        # A full interval of sleeps (the count is more than one interval's worth): the
        # exact percentiles of the [2^24, 2^25) bucket.
        def full_interval(text: str) -> bool:
            row = workload_row(text)
            return (
                row is not None
                and float(row[3]) > float(row[2])
                and row[4:8] == ["25.2ms", "31.9ms", "33.4ms", "33.6ms"]
            )

        text = wait_for(session, full_interval, 30, "a full interval with all sleeps in [16.8ms, 33.6ms)")
        row = workload_row(text)
        assert 25 <= float(row[2]) <= 50, row  # 20 ms sleeps: at most 50 a second
        # The worst row is selected: its distribution, drawn as DTrace draws a quantize.
        assert f"{WORKLOAD_NAME} clock_nanosleep (ns)" in text
        assert re.search(r"^\s+16777216 \|@{40} \d+", text, re.MULTILINE), text
        assert "/dtscope-wl" in text  # the status line shows the filter

        stop_file.write_text("")
        sleeps = int(workload.stdout.readline())
        workload.wait(timeout=10)
        # Two more intervals: the last sleeps are in a snapshot, the row is idle but kept.
        text = wait_for(
            session,
            lambda t: (row := workload_row(t)) is not None and row[2] == "0",
            15,
            "the workload's row to go idle",
        )
        shown_count = int(workload_row(text)[3])

        # w writes the run so far: the table's count is exactly what the tracer delivered.
        saved = Path(f"/tmp/dtscope-top-{os.getpid()}.jsonl")  # short: fits the prompt
        tmux("send-keys", "-t", session, "w")
        wait_for(session, lambda t: "write the run so far" in t, 10, "the write prompt")
        # The prompt's input takes focus just after it is drawn, later on a loaded machine:
        # keys typed before that are lost, so type again until the path shows.
        typed = ""
        for _attempt in range(5):
            time.sleep(0.5)
            tmux("send-keys", "-t", session, "C-u")
            tmux("send-keys", "-t", session, "-l", str(saved))
            try:
                typed = wait_for(session, lambda t: str(saved) in t, 3, "the path typed in the prompt")
                break
            except AssertionError:
                continue
        assert str(saved) in typed, "the path never showed in the prompt:\n" + screen(session)
        tmux("send-keys", "-t", session, "Enter")
        deadline = time.monotonic() + 10
        while not saved.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert saved.exists(), typed + "\n-- then --\n" + screen(session)
        delivered, snapshots = 0, set()
        for line in saved.read_text().splitlines():
            record = json.loads(line)
            if record.get("keys") == [WORKLOAD_NAME, "clock_nanosleep"]:
                delivered += record["value"]
                snapshots.add(record["snapshot"])
        assert shown_count == delivered
        # And what the tracer delivered is every sleep, less at most one per interval
        # boundary: bpftrace print()s then clear()s each map, and an event landing in
        # between is lost (a limit of the interval lowering, not of the view).
        assert 0 <= sleeps - delivered <= len(snapshots), (sleeps, delivered, len(snapshots))

        tmux("send-keys", "-t", session, "q")
        deadline = time.monotonic() + 30
        while not rc_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert rc_file.read_text().strip() == "0"
    finally:
        if workload is not None and workload.poll() is None:
            workload.kill()
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True, check=False)
        Path(f"/tmp/{SOCKET}.conf").unlink(missing_ok=True)
        Path(f"/tmp/dtscope-top-{os.getpid()}.jsonl").unlink(missing_ok=True)
