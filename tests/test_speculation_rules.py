"""D's compile-time rules for speculations (dscript/speculation_rules.py), as data.

Each program is ours; the expected tag and line are what Oracle's dtrace reports for it
(``dtrace: failed to compile script ...: [TAG] line N: message``), or None when dtrace
accepts it. ``test_dtrace_suite_errors`` also runs the suite's own err.D_* speculation
tests when /work/ext/dtrace-utils is there.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dtscope.dscript.parser import parse
from dtscope.dscript.speculation_rules import MESSAGES, check_speculation

RULES = [
    # speculate() and what may come before it
    ('BEGIN { s = speculation(); speculate(s); printf("x"); }', None),
    ("BEGIN { x = 1; speculate(1); trace(x); }", None),
    ("BEGIN { speculate(1); speculate(2); }", ("D_SPEC_SPEC", 1)),
    ("BEGIN {\n commit(1);\n speculate(1);\n}", ("D_SPEC_COMM", 3)),
    ("BEGIN {\n trace(1);\n speculate(1);\n}", ("D_SPEC_DREC", 3)),
    ("BEGIN {\n @a = count();\n speculate(1);\n}", ("D_SPEC_DREC", 3)),
    ("BEGIN {\n exit(0);\n speculate(1);\n}", ("D_SPEC_DREC", 3)),
    ("BEGIN { discard(2); speculate(1); trace(1); }", None),
    # after speculate()
    ("BEGIN {\n speculate(1);\n @a = sum(1);\n}", ("D_AGG_SPEC", 3)),
    ("BEGIN {\n speculate(1);\n @a[1] = quantize(1);\n}", ("D_AGG_SPEC", 3)),
    ("BEGIN {\n speculate(1);\n exit(0);\n}", ("D_EXIT_SPEC", 3)),
    ("BEGIN {\n speculate(1);\n raise(9);\n}", ("D_ACT_SPEC", 3)),
    ('BEGIN {\n speculate(1);\n system("ls");\n}', ("D_ACT_SPEC", 3)),
    ('BEGIN {\n speculate(1);\n freopen("/tmp/x");\n}', ("D_ACT_SPEC", 3)),
    ('BEGIN {\n speculate(1);\n copyoutstr("x", 0, 1);\n}', ("D_ACT_SPEC", 3)),
    ("BEGIN { @a = count(); }\nBEGIN { speculate(1); printa(@a); trace(1); discard(1); }", None),
    ("BEGIN { @a = count(); }\nBEGIN { speculate(1); clear(@a); stack(); }", None),
    # commit()
    ("BEGIN { commit(1); discard(2); }", None),
    ('BEGIN { commit(1); x = 2; self->y = strlen("abc"); }', None),
    ('BEGIN {\n printf("x");\n commit(1);\n}', ("D_COMM_DREC", 3)),
    ("BEGIN {\n @a = count();\n commit(1);\n}", ("D_COMM_DREC", 3)),
    ("BEGIN {\n commit(1);\n @a = count();\n}", ("D_AGG_COMM", 3)),
    ('BEGIN {\n commit(1);\n printf("x");\n}', ("D_DREC_COMM", 3)),
    ("BEGIN {\n commit(1);\n exit(0);\n}", ("D_DREC_COMM", 3)),
    ("BEGIN {\n commit(1);\n stop();\n}", ("D_DREC_COMM", 3)),
    ("BEGIN { trace(1); discard(1); exit(0); }", None),
    # each clause is separate; the first error of a clause is reported
    ("BEGIN { speculate(1); }\nBEGIN { commit(1); }\nBEGIN { trace(1); }", None),
    ("BEGIN {\n speculate(1);\n exit(0);\n exit(1);\n}", ("D_EXIT_SPEC", 3)),
    # options
    ("#pragma D option nspec=4\n#pragma D option specsize=2m\nBEGIN { }", None),
    ("#pragma D option nspec=0x10\n#pragma D option specsize=010\nBEGIN { }", None),
    ("#pragma D option nspec=-1\nBEGIN { }", ("D_PRAGMA_OPTSET", 1)),
    ("#pragma D option nspec=18446744073709551616\nBEGIN { }", ("D_PRAGMA_OPTSET", 1)),
    ("#pragma D option specsize=1b\nBEGIN { }", ("D_PRAGMA_OPTSET", 1)),
    ("#pragma D option specsize=08\nBEGIN { }", ("D_PRAGMA_OPTSET", 1)),
    ("#pragma D option nspec=2 * 3\nBEGIN { }", ("D_PRAGMA_MALFORM", 1)),
]


@pytest.mark.parametrize("source,expected", RULES, ids=[str(i) for i in range(len(RULES))])
def test_rules(source, expected):
    found = check_speculation(parse(source, "rule.d"))
    first = (found[0].code, found[0].span.line) if found else None
    assert first == expected
    if found and found[0].code in MESSAGES:
        assert found[0].message == MESSAGES[found[0].code]


SUITE = Path("/work/ext/dtrace-utils/test/unittest")
_EXPECTED = re.compile(r"\[(D_\w+)\] line (\d+): (.*)")


def test_dtrace_suite_errors():
    """Every err.D_* test of DTrace's suite about speculation rules or options: our first
    diagnostic has its tag, line and message."""
    tests = sorted(
        path
        for path in SUITE.glob("speculation/err.D_*.d")
        if re.search(r"SPEC|COMM|DREC|PRAGMA", path.name)
    )
    if not tests:
        pytest.skip("DTrace's test suite is not at /work/ext/dtrace-utils")
    results = {}
    for path in tests:
        tag, line, message = _EXPECTED.search(path.with_suffix(".r").read_text()).groups()
        found = check_speculation(parse(path.read_text(), str(path)))
        got = (found[0].code, found[0].span.line, found[0].message) if found else None
        results[path.name] = got == (tag, int(line), message)
    assert all(results.values()), [name for name, ok in results.items() if not ok]
    assert len(results) == 26


if __name__ == "__main__":
    # Check the table against a real dtrace: python tests/test_speculation_rules.py --verify
    import os
    import subprocess
    import sys
    import tempfile

    if sys.argv[1:] != ["--verify"]:
        sys.exit(f"usage: {sys.argv[0]} --verify")
    dtrace = os.environ.get("DTRACE", "/opt/dtrace-build/dtrace")
    wrong = 0
    for number, (source, expected) in enumerate(RULES):
        with tempfile.NamedTemporaryFile("w", suffix=".d") as script:
            script.write(source + "\n")
            script.flush()
            run = subprocess.run(
                [dtrace, "-xerrtags", "-w", "-e", "-s", script.name],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        match = re.search(r"\[(D_\w+)\] line (\d+):", run.stderr)
        got = (match.group(1), int(match.group(2))) if match else None
        if run.returncode and not match:
            got = ("failed", run.stderr.strip())
        wrong += got != expected
        print("ok " if got == expected else "BAD", number, expected, got)
    sys.exit(1 if wrong else 0)
