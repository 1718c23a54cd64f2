"""The Python-to-D compiler: translations, errors with positions, parameters, metadata.

Translations are a table of (Python statement, D statement) rows in the manner of
sqlglot's validate_all: every row is compiled, printed, checked and parsed back.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from dtscope.dscript import api
from dtscope.dscript import ast as A
from dtscope.dscript.builtins import BUILTIN_VARIABLES, DESTRUCTIVE_ACTIONS, FUNCTIONS
from dtscope.dscript.checks import check
from dtscope.dscript.diagnostics import DiagnosticError
from dtscope.dscript.parser import parse
from dtscope.dscript.printer import to_d
from dtscope.dscript.pyscript import (
    compile_file,
    compile_source,
    format_duration,
    parse_duration,
    parse_value,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from dtscope.errors import UsageError, UserError

HEADER = """\
from dtscope.dscript.api import *

agg = aggregation()
stacks = aggregation()
arr = assoc_array()


@probe("syscall:::entry")
def clause():
"""
BODY_LINE = HEADER.count("\n") + 1  # the line of the first body statement


def compile_body(body: str, filename: str = "script.py", defines=None):
    return compile_source(
        HEADER + textwrap.indent(textwrap.dedent(body), "    "), filename, defines
    )


def body_d(body: str) -> str:
    """The D of a clause body, one statement per line, without indentation."""
    program = compile_body(body).program
    text = to_d(program)
    inner = text[text.index("{\n") + 2 : text.rindex("}")]
    return textwrap.dedent(inner).strip()


def assert_valid(program: A.Program) -> None:
    errors = [d for d in check(program) if d.severity == "error"]
    assert errors == [], "\n".join(str(d) for d in errors)
    assert parse(to_d(program)) == program


# --------------------------------------------------------------------------- translations

TRANSLATIONS = [
    ("self.ts = timestamp", "self->ts = timestamp;"),
    ("this.x = arg0 + 1", "this->x = arg0 + 1;"),
    ("self.n += 2", "self->n += 2;"),
    ("self.n //= 2", "self->n /= 2;"),
    ("self.n <<= 1", "self->n <<= 1;"),
    ("self.m = (arg0 % 8 << 1 | arg1 & 3) ^ 4", "self->m = (arg0 % 8 << 1 | arg1 & 3) ^ 4;"),
    ("self.m = arg0 * (arg1 - 2) / 3", "self->m = arg0 * (arg1 - 2) / 3;"),
    ("self.b = arg0 > 1 and not arg1 or arg2 == 3", "self->b = arg0 > 1 && !arg1 || arg2 == 3;"),
    ("self.b = arg0 and (arg1 or arg2)", "self->b = arg0 && (arg1 || arg2);"),
    ("self.c = 1 < arg0 <= 5", "self->c = 1 < arg0 && arg0 <= 5;"),
    ("self.t = 1 if arg0 else 2", "self->t = arg0 ? 1 : 2;"),
    ("self.t = -arg0 if arg0 != 0 else ~arg1", "self->t = arg0 != 0 ? -arg0 : ~arg1;"),
    ("del self.ts", "self->ts = 0;"),
    ("del this.x", "this->x = 0;"),
    ("self.a = self.b = 0", "self->a = self->b = 0;"),
    ("self.neg = -5", "self->neg = -5;"),
    ("self.h = 0xff", "self->h = 0xff;"),
    ("self.big = 1_000_000", "self->big = 1000000;"),
    ("self.flag = True", "self->flag = 1;"),
    ("self.p = curpsinfo.pr_psargs", "self->p = curpsinfo->pr_psargs;"),
    ("this.d = args[1].dev_statname", "this->d = args[1]->dev_statname;"),
    (
        "this.z = curthread.t_procp.p_zone.zone_name",
        "this->z = curthread->t_procp->p_zone->zone_name;",
    ),
    (
        'this.u = dot(curthread.t_procp.p_user, "u_comm")',
        "this->u = curthread->t_procp->p_user.u_comm;",
    ),
    ('this.f = cast("struct file *", arg0)', "this->f = (struct file *)arg0;"),
    ('this.v = deref(cast("int *", arg0))', "this->v = *(int *)arg0;"),
    ('this.w = cast("unsigned long long", arg0)', "this->w = (unsigned long long)arg0;"),
    ("this.s = stringof(args[1].dev_name)", "this->s = stringof(args[1]->dev_name);"),
    ("this.r = const.B_READ", "this->r = B_READ;"),
    ("this.r = arg0 & B_WRITE", "this->r = arg0 & B_WRITE;"),
    ('this.s = "a\\"b\\\\c\\n"', 'this->s = "a\\"b\\\\c\\n";'),
    ('printf("%s %d\\n", execname, pid)', 'printf("%s %d\\n", execname, pid);'),
    ("trace(copyinstr(arg0))", "trace(copyinstr(arg0));"),
    ("exit(0)", "exit(0);"),
    ("agg[execname] = count()", "@agg[execname] = count();"),
    ("agg[()] = sum(arg0)", "@agg = sum(arg0);"),
    (
        "agg[execname, probefunc] = lquantize(arg0, 0, 100, 10)",
        "@agg[execname, probefunc] = lquantize(arg0, 0, 100, 10);",
    ),
    ("agg[pid] = llquantize(arg0, 10, 0, 6, 20)", "@agg[pid] = llquantize(arg0, 10, 0, 6, 20);"),
    (
        "agg[zonename] = quantize(timestamp - self.ts)",
        "@agg[zonename] = quantize(timestamp - self->ts);",
    ),
    ("agg[execname] = avg(arg0)", "@agg[execname] = avg(arg0);"),
    ("agg[execname] = stddev(arg0)", "@agg[execname] = stddev(arg0);"),
    ("agg[execname] = max(arg0)", "@agg[execname] = max(arg0);"),
    ("stacks[stack()] = count()", "@stacks[stack()] = count();"),
    ("stacks[execname, ustack(10)] = count()", "@stacks[execname, ustack(10)] = count();"),
    ("printa(agg)", "printa(@agg);"),
    ('printa("%s %@d\\n", agg)', 'printa("%s %@d\\n", @agg);'),
    ("clear(agg)", "clear(@agg);"),
    ("trunc(agg, 5)", "trunc(@agg, 5);"),
    ("normalize(agg, 1000)", "normalize(@agg, 1000);"),
    ("arr[pid] = timestamp", "arr[pid] = timestamp;"),
    ("arr[pid, tid] += 1", "arr[pid, tid] += 1;"),
    ("del arr[pid]", "arr[pid] = 0;"),
    ("pass", ""),
    ('"""A docstring is a comment."""\ntrace(1)', "trace(1);"),
]


@pytest.mark.parametrize(("python", "d"), TRANSLATIONS, ids=[t[0] for t in TRANSLATIONS])
def test_translation(python: str, d: str):
    assert body_d(python) == d
    assert_valid(compile_body(python).program)


def test_if_elif_else():
    source = """\
    if arg0 > 10:
        trace(1)
    elif arg0 > 5:
        trace(2)
    else:
        trace(3)
        self.x = 0
    """
    assert body_d(source) == textwrap.dedent("""\
        if (arg0 > 10) {
        \ttrace(1);
        } else if (arg0 > 5) {
        \ttrace(2);
        } else {
        \ttrace(3);
        \tself->x = 0;
        }""")
    program = compile_body(source).program
    assert isinstance(program.clauses[0].body[0], A.If)
    assert_valid(program)


def test_probe_descriptions_predicate_and_options():
    source = """\
