"""parse(): D source text in, :class:`dscript.ast.Program` out.

Only this module knows lark. The pipeline is: (optional) C preprocessor ->
:mod:`dscript.lexer` -> lark LALR parser over ``d.lark`` -> one Transformer that builds
dtscope's own nodes with source positions. Every failure becomes a
:class:`~dscript.diagnostics.DiagnosticError` with ``D_SYNTAX`` (or ``D_PREPROC``) and a
position in the user's file.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import re
import shlex
import sys
import threading
from bisect import bisect_right
from collections.abc import Iterable
from typing import Any, NamedTuple

from lark import Lark

from . import ast as A
from .diagnostics import Diagnostic, DiagnosticError
from .lalr import Driver, ParseError
from .lexer import DLexer, DTokenizer, LexError, LineMap, Token
from .printer import BINARY_PRECEDENCE

# How each terminal reads in a message ("expected ';' or '}'").
TOKEN_WORDS = {
    "PROBE_SPEC": "a probe description",
    "PRAGMA": "#pragma",
    "BPRED": "'/' (start of a predicate)",
    "EPRED": "'/' (end of the predicate)",
    "IDENT": "an identifier",
    "TYPE_NAME": "a type name",
    "INT": "an integer",
    "FLOAT": "a number",
    "STRING": "a string",
    "CHAR": "a character constant",
    "AGG": "an aggregation (@name)",
    "MACRO": "a macro argument ($1, $target...)",
    "KSYM": "a kernel symbol (`name)",
    "STORAGE": "a storage class",
    "QUALIFIER": "a type qualifier",
    "BASIC_TYPE": "a type",
    "STRUCT_OR_UNION": "'struct' or 'union'",
    "ASSIGN_OP": "an assignment operator",
    "EQ_OP": "'==' or '!='",
    "REL_OP": "'<=' or '>='",
    "SHIFT_OP": "'<<' or '>>'",
    "INCDEC": "'++' or '--'",
    "$END": "end of input",
}

MAX_NESTING = 200


_BUILDER_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _lark() -> Lark:
    # Only the LALR table is used: dscript.lalr runs it and calls the tree builder at
    # each reduction, so no parse tree is built (much faster).
    return Lark.open(
        "d.lark",
        rel_to=__file__,
        parser="lalr",
        lexer=DLexer,
        maybe_placeholders=False,
        cache=False,
    )


# ---------------------------------------------------------------- entry points


def parse(
    text: str,
    filename: str = "<string>",
    *,
    cpp: bool | None = None,
    include_dirs: Iterable[str] = (),
    defines: dict[str, str] | None = None,
) -> A.Program:
    """Parse D source. ``cpp=None`` means: preprocess if the ``#!`` line asks for -C."""
    if "\0" in text:
        pos = text.index("\0")
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        raise DiagnosticError(
            [Diagnostic("D_SYNTAX", "binary data (a NUL byte) in D program", A.Span(filename, line, col))],
            {filename: text},
        )
    interp = interpreter_options(text)
    if cpp is None:
        cpp = "C" in interp
    include_dirs = list(include_dirs) + [v for k, v in interp.items() if k.startswith("I:")]
    sources = {filename: text}
    linemap = LineMap(filename)
    source_text = text
    warnings: list[Diagnostic] = []
    if cpp:
        from .preprocess import preprocess

        source_text, linemap, sources, warnings = preprocess(text, filename, include_dirs, defines or {})
    program = _parse_text(source_text, linemap, sources)
    program.warnings = warnings
    program.interpreter_options = {k: v for k, v in interp.items() if not k.startswith("I:")}
    return program


def parse_file(
    path: str,
    *,
    cpp: bool | None = None,
    include_dirs: Iterable[str] = (),
    defines: dict[str, str] | None = None,
) -> A.Program:
    """Parse a D file (``-`` for standard input)."""
    if path == "-":
        text = sys.stdin.read()
        name = "<stdin>"
    else:
        with open(path, "rb") as fh:
            raw = fh.read()
        text = raw.decode("utf-8", errors="surrogateescape")
        name = path
    return parse(text, name, cpp=cpp, include_dirs=include_dirs, defines=defines)


# ---------------------------------------------------------------- #! options

