"""A lean LALR(1) driver over the tables lark builds from ``d.lark``.

lark generates the parse table; this loop runs it, and calls the tree builder at each
reduction. It does what lark's own loop does, minus the generality the front end does
not use (interactive parsing, token callbacks, hashing rule objects at every
reduction), which roughly halves parse time. The engine stays swappable behind
``dscript.parser.parse``.

The builder gets each rule's children as lark would hand them to a ``Transformer``
(anonymous tokens such as ``";"`` dropped, ``x*`` repetitions spliced in), but the
code that shapes them is made per rule (:func:`reduction`) instead of interpreted at
every reduction, and repetitions are plain lists grown in place.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# The kinds of table entries. The loop below tests them as literals, in this order.
SHIFT = 0
REDUCE_ONE = 1  # a reduction of one symbol: the value is replaced where it stands
PASS = 2  # a `?rule` with one child: the value is the child, only the state changes
REDUCE = 3  # any other reduction (and every reduction to `start`, which ends the parse)
SHIFT_REDUCE = 4  # a shift into a state that reduces the token alone, whatever follows


class ParseError(Exception):
    """The parser met ``token`` where only ``expected`` terminals could follow."""

    def __init__(self, token: Any, expected: set[str], previous: Any = None):
        super().__init__(f"unexpected {getattr(token, 'type', token)}")
        self.token = token
        self.expected = expected
        self.previous = previous  # the token before, if any (to say where a ';' is missing)


class Driver:
    def __init__(self, lark_parser: Any, builder: Any) -> None:
        inner = lark_parser.parser.parser.parser  # ParsingFrontend -> LALR_Parser -> _Parser
        table = inner.parse_table
        callbacks: dict[Any, Any] = {}
        self.start_state = table.start_states["start"]
        self.end_state = table.end_states["start"]
        shift_name = "Shift"
        # A list indexed by state: lark numbers its states from 0.
        compiled: list[dict[str, tuple]] = [{} for _ in table.states]
        for state, actions in table.states.items():
            row: dict[str, tuple] = {}
            for symbol, (action, arg) in actions.items():
                # Plain str keys: lark's Token keys compare in Python, slowly.
                if action.name == shift_name:
                    row[str(symbol)] = (SHIFT, arg)
                elif _passes_through(arg):
                    # The last item remembers where the chain of pass-through reductions
                    # that starts here ends, for each state below.
                    row[str(symbol)] = (PASS, str(arg.origin.name), {})
                else:
                    if arg not in callbacks:
                        callbacks[arg] = reduction(arg, builder)
                    size, origin = len(arg.expansion), str(arg.origin.name)
                    kind = REDUCE_ONE if size == 1 and origin != "start" else REDUCE
                    row[str(symbol)] = (kind, size, callbacks[arg], origin)
            compiled[state] = row
        # Default reductions: a token such as an identifier or a number, shifted in an
        # expression, is reduced to its node whatever the next token is. Doing it at once
        # saves a trip through the loop for nearly half the tokens of a program.
        for row in compiled:
            for symbol, entry in row.items():
                if entry[0] == SHIFT and symbol.isupper():
                    reductions = set(compiled[entry[1]].values())
                    if len(reductions) == 1:
                        (reduce,) = reductions
                        if reduce[0] == REDUCE_ONE:
                            row[symbol] = (SHIFT_REDUCE, entry[1], reduce[2], reduce[3])
        self.table = compiled

    def _pass_chain(self, below: int, entry: tuple, ttype: str) -> int:
        """The state after every pass-through reduction that ``ttype`` triggers."""
        table = self.table
        while True:
            state = table[below][entry[1]][1]
            entry = table[state].get(ttype)
            if entry is None or entry[0] != PASS:
                return state

    def parse(self, tokens: Iterable[Any], end_token: Any) -> Any:
        """Parse ``tokens`` followed by ``end_token`` (type ``$END``); the value of ``start``.

        Without an end token, only look for a syntax error in ``tokens`` (None if none).
        """
        table = self.table
        end_state = self.end_state
        # The state stack is ``below + [top]``; keeping the top in a local saves a
        # lookup on every step of the loop.
        below: list[int] = []
        top = self.start_state
        values: list[Any] = []
        previous = None
        reduced_in = None  # the state of the last default reduction (for messages)
        for token in [*tokens, end_token] if end_token is not None else tokens:
            ttype = token[0]
            while True:
                entry = table[top].get(ttype)
                if entry is None:
                    raise ParseError(token, self.expected(self._error_state(top, reduced_in, ttype)), previous)
                kind = entry[0]
                reduced_in = None
                if kind == 0:  # SHIFT
                    below.append(top)
                    top = entry[1]
                    values.append(token)
                    previous = token
                    break
                if kind == 4:  # SHIFT_REDUCE: shift and reduce in one step
                    values.append(entry[2]([token]))
                    reduced_in = entry[1]
                    below.append(top)
                    top = table[top][entry[3]][1]
                    previous = token
                    break
                if kind == 1:  # REDUCE_ONE: the stacks keep their length
                    values[-1] = entry[2]([values[-1]])
                    top = table[below[-1]][entry[3]][1]
                elif kind == 2:  # PASS
                    # A chain of pass-through reductions (ident -> postfix -> unary ->
                    # ... -> assignment) depends only on the state below, this state and
                    # the token (the entry): jump to where the chain ends in one step.
                    state = below[-1]
                    end = entry[2].get(state)
                    if end is None:
                        end = entry[2][state] = self._pass_chain(state, entry, ttype)
                    top = end
                else:  # REDUCE
                    _, size, callback, origin = entry
                    if size:
                        children = values[-size:]
                        del values[-size:]
                        if size > 1:
                            del below[1 - size :]
                        top = below[-1]
                    else:
                        children = []
                        below.append(top)
                    values.append(callback(children))
                    top = table[top][origin][1]
                    if top == end_state:
                        return values[-1]
        if end_token is None:
            return None
        raise ParseError(end_token, set())  # pragma: no cover - $END always ends the parse

    def _error_state(self, top: int, reduced_in: int | None, ttype: str) -> int:
        """Where the parse failed, as if default reductions were not made: in the state
        that reduced the last token, if ``ttype`` could not follow there."""
        if reduced_in is not None and ttype not in self.table[reduced_in]:
            return reduced_in
        return top

    def expected(self, state: int) -> set[str]:
        return {symbol for symbol in self.table[state] if symbol.isupper() or symbol == "$END"}


def _passes_through(rule: Any) -> bool:
    """True for an inlined ``?rule`` alternative made of one kept symbol and no alias."""
    if rule.alias or not rule.options.expand1 or len(rule.expansion) != 1:
        return False
    symbol = rule.expansion[0]
    # A nonterminal, or a named terminal (anonymous ones like ";" are filtered out).
    return not symbol.is_term or not symbol.filter_out


def reduction(rule: Any, builder: Any) -> Any:
    """The function that turns the values of ``rule``'s symbols into the rule's value.

    It follows lark's tree-shaping rules: tokens from anonymous strings are dropped;
    rules whose name starts with ``_`` (lark's helpers for ``x*`` and ``x+``) make a
    list that is spliced into the parent's children; a ``?rule`` alternative with one
    child is that child; anything else goes to the builder method named after the
    rule's alias or name, with the list of children.
    """
    name = rule.alias or rule.origin.name
    kept = [
        (f"c[{i}]", _is_spliced(symbol))
        for i, symbol in enumerate(rule.expansion)
        if rule.options.keep_all_tokens or not (symbol.is_term and symbol.filter_out)
    ]
    splices = any(spliced for _, spliced in kept)
    method = None
    if rule.origin.name.startswith("_"):
        call = "{}"  # a helper: its value is the list itself
    elif rule.options.expand1 and not rule.alias and len(kept) == 1 and not splices:
        return _compile(f"return {kept[0][0]}", {})  # `?rule: "(" expr ")"` is expr
    else:
        method = getattr(builder, name, None)
        if method is None:
            raise TypeError(f"the tree builder has no method for rule {name!r}")
        if len(kept) == len(rule.expansion) and not splices:
            return method  # the children are the values as they are (a fresh list)
        call = "build({})"
    if kept and kept[0][1]:
        # Left recursion (`items: items item`): grow the list the first child already is.
        first, *rest = kept
        lines = [f"r = {first[0]}"]
        lines += [f"r.{'extend' if spliced else 'append'}({value})" for value, spliced in rest]
        lines.append("return " + call.format("r"))
    else:
        items = ", ".join(("*" if spliced else "") + value for value, spliced in kept)
        lines = ["return " + call.format(f"[{items}]")]
    return _compile("\n    ".join(lines), {"build": method})


def _is_spliced(symbol: Any) -> bool:
    return not symbol.is_term and symbol.name.startswith("_")


def _compile(body: str, namespace: dict[str, Any]) -> Any:
    # Made from a few fixed shapes above; no text from the grammar but indices.
    exec(f"def reduce(c):\n    {body}", namespace)
    return namespace["reduce"]
