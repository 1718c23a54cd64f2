"""Flame graphs: every input format, exact layout, the SVG, folded, speedscope, diff, CLI."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from dtscope.collectors.model import AggInfo, AggRow, Snapshot, write_jsonl
from dtscope.exporters import flame

SVG_NS = "{http://www.w3.org/2000/svg}"

FOLDED = """\
main;foo;bar 5
main;foo 1
main;baz 4
other;work 2
main;foo;bar 3
"""

# Real DTrace output (Oracle D 2.0): shared/dtrace-output/stacks.out, `@k[stack()]` and
# `@u[ustack()]` printed at exit while a helper made exactly 1,000 getppid calls.
DTRACE_STACKS = """

              vmlinux`perf_syscall_enter+0x18d
              vmlinux`syscall_trace_enter+0x180
              vmlinux`do_syscall_64+0x1fa
              vmlinux`entry_SYSCALL_64_after_hwframe+0x76
             1000

              0x7fd43be8f829
             1000

"""

# Real bpftrace 0.17 output: `@[kstack, ustack] = count()` and `@c[comm, ustack(3)]`
# from profile:hz:99 (text mode), trimmed to a few entries.
BPFTRACE_TEXT = """Attaching 2 probes...


@[
    pv_native_safe_halt+11
    default_idle+5
    cpuidle_enter+45
    do_idle+310
    cpu_startup_entry+37
    common_startup_64+315
, ]: 98
@[, 
    _PyEval_EvalFrameDefault+8455
    0x7fdada2da9c0
    0x7fdadaa56240
]: 1
@[, 
    _PyEval_EvalFrameDefault+13916
    0x7fdada2da9c0
    0x7fdadaa56240
]: 63
"""

BPFTRACE_TEXT_COMM = """Attaching 2 probes...
@c[python3, 
    _PyEval_EvalFrameDefault+8455
    0x7fdada2da9c0
]: 1
@c[python3, 
    _PyEval_EvalFrameDefault+8470
    0x7fdada2da9c0
]: 3
"""

# Real bpftrace 0.17 `-f json` output of `@[kstack, ustack(4)]` (keys joined by ",").
BPFTRACE_JSON = (
    '{"type": "attached_probes", "data": {"probes": 2}}\n'
    + json.dumps({"type": "map", "data": {"@": {
        ",\n    _PyEval_EvalFrameDefault+2823\n    0x7f5349fbd640\n    0x7f534a656240\n": 1,
        "\n    rb_next+75\n    ext4_readdir+2249\n    iterate_dir+186\n    __x64_sys_getdents64+118\n"
        "    do_syscall_64+113\n    entry_SYSCALL_64_after_hwframe+118\n,\n    __getdents64+19\n": 2,
        ",\n    _int_malloc+2829\n": 4,
    }}})
    + "\n"
)


def profile_of(text: str) -> flame.Profile:
    return flame.parse_folded(text.splitlines())


def svg_frames(svg: str) -> list[dict]:
    root = ET.fromstring(svg)
    out = []
    for g in root.iter(f"{SVG_NS}g"):
        if g.get("class") != "f":
            continue
        rect = g.find(f"{SVG_NS}rect")
        title = g.find(f"{SVG_NS}title").text
        out.append({
            "name": title.rsplit("\n(", 1)[0],
            "title": title,
            "start": int(g.get("data-s")),
            "count": int(g.get("data-n")),
            "depth": int(g.get("data-d")),
            "kernel": g.get("data-k") == "1",
            "x": float(rect.get("x")),
            "y": float(rect.get("y")),
            "width": float(rect.get("width")),
            "fill": rect.get("fill"),
            "label": g.find(f"{SVG_NS}text").text or "",
        })
    return out


# --------------------------------------------------------------------------- folded + layout


def test_folded_merges_repeats_and_lays_out_in_order() -> None:
    profile = profile_of(FOLDED)
    assert profile.stacks == {("main", "foo", "bar"): 8, ("main", "foo"): 1, ("main", "baz"): 4,
                              ("other", "work"): 2}
    assert profile.total == 15
    frames = [(f.name, f.depth, f.start, f.count) for f in flame.layout(profile)]
    assert frames == [
        ("main", 0, 0, 13), ("baz", 1, 0, 4), ("foo", 1, 4, 9), ("bar", 2, 5, 8),
        ("other", 0, 13, 2), ("work", 1, 13, 2),
    ]


def test_every_frame_width_is_exactly_proportional_to_its_count() -> None:
    svg = flame.render_svg(profile_of(FOLDED), flame.SvgOptions(width=1200, min_width="0"))
    root = ET.fromstring(svg)
    plot_width = float(root.get("data-plot-width"))
    assert plot_width == 1180
    frames = svg_frames(svg)
    assert len(frames) == 6
    for f in frames:
        # written with 3 decimals: exact to half a thousandth of a pixel
        assert abs(f["width"] - f["count"] * plot_width / 15) <= 0.0005, f
        assert abs(f["x"] - (10 + f["start"] * plot_width / 15)) <= 0.0005, f
    by_name = {f["name"]: f for f in frames}
    assert by_name["foo"]["title"] == "foo\n(9 samples, 60.00%)"
    # children sit on their parent: flame (root at the bottom)
    assert by_name["bar"]["y"] < by_name["foo"]["y"] < by_name["main"]["y"]


def test_widths_exact_on_a_large_random_profile() -> None:
    import random

    rng = random.Random(7)
    names = [f"fn{i}" for i in range(40)]
    lines = []
    for _ in range(3000):
        depth = rng.randint(1, 12)
        lines.append(";".join(rng.choice(names) for _ in range(depth)) + f" {rng.randint(1, 50)}")
    profile = flame.parse_folded(lines)
    svg = flame.render_svg(profile, flame.SvgOptions(min_width="0"))
    scale = 1180 / profile.total
    frames = svg_frames(svg)
    # each root's width is the sum of its stacks; each frame's width its count
    for f in frames:
        assert abs(f["width"] - f["count"] * scale) <= 0.0005
    roots = sum(f["count"] for f in frames if f["depth"] == 0)
    assert roots == profile.total
    # Each frame's count is the samples of every stack through its path, computed
    # here independently of the layout (frames come in tree order).
    through: dict[tuple[str, ...], int] = {}
    for stack, count in profile.stacks.items():
        for depth in range(1, len(stack) + 1):
            through[stack[:depth]] = through.get(stack[:depth], 0) + count
    path: list[str] = []
    for f in frames:
        del path[f["depth"]:]
        path.append(f["name"])
        assert f["count"] == through[tuple(path)]
    assert len(frames) == len(through)


def test_min_width_drops_narrow_frames_and_their_children() -> None:
    profile = profile_of("a;b 1000\na;c;d 1\nz 10\n")
    frames = flame.layout(profile, min_count=5)
    assert [(f.name, f.count) for f in frames] == [("a", 1001), ("b", 1000), ("z", 10)]
    # pixels: 1180 px for 1011 samples; 10 px is about 8.6 samples, so z (10) stays
    svg = flame.render_svg(profile, flame.SvgOptions(min_width="10"))
    assert {f["name"] for f in svg_frames(svg)} == {"a", "b", "z"}
    svg = flame.render_svg(profile, flame.SvgOptions(min_width="1%"))
    assert {f["name"] for f in svg_frames(svg)} == {"a", "b"}
    with pytest.raises(flame.FlameInputError, match="min-width"):
        flame.render_svg(profile, flame.SvgOptions(min_width="wide"))


def test_reverse_draws_an_icicle() -> None:
    svg = flame.render_svg(profile_of(FOLDED), flame.SvgOptions(reverse=True, min_width="0"))
    by_name = {f["name"]: f for f in svg_frames(svg)}
    assert by_name["main"]["y"] < by_name["foo"]["y"] < by_name["bar"]["y"]


def test_svg_is_valid_xml_with_hostile_names_and_labels_fit() -> None:
    nasty = 'a<b>&"c\' ]]> \x01ctl;std::vector<int>::push_back(int const&) 3\n'
    svg = flame.render_svg(profile_of(nasty + "x 1\n"), flame.SvgOptions(title="<t&>", min_width="0"))
    root = ET.fromstring(svg)  # raises on invalid XML
    assert root.find(f"{SVG_NS}text[@id='title']").text == "<t&>"
    names = {f["name"] for f in svg_frames(svg)}
    assert "std::vector<int>::push_back(int const&)" in names
    assert "a<b>&\"c' ]]> \ufffdctl" in names
    script = root.find(f"{SVG_NS}script").text
    assert "function zoom" in script and "http" not in script.replace("http://www.w3.org", "")
    for f in svg_frames(svg):
        assert len(f["label"]) * 7.2 <= f["width"], f  # monospace 12px: 7.2 px a character


def test_svg_has_no_external_resources() -> None:
    svg = flame.render_svg(profile_of(FOLDED))
    for attribute in re.findall(r'(?:href|src)\s*=\s*"([^"]*)"', svg):
        pytest.fail(f"external reference {attribute}")
    assert "@import" not in svg and "url(" not in svg


def test_kernel_and_user_frames_are_coloured_apart() -> None:
    profile = flame.parse_stacks(DTRACE_STACKS)
    frames = svg_frames(flame.render_svg(profile, flame.SvgOptions(min_width="0")))
    kernel = [f for f in frames if f["kernel"]]
    user = [f for f in frames if not f["kernel"]]
    assert {f["name"] for f in kernel} == {
        "vmlinux`perf_syscall_enter", "vmlinux`syscall_trace_enter", "vmlinux`do_syscall_64",
        "vmlinux`entry_SYSCALL_64_after_hwframe"}
    assert [f["name"] for f in user] == ["0x7fd43be8f829"]

    def rgb(fill: str) -> tuple[int, ...]:
        return tuple(int(v) for v in re.findall(r"\d+", fill))

    for f in kernel:
        r, _g, b = rgb(f["fill"])
        assert b > r and b >= 200  # blues
    for f in user:
        r, _g, b = rgb(f["fill"])
        assert r >= 205 and b <= 70  # warm


# --------------------------------------------------------------------------- other inputs


def test_dtrace_printed_stacks_real_capture() -> None:
    assert flame.detect_format(DTRACE_STACKS) == "dtrace"
    profile = flame.parse_stacks(DTRACE_STACKS)
    assert profile.stacks == {
        ("vmlinux`entry_SYSCALL_64_after_hwframe_[k]", "vmlinux`do_syscall_64_[k]",
         "vmlinux`syscall_trace_enter_[k]", "vmlinux`perf_syscall_enter_[k]"): 1000,
        ("0x7fd43be8f829",): 1000,
    }


def test_shared_dtrace_capture_if_present() -> None:
    path = Path(__file__).resolve().parents[2] / "shared" / "dtrace-output" / "stacks.out"
    if not path.exists():
        pytest.skip("shared/dtrace-output is not beside the repository")
    profile = flame.parse_stacks(path.read_text())
    assert profile.total == 2000  # two aggregations of exactly 1000 getppid calls each


def test_dtrace_record_with_kernel_and_user_stack() -> None:
    text = """
              genunix`cv_wait+0x61
              unix`_sys_sysenter_post_swapgs+0x149
              libc.so.1`__pollsys+0x15
              sshd`main+0x1c
               17
