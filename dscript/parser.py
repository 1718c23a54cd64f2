"""parse(): D source text in, :class:`dscript.ast.Program` out.

Only this module knows lark. The pipeline is: (optional) C preprocessor ->
:mod:`dscript.lexer` -> lark LALR parser over ``d.lark`` -> one Transformer that builds
dtscope's own nodes with source positions. Every failure becomes a
:class:`~dscript.diagnostics.DiagnosticError` with ``D_SYNTAX`` (or ``D_PREPROC``) and a
position in the user's file.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import sys
from typing import Iterable

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import ast as A
from .diagnostics import Diagnostic, DiagnosticError
from .lexer import DLexer, LexError, LineMap

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

# Expected-token sets are summarized: listing 40 tokens helps nobody.
EXPRESSION_STARTERS = {"IDENT", "INT", "STRING", "LPAR", "MACRO", "AGG", "MINUS", "BANG"}

MAX_NESTING = 200


@functools.lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark.open(
        "d.lark",
        rel_to=__file__,
        parser="lalr",
        lexer=DLexer,
        propagate_positions=True,
        maybe_placeholders=False,
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
    if cpp:
        from .preprocess import preprocess

        source_text, linemap, sources = preprocess(text, filename, include_dirs, defines or {})
    program = _parse_text(source_text, linemap, sources)
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

_SHORT_WITH_VALUE = set("bcIUpPnmfiXDxo")  # dtrace(1M) options that take an argument


def interpreter_options(text: str) -> dict[str, str | None]:
    """Options from a ``#!/usr/sbin/dtrace -qs`` first line.

    Returns e.g. ``{"quiet": None, "C": None, "bufsize": "4m"}``: ``-q`` is the option
    ``quiet``, ``-x name=value`` sets ``name``; ``-C``, ``-Z``, ``-w`` keep their letter;
    ``-I dir`` becomes ``"I:dir"`` (an include directory).
    """
    if not text.startswith("#!"):
        return {}
    first = text.split("\n", 1)[0][2:]
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


def _parse_text(text: str, linemap: LineMap, sources: dict[str, str]) -> A.Program:
    from .lexer import CURRENT

    parser = _lark()
    builder = TreeBuilder(linemap)
    try:
        try:
            tree = parser.parse(text)
        finally:
            # Line markers the lexer met (from the preprocessor) map lines back to files.
            tokenizer = getattr(CURRENT, "tokenizer", None)
            if tokenizer is not None and tokenizer.marks:
                linemap.marks = tokenizer.marks
        _check_nesting(tree, linemap, sources)
        program = builder.transform(tree)
    except LexError as err:
        raise _error(linemap, sources, err.line, err.col, err.message, err.width) from None
    except UnexpectedInput as err:
        raise _syntax_error(err, text, linemap, sources) from None
    except VisitError as err:
        orig = err.orig_exc
        if isinstance(orig, DiagnosticError):
            orig.sources.update(sources)
            raise orig from None
        if isinstance(orig, RecursionError):
            raise _error(linemap, sources, 1, 1, "program nested too deeply") from None
        raise
    except RecursionError:
        raise _error(linemap, sources, 1, 1, "program nested too deeply") from None
    if isinstance(program, A.Program):
        return program
    return A.Program([program])


def _check_nesting(tree, linemap: LineMap, sources: dict[str, str]) -> None:
    """Refuse absurdly deep trees before recursive passes see them."""
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            line = getattr(node.meta, "line", 1) if hasattr(node, "meta") else 1
            col = getattr(node.meta, "column", 1) if hasattr(node, "meta") else 1
            raise _error(linemap, sources, line, col, f"expression nested more than {MAX_NESTING} levels deep")
        for child in getattr(node, "children", ()):
            if hasattr(child, "children"):
                stack.append((child, depth + 1))


def _error(linemap: LineMap, sources, line: int, col: int, message: str, width: int = 1,
           code: str = "D_SYNTAX") -> DiagnosticError:
    file, src_line = linemap.locate(line)
    span = A.Span(file, src_line, col, src_line, col + width)
    return DiagnosticError([Diagnostic(code, message, span)], sources)


def _describe(token_type: str, literal_text: dict[str, str]) -> str:
    if token_type in literal_text:
        return f"'{literal_text[token_type]}'"
    return TOKEN_WORDS.get(token_type, token_type.lower())


def _syntax_error(err: UnexpectedInput, text: str, linemap: LineMap, sources) -> DiagnosticError:
    literal_text = {name: value for value, name in _literal_names().items()}
    line = getattr(err, "line", None) or 1
    col = getattr(err, "column", None) or 1
    width = 1
    if isinstance(err, UnexpectedToken) and err.token.type == "$END" or isinstance(err, UnexpectedEOF):
        found = "end of input"
        body = text.rstrip()
        line = body.count("\n") + 1
        col = len(body.rsplit("\n", 1)[-1]) + 1
    elif isinstance(err, UnexpectedToken):
        tok = err.token
        found = f"'{tok.value}'" if len(str(tok.value)) < 40 else _describe(tok.type, literal_text)
        width = max(1, len(str(tok.value).split("\n")[0]))
        line, col = tok.line, tok.column
    elif isinstance(err, UnexpectedCharacters):
        found = repr(text[err.pos_in_stream]) if err.pos_in_stream < len(text) else "end of input"
    else:
        found = "this"
    expected = set(getattr(err, "expected", None) or getattr(err, "allowed", None) or ())
    message = f"syntax error near {found}"
    hint = _hint(expected, literal_text, found)
    from .lexer import CURRENT

    tokenizer = getattr(CURRENT, "tokenizer", None)
    prev = tokenizer.before_last if tokenizer is not None else None
    if hint.startswith("expected an operator or ';'") and prev is not None and isinstance(err, UnexpectedToken):
        # Point where the ';' is missing: just after the previous token, as compilers do.
        line, col, width = prev.end_line, prev.end_column, 1
        message = f"syntax error: expected ';' (or an operator) before {found}"
        hint = ""
    if hint:
        message += f": {hint}"
    return _error(linemap, sources, line, col, message, width)


def _hint(expected: set[str], literal_text: dict[str, str], found: str) -> str:
    if not expected:
        return ""
    from .lexer import CURRENT, PRED

    tokenizer = getattr(CURRENT, "tokenizer", None)
    in_predicate = tokenizer is not None and tokenizer.mode == PRED
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


def _leaves(children) -> list:
    return [c for c in children if not (isinstance(c, Token) and c.type in ("SEMICOLON",))]


@v_args(meta=True)
class TreeBuilder(Transformer):
    """Builds :mod:`dscript.ast` nodes from the lark parse tree, with spans."""

    def __init__(self, linemap: LineMap) -> None:
        super().__init__(visit_tokens=False)
        self.linemap = linemap

    # ------------------------------------------------------------ positions

    def span(self, meta) -> A.Span | None:
        if getattr(meta, "empty", True):
            return None
        file, line = self.linemap.locate(meta.line)
        _, end_line = self.linemap.locate(meta.end_line)
        return A.Span(file, line, meta.column, end_line, meta.end_column)

    def tspan(self, tok: Token) -> A.Span:
        file, line = self.linemap.locate(tok.line)
        end_col = tok.end_column if tok.end_line == tok.line else tok.column + len(tok.value)
        return A.Span(file, line, tok.column, line, end_col)

    def fail(self, message: str, span: A.Span | None, code: str = "D_SYNTAX"):
        raise DiagnosticError([Diagnostic(code, message, span)])

    # ------------------------------------------------------------ program

    def start(self, meta, items):
        flat: list[A.Item] = []
        for item in items:
            if isinstance(item, list):
                flat.extend(item)
            elif item is not None:
                flat.append(item)
        return A.Program(flat, span=self.span(meta))

    def pragma(self, meta, children):
        tok = children[0]
        body = re.sub(r"\\\n", " ", tok.value)[1:].split()
        words = body[1:] if body and body[0] == "pragma" else body
        return A.Pragma(words, span=self.tspan(tok))

    def empty_item(self, meta, children):
        return None

    def clause(self, meta, children):
        probes = children[0]
        predicate = None
        body = children[-1].body
        if len(children) == 3:
            predicate = children[1]
        return A.Clause(probes, predicate, body, span=self.span(meta))

    def probe_list(self, meta, children):
        return [A.ProbeDesc(str(t), span=self.tspan(t)) for t in children if isinstance(t, Token) and t.type == "PROBE_SPEC"]

    def predicate(self, meta, children):
        return children[1]

    def block(self, meta, children):
        return A.Block([c for c in children if isinstance(c, A.Stmt)], span=self.span(meta))

    # ------------------------------------------------------------ statements

    def expr_stmt(self, meta, children):
        expr = children[0]
        span = self.span(meta)
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

    def empty_stmt(self, meta, children):
        return A.EmptyStmt(span=self.span(meta))

    def _branch(self, stmt: A.Stmt) -> list[A.Stmt]:
        return stmt.body if isinstance(stmt, A.Block) else [stmt]

    def if_stmt(self, meta, children):
        cond, then = _leaves(children)[-2:]
        return A.If(cond, self._branch(then), None, span=self.span(meta))

    def if_else_stmt(self, meta, children):
        cond, then, other = [c for c in children if isinstance(c, (A.Expr, A.Stmt))]
        return A.If(cond, self._branch(then), self._branch(other), span=self.span(meta))

    # ------------------------------------------------------------ declarations

    def storage(self, meta, children):
        return ("storage", str(children[0]))

    def qualifier(self, meta, children):
        return ("qualifier", str(children[0]))

    def basic_type(self, meta, children):
        return ("basic", str(children[0]))

    def named_type(self, meta, children):
        return ("named", str(children[0]))

    def struct_spec(self, meta, children):
        kind = str(children[0])
        tag = None
        rest = children[1:]
        if rest and isinstance(rest[0], Token):
            tag = str(rest[0])
            rest = rest[1:]
        members = [m for m in rest if isinstance(m, A.Decl)]
        return ("spec", A.StructSpec(kind, tag, members, span=self.span(meta)))

    def struct_ref(self, meta, children):
        return ("spec", A.StructSpec(str(children[0]), str(children[1]), None, span=self.span(meta)))

    def struct_member(self, meta, children):
        storage, spec = self._specifiers(children[0], meta)
        return A.Decl(storage, spec, children[1], span=self.span(meta))

    def struct_declarator_list(self, meta, children):
        return list(children)

    def struct_declarator(self, meta, children):
        return children[0]

    def bitfield(self, meta, children):
        if len(children) == 2:
            decl, bits = children
        else:
            decl, bits = A.Declarator(None, span=self.span(meta)), children[0]
        decl.bits = bits
        return decl

    def enum_spec(self, meta, children):
        tag = str(children[0]) if children and isinstance(children[0], Token) else None
        items = [c for c in children if isinstance(c, A.Enumerator)]
        return ("spec", A.EnumSpec(tag, items, span=self.span(meta)))

    def enum_ref(self, meta, children):
        return ("spec", A.EnumSpec(str(children[0]), None, span=self.span(meta)))

    def enumerator(self, meta, children):
        value = children[-1] if len(children) > 1 and isinstance(children[-1], A.Expr) else None
        return A.Enumerator(str(children[0]), value, span=self.span(meta))

    def decl_specifiers(self, meta, children):
        return (list(children), meta)

    def _specifiers(self, specs, meta) -> tuple[list[str], A.TypeSpec]:
        words, spec_meta = specs
        storage: list[str] = []
        qualifiers: list[str] = []
        basic: list[str] = []
        named: A.StructSpec | A.EnumSpec | str | None = None
        for kind, value in words:
            if kind == "storage":
                storage.append(value)
            elif kind == "qualifier":
                qualifiers.append(value)
            elif kind == "basic":
                basic.append(value)
            else:
                if named is not None or basic:
                    self.fail("more than one type in a declaration", self.span(spec_meta), "D_DECL_COMBO")
                named = value
        if named is not None and basic:
            self.fail("more than one type in a declaration", self.span(spec_meta), "D_DECL_COMBO")
        if named is None and not basic:
            if not qualifiers and not storage:
                self.fail("declaration has no type", self.span(spec_meta), "D_DECL_NOTYPE")
            basic = ["int"]  # `const x;`, `self x;`... C's implicit int
        name = named if named is not None else " ".join(basic)
        return storage, A.TypeSpec(name, qualifiers, span=self.span(spec_meta))

    def declaration(self, meta, children):
        storage, spec = self._specifiers(children[0], meta)
        declarators = children[1] if len(children) > 1 and isinstance(children[1], list) else []
        return A.Decl(storage, spec, declarators, span=self.span(meta))

    def init_declarator_list(self, meta, children):
        return list(children)

    def pointer(self, meta, children):
        return len(children)

    def declarator(self, meta, children):
        pointers = children[0] if len(children) == 2 else 0
        decl = children[-1]
        if pointers:
            decl.pointers += pointers
        decl.span = self.span(meta)
        return decl

    def decl_name(self, meta, children):
        return A.Declarator(str(children[0]), span=self.span(meta))

    def decl_paren(self, meta, children):
        return A.Declarator(None, inner=children[0], span=self.span(meta))

    def decl_array(self, meta, children):
        decl = children[0]
        dim = children[1] if len(children) > 1 else A.ArrayDim(span=self.span(meta))
        decl.arrays.append(dim)
        return decl

    def decl_function(self, meta, children):
        decl = children[0]
        decl.params = children[1] if len(children) > 1 else []
        return decl

    def dim_size(self, meta, children):
        return A.ArrayDim(size=children[0], span=self.span(meta))

    def dim_keys(self, meta, children):
        return A.ArrayDim(keys=children[0], span=self.span(meta))

    def param_list(self, meta, children):
        return list(children)

    def named_param(self, meta, children):
        _, spec = self._specifiers(children[0], meta)
        decl: A.Declarator = children[1]
        return A.Param(A.TypeName(spec, decl.pointers, decl.arrays, span=self.span(meta)), decl.name, span=self.span(meta))

    def anon_param(self, meta, children):
        _, spec = self._specifiers(children[0], meta)
        pointers, arrays = children[1] if len(children) > 1 else (0, [])
        return A.Param(A.TypeName(spec, pointers, arrays, span=self.span(meta)), None, span=self.span(meta))

    def varargs_param(self, meta, children):
        return A.Param(A.TypeName(A.TypeSpec("..."), span=self.span(meta)), None, span=self.span(meta))

    def inline_def(self, meta, children):
        storage, spec = self._specifiers(children[0], meta)
        decl, value = children[1], children[-1]
        return A.Inline(spec, decl, value, span=self.span(meta))

    def translator_def(self, meta, children):
        parts = [c for c in children if not (isinstance(c, Token) and c.type in ("LT", "GT"))]
        output, input_type, param = parts[0], parts[1], parts[2]
        members = [m for m in parts[3:] if isinstance(m, A.TranslatorMember)]
        return A.Translator(output, input_type, str(param), members, span=self.span(meta))

    def translator_member(self, meta, children):
        return A.TranslatorMember(str(children[0]), children[-1], span=self.span(meta))

    def provider_def(self, meta, children):
        probes = [c for c in children if isinstance(c, A.ProviderProbe)]
        return A.Provider(str(children[0]), probes, span=self.span(meta))

    def provider_probe(self, meta, children):
        name = str(children[0])
        lists = [c for c in children[1:] if isinstance(c, list)]
        params = lists[0] if lists else []
        xlated = lists[1] if len(lists) > 1 else None
        return A.ProviderProbe(name, params, xlated, span=self.span(meta))

    # ------------------------------------------------------------ type names

    def type_name(self, meta, children):
        _, spec = self._specifiers(children[0], meta)
        pointers, arrays = children[1] if len(children) > 1 else (0, [])
        return A.TypeName(spec, pointers, arrays, span=self.span(meta))

    def abstract_declarator(self, meta, children):
        pointers = 0
        arrays = []
        for c in children:
            if isinstance(c, int):
                pointers = c
            else:
                arrays.append(c)
        return (pointers, arrays)

    def abstract_array(self, meta, children):
        return A.ArrayDim(size=children[0] if children else None, span=self.span(meta))

    # ------------------------------------------------------------ expressions

    def binop(self, meta, children):
        left, op, right = children
        return A.Binary(str(op), left, right, span=self.span(meta))

    def assign(self, meta, children):
        target, op, value = children
        return A.Assign(str(op), target, value, span=self.span(meta))

    def ternary(self, meta, children):
        cond, then, other = children
        return A.Ternary(cond, then, other, span=self.span(meta))

    def cast(self, meta, children):
        return A.Cast(children[0], children[1], span=self.span(meta))

    def pre_incdec(self, meta, children):
        return A.Unary(str(children[0]), children[1], span=self.span(meta))

    def unary(self, meta, children):
        return A.Unary(str(children[0]), children[1], span=self.span(meta))

    def sizeof_expr(self, meta, children):
        return A.SizeOf(children[-1], span=self.span(meta))

    def sizeof_type(self, meta, children):
        return A.SizeOf(children[-1], span=self.span(meta))

    def stringof(self, meta, children):
        return A.StringOf(children[-1], span=self.span(meta))

    def index(self, meta, children):
        return A.Index(children[0], children[1], span=self.span(meta))

    def call(self, meta, children):
        func = children[0]
        args = children[1] if len(children) > 1 else []
        if not isinstance(func, A.Ident):
            self.fail("only subroutines and actions can be called (a name followed by '(')", func.span, "D_SYNTAX")
        return A.Call(func.name, args, span=self.span(meta))

    def dot(self, meta, children):
        return A.Member(children[0], ".", str(children[-1]), span=self.span(meta))

    def arrow(self, meta, children):
        return A.Member(children[0], "->", str(children[-1]), span=self.span(meta))

    def post_incdec(self, meta, children):
        return A.Postfix(str(children[1]), children[0], span=self.span(meta))

    def argument_list(self, meta, children):
        return list(children)

    def ident(self, meta, children):
        return A.Ident(str(children[0]), span=self.tspan(children[0]))

    def int_lit(self, meta, children):
        return A.IntLit(str(children[0]), span=self.tspan(children[0]))

    def float_lit(self, meta, children):
        return A.FloatLit(str(children[0]), span=self.tspan(children[0]))

    def str_lit(self, meta, children):
        return A.StrLit(str(children[0]), span=self.tspan(children[0]))

    def char_lit(self, meta, children):
        return A.CharLit(str(children[0]), span=self.tspan(children[0]))

    def agg_ref(self, meta, children):
        return A.AggRef(str(children[0])[1:], span=self.tspan(children[0]))

    def macro_arg(self, meta, children):
        text = str(children[0])
        if text.startswith("$$"):
            return A.MacroArg(text[2:], True, span=self.tspan(children[0]))
        return A.MacroArg(text[1:], span=self.tspan(children[0]))

    def kernel_sym(self, meta, children):
        module, _, name = str(children[0]).partition("`")
        return A.KernelSym(module or None, name, span=self.tspan(children[0]))

    def thread_var(self, meta, children):
        return A.ThreadVar(str(children[-1]), span=self.span(meta))

    def clause_var(self, meta, children):
        return A.ClauseVar(str(children[-1]), span=self.span(meta))

    def offsetof(self, meta, children):
        return A.OffsetOf(children[0], str(children[1]), span=self.span(meta))

    def xlate(self, meta, children):
        parts = [c for c in children if not isinstance(c, Token)]
        return A.Xlate(parts[0], parts[1], span=self.span(meta))