from dtscope.dscript.api import options, probe, self, trace, execname

options(quiet=True, bufsize="4m", switchrate=10)


@probe("syscall::read:entry", "syscall::write:entry", when=lambda: execname == "sshd" and not self.busy)
def traced():
    trace(1)


@probe("BEGIN", when=execname != "x")
def begin() -> None:
    pass
"""
    program = compile_source(source, "p.py").program
    assert to_d(program) == textwrap.dedent("""\
        #pragma D option quiet
        #pragma D option bufsize=4m
        #pragma D option switchrate=10

        syscall::read:entry,
        syscall::write:entry
        /execname == "sshd" && !self->busy/
        {
        \ttrace(1);
        }

        BEGIN
        /execname != "x"/
        {
        }
        """)
    assert_valid(program)


def test_aliased_imports_resolve_to_the_d_names():
    source = """\
from dtscope.dscript.api import aggregation, probe
from dtscope.dscript.api import count as tally, execname as process

calls = aggregation()


@probe("syscall:::entry")
def clause():
    calls[process] = tally()
"""
    assert "@calls[execname] = count();" in to_d(compile_source(source).program)


def test_global_variables_need_a_declaration_and_python_global():
    source = """\
from dtscope.dscript.api import printf, probe, timestamp, variable

started = variable()
events = variable()


@probe("BEGIN")
def begin():
    global started
    started = timestamp


@probe("syscall:::entry")
def count_it():
    global events
    events += 1


@probe("END")
def end():
    global events
    printf("%d events in %d ns\\n", events, timestamp - started)
    del events