"""
    profile = flame.parse_stacks(text)
    assert profile.stacks == {("sshd`main", "libc.so.1`__pollsys", "unix`_sys_sysenter_post_swapgs_[k]",
                               "genunix`cv_wait_[k]"): 17}


def test_bpftrace_text_real_capture() -> None:
    assert flame.detect_format(BPFTRACE_TEXT) == "bpftrace"
    profile = flame.parse_stacks(BPFTRACE_TEXT)
    assert profile.stacks == {
        ("common_startup_64_[k]", "cpu_startup_entry_[k]", "do_idle_[k]", "cpuidle_enter_[k]",
         "default_idle_[k]", "pv_native_safe_halt_[k]"): 98,
        ("0x7fdadaa56240", "0x7fdada2da9c0", "_PyEval_EvalFrameDefault"): 64,
    }


def test_bpftrace_scalar_keys_become_root_frames() -> None:
    profile = flame.parse_stacks(BPFTRACE_TEXT_COMM)
    assert profile.stacks == {("python3", "0x7fdada2da9c0", "_PyEval_EvalFrameDefault"): 4}


def test_bpftrace_several_maps_need_a_choice() -> None:
    both = BPFTRACE_TEXT + BPFTRACE_TEXT_COMM
    with pytest.raises(flame.FlameInputError, match="--aggregation"):
        flame.parse_stacks(both)
    assert flame.parse_stacks(both, aggregation="@c").total == 4
    assert flame.parse_stacks(both, aggregation="").total == 162
    with pytest.raises(flame.FlameInputError, match="no map @nope"):
        flame.parse_stacks(both, aggregation="nope")


def test_bpftrace_json_real_capture() -> None:
    assert flame.detect_format(BPFTRACE_JSON) == "bpftrace-json"
    profile = flame.parse_stacks(BPFTRACE_JSON)
    assert profile.stacks == {
        ("0x7f534a656240", "0x7f5349fbd640", "_PyEval_EvalFrameDefault"): 1,
        ("__getdents64", "entry_SYSCALL_64_after_hwframe_[k]", "do_syscall_64_[k]",
         "__x64_sys_getdents64_[k]", "iterate_dir_[k]", "ext4_readdir_[k]", "rb_next_[k]"): 2,
        ("_int_malloc",): 4,
    }


def _stack_run(interval: float | None) -> str:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    info = AggInfo("", "count", ["execname", "ustack()", "stack()"])
    snaps = []
    for seq in range(3):
        rows = [
            AggRow("", "count", ("app", "leaf+0x1\nmid+0x2\nmain+0x3", "do_syscall_64+0x1\nentry_SYSCALL_64+0x2"),
                   10 * (seq + 1)),
            AggRow("", "count", ("app", "main", ""), 1),
        ]
        snaps.append(Snapshot(time=t0 + dt.timedelta(seconds=seq + 1), rows=rows, seq=seq,
                              interval=interval, aggregations={"": info}))
    out = io.StringIO()
    write_jsonl(snaps, out)
    return out.getvalue()


def test_jsonl_run_per_interval_snapshots_add_up() -> None:
    text = _stack_run(interval=1.0)
    assert flame.detect_format(text) == "jsonl"
    profile = flame.parse_stacks(text)
    assert profile.stacks == {
        ("app", "main", "mid", "leaf", "entry_SYSCALL_64_[k]", "do_syscall_64_[k]"): 60,
        ("app", "main"): 3,
    }


def test_jsonl_cumulative_run_reads_the_last_snapshot() -> None:
    profile = flame.parse_stacks(_stack_run(interval=None))
    assert profile.total == 31


def test_profile_from_live_snapshots_uses_key_kinds() -> None:
    info = AggInfo("", "count", ["execname", "ustack()"], key_kinds=["str", "ustack"])
    snap = Snapshot(time=dt.datetime.now(dt.UTC),
                    rows=[AggRow("", "count", ("spin", "do_syscall_64+1\nmain+2"), 5),
                          AggRow("", "count", ("idle", ""), 7)],
                    aggregations={"": info})
    profile = flame.profile_from_snapshots([snap])
    # the kind says user, whatever the frame names look like
    assert profile.stacks == {("spin", "main", "do_syscall_64"): 5, ("idle",): 7}


def test_undetectable_input_is_a_clear_error() -> None:
    with pytest.raises(flame.FlameInputError, match="cannot tell the input format"):
        flame.parse_stacks("hello world\nthis is prose\n")
    with pytest.raises(flame.FlameInputError, match="JSON"):
        flame.parse_stacks('{"a": 1}\n')


# --------------------------------------------------------------------------- outputs


def test_folded_output_round_trips() -> None:
    profile = profile_of(FOLDED)
    text = flame.render_folded(profile)
    assert text == "main;baz 4\nmain;foo 1\nmain;foo;bar 8\nother;work 2\n"
    assert profile_of(text).stacks == profile.stacks
    # kernel tags survive folded text
    dtrace = flame.parse_stacks(DTRACE_STACKS)
    assert flame.parse_stacks(flame.render_folded(dtrace)).stacks == dtrace.stacks


def test_speedscope_document() -> None:
    doc = json.loads(flame.render_speedscope(profile_of(FOLDED), "t"))
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    frames = [f["name"] for f in doc["shared"]["frames"]]
    (prof,) = doc["profiles"]
    assert prof["type"] == "sampled" and prof["endValue"] == 15 == sum(prof["weights"])
    stacks = {tuple(frames[i] for i in sample): w for sample, w in zip(prof["samples"], prof["weights"])}
    assert stacks == profile_of(FOLDED).stacks
    kernel_doc = json.loads(flame.render_speedscope(flame.parse_stacks(DTRACE_STACKS)))
    assert {"name": "vmlinux`do_syscall_64", "file": "[kernel]"} in kernel_doc["shared"]["frames"]


def test_diff_sizes_by_after_and_colours_by_change() -> None:
    before = profile_of("main;a 50\nmain;b 50\n")
    after = profile_of("main;a 90\nmain;b 10\nmain;c 100\n")  # twice the samples
    profile, scaled = flame.diff_profiles(before, after)
    assert scaled == {("main", "a"): 100.0, ("main", "b"): 100.0}
    frames = {f["name"]: f for f in svg_frames(flame.render_svg(profile, flame.SvgOptions(min_width="0"), scaled))}
    assert frames["c"]["width"] == pytest.approx(1180 * 100 / 200, abs=5e-4)
    assert "change +100" in frames["c"]["title"]
    assert "change -90" in frames["b"]["title"]

    def rgb(fill: str) -> tuple[int, ...]:
        return tuple(int(v) for v in re.findall(r"\d+", fill))

    assert rgb(frames["c"]["fill"])[0] == 255 and rgb(frames["c"]["fill"])[1] < 100  # grew: red
    assert rgb(frames["b"]["fill"])[2] == 255 and rgb(frames["b"]["fill"])[0] < 100  # shrank: blue
    assert rgb(frames["main"]["fill"]) == (235, 235, 235)  # 200 vs 200: unchanged
    raw_profile, raw = flame.diff_profiles(before, after, normalize=False)
    assert raw == {("main", "a"): 50, ("main", "b"): 50}
    assert flame.render_folded(raw_profile, raw) == "main;a 50 90\nmain;b 50 10\nmain;c 0 100\n"


# --------------------------------------------------------------------------- command line


def test_cli_renders_each_output_format(tmp_path: Path, dtscope_cli) -> None:
    source = tmp_path / "in.folded"
    source.write_text(FOLDED)
    rc, _out, err = dtscope_cli("flame", "--input", str(source), "-o", str(tmp_path / "g.svg"),
                               "--title", "Mine", "--min-width", "0")
    assert (rc, err) == (0, "")
    svg = (tmp_path / "g.svg").read_text()
    assert ET.fromstring(svg).find(f"{SVG_NS}text[@id='title']").text == "Mine"
    rc, _out, err = dtscope_cli("flame", "--input", str(source), "-o", str(tmp_path / "g.json"))
    assert rc == 0 and json.loads((tmp_path / "g.json").read_text())["profiles"][0]["endValue"] == 15
    rc, out, err = dtscope_cli("flame", "--input", str(source), "-o", "-", "--format", "folded")
    assert rc == 0 and out == flame.render_folded(profile_of(FOLDED))
    rc, out, err = dtscope_cli("flame", "--input", "-", "-o", "-", "--format", "folded", input=DTRACE_STACKS)
    assert rc == 0 and "vmlinux`do_syscall_64_[k]" in out


def test_cli_diff(tmp_path: Path, dtscope_cli) -> None:
    (tmp_path / "a.folded").write_text("main;a 5\n")
    (tmp_path / "b.folded").write_text("main;a 5\nmain;b 5\n")
    rc, _out, err = dtscope_cli("flame", "--diff", str(tmp_path / "a.folded"), str(tmp_path / "b.folded"),
                               "-o", str(tmp_path / "d.svg"))
    assert rc == 0, err
    frames = {f["name"]: f for f in svg_frames((tmp_path / "d.svg").read_text())}
    assert set(frames) == {"main", "a", "b"}
    rc, _out, err = dtscope_cli("flame", "--diff", str(tmp_path / "a.folded"), str(tmp_path / "b.folded"),
                               "-o", str(tmp_path / "d.json"))
    assert rc == 2 and "speedscope output cannot show a diff" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--input", "/nonexistent/x.folded", "-o", "{tmp}/x.svg"], "cannot read /nonexistent/x.folded"),
        (["--input", "{prose}", "-o", "{tmp}/x.svg"], "cannot tell the input format"),
        (["--input", "{good}", "-o", "{tmp}/x.png"], "cannot tell the output format"),
        (["--input", "{good}", "-o", "/nonexistent/dir/x.svg"], "cannot write /nonexistent/dir/x.svg"),
        (["--input", "{good}", "-o", "{tmp}/x.svg", "--min-width", "abc"], "--min-width"),
        (["--input", "{empty}", "-o", "{tmp}/x.svg", "--input-format", "folded"], "no folded stack lines"),
        (["--duration", "soon", "-o", "{tmp}/x.svg"], "not a duration"),
    ],
)
def test_cli_errors_are_messages_not_tracebacks(tmp_path: Path, dtscope_cli, args, message) -> None:
    (tmp_path / "prose.txt").write_text("just some words\n")
    (tmp_path / "good.folded").write_text(FOLDED)
    (tmp_path / "empty.txt").write_text("nothing here\n")
    values = {"tmp": str(tmp_path), "prose": str(tmp_path / "prose.txt"),
              "good": str(tmp_path / "good.folded"), "empty": str(tmp_path / "empty.txt")}
    rc, _out, err = dtscope_cli("flame", *[a.format(**values) for a in args])
    assert rc in (1, 2)
    assert message in err and "Traceback" not in err
    assert not any(p.name.startswith(".x.") for p in tmp_path.iterdir())  # no temp files left


def test_the_live_profile_is_the_probe_library_s_narrowed_to_a_pid_or_zone() -> None:
    from dtscope.dscript.checks import check
    from dtscope.dscript.printer import to_d

    from dtscope.commands.flame import profile_script

    script = profile_script(99, "both", pid=1234)
    assert script.name == "cpu-profile"
    assert to_d(script.program) == (
        "profile-99\n/pid == 1234/\n{\n\t@stacks[execname, stack(), ustack()] = count();\n}\n"
    )
    assert [d for d in check(script.program) if d.severity == "error"] == []
    zone = to_d(profile_script(997, "kernel", zone='we"b').program)
    assert '/zonename == "we\\"b"/' in zone and "@stacks[execname, stack()]" in zone
    assert profile_script(99, "user").name == "cpu-profile-user"


# --------------------------------------------------------------------------- live

SPIN_C = r"""
#include <stdio.h>
#include <time.h>
volatile unsigned long sink;
__attribute__((noinline)) void dtscope_spin_leaf(void) {
    for (int i = 0; i < 1000; i++) sink += i;
}
__attribute__((noinline)) void dtscope_spin_outer(void) { dtscope_spin_leaf(); }
int main(int argc, char **argv) {
    time_t end = time(NULL) + atoi(argv[1]);
    printf("ready\n"); fflush(stdout);
    while (time(NULL) < end) dtscope_spin_outer();
    return 0;
}
"""


@pytest.fixture(scope="module")
def spinner_binary(tmp_path_factory) -> Path:
    """A C program that spins in dtscope_spin_outer -> dtscope_spin_leaf for argv[1] seconds."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("no C compiler")
    work = tmp_path_factory.mktemp("spin")
    source = work / "spin.c"
    source.write_text("#include <stdlib.h>\n" + SPIN_C)
    binary = work / "dtscope_spin"
    subprocess.run([gcc, "-O0", "-fno-omit-frame-pointer", "-fno-optimize-sibling-calls",
                    "-o", str(binary), str(source)], check=True)
    return binary


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_spinner(binary: Path, seconds: int = 20) -> subprocess.Popen:
    spinner = subprocess.Popen([str(binary), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert spinner.stdout.readline() == "ready\n"
    return spinner


@pytest.mark.tracing
def test_live_profile_of_a_busy_c_function(tmp_path: Path, dtscope_cli, spinner_binary: Path) -> None:
    spinner = _start_spinner(spinner_binary)
    try:
        started = time.monotonic()
        cpu_before = _cpu_seconds(spinner.pid)
        rc, _out, err = dtscope_cli("flame", "--pid", str(spinner.pid), "--stacks", "user", "--hz", "99",
                                    "--duration", "2s", "-o", str(tmp_path / "spin.folded"),
                                    "--save", str(tmp_path / "spin.jsonl"))
        cpu_used = _cpu_seconds(spinner.pid) - cpu_before
        assert rc == 0, err
        assert time.monotonic() - started < 15
    finally:
        spinner.kill()
        spinner.wait()
    profile = flame.parse_stacks((tmp_path / "spin.folded").read_text())
    assert all(stack[0] == "dtscope_spin" for stack in profile.stacks)  # execname at the root
    in_leaf = sum(n for stack, n in profile.stacks.items() if "dtscope_spin_leaf" in stack)
    # A 99 Hz profile cannot sample a thread more often than it ran (plus a tick or two of
    # clock granularity); on a busy host it runs less than the 2 s. Nearly all in the leaf.
    assert 10 <= profile.total <= cpu_used * 99 * 1.05 + 3, (profile.stacks, cpu_used)
    assert in_leaf >= 0.9 * profile.total, profile.stacks
    assert any(stack[-2:] == ("dtscope_spin_outer", "dtscope_spin_leaf") for stack in profile.stacks)
    # The saved run renders to the same stacks.
    again = flame.parse_stacks((tmp_path / "spin.jsonl").read_text())
    assert again.stacks == profile.stacks


CGROUP_ROOT = Path("/sys/fs/cgroup/unified")


@pytest.mark.tracing
def test_live_profile_of_one_zone(tmp_path: Path, dtscope_cli, spinner_binary: Path) -> None:
    """On Linux a zone is a cgroup: only the spinner inside it shows up, not the one outside."""
    if not (CGROUP_ROOT / "cgroup.procs").exists():
        pytest.skip("no cgroup v2 hierarchy at /sys/fs/cgroup/unified")
    outsider_binary = tmp_path / "dtscope_other"
    shutil.copy(spinner_binary, outsider_binary)
    zone = f"dtscope-flame-test-{os.getpid()}"
    cgroup = CGROUP_ROOT / zone
    cgroup.mkdir()
    inside = _start_spinner(spinner_binary)
    outside = _start_spinner(outsider_binary)
    try:
        (cgroup / "cgroup.procs").write_text(str(inside.pid))
        rc, _out, err = dtscope_cli("flame", "--zone", zone, "--stacks", "user", "--duration", "2s",
                                    "-o", str(tmp_path / "zone.folded"))
        assert rc == 0, err
    finally:
        for proc in (inside, outside):
            proc.kill()
            proc.wait()
        for _ in range(50):  # the cgroup can be removed once its last process is reaped
            try:
                cgroup.rmdir()
                break
            except OSError:
                time.sleep(0.1)
    profile = flame.parse_stacks((tmp_path / "zone.folded").read_text())
    assert {stack[0] for stack in profile.stacks} == {"dtscope_spin"}
    assert profile.total >= 10


GETPPID_C = r"""
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
__attribute__((noinline)) void dtscope_call_getppid(void) { syscall(SYS_getppid); }
int main(void) {
    char line[8];
    fgets(line, sizeof line, stdin);  /* "go": the tracer is attached */
    for (int i = 0; i < 1000; i++) dtscope_call_getppid();
    write(1, "done\n", 5);  /* the tracer stops here, while we still live for ustack() */
    fgets(line, sizeof line, stdin);
    return 0;
}
"""


@pytest.mark.tracing
@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
def test_real_bpftrace_stack_output(tmp_path: Path, json_output: bool) -> None:
    """bpftrace's own printout of @[kstack, ustack] for exactly 1000 getppid calls."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("no C compiler")
    (tmp_path / "g.c").write_text(GETPPID_C)
    binary = tmp_path / "dtscope_getppid"
    subprocess.run([gcc, "-O0", "-fno-omit-frame-pointer", "-o", str(binary), str(tmp_path / "g.c")],
                   check=True)
    program = tmp_path / "stacks.bt"
    child = subprocess.Popen([str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    tracer = None
    try:
        program.write_text(
            'BEGIN { printf("__ready__\\n"); }\n'  # BEGIN fires once every probe is attached
            f"tracepoint:syscalls:sys_enter_getppid /pid == {child.pid}/ {{ @[kstack, ustack] = count(); }}\n"
            f"tracepoint:syscalls:sys_enter_write /pid == {child.pid}/ {{ exit(); }}\n"
        )
        command = ["bpftrace", *(["-f", "json"] if json_output else []), str(program)]
        # One process: bpftrace's user symbol cache is exact, and much faster.
        env = dict(os.environ, BPFTRACE_CACHE_USER_SYMBOLS="1")
        tracer = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                  env=env)
        head = ""
        while "__ready__" not in head:
            line = tracer.stdout.readline()
            assert line, head
            head += line
        child.stdin.write("go\n")
        child.stdin.flush()
        output = head + tracer.communicate(timeout=60)[0]
    finally:
        child.kill()
        child.wait()
        if tracer is not None and tracer.poll() is None:
            tracer.kill()
            tracer.wait()
    assert tracer.returncode == 0
    fmt = "bpftrace-json" if json_output else "bpftrace"
    assert flame.detect_format(output) == fmt
    profile = flame.parse_stacks(output)
    assert profile.total == 1000
    for stack in profile.stacks:
        kernel = [f for f in stack if flame.is_kernel(f)]
        user = [f for f in stack if not flame.is_kernel(f)]
        assert kernel and user, stack
        assert stack[-len(kernel):] == tuple(kernel)  # the kernel sits on top of the user stack
        assert any(f.startswith("entry_SYSCALL_64") for f in kernel), stack
        # libc's syscall() keeps no frame pointer, so frame-pointer unwinding skips its
        # caller; main is always there.
        assert "main" in user, stack
