"""`dtscope check` and `dtscope fmt` as a user runs them: exit codes and messages."""

from __future__ import annotations

from pathlib import Path

GOOD = Path(__file__).parent / "corpus" / "good"


def test_check_ok_and_errors_reports_every_file(dtscope_cli, tmp_path):
    bad = tmp_path / "bad.d"
    bad.write_text("BEGIN\n{\n\tx = 1\n\ty = 2;\n}\n")
    also_bad = tmp_path / "also.d"
    also_bad.write_text("syscall:::entry { @a = count(); @a = sum(1); }\n")
    code, out, err = dtscope_cli("check", str(GOOD / "rwtime.d"), str(bad), str(also_bad))
    assert code == 1
    assert "rwtime.d: ok" in out
    assert f"{bad}:3:7: error:" in err and "^" in err
    assert "D_AGG_REDEF" in err  # the second bad file is still reported
    assert "Traceback" not in err


def test_check_stdin_and_usage_errors(dtscope_cli):
    code, out, err = dtscope_cli("check", "-", input="syscall:::entry { @[execname] = count(); }\n")
    assert code == 0 and "ok" in out
    code, _, err = dtscope_cli("check")
    assert code == 2 and "usage" in err.lower()
    code, _, err = dtscope_cli("check", "--no-such-flag", "x.d")
    assert code == 2


def test_check_missing_file_and_binary_junk(dtscope_cli, tmp_path):
    code, _, err = dtscope_cli("check", str(tmp_path / "nope.d"))
    assert code == 1 and "no such file" in err
    junk = tmp_path / "junk.d"
    junk.write_bytes(bytes(range(256)) * 4)
    code, _, err = dtscope_cli("check", str(junk))
    assert code == 1 and "error" in err and "Traceback" not in err


def test_check_with_preprocessor_flags(dtscope_cli, tmp_path):
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "limits.h").write_text("#define LIMIT 10\n")
    script = tmp_path / "s.d"
    script.write_text('#include "limits.h"\nsyscall:::entry /arg0 > LIMIT/ { @ = count(); }\n')
    code, _, err = dtscope_cli("check", str(script))
    assert code == 1 and "-C" in err
    code, out, err = dtscope_cli("check", "-C", "-I", str(tmp_path / "inc"), str(script))
    assert code == 0, err


def test_fmt_prints_canonical_and_check_mode(dtscope_cli, tmp_path):
    messy = tmp_path / "messy.d"
    messy.write_text("syscall::read:entry,syscall::write:entry/pid==1/{@[execname]=count();}\n")
    code, out, _ = dtscope_cli("fmt", str(messy))
    assert code == 0
    assert out == "syscall::read:entry,\nsyscall::write:entry\n/pid == 1/\n{\n\t@[execname] = count();\n}\n"
    code, _, err = dtscope_cli("fmt", "--check", str(messy))
    assert code == 1 and "not in canonical form" in err
    canonical = tmp_path / "canonical.d"
    canonical.write_text(out)
    code, _, _ = dtscope_cli("fmt", "--check", str(canonical))
    assert code == 0
    code, _, _ = dtscope_cli("fmt", "-w", str(messy))
    assert code == 0 and messy.read_text() == out


def test_every_command_has_help(dtscope_cli):
    from dtscope.cli import COMMANDS

    for name in COMMANDS:
        code, out, err = dtscope_cli(name, "--help")
        assert code == 0, (name, err)
        assert "usage: dtscope " + name in out