"""
    program = compile_source(source).program
    text = to_d(program)
    assert "started = timestamp;" in text and "events += 1;" in text and "events = 0;" in text
    assert 'printf("%d events in %d ns\\n", events, timestamp - started);' in text
    assert_valid(program)
    with pytest.raises(DiagnosticError, match="say `global events` first"):
        compile_source(source.replace("    global events\n    events += 1", "    events += 1"))
    with pytest.raises(DiagnosticError, match="not declared at module level"):
        compile_source(source.replace("    global started\n", "    global nope\n"))


def test_spans_point_into_the_python_file():
    program = compile_body("self.ts = timestamp").program
    statement = program.clauses[0].body[0]
    assert statement.span.file == "script.py"
    assert (statement.span.line, statement.span.col) == (BODY_LINE, 5)


# --------------------------------------------------------------------------- errors

BODY_ERRORS = [
    # (body, code, column of the error in the body line, words in the message)
    ("for x in range(3):\n    trace(x)", "PY_UNSUPPORTED", 5, "for loop"),
    ("while arg0:\n    trace(1)", "PY_UNSUPPORTED", 5, "while loop"),
    ("return", "PY_UNSUPPORTED", 5, "return"),
    ("foo(1)", "PY_CALL", 5, "`foo` is not a D function"),
    ("print(execname)", "PY_CALL", 5, "printf or trace"),
    ("os.system('ls')", "PY_CALL", 5, "`os.system` is not a D function"),
    ("self.n = len(execname)", "PY_CALL", 14, "`len` is not a D function"),
    ("trace(nosuch)", "PY_NAME", 11, "unknown name `nosuch`"),
    ("x = 1", "PY_ASSIGN", 5, "this.x"),
    ("agg[execname] += 1", "PY_AGG", 5, "not `+=`"),
    ("agg[execname] = 5", "PY_AGG", 21, "aggregating function"),
    ("trace(agg)", "PY_AGG", 11, "aggregation"),
    ("self.x = agg[execname]", "PY_AGG", 14, "cannot read"),
    ("self.x = count()", "PY_AGG", 14, "aggregating function"),
    ("del agg[execname]", "PY_AGG", 9, "clear"),
    ("self.x = 1.5", "PY_CONST", 14, "floating point"),
    ("self.x = 2**64", "PY_UNSUPPORTED", 14, "Pow"),
    ("self.x = 18446744073709551616", "PY_CONST", 14, "64 bits"),
    ("self.x = f'{pid}'", "PY_UNSUPPORTED", 14, "printf"),
    ("self.x = arg0 ** 2", "PY_UNSUPPORTED", 14, "Pow"),
    ("self.x = arg0 in (1, 2)", "PY_UNSUPPORTED", 14, "`in`"),
    ("self.x = arg0 is None", "PY_UNSUPPORTED", 14, "`is`"),
    ("self.x = [1, 2]", "PY_UNSUPPORTED", 14, "a list"),
    ("self.x = arr[()]", "PY_UNSUPPORTED", 18, "empty index"),
    ("self.x = args[()]", "PY_UNSUPPORTED", 19, "empty index"),
    ("self.x = (y := 1)", "PY_UNSUPPORTED", 15, "`:=`"),
    ("self.x = lambda: 1", "PY_UNSUPPORTED", 14, "a lambda"),
    ("arg0", "PY_UNSUPPORTED", 5, "no effect"),
    ("pid = 1", "PY_ASSIGN", 5, "Python local"),
    ("curpsinfo.pr_pid = 1", "PY_ASSIGN", 5, "self.x, this.x"),
    ("self.x = self", "PY_UNSUPPORTED", 14, "namespace"),
    ("self.x = count", "PY_UNSUPPORTED", 14, "call it"),
    ('self.x = cast("int; system", arg0)', "PY_CALL", 19, "C type"),
    ("self.x = dot(arg0, 'a b')", "PY_CALL", 24, "member"),
    ("self.x = dot(arg0, 'é')", "PY_CALL", 24, "member"),
    ("self.é = 1", "PY_NAME", 5, "not a D name"),
    ("trace(const.NOT_A_CONSTANT)", "PY_NAME", 11, "not a constant"),
    ("printf('%d', pid, width=3)", "PY_CALL", 23, "positional"),
    ("def inner():\n    pass", "PY_UNSUPPORTED", 5, "nested function"),
    ("with x:\n    pass", "PY_UNSUPPORTED", 5, "with"),
]


@pytest.mark.parametrize(
    ("body", "code", "col", "words"), BODY_ERRORS, ids=[e[0] for e in BODY_ERRORS]
)
def test_unsupported_body_is_an_error_at_the_python_position(body, code, col, words):
    with pytest.raises(DiagnosticError) as caught:
        compile_body(body, filename="bad.py")
    first = caught.value.diagnostics[0]
    assert first.code == code, str(caught.value)
    assert words in first.message
    assert (first.span.file, first.span.line, first.span.col) == ("bad.py", BODY_LINE, col)
    # The formatted message names file:line:col and shows the offending line.
    formatted = caught.value.format()
    assert formatted.startswith(f"bad.py:{BODY_LINE}:{col}: error: ")
    first_line = body.splitlines()[0]
    assert first_line in formatted
    if "\n" in body:  # a compound statement: the caret underlines its first line
        assert formatted.endswith("^" + "~" * (len(first_line) - 1))


def test_every_error_is_reported_at_once():
    with pytest.raises(DiagnosticError) as caught:
        compile_body("foo()\nself.ok = 1\nbar = 2\ntrace(nosuch)")
    assert [(d.code, d.span.line) for d in caught.value.diagnostics] == [
        ("PY_CALL", BODY_LINE),
        ("PY_ASSIGN", BODY_LINE + 2),
        ("PY_NAME", BODY_LINE + 3),
    ]


def test_columns_count_characters_not_bytes():
    with pytest.raises(DiagnosticError) as caught:
        compile_body('self.s = "éé"; foo()')
    assert caught.value.diagnostics[0].span.col == len('    self.s = "éé"; ') + 1


MODULE_ERRORS = [
    ("import os", "PY_IMPORT", "imports only"),
    ("from os import path", "PY_IMPORT", "imports only"),
    ("from dtscope.dscript.api import nothing_here", "PY_IMPORT", "no name"),
    ("def helper():\n    pass", "PY_UNSUPPORTED", "no @probe"),
    ("x = foo()", "PY_DECL", "must be aggregation()"),
    ("for i in range(2):\n    pass", "PY_UNSUPPORTED", "module level"),
    ("print('hi')", "PY_UNSUPPORTED", "module level"),
    (
        '@probe("syscall:::entry; system")\ndef f():\n    pass',
        "PY_PROBE",
        "not a probe description",
    ),
    (
        '@probe("BEGIN { system(\\"x\\") } tick-1s")\ndef f():\n    pass',
        "PY_PROBE",
        "probe description",
    ),
    ('@probe("BEGIN/x/")\ndef f():\n    pass', "PY_PROBE", "not a probe description"),
    ("@probe()\ndef f():\n    pass", "PY_PROBE", "at least one"),
    ('@probe("1e9tcp:::send")\ndef f():\n    pass', "PY_PROBE", "not a probe description"),
    ('@probe("int")\ndef f():\n    pass', "PY_PROBE", "not a probe description"),
    ('@probe("a:b:c:d:e")\ndef f():\n    pass', "PY_PROBE", "not a probe description"),
    ('@probe("BEGIN", when=lambda e: e)\ndef f():\n    pass', "PY_PROBE", "no arguments"),
    ('@probe("BEGIN", where=1)\ndef f():\n    pass', "PY_PROBE", "when="),
    ('@probe("syscall::{zone}:entry")\ndef f():\n    pass', "PY_PROBE", "only int, Duration"),
    ('@probe("syscall::{nope}:entry")\ndef f():\n    pass', "PY_PROBE", "parameter or constant"),
    ('@probe("BEGIN")\ndef f(a):\n    pass', "PY_UNSUPPORTED", "no arguments"),
    ('@probe("BEGIN")\ndef f() -> int:\n    pass', "PY_UNSUPPORTED", "returns nothing"),
    ('@probe("BEGIN")\n@probe("END")\ndef f():\n    pass', "PY_UNSUPPORTED", "one @probe"),
    ("META = {'nme': 'x'}", "PY_META", "unknown META key"),
    ("META = dict(units={'lat': 'parsecs'})", "PY_META", "units must be"),
    ("META = dict(platforms=['windows'])", "PY_META", "unknown platform"),
    ("META = dict(units={'missing': 'ns'})", "PY_META", "not an aggregation"),
    ("META = dict(name=some_name)", "PY_DECL", "literal"),
    ("lat2 = aggregation(units='parsecs')", "PY_DECL", "units must be"),
    ("lat2 = aggregation(labels='zone')", "PY_DECL", "list of strings"),
    ("p = param(float)", "PY_PARAM", "needs a type"),
    ("p = param(int, default='ten')", "PY_PARAM", "not a valid int"),
    ("p = param(Duration, default='10 parsecs')", "PY_PARAM", "not a duration"),
    ("p = param(Identifier, default='a b')", "PY_PARAM", "not an identifier"),
    ("options(bufsize='4m; system(\"x\")')", "PY_DECL", "option's value"),
    ("options('quiet')", "PY_DECL", "keywords"),
    ("zone = 1", "PY_REDEFINED", "already defined"),
    ("string = variable()", "PY_DECL", "reserved word"),
    ("size_t = assoc_array()", "PY_DECL", "reserved word"),
    ("inline = variable()", "PY_DECL", "reserved word"),
]

MODULE_PRELUDE = """\
from dtscope.dscript.api import *