# The first #! line, at the start or after the leading comments (the guide's demos put a
# license comment first).
INTERPRETER_LINE = re.compile(r"\A(?:\s|/\*.*?\*/|//[^\n]*)*^#!([^\n]*)", re.DOTALL | re.MULTILINE)
_SHORT_WITH_VALUE = set("bcIUpPnmfiXDxo")  # dtrace(1M) options that take an argument


def interpreter_options(text: str) -> dict[str, str | None]:
    """Options from a ``#!/usr/sbin/dtrace -qs`` first line.

    Returns e.g. ``{"quiet": None, "C": None, "bufsize": "4m"}``: ``-q`` is the option
    ``quiet``, ``-x name=value`` sets ``name``; ``-C``, ``-Z``, ``-w`` keep their letter;
    ``-I dir`` becomes ``"I:dir"`` (an include directory).
    """
    match = INTERPRETER_LINE.search(text)
    if match is None:
        return {}
    first = match.group(1)
    try:
        words = shlex.split(first)
    except ValueError:
        words = first.split()
    opts: dict[str, str | None] = {}
    letters = {"q": "quiet", "Z": "zdefs", "w": "destructive", "F": "flowindent", "S": None, "v": None,
               "e": None, "s": None, "C": "C", "V": None, "l": None, "a": None, "A": None, "H": None}
    i = 1  # words[0] is the interpreter
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("-") or word == "-":
            continue
        j = 1
        while j < len(word):
            flag = word[j]
            if flag in _SHORT_WITH_VALUE:
                value = word[j + 1 :] or (words[i] if i < len(words) else "")
                if not word[j + 1 :]:
                    i += 1
                if flag == "x":
                    name, eq, val = value.partition("=")
                    opts[name] = val if eq else None
                elif flag == "I":
                    opts["I:" + value] = value
                elif flag == "D":
                    opts["D:" + value] = value
                break
            name = letters.get(flag)
            if flag == "C":
                opts["C"] = None
            elif flag == "Z":
                opts["Z"] = None
                opts["zdefs"] = None
            elif flag == "w":
                opts["w"] = None
                opts["destructive"] = None
            elif name:
                opts[name] = None
            j += 1
    return opts


# ---------------------------------------------------------------- parsing and errors


@functools.lru_cache(maxsize=1)
def _driver() -> Driver:
    # The builder's line map is set per parse, under a lock.
    return Driver(_lark(), _BUILDER)


def _parse_text(text: str, linemap: LineMap, sources: dict[str, str]) -> A.Program:
    driver = _driver()
    tokenizer = DTokenizer(text, _literal_names())

    # The end of input is reported just after the last thing in the file.
    end = len(text.rstrip())
    end_token = ("$END", "", end, end)
    # Line markers the lexer meets (from the preprocessor) map lines back to files; the
    # lexer has met them all before the first node is built.
    linemap.marks = tokenizer.marks

    with _BUILDER_LOCK, _no_gc():
        _BUILDER.begin(linemap, tokenizer.line_starts)
        try:
            tokens = tokenizer.tokens()
            if tokenizer.failure is not None:
                driver.parse(tokens, None)  # a syntax error before the bad token comes first
                raise tokenizer.failure
            program = driver.parse(tokens, end_token)
        except LexError as err:
            raise _error(linemap, sources, err.line, err.col, err.message, err.width) from None
        except ParseError as err:
            raise _syntax_error(err, tokenizer, linemap, sources) from None
        except DiagnosticError as err:
            err.sources.update(sources)
            raise err from None
        except RecursionError:
            raise _error(linemap, sources, 1, 1, "program nested too deeply") from None
    if not isinstance(program, A.Program):
        program = A.Program([program] if isinstance(program, A.Item) else [])
    if tokenizer.longest_run > MAX_NESTING or tokenizer.deepest_braces > MAX_NESTING // 4:
        _check_depth(program, linemap, sources)
    return program


