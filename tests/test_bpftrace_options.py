"""DTrace options and macro arguments on bpftrace: -x and #pragma D option become
bpftrace settings or lowering arguments, or are refused; $1.. are substituted typed."""

from __future__ import annotations

import pytest
from dtscope.dscript.bpftrace import StaticHost, lower
from dtscope.dscript.parser import parse
from workloads.dtscope_run import python_child, run_d_jsonl

HOST = StaticHost()

# --------------------------------------------------------------------------- -x options, macro arguments, script options


def test_macro_arguments_are_substituted_typed():
    program = parse('BEGIN { @k[$$2] = sum($1); printf("%d %s\\n", $1 * 2, $$2); }', "m.d")
    text = lower(program, HOST, macro_args=["-21", 'say "hi"\\']).text
    assert '@k["say \\"hi\\"\\\\"] = sum((-21));' in text
    assert 'printf("%d %s\\n", (-21) * 2, "say \\"hi\\"\\\\");' in text
    from dtscope.dscript.diagnostics import DiagnosticError

    problems = pytest.raises(DiagnosticError, lower, program, HOST, macro_args=["x"])
    assert "$1 is 'x', not an integer (write $$1 for a string)" in str(problems.value)
    defaults = parse("#pragma D option defaultargs\nBEGIN { @k[$$2] = sum($1); }", "m.d")
    assert '@k[""] = sum(0);' in lower(defaults, HOST, macro_args=[]).text
    assert "$1" in lower(program, HOST).text  # dtscope compile: bpftrace's positional parameters


def test_stack_frames_options_set_the_default_depths():
    program = parse("profile-99 { @s[stack(), ustack()] = count(); @t[stack(2)] = count(); }", "s.d")
    text = lower(program, HOST, stack_frames=3, ustack_frames=5).text
    assert "@s[kstack(3), ustack(5)]" in text and "@t[kstack(2)]" in text


def test_options_from_the_script_and_x():
    from dtscope.collectors.bpftrace import resolve_options

    from dtscope.errors import UsageError

    env, settings = resolve_options({"quiet": None, "strsize": "16", "aggrate": "1s", "bufsize": "64k"},
                                    {"strsize": "32", "stackframes": "4"})
    assert env == {"BPFTRACE_STRLEN": "32", "BPFTRACE_PERF_RB_PAGES": "16"} and settings == {"stack_frames": 4}
    for script, cli, message in [
        ({}, {"aggrate": "1s"}, "-x aggrate: DTrace's aggrate has no bpftrace counterpart"),
        ({}, {"strsize": "300"}, "at most 200 bytes"),
        ({"flowindent": None}, {}, "#pragma D option flowindent: an option the bpftrace backend cannot honour"),
        ({}, {"stackframes": "lots"}, "expected a positive integer"),
    ]:
        with pytest.raises(UsageError, match=message):
            resolve_options(script, cli)


@pytest.mark.tracing
def test_run_passes_macro_arguments_and_honours_strsize(dtscope_cli, tmp_path):
    long_name = "/nonexistent/" + "a" * 80
    command = python_child(tmp_path, f"""
        for _ in range(3):
            try:
                open({long_name!r})
            except OSError:
                pass
    """)
    d_text = (
        "#!/usr/sbin/dtrace -qs\n"
        "#pragma D option strsize=16\n"
        "#pragma D option aggrate=1s\n"  # DTrace tuning: no effect on results, ignored
        "syscall::openat:entry /pid == $target/ { @paths[$$2, copyinstr(arg1)] = sum($1); }\n"
    )
    rows, _, _, _ = run_d_jsonl(dtscope_cli, tmp_path, d_text, "-c", command, "--", "-7", 'tag "x"\\')
    # (A path the kernel had not paged in yet reads as "": not one of ours.)
    found = [(r["keys"], r["value"]) for r in rows if r["keys"][1] and long_name.startswith(r["keys"][1])]
    assert found == [(['tag "x"\\', long_name[:15]], -21)]  # 16 bytes with the terminating NUL
    rows, _, _, _ = run_d_jsonl(dtscope_cli, tmp_path, d_text, "-x", "strsize=32", "-c", command, "--", "5", "t")
    assert [(r["keys"], r["value"]) for r in rows if r["keys"][1] and long_name.startswith(r["keys"][1])] == [
        (["t", long_name[:31]], 15)]


def test_run_refuses_x_options_bpftrace_cannot_honour(dtscope_cli, tmp_path):
    import os

    if os.geteuid() != 0:
        pytest.skip("the bpftrace backend checks privileges first")
    script = tmp_path / "s.d"
    script.write_text("BEGIN { exit(0); }\n")
    code, _, stderr = dtscope_cli("run", str(script), "--backend", "bpftrace", "-x", "dynvarsize=4m")
    assert code == 2 and "-x dynvarsize: DTrace's dynvarsize has no bpftrace counterpart" in stderr
    code, _, stderr = dtscope_cli("run", str(script), "-x", "=4m")
    assert code == 2 and "expected NAME=VALUE" in stderr