zone = param(str, default="global")
lat = aggregation()


@probe("BEGIN")
def ok():
    pass


"""


@pytest.mark.parametrize(
    ("source", "code", "words"), MODULE_ERRORS, ids=[e[0] for e in MODULE_ERRORS]
)
def test_module_level_errors(source, code, words):
    with pytest.raises(DiagnosticError) as caught:
        compile_source(MODULE_PRELUDE + source, "mod.py")
    first = caught.value.diagnostics[0]
    assert first.code == code, str(caught.value)
    assert words in first.message, first.message
    assert first.span.file == "mod.py"
    assert first.span.line >= MODULE_PRELUDE.count("\n") + 1


def test_python_syntax_error_has_a_position():
    with pytest.raises(DiagnosticError) as caught:
        compile_source(
            "from dtscope.dscript.api import probe\n\n@probe('BEGIN')\ndef f(:\n    pass\n", "s.py"
        )
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.code == "PY_SYNTAX"
    assert (diagnostic.span.file, diagnostic.span.line) == ("s.py", 4)


def test_a_script_without_probes_is_an_error():
    with pytest.raises(DiagnosticError, match="no @probe"):
        compile_source('"""Nothing."""\n', "empty.py")


def test_unreadable_and_non_utf8_files_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="cannot read"):
        compile_file(str(tmp_path / "missing.py"))
    binary = tmp_path / "bin.py"
    binary.write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(UserError, match="not UTF-8"):
        compile_file(str(binary))


# --------------------------------------------------------------------------- parameters

PARAMS = """\
from dtscope.dscript.api import Duration, Identifier, param, probe, self, timestamp, trace, zonename