@contextlib.contextmanager
def _no_gc():
    """Pause the cyclic garbage collector while a tree is built.

    Parsing allocates many small objects that all stay alive (tokens, nodes) and form
    no cycles; the collector would otherwise scan them again and again as they pile up,
    which costs a third of the parse time on large scripts.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _check_depth(program: A.Program, linemap: LineMap, sources: dict[str, str]) -> None:
    """Refuse absurdly deep trees, so that recursive passes can trust the tree."""
    stack: list[tuple[A.Node, int]] = [(program, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            span = node.span or A.Span(linemap.filename, 1, 1)
            raise DiagnosticError(
                [Diagnostic("D_SYNTAX", f"program nested more than {MAX_NESTING} levels deep", span)], sources
            )
        stack.extend((child, depth + 1) for child in node.children())


def _error(linemap: LineMap, sources, line: int, col: int, message: str, width: int = 1,
           code: str = "D_SYNTAX") -> DiagnosticError:
    file, src_line = linemap.locate(line)
    span = A.Span(file, src_line, col, src_line, col + width)
    return DiagnosticError([Diagnostic(code, message, span)], sources)


def _describe(token_type: str, literal_text: dict[str, str]) -> str:
    if token_type in literal_text:
        return f"'{literal_text[token_type]}'"
    return TOKEN_WORDS.get(token_type, token_type.lower())


def _syntax_error(err: ParseError, tokenizer: DTokenizer, linemap: LineMap, sources) -> DiagnosticError:
    literal_text = {name: value for value, name in _literal_names().items()}
    tok = err.token
    (line, col), width = tokenizer.line_col(tok[2]), 1
    if tok[0] == "$END":
        found = "end of input"
    else:
        value = tok[1]
        found = f"'{value}'" if len(value) < 40 and "\n" not in value else _describe(tok[0], literal_text)
        width = max(1, len(value.split("\n")[0]))
    expected = err.expected
    message = f"syntax error near {found}"
    hint = _hint(expected, literal_text, found, tokenizer, tok[2])
    prev = err.previous
    if hint.startswith("expected an operator or ';'") and prev is not None and prev[0] != "PRAGMA":
        # Point where the ';' is missing: just after the previous token, as compilers do.
        (line, col), width = tokenizer.line_col(prev[3]), 1
        message = f"syntax error: expected ';' (or an operator) before {found}"
        hint = ""
    if hint:
        message += f": {hint}"
    return _error(linemap, sources, line, col, message, width)


def _hint(expected: set[str], literal_text: dict[str, str], found: str, tokenizer: DTokenizer,
          tokenizer_pos: int) -> str:
    if not expected:
        return ""
    from .lexer import PRED

    in_predicate = tokenizer is not None and tokenizer.mode_after(tokenizer_pos) == PRED
    if in_predicate and "EPRED" in expected and len(expected) > 5:
        return "predicate not closed: expected an operator or '/' before '{'"
    if expected >= {"IDENT", "INT"}:
        others = sorted(e for e in expected if e in ("SEMICOLON", "RBRACE", "RPAR", "RSQB"))
        words = ["an expression"] + [_describe(e, literal_text) for e in others]
        return "expected " + _join(words)
    if "SEMICOLON" in expected and len(expected) > 6:
        return "expected an operator or ';' (missing ';' after the previous statement?)"
    words = sorted(_describe(e, literal_text) for e in expected)
    if len(words) > 8:
        words = words[:8] + ["..."]
    return "expected " + _join(words)


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


@functools.lru_cache(maxsize=1)
def _literal_names() -> dict[str, str]:
    names = {}
    for term in _lark().terminals:
        if term.pattern.type == "str":
            names[term.pattern.value] = term.name
    return names


# ---------------------------------------------------------------- parse tree -> AST


_new_span = tuple.__new__  # Span(...) without running Python code: spans are made by the thousand


class Part(NamedTuple):
    """A piece of a declaration on its way to a node: ``("storage", token)``,
    ``("spec", StructSpec)``, ``("pointer", [tokens])``... Tokens themselves are plain
    tuples (see :mod:`dscript.lexer`): ``type(x) is tuple`` tells a token from a Part."""

    kind: str
    value: Any


class TreeBuilder:
    """Builds :mod:`dscript.ast` nodes while the parser reduces (no parse tree is kept).

    A node's span runs from the start of its first child with a position to the end of
    its last one; tokens the grammar drops (keywords, brackets) do not count. Tokens are
    plain tuples ``(type, value, pos, end)``.
    """

    def __init__(self) -> None:
        self.begin(LineMap("<string>"), [0])

    def begin(self, linemap: LineMap, line_starts: list[int]) -> None:
        """Get ready for a parse of a text with lines starting at ``line_starts``."""
        self.linemap = linemap
        self.file = linemap.filename
        self.line_starts = line_starts
        self.line = (0, 0, 0)  # the line of the last token: (start, next line's start, number)

    # ------------------------------------------------------------ positions

    def tspan(self, tok: Token) -> A.Span:
        """The span of one token. A token that runs over lines (a pragma continued with
        a backslash) ends, as far as spans go, on its first line."""
        pos = tok[2]
        # Tokens come mostly in order, several to a line: look for the line only when
        # the token is not on the same one as the last.
        start, next_start, line = self.line
        if not start <= pos < next_start:
            start, next_start, line = self.line = self._line_of(pos)
        if not self.linemap.marks:
            return _new_span(A.Span, (self.file, line, pos - start + 1, line, tok[3] - start + 1))
        file, line = self.linemap.locate(line)
        return A.Span(file, line, pos - start + 1, line, tok[3] - start + 1)

    def tokens_span(self, first: Token, last: Token) -> A.Span:
        """From the start of ``first`` to the end of ``last``."""
        span = self.tspan(first)
        if last[3] <= self.line[1] and not self.linemap.marks:  # on the same line
            return _new_span(A.Span, (span[0], span[1], span[2], span[1], last[3] - self.line[0] + 1))
        return self.join(span, self.tspan(last))

    def _line_of(self, pos: int) -> tuple[int, int, int]:
        starts = self.line_starts
        line = bisect_right(starts, pos)
        return starts[line - 1], starts[line] if line < len(starts) else 1 << 62, line

    def _span_of(self, item) -> A.Span | None:
        if isinstance(item, A.Node):
            return item.span
        if type(item) is tuple:  # a token
            return self.tspan(item)
        if isinstance(item, list):
            return self.cover(item) if item else None
        if isinstance(item, Part) and isinstance(item.value, list):
            return self.cover(item.value) if item.value else None
        return None

    def cover(self, children) -> A.Span | None:
        """From the start of the first child with a position to the end of the last."""
        first = None
        for child in children:
            first = self._span_of(child)
            if first is not None:
                break
        if first is None:
            return None
        last = None
        for child in reversed(children):
            last = self._span_of(child)
            if last is not None:
                break
        return first if last is None or last is first else self.join(first, last)

    @staticmethod
    def join(first: A.Span | None, last: A.Span | None) -> A.Span | None:
        """The span from the start of ``first`` to the end of ``last``."""
        if first is None or last is None or last.file != first.file:
            return first or last
        return _new_span(A.Span, (first.file, first.line, first.col, last.end_line, last.end_col))

    def fail(self, message: str, span: A.Span | None, code: str = "D_SYNTAX"):
        raise DiagnosticError([Diagnostic(code, message, span)])

    # ------------------------------------------------------------ program

    def start(self, items):
        flat = [item for item in items if isinstance(item, A.Item)]
        return A.Program(flat, span=self.cover(flat))

    def pragma(self, children):
        tok = children[0]
        body = re.sub(r"\\\n", " ", tok[1])[1:].split()
        words = body[1:] if body and body[0] == "pragma" else body
        return A.Pragma(words, span=self.tspan(tok))

    def empty_item(self, children):
        return None

    def clause(self, children):
        probes = children[0]
        block = children[-1]
        predicate = children[1] if len(children) == 3 else None
        return A.Clause(probes, predicate, block.body, span=self.cover([probes[0], block]))

    def probe_list(self, children):
        return [A.ProbeDesc(t[1], span=self.tspan(t)) for t in children if type(t) is tuple and t[0] == "PROBE_SPEC"]

    def predicate(self, children):
        return children[1]

    def block(self, children):
        # A lone ';' means nothing; dropping it keeps the tree canonical.
        stmts = [c for c in children if isinstance(c, A.Stmt) and not isinstance(c, A.EmptyStmt)]
        return A.Block(stmts, span=self.cover(children))

    def block_trailing(self, children):
        last = self.expr_stmt([children[-1]])
        stmts = [c for c in children[:-1] if isinstance(c, A.Stmt) and not isinstance(c, A.EmptyStmt)] + [last]
        return A.Block(stmts, span=self.cover(children))

    # ------------------------------------------------------------ statements

    def expr_stmt(self, children):
        expr = children[0]
        span = expr.span
        if isinstance(expr, A.Assign) and expr.op == "=":
            target = expr.target
            if isinstance(target, A.AggRef) or (isinstance(target, A.Index) and isinstance(target.base, A.AggRef)):
                agg = target if isinstance(target, A.AggRef) else target.base
                keys = [] if isinstance(target, A.AggRef) else target.indices
                value = expr.value
                if not isinstance(value, A.Call):
                    self.fail(
                        f"aggregation @{agg.name} must be assigned an aggregating function such as count()",
                        value.span or span,
                        "D_AGG_FUNC",
                    )
                return A.AggStmt(agg.name, keys, value.func, value.args, span=span, func_span=value.span)
        return A.ExprStmt(expr, span=span)

    def empty_stmt(self, children):
        return A.EmptyStmt(span=self.cover(children))

    @staticmethod
    def _branch(stmt: A.Stmt) -> list[A.Stmt]:
        if isinstance(stmt, A.EmptyStmt):
            return []
        return stmt.body if isinstance(stmt, A.Block) else [stmt]

    def if_stmt(self, children):
        cond, then = [c for c in children if isinstance(c, (A.Expr, A.Stmt))]
        return A.If(cond, self._branch(then), None, span=self.cover([cond, then]))

    def if_else_stmt(self, children):
        cond, then, other = [c for c in children if isinstance(c, (A.Expr, A.Stmt))]
        return A.If(cond, self._branch(then), self._branch(other), span=self.cover([cond, other]))

    # ------------------------------------------------------------ declarations

    def storage(self, children):
        return Part("storage", children[0])

    def qualifier(self, children):
        return Part("qualifier", children[0])

    def basic_type(self, children):
        return Part("basic", children[0])

    def named_type(self, children):
        return Part("named", children[0])

    def struct_spec(self, children):
        kind = children[0][1]
        tag = None
        rest = children[1:]
        if rest and type(rest[0]) is tuple:
            tag = rest[0][1]
            rest = rest[1:]
        members = [m for m in rest if isinstance(m, A.Decl)]
        return Part("spec", A.StructSpec(kind, tag, members, span=self.cover(children)))

    def struct_ref(self, children):
        return Part("spec", A.StructSpec(children[0][1], children[1][1], None, span=self.cover(children)))

    def struct_member(self, children):
        storage, spec = self._specifiers(children[0])
        return A.Decl(storage, spec, children[1], span=self.cover(children))

    def struct_declarator_list(self, children):
        return list(children)

    def struct_declarator(self, children):
        return children[0]

    def bitfield(self, children):
        if len(children) == 2:
            decl, bits = children
        else:
            decl, bits = A.Declarator(None, span=self.cover(children)), children[0]
        decl.bits = bits
        return decl

    def enum_spec(self, children):
        tag = children[0][1] if children and type(children[0]) is tuple else None
        items = [c for c in children if isinstance(c, A.Enumerator)]
        return Part("spec", A.EnumSpec(tag, items, span=self.cover(children)))

    def enum_ref(self, children):
        return Part("spec", A.EnumSpec(children[0][1], None, span=self.cover(children)))

    def enumerator(self, children):
        value = children[-1] if len(children) > 1 and isinstance(children[-1], A.Expr) else None
        return A.Enumerator(children[0][1], value, span=self.cover(children))

    def decl_specifiers(self, children):
        return Part("specifiers", list(children))

    def _specifiers(self, specs) -> tuple[list[str], A.TypeSpec]:
        words = specs[1]
        span = self.cover([w[1] for w in words])
        storage: list[str] = []
        qualifiers: list[str] = []
        basic: list[str] = []
        named: A.StructSpec | A.EnumSpec | str | None = None
        for kind, value in words:
            if kind == "storage":
                storage.append(value[1])
            elif kind == "qualifier":
                qualifiers.append(value[1])
            elif kind == "basic":
                basic.append(value[1])
            else:
                if named is not None or basic:
                    self.fail("more than one type in a declaration", span, "D_DECL_COMBO")
                named = value[1] if type(value) is tuple else value
        if named is not None and basic:
            self.fail("more than one type in a declaration", span, "D_DECL_COMBO")
        if named is None and not basic:
            if not qualifiers and not storage:
                self.fail("declaration has no type", span, "D_DECL_NOTYPE")
            basic = ["int"]  # `const x;`, `self x;`... C's implicit int
        name = named if named is not None else " ".join(basic)
        return storage, A.TypeSpec(name, qualifiers, span=span)

    def declaration(self, children):
        storage, spec = self._specifiers(children[0])
        declarators = children[1] if len(children) > 1 and isinstance(children[1], list) else []
        return A.Decl(storage, spec, declarators, span=self.cover(children))

    def init_declarator_list(self, children):
        return list(children)

    def pointer(self, children):
        return Part("pointer", list(children))

    def declarator(self, children):
        decl = children[-1]
        if len(children) == 2:
            decl.pointers += len(children[0][1])
        decl.span = self.cover(children)
        return decl

    def decl_name(self, children):
        return A.Declarator(children[0][1], span=self.tspan(children[0]))

    def decl_paren(self, children):
        return A.Declarator(None, inner=children[0], span=self.cover(children))

    def decl_array(self, children):
        decl = children[0]
        dim = children[1] if len(children) > 1 else A.ArrayDim(span=decl.span)
        decl.arrays.append(dim)
        return decl

    def decl_function(self, children):
        decl = children[0]
        decl.params = children[1] if len(children) > 1 else []
        return decl

    def dim_size(self, children):
        return A.ArrayDim(size=children[0], span=self.cover(children))

    def dim_keys(self, children):
        return A.ArrayDim(keys=children[0], span=self.cover(children[0]))

    def param_list(self, children):
        return list(children)

    def named_param(self, children):
        _, spec = self._specifiers(children[0])
        decl: A.Declarator = children[1]
        span = self.cover([spec, decl])
        return A.Param(A.TypeName(spec, decl.pointers, decl.arrays, span=span), decl.name, span=span)

    def anon_param(self, children):
        _, spec = self._specifiers(children[0])
        pointers, arrays = children[1].value if len(children) > 1 else (0, [])
        span = spec.span
        return A.Param(A.TypeName(spec, pointers, arrays, span=span), None, span=span)

    def varargs_param(self, children):
        return A.Param(A.TypeName(A.TypeSpec("...")), None)

    def inline_def(self, children):
        _, spec = self._specifiers(children[0])
        decl, value = children[1], children[-1]
        return A.Inline(spec, decl, value, span=self.cover([spec, value]))

    def translator_def(self, children):
        parts = [c for c in children if not (type(c) is tuple and c[0] in ("LT", "GT"))]
        output, input_type, param = parts[0], parts[1], parts[2]
        members = [m for m in parts[3:] if isinstance(m, A.TranslatorMember)]
        return A.Translator(output, input_type, param[1], members, span=self.cover([output] + members))

    def translator_member(self, children):
        return A.TranslatorMember(children[0][1], children[-1], span=self.cover(children))

    def provider_def(self, children):
        probes = [c for c in children if isinstance(c, A.ProviderProbe)]
        return A.Provider(children[0][1], probes, span=self.cover(children))

    def provider_probe(self, children):
        name = children[0][1]
        lists = [c for c in children[1:] if isinstance(c, list)]
        params = lists[0] if lists else []
        xlated = lists[1] if len(lists) > 1 else None
        return A.ProviderProbe(name, params, xlated, span=self.tspan(children[0]))

    # ------------------------------------------------------------ type names

    def type_name(self, children):
        _, spec = self._specifiers(children[0])
        pointers, arrays = children[1].value if len(children) > 1 else (0, [])
        return A.TypeName(spec, pointers, arrays, span=spec.span)

    def abstract_declarator(self, children):
        pointers = 0
        arrays = []
        for c in children:
            if isinstance(c, Part):
                pointers = len(c.value)
            else:
                arrays.append(c)
        return Part("abstract", (pointers, arrays))

    def abstract_array(self, children):
        return A.ArrayDim(size=children[0] if children else None)

    # ------------------------------------------------------------ expressions

    def binary_expr(self, children):
        """Precedence climbing over ``operand (op operand)*`` (all binary operators)."""
        if len(children) == 3:  # the common case: one operator
            left, op, right = children
            return A.Binary(op[1], left, right, span=self.join(left.span, right.span))
        return self._climb(children[0::2], children[1::2])

    def _climb(self, operands, ops):
        # Iterative shunting-yard: no recursion, so long chains cannot overflow.
        out: list[A.Expr] = [operands[0]]
        stack: list[str] = []

        def reduce_top():
            op = stack.pop()
            right = out.pop()
            left = out.pop()
            out.append(A.Binary(op, left, right, span=self.join(left.span, right.span)))

        for op_tok, operand in zip(ops, operands[1:]):
            op = op_tok[1]
            prec = BINARY_PRECEDENCE[op]
            while stack and BINARY_PRECEDENCE[stack[-1]] >= prec:
                reduce_top()
            stack.append(op)
            out.append(operand)
        while stack:
            reduce_top()
        return out[0]

    def comma(self, children):
        left, _, right = children
        return A.Binary(",", left, right, span=self.cover([left, right]))

    def assign(self, children):
        target, op, value = children
        return A.Assign(op[1], target, value, span=self.join(target.span, value.span))

    def ternary(self, children):
        cond, then, other = children
        return A.Ternary(cond, then, other, span=self.cover([cond, other]))

    def cast(self, children):
        return A.Cast(children[0], children[1], span=self.cover(children))

    def pre_incdec(self, children):
        return A.Unary(children[0][1], children[1], span=self.cover(children))

    def unary(self, children):
        return A.Unary(children[0][1], children[1], span=self.cover(children))

    def sizeof_expr(self, children):
        return A.SizeOf(children[-1], span=self.cover(children))

    def sizeof_type(self, children):
        return A.SizeOf(children[-1], span=self.cover(children))

    def stringof(self, children):
        return A.StringOf(children[-1], span=self.cover(children))

    def index(self, children):
        base, keys = children
        return A.Index(base, keys, span=self.join(base.span, keys[-1].span) if keys else base.span)

    def call(self, children):
        func = children[0]
        args = children[1] if len(children) > 1 else []
        if not isinstance(func, A.Ident):
            self.fail("only subroutines and actions can be called (a name followed by '(')", func.span, "D_SYNTAX")
        return A.Call(func.name, args, span=self.join(func.span, args[-1].span) if args else func.span)

    def dot(self, children):
        base, name = children[0], children[-1]
        return A.Member(base, ".", name[1], span=self.join(base.span, self.tspan(name)))

    def arrow(self, children):
        base, name = children[0], children[-1]
        return A.Member(base, "->", name[1], span=self.join(base.span, self.tspan(name)))

    def post_incdec(self, children):
        return A.Postfix(children[1][1], children[0], span=self.cover(children))

    def argument_list(self, children):
        return list(children)

    def ident(self, children):
        tok = children[0]
        return A.Ident(tok[1], span=self.tspan(tok))

    def int_lit(self, children):
        tok = children[0]
        return A.IntLit(tok[1], span=self.tspan(tok))

    def float_lit(self, children):
        return A.FloatLit(children[0][1], span=self.tspan(children[0]))

    def str_lit(self, children):
        return A.StrLit(children[0][1], span=self.tspan(children[0]))

    def char_lit(self, children):
        return A.CharLit(children[0][1], span=self.tspan(children[0]))

    def agg_ref(self, children):
        return A.AggRef(children[0][1][1:], span=self.tspan(children[0]))

    def macro_arg(self, children):
        text = children[0][1]
        if text.startswith("$$"):
            return A.MacroArg(text[2:], True, span=self.tspan(children[0]))
        return A.MacroArg(text[1:], span=self.tspan(children[0]))

    def kernel_sym(self, children):
        module, _, name = children[0][1].partition("`")
        return A.KernelSym(module or None, name, span=self.tspan(children[0]))

    def thread_var(self, children):
        first, _, name = children
        return A.ThreadVar(name[1], span=self.tokens_span(first, name))

    def clause_var(self, children):
        first, _, name = children
        return A.ClauseVar(name[1], span=self.tokens_span(first, name))

    def offsetof(self, children):
        return A.OffsetOf(children[0], children[1][1], span=self.cover(children))

    def xlate(self, children):
        parts = [c for c in children if type(c) is not tuple]
        return A.Xlate(parts[0], parts[1], span=self.cover(children))


_BUILDER = TreeBuilder()
