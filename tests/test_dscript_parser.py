"""Front-end details: tree shapes, positions, #! options, the preprocessor, diagnostics."""

from __future__ import annotations

import pytest
from dtscope.dscript import ast as A
from dtscope.dscript.checks import check, destructive_actions
from dtscope.dscript.diagnostics import DiagnosticError
from dtscope.dscript.parser import interpreter_options, parse
from dtscope.dscript.printer import to_d


def only_stmt(src: str) -> A.Stmt:
    (clause,) = parse(src).clauses
    return clause.body[0]


def expr_of(src: str) -> A.Expr:
    return only_stmt(f"BEGIN {{ x = {src}; }}").expr.value


def test_probe_descriptions_keep_their_text_and_fields():
    program = parse("fbt:zfs:zfs_read:entry, read:entry, BEGIN, pid$target::malloc:entry, profile-997 {}")
    texts = [p.text for p in program.clauses[0].probes]
    assert texts == ["fbt:zfs:zfs_read:entry", "read:entry", "BEGIN", "pid$target::malloc:entry", "profile-997"]
    probes = program.clauses[0].probes
    assert probes[0].fields == ("fbt", "zfs", "zfs_read", "entry")
    assert probes[1].fields == ("", "", "read", "entry")
    assert probes[2].fields == ("", "", "", "BEGIN")


def test_c_precedence():
    e = expr_of("1 + 2 * 3 << 1 == 4 && 5 | 6")
    assert isinstance(e, A.Binary) and e.op == "&&"
    assert e.left.op == "==" and e.left.left.op == "<<" and e.left.left.left.op == "+"
    assert e.right.op == "|"
    t = expr_of("a ? b : c ? d : e")
    assert isinstance(t, A.Ternary) and isinstance(t.other, A.Ternary)
    x = expr_of("a || b ^^ c && d")
    assert x.op == "||" and x.right.op == "^^" and x.right.right.op == "&&"


def test_casts_sizeof_xlate_offsetof():
    assert isinstance(expr_of("(struct file **)arg0"), A.Cast)
    cast = expr_of("(struct file **)arg0")
    assert cast.type.pointers == 2 and cast.type.spec.name == A.StructSpec("struct", "file")
    assert isinstance(expr_of("(vnode_t *)arg0"), A.Cast)
    assert isinstance(expr_of("(x) * 2"), A.Binary)  # not a type: multiplication
    assert isinstance(expr_of("sizeof (uint64_t)").operand, A.TypeName)
    assert isinstance(expr_of("sizeof x").operand, A.Ident)
    assert isinstance(expr_of("xlate <psinfo_t *> (curthread->t_procp)"), A.Xlate)
    assert isinstance(expr_of("offsetof(struct foo, bar)"), A.OffsetOf)


def test_agg_statement_and_variables():
    stmt = only_stmt("BEGIN { @lat[zonename, execname] = quantize(timestamp - self->ts); }")
    assert stmt == A.AggStmt(
        "lat",
        [A.Ident("zonename"), A.Ident("execname")],
        "quantize",
        [A.Binary("-", A.Ident("timestamp"), A.ThreadVar("ts"))],
    )
    anon = only_stmt("BEGIN { @ = count(); }")
    assert anon.name == "" and anon.keys == []
    assert expr_of("this->x") == A.ClauseVar("x")
    assert expr_of("$1") == A.MacroArg("1") and expr_of("$$1") == A.MacroArg("1", True)
    assert expr_of("`max_ncpus") == A.KernelSym(None, "max_ncpus")


def test_if_else_chain():
    stmt = only_stmt("BEGIN { if (a) { x = 1; } else if (b) x = 2; else { x = 3; } a = 1; b = 1; }")
    assert isinstance(stmt, A.If) and isinstance(stmt.other[0], A.If)
    assert stmt.other[0].other == [A.ExprStmt(A.Assign("=", A.Ident("x"), A.IntLit("3")))]


def test_spans_point_into_the_source():
    program = parse("BEGIN\n{\n\tx = foo(1);\n}\n", "t.d")
    call = program.clauses[0].body[0].expr.value
    assert call.span == A.Span("t.d", 3, 6, 3, 11)  # from the name to the last argument


def test_interpreter_options_from_shebang():
    opts = interpreter_options("#!/usr/sbin/dtrace -Cqs -x bufsize=4m -x switchrate=10hz -Z\nBEGIN{}")
    assert opts["quiet"] is None and "C" in opts and opts["bufsize"] == "4m" and opts["switchrate"] == "10hz"
    assert "Z" in opts
    program = parse("#!/usr/sbin/dtrace -qs\n#pragma D option bufsize=8m\nBEGIN { exit(0); }\n")
    assert program.options() == {"quiet": None, "bufsize": "8m"}


def test_shebang_C_turns_on_the_preprocessor(tmp_path):
    (tmp_path / "defs.h").write_text("#define LIMIT 42\n")
    src = '#!/usr/sbin/dtrace -Cs\n#include "defs.h"\n#if LIMIT > 10\nBEGIN { x = LIMIT; }\n#endif\n'
    script = tmp_path / "s.d"
    script.write_text(src)
    from dtscope.dscript.parser import parse_file

    program = parse_file(str(script))
    assert program.clauses[0].body[0].expr.value == A.IntLit("42")