zone = param(str, default="global", help="zone name")
threshold = param(Duration, default="10ms")
count_min = param(int, default=-3)
syscall = param(Identifier, default="read")
hz = param(int, default=97)


@probe("syscall::{syscall}:entry", "profile-{hz}", "tick-{threshold}", when=lambda: zonename == zone)
def clause():
    trace(threshold)
    trace(count_min)
"""


def test_parameter_defaults_and_declarations():
    compiled = compile_source(PARAMS, "params.py")
    assert [(p.name, p.type, p.default, p.help) for p in compiled.params] == [
        ("zone", "string", "global", "zone name"),
        ("threshold", "duration", 10_000_000, ""),
        ("count_min", "int", -3, ""),
        ("syscall", "identifier", "read", ""),
        ("hz", "int", 97, ""),
    ]
    text = to_d(compiled.program)
    assert text.startswith('syscall::read:entry,\nprofile-97,\ntick-10ms\n/zonename == "global"/\n')
    assert "trace(10000000);" in text and "trace(-3);" in text
    assert_valid(compiled.program)


def test_defines_set_parameters():
    compiled = compile_source(
        PARAMS,
        "params.py",
        {"zone": "web-01", "threshold": "1.5us", "count_min": "0x10", "syscall": "openat"},
    )
    assert compiled.values == {
        "zone": "web-01",
        "threshold": 1500,
        "count_min": 16,
        "syscall": "openat",
        "hz": 97,
    }
    text = to_d(compiled.program)
    assert "syscall::openat:entry" in text and "tick-1500ns" in text and '"web-01"' in text


@pytest.mark.parametrize(
    ("defines", "words"),
    [
        ({"nope": "1"}, "has no parameter `nope`"),
        ({"threshold": "10 parsecs"}, "-D threshold: '10 parsecs' is not a duration"),
        ({"threshold": "-1ms"}, "not a duration"),
        ({"count_min": "1; exit(0)"}, "-D count_min: '1; exit(0)' is not an integer"),
        ({"count_min": "1e3"}, "not an integer"),
        ({"hz": str(2**64)}, "64 bits"),
        ({"syscall": 'read:entry { system("x") }'}, "is not an identifier"),
        ({"syscall": "*"}, "is not an identifier"),
        ({"syscall": ""}, "is not an identifier"),
    ],
)
def test_bad_defines_are_usage_errors(defines, words):
    with pytest.raises(UsageError) as caught:
        compile_source(PARAMS, "params.py", defines)
    assert words in str(caught.value)
    assert caught.value.exit_code == 2


def test_defines_may_be_numbers_from_python_callers():
    compiled = compile_source(PARAMS, "params.py", {"hz": 199, "threshold": 5000})
    assert (compiled.values["hz"], compiled.values["threshold"]) == (199, 5000)


def test_a_required_parameter_must_be_given():
    source = PARAMS.replace(
        'param(str, default="global", help="zone name")', 'param(str, help="zone name")'
    )
    with pytest.raises(UsageError, match=r"needs -D zone=VALUE \(string: zone name\)"):
        compile_source(source, "params.py")
    assert compile_source(source, "params.py", {"zone": "z1"}).values["zone"] == "z1"


INJECTIONS = [
    '"); system("rm -rf /"); trace("',
    '" || 1 || "',
    "\\",
    '\\"',
    "a\\nb",
    "line\nbreak",
    "tab\there",
    "*/ /* ",
    "/ { exit(0); } /",
    "'; exit(0); '",
    "%s%s%s%n",
    "\x01\x7f",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_string_values_cannot_inject_d(value: str):
    compiled = compile_source(PARAMS, "params.py", {"zone": value})
    reparsed = parse(to_d(compiled.program))
    assert reparsed == compiled.program  # same shape: one clause, the same statements
    predicate = reparsed.clauses[0].predicate
    assert isinstance(predicate, A.Binary) and isinstance(predicate.right, A.StrLit)
    assert predicate.right.value == value
    assert not any(isinstance(n, A.Call) and n.func in DESTRUCTIVE_ACTIONS for n in reparsed.walk())


def test_non_ascii_string_values_become_utf8_bytes():
    compiled = compile_source(PARAMS, "params.py", {"zone": "zoné→"})
    literal = parse(to_d(compiled.program)).clauses[0].predicate.right
    assert literal.value.encode("latin-1") == "zoné→".encode()


@settings(max_examples=120, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=127)))
def test_any_ascii_string_value_stays_one_literal(value: str):
    compiled = compile_source(PARAMS, "params.py", {"zone": value})
    reparsed = parse(to_d(compiled.program))
    assert reparsed == compiled.program
    assert reparsed.clauses[0].predicate.right.value == value


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("10ms", 10_000_000),
        ("1.5us", 1500),
        ("250", 250),
        ("250ns", 250),
        ("2s", 2 * 10**9),
        ("1m", 60 * 10**9),
        ("10 ms", 10_000_000),
        ("1h", 3600 * 10**9),
        ("3sec", 3 * 10**9),
    ],
)
def test_parse_duration(text, ns):
    assert parse_duration(text) == ns


@pytest.mark.parametrize(
    "text", ["", "ms", "10 parsecs", "-1ms", "1.0000000001ns", "1e3ms", "10ms5"]
)
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_format_duration_is_exact_and_short():
    assert [format_duration(n) for n in (10**9, 10_000_000, 1500, 7, 90 * 10**9)] == [
        "1s",
        "10ms",
        "1500ns",
        "7ns",
        "90s",
    ]


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("int", "42", 42),
        ("int", "-7", -7),
        ("int", "0x10", 16),
        ("identifier", "global", "global"),
        (
            "identifier",
            "7d3f9a2c-1e4b-4c55-9a8e-0123456789ab",
            "7d3f9a2c-1e4b-4c55-9a8e-0123456789ab",
        ),
        ("identifier", "zfs.read_1", "zfs.read_1"),
        ("string", 'any thing"', 'any thing"'),
    ],
)
def test_parse_value(kind, text, value):
    assert parse_value(kind, text) == value


# --------------------------------------------------------------------------- metadata


def test_metadata_from_meta_docstring_and_aggregations(tmp_path):
    script = tmp_path / "zone_cpu.py"
    script.write_text('''\
"""CPU samples by zone.

