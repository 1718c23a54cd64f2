"""The D lexer: a small state machine in front of the LALR parser.

D cannot be tokenized without context, and DTrace's own lexer (dt_lex.l) keeps
states for the same reasons we do:

* At the top of the program a word like ``syscall::read:entry`` or ``profile-997`` is
  one probe description, but inside a clause ``a:b`` is three tokens.
* ``/`` opens and closes a predicate and also divides. Inside a predicate, a ``/``
  outside parentheses whose next non-blank character is ``{`` (or ``;`` or the end)
  closes it, as in DTrace.
* C's typedef problem: ``(foo_t)x`` is a cast only if ``foo_t`` names a type. Type
  names are the C and D built-ins, the typedefs the script declares, and, because
  real scripts lean on kernel types without declaring them (``vnode_t``,
  ``kthread_t``), any identifier ending in ``_t`` that the script never assigns to.

Tokens carry the line and column of the text that was lexed; when the text came from
the preprocessor, :class:`LineMap` turns those into the original file and line.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate

from lark.lexer import Lexer

# A token is a plain tuple ``(type, value, pos, end)``: its terminal name, its text, and
# the offsets of its first character and of just past its last. Plain, because the lexer
# makes one per token and a tuple is the cheapest object Python makes (a named tuple
# costs twice as much to create). Lines and columns are worked out only for the tokens
# that need them (spans, messages), by :meth:`DTokenizer.line_col`.
Token = tuple




# ---------------------------------------------------------------- vocabulary

BASIC_TYPES = frozenset(
    ["void", "char", "short", "int", "long", "float", "double", "signed", "unsigned", "string", "_Bool"]
)
STORAGE_WORDS = frozenset(["typedef", "extern", "static", "register", "auto"])
QUALIFIERS = frozenset(["const", "volatile", "restrict"])
# Words that are keywords everywhere; their token type is their own text in the grammar.
KEYWORDS = frozenset(["if", "else", "sizeof", "stringof", "offsetof", "xlate", "inline", "translator", "provider", "enum", "self", "this"])

# Every word with a meaning of its own -> its token type ("KEYWORD": the grammar's own
# literal, e.g. "if" -> IF; "probe" is one only inside a provider definition).
RESERVED_WORDS: dict[str, str] = {
    **{w: "KEYWORD" for w in KEYWORDS if w not in ("self", "this")},
    "self": "SELF", "this": "THIS", "probe": "KEYWORD",
    **{w: "BASIC_TYPE" for w in BASIC_TYPES},
    **{w: "STORAGE" for w in STORAGE_WORDS},
    **{w: "QUALIFIER" for w in QUALIFIERS},
    "struct": "STRUCT_OR_UNION", "union": "STRUCT_OR_UNION",
}

# Type names every D program knows without declaring them (C99 fixed-width types and
# the common DTrace/illumos typedefs that do not end in _t).
KNOWN_TYPE_NAMES = frozenset(
    ["int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t", "intptr_t", "uintptr_t", "size_t", "ssize_t", "off_t", "pid_t", "uid_t", "gid_t", "id_t", "dev_t", "ino_t", "mode_t", "time_t", "hrtime_t", "caddr_t", "uchar_t", "ushort_t", "uint_t", "ulong_t", "longlong_t", "u_longlong_t", "boolean_t"]
)

PSPEC_START = re.compile(r"[-$:A-Za-z_.?*\\\[\]!]")
PSPEC = re.compile(r"[-$:A-Za-z_.?*\\\[\]!][-$:0-9A-Za-z_.`?*\\\[\]!]*")

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NUMBER_TAIL = re.compile(r"[A-Za-z0-9_.]")
BLANK_START = frozenset(" \t\r\f\v\n/\\#")
BLANK = re.compile(r"(?:[ \t\r\f\v\n]+|/\*.*?\*/|//[^\n]*|\\\n)+", re.DOTALL)
LINE_MARKER = re.compile(r'#\s*(?:line\s+)?(\d+)(?:\s+"((?:[^"\\]|\\.)*)")?[^\n]*')
KSYM = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)?`([A-Za-z_][A-Za-z0-9_]*)")

# Longest first.
OPERATORS = sorted(
    ["<<=", ">>=", "...", "->", "++", "--", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "^^", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "+", "-", "*", "/", "%", "<", ">", "=", "!", "~", "&", "|", "^", "?", ":", ";", ",", ".", "(", ")", "[", "]", "{", "}"],
    key=len,
    reverse=True,
)
OPERATOR_CLASSES = {
    **{op: "ASSIGN_OP" for op in ["+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="]},
    "==": "EQ_OP", "!=": "EQ_OP",
    "<=": "REL_OP", ">=": "REL_OP",
    "<<": "SHIFT_OP", ">>": "SHIFT_OP",
    "++": "INCDEC", "--": "INCDEC",
}

# One pattern for every token inside clauses and declarations, the most frequent
# first (the engine tries alternatives in order). A backquoted symbol that starts with
# a module name (genunix`rootdir) is recognized after a word (see expression_token).
OPERATOR_PATTERN = (
    r"<<=|>>=|\.\.\.|->|\+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||\^\^|[-+*/%&|^]="
    r"|[-+*/%<>=!~&|^?:;,.()\[\]{}]"
)
EXPRESSION_TOKEN = re.compile(
    r"(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>" + OPERATOR_PATTERN + ")"
    r"|(?P<num>(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFlL]?|[0-9]+[eE][+-]?[0-9]+[fFlL]?"
    r"|0[xX][0-9a-fA-F]+[uUlL]*|[0-9]+[uUlL]*)"
    r'|(?P<str>"(?:[^"\\\n]|\\.)*")'
    r"|(?P<chr>'(?:[^'\\\n]|\\.)+')"
    r"|(?P<agg>@(?:[A-Za-z_][A-Za-z0-9_]*)?)"
    r"|(?P<macro>\$\$?(?:[0-9]+|[A-Za-z_][A-Za-z0-9_]*))"
    r"|(?P<ksym>`[A-Za-z_][A-Za-z0-9_]*)",
    re.DOTALL,
)
TOKEN_KINDS = {"ksym": "KSYM", "agg": "AGG", "macro": "MACRO"}

# The fast path of clause bodies and predicates: the blanks and comments before a token
# and the token itself in one match. Words that are types only by their `_t` suffix,
# `mod`sym` kernel symbols, numbers other than plain decimals, character constants and
# anything invalid fail to match and take the general path. The blanks are atomic, so
# a failed match does not retry shorter runs of them.
_BLANKS = r"[ \t\n\r\f\v]*+(?:(?:/\*.*?\*/|//[^\n]*|\\\n)[ \t\n\r\f\v]*+)*+"
# Operators are grouped by their first character, so that the engine tries one branch
# per character instead of one per operator.
_FAST_COMMON = (
    r"([A-Za-z_][A-Za-z0-9_]*+)(?<!_t)(?![`.])"  # 1: a word (not a.b)
    r"|({SINGLES}|-[->=]?|\+[+=]?|<(?:<=?|=)?|>(?:>=?|=)?|==?|!=?|&[&=]?|\|[|=]?|\^[\^=]?|\*=?|%=?"
    r"|\.(?:\.\.|(?![0-9]))|/{SLASH})"  # 2: an operator that changes no state
    r"|([0-9]++)(?![A-Za-z0-9_.])"  # 3: a decimal integer without suffix
    r'|("(?:[^"\\\n]|\\.)*+")'  # 4: a string
    r"|(@(?:[A-Za-z_][A-Za-z0-9_]*)?)"  # 5: an aggregation
    r"|(\$\$?(?:[0-9]+|[A-Za-z_][A-Za-z0-9_]*))"  # 6: a macro argument
)
# Group 10 matches nothing, after the blanks, where no other group matches: the scan
# then never skips text, and the general path takes over from there.
_OTHER = "|()"
# In a body, braces nest (7: '{', 8: '}'); a '/' that starts no comment divides.
# (Group 9 cannot match: it keeps the numbers the same in both patterns.)
BODY_FAST = re.compile(
    _BLANKS
    + "(?:"
    + _FAST_COMMON.replace("{SINGLES}", r"[;,()\[\]?:~]").replace("{SLASH}", r"(?:=|(?!\*))")
    + r"|(\{)|(\})|((?!))"
    + _OTHER
    + ")",
    re.DOTALL,
)
# In a predicate, brackets are counted (7: opening, 8: closing), because a '/' (9)
# ends the predicate only outside them.
PRED_FAST = re.compile(
    _BLANKS
    + "(?:"
    + _FAST_COMMON.replace("{SINGLES}", r"[;,{}?:~]").replace("{SLASH}", "=")
    + r"|([(\[])|([)\]])|(/(?!\*))"
    + _OTHER
    + ")",
    re.DOTALL,
)
_FAST_KINDS = (None, "IDENT", None, "INT", "STRING", "AGG", "MACRO")

# Both are searched for by their literal part first (the regex engine finds literals
# quickly, but not after a look-behind); the rest is checked in Python.
ASSIGNED_TAIL = re.compile(r"_t\b\s*(?:=(?!=)|\+=|-=|\+\+|--|\[)")  # "x_t =", "x_t[k] ="...
TYPEDEF_WORD = re.compile(r"typedef\b")


def line_starts(text: str) -> list[int]:
    """The offset where each line starts (``[0, ...]``): offsets to lines and columns."""
    starts = [0]
    starts += accumulate([len(line) + 1 for line in text.split("\n")])
    starts.pop()  # where a line after the last would start
    return starts


class LexError(Exception):
    def __init__(self, message: str, pos: int, line: int, col: int, width: int = 1):
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.line = line
        self.col = col
        self.width = width


# ---------------------------------------------------------------- line mapping


@dataclass
class LineMap:
    """Maps lines of the text the parser saw back to (file, line) of the sources.

    ``marks`` holds (text_line, file, source_line) from preprocessor line markers,
    in increasing text_line order.
    """

    filename: str
    marks: list[tuple[int, str | None, int]] = field(default_factory=list)

    def locate(self, line: int) -> tuple[str, int]:
        if not self.marks:
            return self.filename, line
        file, base_text, base_src = self.filename, 1, 1
        for text_line, mark_file, src_line in self.marks:
            if text_line > line:
                break
            file, base_text, base_src = mark_file or file, text_line, src_line
        return file, base_src + (line - base_text)


# ---------------------------------------------------------------- type names


def scan_type_names(text: str) -> set[str]:
    """Names the program introduces with ``typedef`` (a cheap scan before parsing)."""
    names: set[str] = set()
    for match in TYPEDEF_WORD.finditer(text):
        start = match.start()
        if start and (text[start - 1] in "@>.$`" or _is_word_char(text[start - 1])):
            continue  # part of a longer word, a member, an aggregation...
        depth, i = 0, match.end()
        last_ident = None
        while i < len(text):
            ch = text[i]
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == ";" and depth <= 0:
                break
            elif depth == 0 and ch in IDENT_START:
                m = IDENT.match(text, i)
                last_ident = m.group(0)
                i = m.end()
                continue
            i += 1
        if last_ident:
            names.add(last_ident)
    return names


def assigned_names(text: str) -> set[str]:
    """``_t``-suffixed names the program uses as variables (so they are not types)."""
    names: set[str] = set()
    for match in ASSIGNED_TAIL.finditer(text):
        end = match.start() + 2
        start = end - 2
        while start and _is_word_char(text[start - 1]):
            start -= 1
        word = text[start:end]
        if start and text[start - 1] in ">.":
            continue  # a member (p->x_t = 1)
        if word[0] in IDENT_START:
            names.add(word)
    return names


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


# ---------------------------------------------------------------- the lexer


def _operator_names(literal_names: dict[str, str]) -> dict[str, str]:
    cached = _OPERATOR_NAMES.get(id(literal_names))
    if cached is None or cached[0] is not literal_names:
        table = {op: OPERATOR_CLASSES.get(op) or literal_names.get(op, "UNEXPECTED") for op in OPERATORS}
        cached = _OPERATOR_NAMES[id(literal_names)] = (literal_names, table)
    return cached[1]


_OPERATOR_NAMES: dict[int, tuple[dict[str, str], dict[str, str]]] = {}

# After these a word is always a name (a member, a struct, union or enum tag).
NAMES_FOLLOW = frozenset(["ARROW", "DOT", "STRUCT_OR_UNION", "ENUM"])
IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")

TOP, AFTER_SPEC, PRED, AFTER_PRED, BODY, DECL = range(6)


class DLexer(Lexer):
    """A lark ``Lexer`` that yields D tokens with the state machine described above."""

    def __init__(self, lexer_conf) -> None:
        # Terminals whose pattern is a plain string: their text -> their name.
        self.literal_names: dict[str, str] = {}
        for term in lexer_conf.terminals:
            if term.pattern.type == "str":
                self.literal_names[term.pattern.value] = term.name

    def lex(self, data):  # type: ignore[override]
        # lark hands a custom lexer the whole text.
        text = data if isinstance(data, str) else getattr(data, "text", data)
        tokenizer = DTokenizer(text, self.literal_names)
        tokens = tokenizer.tokens()
        if tokenizer.failure is not None:
            raise tokenizer.failure
        return iter(tokens)


class DTokenizer:
    # Slots: the general path touches this state on every token it makes, and slot
    # access is quicker.
    __slots__ = (
        "brace_depth",
        "decl_expr",
        "deepest_braces",
        "depth",
        "expect_spec",
        "failure",
        "in_provider",
        "line_starts",
        "longest_run",
        "marks",
        "mode",
        "mode_changes",
        "names",
        "not_types",
        "op_names",
        "parens",
        "pos",
        "prev",
        "run_length",
        "seen_stack",
        "seen_type",
        "text",
        "typedefs",
    )

    def __init__(self, text: str, literal_names: dict[str, str]) -> None:
        self.text = text
        self.names = literal_names
        # Operator text -> token type. An operator no rule uses (e.g. '...' outside a
        # parameter list) is UNEXPECTED, so the parser reports it in D terms.
        self.op_names = _operator_names(literal_names)
        self.typedefs = scan_type_names(text)
        self.not_types = assigned_names(text) - self.typedefs
        self.line_starts = line_starts(text)
        self.pos = 0
        self.mode = TOP
        self.depth = 0  # braces (body, declaration)
        self.parens = 0  # parentheses and brackets inside a predicate
        self.prev: str | None = None  # type of the previous token
        # Declaration state for the typedef problem: once a type specifier has been seen
        # in a declaration, a typedef name is the declarator's name, not a type.
        self.seen_type = False
        self.seen_stack: list[tuple[str, bool, bool]] = []
        self.decl_expr = False  # inside an initializer/inline value in a declaration
        self.in_provider = False
        self.expect_spec = False
        self.run_length = 0
        self.longest_run = 0
        self.brace_depth = 0
        self.deepest_braces = 0
        self.marks: list[tuple[int, str | None, int]] = []
        self.failure: LexError | None = None
        self.mode_changes: list[tuple[int, int]] = []  # (offset of a token, mode after it)

    # ------------------------------------------------------------ helpers

    def is_type_name(self, name: str) -> bool:
        if name in self.typedefs or name in KNOWN_TYPE_NAMES:
            return True
        return name.endswith("_t") and len(name) > 2 and name not in self.not_types

    def line_col(self, pos: int) -> tuple[int, int]:
        """The 1-based line and column of offset ``pos``."""
        starts = self.line_starts
        line = bisect_right(starts, pos)
        return line, pos - starts[line - 1] + 1

    def error(self, message: str, pos: int | None = None, width: int = 1) -> LexError:
        pos = self.pos if pos is None else pos
        line, col = self.line_col(pos)
        return LexError(message, pos, line, col, width)

    def make(self, type_: str, value: str, start: int) -> Token:
        tok = (type_, value, start, self.pos)
        # How deep could the tree get? The longest run of tokens without ';', '{' or '}'
        # bounds it; the parser checks the real depth only when this is large.
        if value in (";", "{", "}"):
            self.run_length = 0
            if value == "{":
                self.brace_depth += 1
                self.deepest_braces = max(self.deepest_braces, self.brace_depth)
            elif value == "}":
                self.brace_depth -= 1
        else:
            self.run_length += 1
            self.longest_run = max(self.longest_run, self.run_length)
        self.prev = type_
        return tok

    def skip_blank(self) -> None:
        """Skips white space, comments and preprocessor line markers (``# 12 "f.d"``)."""
        text = self.text
        while True:
            if self.pos < len(text) and text[self.pos] not in BLANK_START:
                return
            m = BLANK.match(text, self.pos)
            if m is not None:
                self.pos = m.end()
            if self.pos >= len(text):
                return
            ch = text[self.pos]
            if ch == "/" and text.startswith("/*", self.pos):
                raise self.error("unterminated comment: '/*' has no closing '*/'", width=2)
            if ch == "#" and text.startswith("#!", self.pos) and self.at_line_start():
                # An interpreter line after a leading comment, as in the guide's demos.
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
                continue
            if ch == "#" and self.at_line_start() and not text.startswith("#pragma", self.pos):
                m = LINE_MARKER.match(text, self.pos)
                if m is None:
                    word = re.match(r"#\s*\w*", text[self.pos :]).group(0)
                    raise self.error(
                        f"preprocessor directive '{word}' needs the C preprocessor: "
                        "run with -C (or put -C in the script's #! line)",
                        width=len(word),
                    )
                # "# 12 "file.d"": the next line is line 12 of file.d.
                # Without a file name, the marker renumbers the lines of the same file.
                self.marks.append((self.line_col(self.pos)[0] + 1, m.group(2), int(m.group(1))))
                self.pos = m.end()
                continue
            return

    def at_line_start(self) -> bool:
        text, pos = self.text, self.pos
        return text[text.rfind("\n", 0, pos) + 1 : pos].strip() == ""

    def next_significant_char(self, pos: int) -> str:
        """The next character after blanks and comments, or '' at the end."""
        text = self.text
        while pos < len(text):
            ch = text[pos]
            if ch.isspace():
                pos += 1
            elif text.startswith("/*", pos):
                end = text.find("*/", pos + 2)
                if end < 0:
                    return ""
                pos = end + 2
            elif text.startswith("//", pos):
                end = text.find("\n", pos)
                if end < 0:
                    return ""
                pos = end
            else:
                return ch
        return ""

    # ------------------------------------------------------------ the token stream

    def tokens(self) -> list[Token]:
        """Every token of the text, in order.

        A lexical error ends the list early and is kept in ``failure``: the parser
        reports it only if the tokens before it parse (a syntax error earlier in the
        text comes first, as it would with a lexer called token by token).
        """
        text = self.text
        n = len(text)
        # A #! line is not D: the front end reads its options separately.
        if text.startswith("#!"):
            end = text.find("\n")
            self.pos = n if end < 0 else end
        out: list[Token] = []
        append = out.append
        scan_body = BODY_FAST.finditer
        scan_pred = PRED_FAST.finditer
        fast_kinds = _FAST_KINDS
        op_names = self.op_names
        word_types = self.word_types()
        names_follow = NAMES_FOLLOW
        # The state the fast path touches lives in locals; it is written back to the
        # tokenizer before the general path runs, and read again after.
        pos = self.pos
        mode = self.mode
        prev = self.prev
        run = self.run_length
        longest = self.longest_run
        try:
            while True:
                if mode == BODY or mode == PRED:
                    for m in (scan_body if mode == BODY else scan_pred)(text, pos):
                        kind = m.lastindex
                        if kind == 1:
                            value = m[1]
                            type_ = "IDENT" if prev in names_follow else word_types.get(value, "IDENT")
                        elif kind == 2:
                            value = m[2]
                            type_ = op_names[value]
                        elif kind < 7:
                            value = m[kind]
                            type_ = fast_kinds[kind]
                        elif kind < 10:
                            # Brackets, braces and a predicate's '/' change the lexer's
                            # state: the general path's operator_token makes them.
                            start, self.pos = m.span(kind)
                            self.prev, self.run_length, self.longest_run = prev, run, longest
                            append(self.operator_token(m[kind], start))
                            prev, run, longest = self.prev, self.run_length, self.longest_run
                            if self.mode != mode:
                                pos, mode = self.pos, self.mode
                                self.mode_changes.append((start, mode))
                                break
                            continue
                        else:  # anything else: the general path, from after the blanks
                            pos = m.end()
                            break
                        start, end = m.span(kind)
                        if kind == 4:
                            value = value[1:-1]  # a string's text is inside the quotes
                        prev = type_
                        # How deep could the tree get? See make().
                        if type_ == "SEMICOLON":
                            run = 0
                        else:
                            run += 1
                            if run > longest:
                                longest = run
                        append((type_, value, start, end))
                    else:  # pragma: no cover - group 10 always ends the scan
                        pos = n
                # The general path: outside bodies and predicates, and for what their
                # scan leaves (line markers, unterminated comments...).
                self.pos, self.prev, self.run_length, self.longest_run = pos, prev, run, longest
                if pos >= n or text[pos] in BLANK_START:
                    self.skip_blank()
                    if self.pos >= n:
                        break
                tok = None
                if mode <= AFTER_SPEC:  # TOP or AFTER_SPEC
                    tok = self.top_token()
                if tok is None:
                    tok = self.expression_token()
                append(tok)
                pos, prev, run, longest = self.pos, self.prev, self.run_length, self.longest_run
                if self.mode != mode:
                    mode = self.mode
                    self.mode_changes.append((tok[2], mode))
        except LexError as err:
            self.failure = err
        self.pos, self.prev, self.run_length, self.longest_run = pos, prev, run, longest
        return out

    def mode_after(self, pos: int) -> int:
        """The lexer's mode after the token at offset ``pos`` (for messages)."""
        mode = TOP
        for change_pos, new_mode in self.mode_changes:
            if change_pos > pos:
                break
            mode = new_mode
        return mode

    def word_types(self) -> dict[str, str]:
        """The token type of every word with a meaning of its own, inside a clause.

        Plain identifiers are not in it; neither are names that are types only by their
        ``_t`` suffix (the fast path leaves those to :meth:`word_token`).
        """
        types = {name: "TYPE_NAME" for name in KNOWN_TYPE_NAMES | self.typedefs}
        for word, kind in RESERVED_WORDS.items():
            if kind == "KEYWORD":
                kind = "IDENT" if word == "probe" else self.names.get(word, word.upper())
            types[word] = kind
        return types

    def top_token(self) -> Token | None:
        """At the top level: pragmas, probe descriptions, or the start of a declaration."""
        text, start = self.text, self.pos
        ch = text[start]
        if self.mode == TOP and ch == "#":
            end = text.find("\n", start)
            end = len(text) if end < 0 else end
            # A pragma may continue on the next line with a backslash.
            while end > start and text[end - 1] == "\\" and end < len(text):
                nxt = text.find("\n", end + 1)
                end = len(text) if nxt < 0 else nxt
            self.pos = end
            return self.make("PRAGMA", text[start:end], start)
        if self.mode == AFTER_SPEC:
            if ch == ",":
                self.pos += 1
                self.mode = TOP
                self.expect_spec = True
                return self.make(self.names[","], ",", start)
            if ch == "/":
                self.pos += 1
                self.mode = PRED
                self.parens = 0
                return self.make("BPRED", "/", start)
            self.mode = AFTER_PRED
            return None
        m = PSPEC.match(text, start)
        if m is None:
            if ch == ";":
                self.pos += 1
                return self.make(self.names[";"], ";", start)
            # Not a probe description: let the expression lexer report it.
            self.mode = DECL
            return None
        word = m.group(0)
        expecting_spec = self.expect_spec
        self.expect_spec = False
        if not expecting_spec and self.starts_declaration(word, m.end()):
            self.mode = DECL
            self.depth = 0
            self.seen_type = False
            self.seen_stack = []
            self.decl_expr = False
            self.in_provider = word == "provider"
            return None
        self.pos = m.end()
        self.mode = AFTER_SPEC
        return self.make("PROBE_SPEC", word, start)

    def starts_declaration(self, word: str, end: int) -> bool:
        if word in BASIC_TYPES or word in STORAGE_WORDS or word in QUALIFIERS:
            return True
        if word in ("struct", "union", "enum", "inline", "translator", "provider", "self", "this"):
            return True
        if IDENT.fullmatch(word) and self.is_type_name(word):
            nxt = self.next_significant_char(end)
            return nxt != "" and (nxt in IDENT_START or nxt in "*(`")
        return False

    def expression_token(self) -> Token:
        text, start = self.text, self.pos
        m = EXPRESSION_TOKEN.match(text, start)
        if m is None:
            return self.bad_token(start)
        kind = m.lastgroup
        value = m.group(kind)
        end = m.end()
        if kind == "word" and end < len(text) and text[end] in "`.":
            ksym = KSYM.match(text, start)  # genunix`rootdir, or mod.name`sym
            if ksym is not None:
                kind, value, end = "ksym", ksym.group(0), ksym.end()
        self.pos = end
        if kind == "op":
            return self.operator_token(value, start)
        if kind == "word":
            return self.word_token(value, start)
        if kind == "num":
            if end < len(text) and NUMBER_TAIL.match(text, end):
                bad = re.compile(r"[A-Za-z0-9_.]+").match(text, start).group(0)
                raise self.error(f"invalid number '{bad}'", pos=start, width=len(bad))
            is_float = "." in value or (value[:2] not in ("0x", "0X") and ("e" in value or "E" in value))
            return self.make("FLOAT" if is_float else "INT", value, start)
        if kind == "str":
            return self.make("STRING", value[1:-1], start)
        if kind == "chr":
            return self.make("CHAR", value[1:-1], start)
        return self.make(TOKEN_KINDS[kind], value, start)

    def bad_token(self, start: int) -> Token:
        ch = self.text[start]
        if ch == '"':
            raise self.error("unterminated string: '\"' has no closing quote on this line")
        if ch == "'":
            raise self.error("unterminated or empty character constant")
        if ch == "`":
            raise self.error("'`' must be followed by a kernel symbol name")
        if ch == "$":
            raise self.error("'$' must be followed by a macro variable name ($1, $target, $pid...)")
        shown = repr(ch) if ch.isprintable() else ascii(ch)
        raise self.error(f"invalid character {shown} in D program")

    def word_token(self, word: str, start: int) -> Token:
        prev = self.prev
        # After '->', '.', or a struct/union/enum keyword a word is always a name.
        if prev in NAMES_FOLLOW:
            if self.mode == DECL:
                self.seen_type = True if prev in ("STRUCT_OR_UNION", "ENUM") else self.seen_type
            return self.make("IDENT", word, start)
        kind = RESERVED_WORDS.get(word)
        if kind is None:
            # An ordinary identifier, unless it names a type.
            if (word[-2:] == "_t" or word in self.typedefs or word in KNOWN_TYPE_NAMES) and self.is_type_name(word):
                if self.mode != DECL or self.decl_expr or not self.seen_type:
                    if self.mode == DECL and not self.decl_expr:
                        self.seen_type = True
                    return self.make("TYPE_NAME", word, start)
            return self.make("IDENT", word, start)
        if kind == "KEYWORD":
            if word == "probe" and not (self.in_provider and self.mode == DECL):
                return self.make("IDENT", word, start)
            return self.make(self.names.get(word, word.upper()), word, start)
        if kind == "BASIC_TYPE":
            self.seen_type = True
        return self.make(kind, word, start)

    def operator_token(self, op: str, start: int) -> Token:
        mode = self.mode
        if mode == PRED:
            if op in "([":
                self.parens += 1
            elif op in ")]":
                self.parens -= 1
            elif op == "/" and self.parens <= 0 and self.next_significant_char(self.pos) in ("{", ";", ""):
                self.mode = AFTER_PRED
                return self.make("EPRED", "/", start)
        elif mode == AFTER_PRED and op == "{":
            self.mode = BODY
            self.depth = 1
            return self.make(self.names["{"], op, start)
        elif mode == BODY:
            if op == "{":
                self.depth += 1
            elif op == "}":
                self.depth -= 1
                if self.depth == 0:
                    self.mode = TOP
        elif mode == DECL:
            self.declaration_operator(op)
        return self.make(self.op_names.get(op, "UNEXPECTED"), op, start)

    def declaration_operator(self, op: str) -> None:
        """Tracks declaration structure for the typedef problem (see ``word_token``).

        Each bracket opens a scope where a new type may start (struct members,
        parameters, associative array keys); closing it restores the outer state.
        """
        if op in ("{", "(", "["):
            self.seen_stack.append((op, self.seen_type, self.decl_expr))
            self.seen_type = False
            self.depth += 1
            if op != "(":
                self.decl_expr = False
        elif op in ("}", ")", "]"):
            self.depth -= 1
            if self.seen_stack:
                _, self.seen_type, self.decl_expr = self.seen_stack.pop()
            if op == "}":
                self.seen_type = True  # `struct s {...} name`: what follows is the declarator
                self.decl_expr = False
        elif op == "<":
            # translator out_t < in_t *P >: a second type follows.
            if not self.decl_expr:
                self.seen_type = False
        elif op == "=":
            self.decl_expr = True
        elif op == ";":
            self.decl_expr = False
            if self.depth <= 0:
                self.mode = TOP
                self.in_provider = False
            else:
                self.seen_type = False
        elif op == "," and self.seen_stack:
            innermost = self.seen_stack[-1][0]
            if innermost == "{":
                self.decl_expr = False  # the next enumerator or member declarator
            elif not self.decl_expr:
                # A new parameter or key type starts.
                self.seen_type = False
        elif op == ":" and not self.decl_expr:
            self.decl_expr = True  # bit-field width, or a provider probe's translated args
