"""The D syntax tree: every node dtscope knows, declared in one place.

Nodes are dataclasses. Each carries a ``span`` (where it came from) that takes no
part in equality, so ``parse(print(parse(s))) == parse(s)`` compares structure only.
Passes walk the tree with :class:`Visitor` or rebuild it with :class:`Transformer`.

Naming follows the Dynamic Tracing Guide: a *program* is a list of *clauses* and
declarations; a clause has *probe descriptions*, an optional *predicate* and a body of
*statements*.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# --------------------------------------------------------------------------- positions


class Span(NamedTuple):
    """A source range. Lines and columns are 1-based; ``end_*`` is exclusive."""

    file: str
    line: int
    col: int
    end_line: int = 0
    end_col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}
_LEAF_TYPES = frozenset(
    ["str", "str | None", "bool", "int", "list[str]", "Span | None", "list[Any]", "dict[str, str | None]"]
)


def _child_fields(cls: type) -> tuple[str, ...]:
    """The fields of a node class that can hold nodes (not names, operators, spans)."""
    names = _CHILD_FIELDS.get(cls)
    if names is None:
        names = _CHILD_FIELDS[cls] = tuple(
            f.name for f in dataclasses.fields(cls) if str(f.type) not in _LEAF_TYPES and f.name != "span"
        )
    return names


def _span_field() -> Any:
    return field(default=None, compare=False, repr=False, kw_only=True)


@dataclass
class Node:
    span: Span | None = _span_field()

    def children(self) -> Iterator[Node]:
        for name in _child_fields(self.__class__):
            value = getattr(self, name)
            if isinstance(value, Node):
                yield value
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, Node):
                        yield item

    def walk(self) -> Iterator[Node]:
        """This node and every node below it, depth first, in source order."""
        stack: list[Node] = [self]
        while stack:
            node = stack.pop()
            yield node
            kids = list(node.children())
            kids.reverse()
            stack.extend(kids)


# --------------------------------------------------------------------------- types


@dataclass
class StructSpec(Node):
    """``struct tag``, ``union tag``, or a definition with ``members`` (a list of Decl)."""

    kind: str  # "struct" | "union"
    tag: str | None
    members: list[Decl] | None = None


@dataclass
class Enumerator(Node):
    name: str
    value: Expr | None = None


@dataclass
class EnumSpec(Node):
    tag: str | None
    enumerators: list[Enumerator] | None = None


@dataclass
class TypeSpec(Node):
    """The specifier part of a declaration or type name.

    ``name`` is a plain type ("int", "unsigned long long", "string", "vnode_t",
    "struct file" written as a StructSpec) and ``qualifiers`` holds const/volatile.
    """

    name: str | StructSpec | EnumSpec
    qualifiers: list[str] = field(default_factory=list)


@dataclass
class ArrayDim(Node):
    """One ``[...]`` of a declarator: a size, key types of an associative array, or empty.

    ``size`` is an expression (``int a[10]``); ``keys`` are type names
    (``int a[string, int]``) or parameter declarations of an inline (``[int e]``).
    """

    size: Expr | None = None
    keys: list[TypeName | Param] | None = None


@dataclass
class Param(Node):
    """A parameter in a provider probe, inline array or function declarator."""

    type: TypeName
    name: str | None = None


@dataclass
class Declarator(Node):
    """``*name[dims](params) : bits = init`` with any part optional but the name.

    ``inner`` is set for parenthesized declarators such as ``(*fp)(int)``.
    """

    name: str | None
    pointers: int = 0
    arrays: list[ArrayDim] = field(default_factory=list)
    params: list[Param] | None = None
    bits: Expr | None = None
    init: Expr | None = None
    inner: Declarator | None = None


@dataclass
class TypeName(Node):
    """A type as written in a cast, sizeof, xlate or translator: spec plus abstract declarator."""

    spec: TypeSpec
    pointers: int = 0
    arrays: list[ArrayDim] = field(default_factory=list)


# --------------------------------------------------------------------------- expressions


@dataclass
class Expr(Node):
    pass


@dataclass
class IntLit(Expr):
    """An integer constant; ``text`` keeps its spelling (``0x10``, ``10ULL``, ``010``)."""

    text: str

    @property
    def value(self) -> int:
        digits = self.text.rstrip("uUlL")
        if digits.lower().startswith("0x"):
            return int(digits, 16)
        if len(digits) > 1 and digits.startswith("0"):
            return int(digits, 8)
        return int(digits)


@dataclass
class FloatLit(Expr):
    text: str


@dataclass
class StrLit(Expr):
    """A string constant; ``text`` is the spelling inside the quotes (escapes kept)."""

    text: str

    @property
    def value(self) -> str:
        return decode_escapes(self.text)


@dataclass
class CharLit(Expr):
    """A character constant; ``text`` is the spelling inside the quotes."""

    text: str

    @property
    def value(self) -> int:
        decoded = decode_escapes(self.text)
        return ord(decoded[0]) if decoded else 0


@dataclass
class Ident(Expr):
    """A variable: built-in (``execname``), global, inline, or enumerator."""

    name: str


@dataclass
class KernelSym(Expr):
    """A backquoted kernel symbol: ``` `max_ncpus ``` or ``` genunix`max_ncpus ```."""

    module: str | None
    name: str


@dataclass
class MacroArg(Expr):
    """``$1``, ``$target``, ``$pid``...; ``string_form`` for ``$$1``."""

    name: str
    string_form: bool = False


@dataclass
class ThreadVar(Expr):
    """``self->name``: a thread-local variable."""

    name: str


@dataclass
class ClauseVar(Expr):
    """``this->name``: a clause-local variable."""

    name: str


@dataclass
class AggRef(Expr):
    """``@name`` (``@`` alone is the anonymous aggregation, name ``""``)."""

    name: str


@dataclass
class Unary(Expr):
    """Prefix operators: ``- + ! ~ * & ++ --``."""

    op: str
    operand: Expr


@dataclass
class Postfix(Expr):
    """``x++`` and ``x--``."""

    op: str
    operand: Expr


@dataclass
class Binary(Expr):
    """Binary operators, including ``,`` (the comma operator) and ``^^`` (logical xor)."""

    op: str
    left: Expr
    right: Expr


@dataclass
class Assign(Expr):
    """``=``, ``+=``, ``<<=``... on variables, members and array elements."""

    op: str
    target: Expr
    value: Expr


@dataclass
class Ternary(Expr):
    cond: Expr
    then: Expr
    other: Expr


@dataclass
class Call(Expr):
    """A subroutine, action or aggregating function: ``copyinstr(arg0)``, ``count()``."""

    func: str
    args: list[Expr] = field(default_factory=list)


@dataclass
class Index(Expr):
    """``a[k1, k2]``: associative arrays, ``args[0]``, and C arrays/pointers."""

    base: Expr
    indices: list[Expr]


@dataclass
class Member(Expr):
    """``base.name`` or ``base->name``."""

    base: Expr
    op: str  # "." | "->"
    name: str


@dataclass
class Cast(Expr):
    type: TypeName
    operand: Expr


@dataclass
class SizeOf(Expr):
    """``sizeof(type)`` or ``sizeof expr``."""

    operand: TypeName | Expr


@dataclass
class OffsetOf(Expr):
    type: TypeName
    member: str


@dataclass
class StringOf(Expr):
    operand: Expr


@dataclass
class Xlate(Expr):
    """``xlate <type> (expr)``: apply a translator."""

    type: TypeName
    operand: Expr


# --------------------------------------------------------------------------- statements


@dataclass
class Stmt(Node):
    pass


@dataclass
class ExprStmt(Stmt):
    expr: Expr


@dataclass
class AggStmt(Stmt):
    """``@name[keys] = func(args);``: the one statement that feeds an aggregation."""

    name: str
    keys: list[Expr]
    func: str
    args: list[Expr]
    # Spelled ``@name[]``? Kept only so the printer can round-trip exotic input;
    # it has no meaning.
    func_span: Span | None = field(default=None, compare=False, repr=False)


@dataclass
class If(Stmt):
    """``if (cond) {...} else {...}`` (illumos D; not in Oracle's D 2.0)."""

    cond: Expr
    then: list[Stmt]
    other: list[Stmt] | None = None


@dataclass
class Block(Stmt):
    """A braced group of statements inside a clause body."""

    body: list[Stmt]


@dataclass
class EmptyStmt(Stmt):
    """A lone ``;``; kept because DTrace accepts it, dropped by the printer."""


# --------------------------------------------------------------------------- program items


@dataclass
class Item(Node):
    pass


@dataclass
class ProbeDesc(Node):
    """One probe description as written: ``syscall::read:entry``, ``BEGIN``, ``profile-997``.

    Fewer than four fields fill from the right, as DTrace does: ``read:entry`` has
    function ``read`` and name ``entry``.
    """

    text: str

    @property
    def fields(self) -> tuple[str, str, str, str]:
        parts = self.text.split(":")
        # A ``:`` may appear inside [...] character classes in principle; DTrace
        # does not allow it, neither do we.
        parts = [""] * (4 - len(parts)) + parts if len(parts) < 4 else parts[:3] + [":".join(parts[3:])]
        return (parts[0], parts[1], parts[2], parts[3])

    @property
    def provider(self) -> str:
        return self.fields[0]

    @property
    def module(self) -> str:
        return self.fields[1]

    @property
    def function(self) -> str:
        return self.fields[2]

    @property
    def name(self) -> str:
        return self.fields[3]


@dataclass
class Clause(Item):
    probes: list[ProbeDesc]
    predicate: Expr | None
    body: list[Stmt]


@dataclass
class Pragma(Item):
    """``#pragma D option name=value``, ``#pragma D depends_on library x.d``...

    ``words`` are the words after ``#pragma``, e.g. ``["D", "option", "quiet"]``.
    """

    words: list[str]

    @property
    def is_option(self) -> bool:
        return self.words[:2] == ["D", "option"] and len(self.words) >= 3

    @property
    def option(self) -> tuple[str, str | None] | None:
        if not self.is_option:
            return None
        name, _, value = " ".join(self.words[2:]).partition("=")
        return name.strip(), (value.strip() if _ else None)


@dataclass
class Decl(Item):
    """A declaration: ``int x;``, ``self int x;``, ``this string s;``, ``struct s {...};``,
    ``typedef ...;``, ``extern ...;``, ``int a[string];``. ``storage`` holds the leading
    words that are not types: ``self``, ``this``, ``typedef``, ``extern``, ``static``,
    ``register``.
    """

    storage: list[str]
    type: TypeSpec
    declarators: list[Declarator] = field(default_factory=list)


@dataclass
class Inline(Item):
    """``inline int MAX = 10;`` or ``inline string name[int e] = ...;``."""

    type: TypeSpec
    declarator: Declarator
    value: Expr


@dataclass
class TranslatorMember(Node):
    name: str
    value: Expr


@dataclass
class Translator(Item):
    """``translator out_t < in_t *P > { f = P->g; ... };``"""

    output: TypeName
    input: TypeName
    param: str
    members: list[TranslatorMember]


@dataclass
class ProviderProbe(Node):
    name: str
    params: list[Param]
    # ``probe p(int, char *) : (int)`` maps native arguments to translated ones.
    xlated: list[Param] | None = None


@dataclass
class Provider(Item):
    name: str
    probes: list[ProviderProbe]


@dataclass
class Program(Node):
    items: list[Item]
    # Options from the #! line (``-q``, ``-x bufsize=4m``...), name -> value; not part
    # of the tree's meaning for equality.
    interpreter_options: dict[str, str | None] = field(default_factory=dict, compare=False)
    # Diagnostics found before parsing (preprocessor warnings); the checks report them.
    warnings: list[Any] = field(default_factory=list, compare=False, repr=False)

    @property
    def clauses(self) -> list[Clause]:
        return [i for i in self.items if isinstance(i, Clause)]

    def options(self) -> dict[str, str | None]:
        """Every option the program sets: ``#!`` flags first, then ``#pragma D option``."""
        found = dict(self.interpreter_options)
        for item in self.items:
            if isinstance(item, Pragma) and item.option:
                name, value = item.option
                found[name] = value
        return found


# --------------------------------------------------------------------------- helpers

_SIMPLE_ESCAPES = {
    "n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'",
    "a": "\a", "b": "\b", "f": "\f", "v": "\v", "?": "?",
}


def decode_escapes(text: str) -> str:
    """Decode C escapes as D does (``\\n``, ``\\x41``, ``\\101``)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "\\" or i + 1 == len(text):
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "x":
            j = i + 2
            while j < len(text) and j < i + 4 and text[j] in "0123456789abcdefABCDEF":
                j += 1
            out.append(chr(int(text[i + 2 : j] or "0", 16)))
            i = j
        elif nxt in "01234567":
            j = i + 1
            while j < len(text) and j < i + 4 and text[j] in "01234567":
                j += 1
            out.append(chr(int(text[i + 1 : j], 8)))
            i = j
        else:
            out.append(_SIMPLE_ESCAPES.get(nxt, nxt))
            i += 2
    return "".join(out)


def encode_string(value: str) -> str:
    """The D spelling (without quotes) of an arbitrary Python string.

    Used wherever untrusted values become D: nothing in ``value`` can end the literal.
    """
    out: list[str] = []
    for ch in value:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\{code:03o}")
        elif code > 0x7F:
            # D strings are bytes: spell non-ASCII as octal UTF-8 bytes.
            out.extend(f"\\{b:03o}" for b in ch.encode("utf-8"))
        else:
            out.append(ch)
    return "".join(out)


# --------------------------------------------------------------------------- passes


class Visitor:
    """Calls ``visit_<ClassName>(node)`` when defined, else visits the children."""

    def visit(self, node: Node) -> Any:
        cls = node.__class__
        try:
            method = self._visit_methods[cls]
        except (AttributeError, KeyError):
            method = self._dispatch(cls)
        if method is not None:
            return method(node)
        return None

    def _dispatch(self, cls: type) -> Any:
        """The method for nodes of ``cls``; None when there is nothing to do (a leaf)."""
        if "_visit_methods" not in self.__dict__:
            self._visit_methods: dict[type, Any] = {}
        method = getattr(self, "visit_" + cls.__name__, None)
        if method is None and _child_fields(cls):
            method = self.generic_visit
        self._visit_methods[cls] = method
        return method

    def generic_visit(self, node: Node) -> None:
        # The hottest loop of every pass: the method lookup of visit() is inlined, and
        # leaves (nodes with nothing to do) are skipped without a call.
        try:
            methods = self._visit_methods
        except AttributeError:
            methods = self._visit_methods = {}
        fields = _CHILD_FIELDS.get(node.__class__)
        if fields is None:
            fields = _child_fields(node.__class__)
        values = node.__dict__
        for name in fields:
            value = values[name]
            children = value if value.__class__ is list else (value,)
            for child in children:
                if isinstance(child, Node):
                    cls = child.__class__
                    method = methods[cls] if cls in methods else self._dispatch(cls)
                    if method is not None:
                        method(child)


class Transformer:
    """Rebuilds a tree bottom-up: ``transform_<ClassName>(node)`` returns the replacement.

    Children are transformed first; a method receives the node with transformed
    children and returns a node (or, for items in lists, a list to splice).
    """

    def transform(self, node: Node) -> Any:
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            if isinstance(value, Node):
                new = self.transform(value)
                if new is not value:
                    changes[f.name] = new
            elif isinstance(value, list) and any(isinstance(v, Node) for v in value):
                new_list: list[Any] = []
                for item in value:
                    if isinstance(item, Node):
                        result = self.transform(item)
                        if isinstance(result, list):
                            new_list.extend(result)
                        elif result is not None:
                            new_list.append(result)
                    else:
                        new_list.append(item)
                changes[f.name] = new_list
        if changes:
            node = dataclasses.replace(node, **changes)
        method = getattr(self, "transform_" + type(node).__name__, None)
        return method(node) if method is not None else node