More words here.
"""
from dtscope.dscript.api import aggregation, count, probe, zonename

META = dict(area="zones", platforms=["illumos", "linux"], units={"samples": "count"},
            labels={"samples": ["zone"]})

samples = aggregation(help="profile samples")
latency = aggregation(units="ns")


@probe("profile-99")
def sample():
    samples[zonename] = count()
''')
    compiled = compile_file(str(script))
    assert compiled.metadata == {
        "name": "zone-cpu",
        "description": "CPU samples by zone.",
        "area": "zones",
        "platforms": ["illumos", "linux"],
        "units": {"samples": "count", "latency": "ns"},
        "labels": {"samples": ["zone"]},
    }
    assert compiled.units == {"samples": "count", "latency": "ns"}
    assert compiled.aggregations["samples"].help == "profile samples"


def test_meta_units_must_agree_with_the_declaration():
    source = """\
from dtscope.dscript.api import aggregation, count, probe

META = {"units": {"calls": "ns"}}
calls = aggregation(units="count")


@probe("BEGIN")
def f():
    calls[()] = count()
"""
    with pytest.raises(DiagnosticError, match="has units 'count' and META says 'ns'"):
        compile_source(source)


def test_constants_are_substituted():
    source = """\
from dtscope.dscript.api import probe, trace