def test_preprocessor_errors_point_at_the_included_file(tmp_path):
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "bad.h").write_text("/* line 1 */\nBEGIN { x = ; }\n")
    script = tmp_path / "main.d"
    script.write_text('#include "bad.h"\nEND {}\n')
    with pytest.raises(DiagnosticError) as info:
        parse(script.read_text(), str(script), cpp=True, include_dirs=[str(tmp_path / "inc")])
    (diag,) = info.value.diagnostics
    assert diag.span.file.endswith("inc/bad.h") and diag.span.line == 2 and diag.span.col == 13
    assert "BEGIN { x = ; }" in info.value.format()


def test_nodes_of_preprocessed_scripts_point_at_their_own_file_and_line(tmp_path):
    # Checks run after the parse: their messages must still name the original lines.
    (tmp_path / "inc.h").write_text("/* one */\nBEGIN { x = 1; }\n")
    script = tmp_path / "main.d"
    script.write_text('#define N 1\n#include "inc.h"\nEND { @a = count(); @a = sum(N); }\n')
    program = parse(script.read_text(), str(script), cpp=True)
    begin, end = program.clauses
    assert (begin.span.file, begin.span.line) == (str(tmp_path / "inc.h"), 2)
    assert (end.span.file, end.span.line, end.span.col) == (str(script), 3, 1)
    (diag,) = [d for d in check(program) if d.code == "D_AGG_REDEF"]
    assert (diag.span.line, diag.span.col) == (3, 21)


def test_hash_lines_need_C():
    with pytest.raises(DiagnosticError) as info:
        parse("#define X 1\nBEGIN {}\n")
    assert "-C" in info.value.diagnostics[0].message


def test_diagnostic_shows_line_and_caret():
    with pytest.raises(DiagnosticError) as info:
        parse("BEGIN\n{\n\tx = (1 + ;\n}\n", "f.d")
    text = info.value.format()
    lines = text.splitlines()
    assert lines[0].startswith("f.d:3:11: error: syntax error near ';'")
    assert lines[1] == " x = (1 + ;"
    assert lines[2] == "          ^"


def test_syntax_errors_speak_d_not_lark():
    for src in ("BEGIN { x = 1 y = 2; }", "BEGIN { x = ; }", "syscall::read:entry /pid == 1 { }", "BEGIN { @a[1 = count(); }"):
        with pytest.raises(DiagnosticError) as info:
            parse(src)
        message = info.value.diagnostics[0].message
        for lark_word in ("RBRACE", "SEMICOLON", "__ANON", "$END", "LPAR", "Token("):
            assert lark_word not in message, message


def test_destructive_actions_are_marked():
    program = parse('BEGIN { system("ls"); raise(9); x = copyinstr(arg0); }')
    assert [name for name, _ in destructive_actions(program)] == ["system", "raise"]
    warnings = [d for d in check(program) if d.code == "D_ACT_DESTRUCT"]
    assert len(warnings) == 2 and all(d.severity == "warning" for d in warnings)


def test_kernel_types_need_no_declaration():
    src = "fbt::vn_read:entry { this->vp = (vnode_t *)arg0; @[stringof(this->vp->v_path)] = count(); " \
          "@z[curthread->t_procp->p_zone->zone_name] = count(); }"
    assert [d for d in check(parse(src)) if d.severity == "error"] == []


def test_macro_arguments_check_as_defaultargs():
    assert check(parse('syscall:::entry /pid == $1 && execname == $$2/ { @[$3] = count(); }')) == []


def test_canonical_printer_minimal_parentheses():
    program = parse("BEGIN { x = (a + b) * c; y = a - (b - c); z = - -a; w = (a, b); }")
    text = to_d(program)
    assert "x = (a + b) * c;" in text and "y = a - (b - c);" in text and "z = - -a;" in text
    assert "w = (a, b);" in text
    assert parse(text) == program


def test_last_statement_may_omit_semicolon():
    program = parse("BEGIN { x = 1; trace(x) }\nEND { @a[1] = count() }")
    assert program.clauses[0].body[-1] == A.ExprStmt(A.Call("trace", [A.Ident("x")]))
    assert isinstance(program.clauses[1].body[0], A.AggStmt)


def test_typedef_names_as_associative_array_keys():
    program = parse("string dcmd[uchar_t];\nself int last[dev_t];\nint seen[nge_t *];\n")
    keys = [d.declarators[0].arrays[0].keys[0] for d in program.items]
    assert [k.type.spec.name for k in keys] == ["uchar_t", "dev_t", "nge_t"] and keys[2].type.pointers == 1


def test_typedef_enum_with_values():
    program = parse("typedef enum st { A = 0, B, C = 5 } st_t;\nst_t s;\nBEGIN { s = B; }\n")
    assert [d for d in check(program) if d.severity == "error"] == []