LIMIT = 1000
LABEL = "big"


@probe("BEGIN")
def f():
    trace(LIMIT)
    trace(LABEL)
"""
    assert 'trace(1000);\n\ttrace("big");' in to_d(compile_source(source).program)


# --------------------------------------------------------------------------- the api module


def test_importing_the_api_has_no_side_effects():
    code = (
        "import sys, io, contextlib\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):\n"
        "    import dtscope.dscript.api\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('lark', 'pandas', 'textual', 'ply'))\n"
        "print(repr(out.getvalue()), heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "'' []"


def test_api_names_match_the_d_registries():
    assert set(api.__all__) == {name for name in api.__all__ if hasattr(api, name)}
    # Every api variable is D; a variable the registry learns later compiles even before
    # the api names it (the compiler falls back to the registry).
    assert api.VARIABLES <= set(BUILTIN_VARIABLES)
    assert api.FUNCTIONS | api.AGGREGATING_FUNCTIONS <= set(FUNCTIONS)
    assert not (api.FUNCTIONS & DESTRUCTIVE_ACTIONS)  # no system(), raise(), stop()...


def test_d_functions_refuse_to_run_in_python():
    with pytest.raises(api.NotCompiled, match="dtscope compile"):
        api.count()
    with pytest.raises(api.NotCompiled):
        api.printf("%d", 1)
    with pytest.raises(api.NotCompiled):
        api.self.ts = 1


# --------------------------------------------------------------------------- the command line


GOOD = """\
from dtscope.dscript.api import aggregation, count, execname, param, probe, zonename

zone = param(str, default="global")
calls = aggregation(units="count")


@probe("syscall:::entry", when=lambda: zonename == zone)
def clause():
    calls[execname] = count()
"""


def test_cli_compile_prints_d(tmp_path, dtscope_cli):
    script = tmp_path / "good.py"
    script.write_text(GOOD)
    code, out, err = dtscope_cli("compile", str(script), "-D", 'zone=a"b')
    assert (code, err) == (0, "")
    assert out == 'syscall:::entry\n/zonename == "a\\"b"/\n{\n\t@calls[execname] = count();\n}\n'


@pytest.fixture
def cli_in_process(capsys):
    """The command line in this process (no interpreter start-up): (code, stdout, stderr)."""
    from dtscope.cli import main

    def run(*args: str):
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse usage errors
            code = exit_.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_cli_compile_writes_output_file(tmp_path, cli_in_process):
    script = tmp_path / "good.py"
    script.write_text(GOOD)
    target = tmp_path / "out.d"
    code, out, err = cli_in_process("compile", str(script), "-o", str(target))
    assert (code, out, err) == (0, "", "")
    assert target.read_text().startswith("syscall:::entry\n")


def test_cli_compile_d_file(tmp_path, cli_in_process):
    script = tmp_path / "one.d"
    script.write_text("syscall:::entry{@[execname]=count();}")
    code, out, _ = cli_in_process("compile", str(script))
    assert (code, out) == (0, "syscall:::entry\n{\n\t@[execname] = count();\n}\n")


def test_cli_compile_errors(tmp_path, cli_in_process):
    script = tmp_path / "good.py"
    script.write_text(GOOD)
    code, _, err = cli_in_process("compile", str(script), "-D", "nope=1")
    assert code == 2 and "dtscope compile: error: -D nope:" in err
    code, _, err = cli_in_process("compile", str(script), "-D", "zone")
    assert code == 2 and "NAME=VALUE" in err

    bad = tmp_path / "bad.py"
    bad.write_text(GOOD + "    for x in range(3):\n        pass\n")
    code, _, err = cli_in_process("compile", str(bad))
    assert code == 1
    assert f"{bad}:10:5: error: a for loop (D has no loops) is not supported" in err
    assert "Traceback" not in err

    redefined = tmp_path / "redef.py"
    redefined.write_text(GOOD + "    calls[execname] = sum(arg0)\n")
    code, _, err = cli_in_process("compile", str(redefined))
    assert code == 1 and "D_AGG_REDEF" in err and f"{redefined}:10:5" in err

    code, _, err = cli_in_process("compile", str(tmp_path / "missing.py"))
    assert code == 2 and "no such file" in err


# --------------------------------------------------------------------------- a real run

TRACED = """\
\"\"\"Writes of the traced command: count, bytes, sizes and latency.\"\"\"
from dtscope.dscript.api import (
    Identifier, aggregation, arg0, count, execname, param, pid, probe, quantize, self, sum,
    target, this, timestamp,
)

syscall = param(Identifier, default="read")
calls = aggregation(units="count")
written = aggregation(units="bytes")
sizes = aggregation(units="bytes")
latency = aggregation(units="ns")


@probe("syscall::{syscall}:entry", when=lambda: pid == target)
def enter():
    self.ts = timestamp


@probe("syscall::{syscall}:return", when=lambda: self.ts != 0)
def leave():
    this.size = arg0
    calls[execname] = count()
    written[()] = sum(this.size if this.size > 0 else 0)
    sizes[()] = quantize(this.size)
    latency[()] = quantize(timestamp - self.ts)
    del self.ts
"""

WORKLOAD = """\
import os
fd = os.open("/dev/null", os.O_WRONLY)
for _ in range(300):
    os.write(fd, b"x" * 1000)
for _ in range(20):
    os.write(fd, b"y" * 5)
"""


@pytest.mark.tracing
def test_a_compiled_script_counts_exactly_what_the_workload_did(tmp_path, dtscope_cli):
    """Python script -> D -> bpftrace on a command doing 300 writes of 1000 bytes and 20 of 5."""
    script, workload, out = tmp_path / "writes.py", tmp_path / "work.py", tmp_path / "run.jsonl"
    script.write_text(TRACED)
    workload.write_text(WORKLOAD)
    code, _, err = dtscope_cli(
        "run",
        str(script),
        "-D",
        "syscall=write",
        "-c",
        f"{sys.executable} -I -S {workload}",
        "-o",
        str(out),
    )
    assert code == 0, err
    rows = {}
    for line in out.read_text().splitlines():
        record = json.loads(line)
        if "aggregation" in record:
            rows[record["aggregation"]] = record
    assert rows["calls"]["value"] == 320 and rows["calls"]["unit"] == "count"
    assert rows["written"]["value"] == 300 * 1000 + 20 * 5
    assert rows["written"]["unit"] == "bytes"
    nonzero = {(b["lo"], b["hi"]): b["count"] for b in rows["sizes"]["buckets"] if b["count"]}
    assert nonzero == {(4, 8): 20, (512, 1024): 300}
    assert rows["latency"]["value"] == 320 and rows["latency"]["unit"] == "ns"


# --------------------------------------------------------------------------- mutation fuzz

EXAMPLE_SOURCES = [
    p.read_text() for p in sorted((Path(__file__).parent.parent / "examples").glob("*.py"))
]
FRAGMENTS = [
    "self.",
    "this.",
    "[",
    "]",
    "()",
    "(",
    ")",
    ":",
    "\n    ",
    "\n",
    "lambda: ",
    "for x in y:",
    "agg",
    "[()]",
    "= count()",
    "= sum(",
    "del ",
    "global x",
    "x",
    "1",
    "-1",
    "0x",
    "'s'",
    '"',
    "{",
    "}",
    "{hz}",
    "@probe(",
    "def f():",
    "when=",
    "*",
    "**",
    "not ",
    " and ",
    " if ",
    " else ",
    "param(",
    "Duration",
    "META = {",
    "options(",
    "cast(",
    "dot(",
    "'int'",
    ",",
    ".",
    "await ",
    "yield",
    "import os",
    "print(",
    "if 1:",
    "elif",
    "else:",
    "pass",
    "->",
    "None",
    "True",
    "...",
    "\\",
    "#",
    "@",
    "=",
    "+=",
    "//=",
    ":=",
    "[1:2]",
    "f'x'",
    "b'x'",
    "1.5",
    "1e9",
    "2**70",
    "é",
]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(EXAMPLE_SOURCES),
    st.lists(
        st.tuples(st.floats(0, 1), st.booleans(), st.sampled_from(FRAGMENTS), st.integers(1, 10)),
        min_size=1,
        max_size=4,
    ),
)
def test_mangled_scripts_give_diagnostics_or_d_that_reads_back(source, edits):
    """No edit of a script makes the compiler crash or emit D the front end reads differently."""
    for where, delete, fragment, length in edits:
        at = int(where * len(source))
        source = (
            source[:at] + source[at + length :] if delete else source[:at] + fragment + source[at:]
        )
    try:
        compiled = compile_source(source, "mangled.py")
    except (DiagnosticError, UserError):
        return
    text = to_d(compiled.program)
    assert parse(text) == compiled.program
    check(compiled.program)  # may report problems, must not raise
