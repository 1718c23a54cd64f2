"""DTrace's string subroutines in the consumer, byte for byte against the real dtrace.

The cases below are data: each group becomes one D program (one BEGIN clause per case)
that the real ``dtrace`` (Oracle's DTrace for Linux, D 2.0) ran; what it printed is
stored in ``tests/fixtures/consumer_strings/`` (``<group>.d``, ``.stdout``, ``.stderr``).
The tests compute every case with :mod:`dtscope.collectors.consumer.strings` and compare
with what dtrace printed, or with the fault it reported.

To capture again with a real dtrace (``/opt/dtrace-build/dtrace`` or ``$DTRACE``)::

    .venv/bin/python tests/test_consumer_strings.py --capture

Cases for illumos-only subroutines (``toupper``, ``tolower``, ``lltostr`` with a base,
``strtoll``) cannot run on Oracle's DTrace: their expected values are written by hand
from illumos' definition (``ILLUMOS_CASES``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from dtscope.collectors.consumer import strings as S
from dtscope.collectors.consumer.subroutines import SUBROUTINES, call

FIXTURES = Path(__file__).parent / "fixtures" / "consumer_strings"

# ------------------------------------------------------------------ the case language


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple


@dataclass(frozen=True)
class Char:
    """A D character constant (``'a'``), or any integer passed as ``char``."""

    value: int


@dataclass(frozen=True)
class Var:
    """A string first stored in a clause-local variable (not a constant in the program)."""

    value: bytes


@dataclass(frozen=True)
class Addr:
    """A pointer to these bytes (alloca'ed and filled), cast to ``ctype``."""

    value: bytes
    ctype: str


class _Null:
    def __repr__(self) -> str:
        return "NULL"


NULL = _Null()


def c(name: str, *args) -> Call:
    return Call(name, args)


@dataclass(frozen=True)
class Seq:
    """Several calls in one clause, in order (strtok's state carries between them)."""

    steps: tuple


@dataclass
class Group:
    name: str
    cases: list
    strsize: int | None = None  # None: DTrace's default (256)
    ids: list[str] = field(default_factory=list)


def ip4(text: str) -> Addr:
    return Addr(bytes(int(part) for part in text.split(".")), "ipaddr_t *")


def ip6(words: list[int], ctype: str = "struct in6_addr *") -> Addr:
    return Addr(b"".join(w.to_bytes(2, "big") for w in words), ctype)


# ------------------------------------------------------------------ the cases

LONG = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

GROUPS = [
    Group(
        "substr",
        [
            c("substr", b"foobarbazbop", 3),
            c("substr", b"foobarbazbop", 300),
            c("substr", b"foobarbazbop", -10),
            c("substr", b"foobarbazbop", -12),
            c("substr", b"foobarbazbop", -13),
            c("substr", b"foobarbazbop", -300),
            c("substr", b"foobarbazbop", 0),
            c("substr", b"foobarbazbop", 11),
            c("substr", b"foobarbazbop", 12),
            c("substr", b"foobarbazbop", 13),
            c("substr", b"foobarbazbop", 8, 20),
            c("substr", b"foobarbazbop", 4, 4),
            c("substr", b"foobarbazbop", 5, 8),
            c("substr", b"foobarbazbop", 400, 20),
            c("substr", b"foobarbazbop", 400, 0),
            c("substr", b"foobarbazbop", 400, -1),
            c("substr", b"foobarbazbop", 3, 0),
            c("substr", b"foobarbazbop", 3, -1),
            c("substr", b"foobarbazbop", 3, -9),
            c("substr", b"foobarbazbop", 3, -10),
            c("substr", b"foobarbazbop", -3, 2),
            c("substr", b"foobarbazbop", -3, -1),
            c("substr", b"foobarbazbop", -3, -3),
            c("substr", b"foobarbazbop", -14, 4),
            c("substr", b"foobarbazbop", -14, 2),
            c("substr", b"foobarbazbop", -14, 1),
            c("substr", b"foobarbazbop", -14, -1),
            c("substr", b"foobarbazbop", -14, -12),
            c("substr", b"", 0),
            c("substr", b"", -1, 5),
            c("substr", b"", 0, 5),
            c("substr", b"x", 0, 1),
            c("substr", b"ab\0cd", 1),
            c("substr", b"foobarbazbop", 4294967296 + 2),
            c("substr", b"foobarbazbop", 2, 4294967296 + 3),
            c("substr", b"foobarbazbop", 4294967295),
            c("substr", Var(b"foobarbazbop"), -5, 3),
            c("substr", c("strjoin", b"foo", b"barbaz"), 2, 3),
        ],
    ),
    Group(
        "substr_strsize8",
        [
            c("substr", LONG, 0),
            c("substr", LONG, 3),
            c("substr", LONG, 7),
            c("substr", LONG, 8),
            c("substr", LONG, -1),
            c("substr", LONG, -8),
            c("substr", LONG, -9, 3),
            c("substr", LONG, 2, 100),
            c("substr", LONG, 2, -1),
            c("substr", Var(LONG), 4),
            c("strlen", LONG),
            c("strlen", Var(LONG)),
            c("strjoin", b"abcde", b"fghij"),
            c("strjoin", b"abcdefgh", b"ij"),
            c("strjoin", b"abcdefghij", b""),
            c("strjoin", b"", b"abcdefghij"),
            c("lltostr", 123456789),
            c("lltostr", -12345678),
            c("lltostr", -1234567),
            c("inet_ntoa", ip4("192.168.100.200")),
            c("index", LONG, b"h"),
            c("index", LONG, b"g"),
            c("rindex", LONG, b"h"),
            c("rindex", LONG, b"a"),
            c("strstr", LONG, b"gh"),
            c("strstr", LONG, b"fg"),
            c("strchr", LONG, Char(ord("g"))),
            c("strchr", LONG, Char(ord("h"))),
            c("strchr", LONG, Char(ord("f"))),
            c("strrchr", LONG, Char(ord("g"))),
            c("strrchr", LONG, Char(ord("a"))),
            c("basename", b"/abc/defghij"),
            c("dirname", b"/abc/defghij"),
            c("dirname", b"/abcdefg/hij"),
        ],
        strsize=8,
    ),
    Group(
        "strjoin",
        [
            c("strjoin", b"foo", b"bar"),
            c("strjoin", b"", b"bar"),
            c("strjoin", b"foo", b""),
            c("strjoin", b"", b""),
            c("strjoin", b"a\0b", b"c"),
            c("strjoin", c("strjoin", b"a", b"b"), c("strjoin", b"c", b"d")),
            c("strjoin", Var(b"left-"), Var(b"right")),
            c("strlen", b""),
            c("strlen", b"hello"),
            c("strlen", b"he\0llo"),
            c("strlen", c("strjoin", b"hello", b"world")),
            c("strlen", Var(b"abc")),
        ],
    ),
    Group(
        "strjoin_strsize5",
        [
            c("strjoin", b"abc", b"defgh"),
            c("strjoin", b"abcde", b"f"),
            c("strjoin", b"abcdefgh", b"x"),
            c("strjoin", b"ab", b"cd"),
            c("strlen", c("strjoin", b"ab", b"cdefg")),
            c("substr", b"abcdefghij", 1),
            c("substr", b"abcdefgh", 3),
            c("index", b"abcdefgh", b"e"),
            c("index", b"abcdefgh", b"g"),
            c("index", Var(b"abcdefgh"), b"g"),
            c("strchr", b"abcde", Char(ord("e"))),
            c("strchr", b"abcde", Char(ord("d"))),
            c("strrchr", b"abcde", Char(ord("e"))),
            c("strrchr", b"abcde", Char(ord("a"))),
            c("lltostr", -1234567),
            c("lltostr", 12345),
            c("lltostr", 123456),
            c("lltostr", -1234),
            c("inet_ntoa", ip4("192.168.1.1")),
            c("inet_ntoa", ip4("1.2.3.4")),
            c("inet_ntoa6", ip6([0xFE80, 0, 0, 0, 0, 0, 0, 1])),
            c("inet_ntoa6", ip6([0, 0, 0, 0, 0, 0xFFFF, 0x7F00, 1])),
            c("inet_ntop", 10, ip6([0, 0, 0, 0, 0, 0xFFFF, 0x7F00, 1], "void *")),
            c("basename", b"/usr/bin/python3"),
            c("dirname", b"/usr/bin/python3"),
        ],
        strsize=5,
    ),
    Group(
        "index",
        [
            c("index", b"foobarbaz", b"barbaz"),
            c("index", b"foofoofoo", b"foo"),
            c("index", b"boofoofoo", b"foo"),
            c("index", b"foobarbaz", b"barbazzy"),
            c("index", b"foobar", b"foobar"),
            c("index", b"foobar", b"foobarbaz"),
            c("index", b"", b"foobar"),
            c("index", b"foobar", b""),
            c("index", b"", b""),
            c("index", b"foo", b""),
            c("index", b"foofoofoo", b"foo", -400),
            c("index", b"foofoofoo", b"foo", -1),
            c("index", b"foofoofoo", b"foo", 0),
            c("index", b"foofoofoo", b"foo", 1),
            c("index", b"foofoofoo", b"foo", 3),
            c("index", b"foofoofoo", b"foo", 6),
            c("index", b"foofoofoo", b"foo", 7),
            c("index", b"foofoofoo", b"foo", 9),
            c("index", b"foofoofoo", b"foo", 400),
            c("index", b"foo", b"", 2),
            c("index", b"foo", b"", 3),
            c("index", b"foo", b"", 4),
            c("index", b"foo", b"", -2),
            c("index", b"", b"", 5),
            c("index", b"", b"", -5),
            c("index", b"abcabc", b"c", 4294967296 + 3),
            c("index", b"aaa", b"aa"),
            c("index", b"a\0a", b"a", 1),
            c("index", Var(b"xxhayneedlehay"), Var(b"needle")),
        ],
        strsize=64,
    ),
    Group(
        "rindex",
        [
            c("rindex", b"foofoofoo", b"foo"),
            c("rindex", b"foofoofoo", b"foo", -400),
            c("rindex", b"foofoofoo", b"foo", -1),
            c("rindex", b"foofoofoo", b"foo", 0),
            c("rindex", b"foofoofoo", b"foo", 1),
            c("rindex", b"foofoofoo", b"foo", 3),
            c("rindex", b"foofoofoo", b"foo", 5),
            c("rindex", b"foofoofoo", b"foo", 6),
            c("rindex", b"foofoofoo", b"foo", 7),
            c("rindex", b"foofoofoo", b"foo", 400),
            c("rindex", b"foobar", b"foobarbaz"),
            c("rindex", b"", b"foobar"),
            c("rindex", b"foobar", b""),
            c("rindex", b"", b""),
            c("rindex", b"foo", b"", 1),
            c("rindex", b"foo", b"", 7),
            c("rindex", b"foo", b"", -1),
            c("rindex", b"", b"", -1),
            c("rindex", b"aaaaaaaa", b"aaaa"),
            c("rindex", b"aaaa", b"aaaaaaaa"),
            c("rindex", b"abcabc", b"c", 4294967296 + 3),
            c("rindex", Var(b"needle-hay-needle"), Var(b"needle"), 10),
        ],
        strsize=64,
    ),
    Group(
        "strstr",
        [
            c("strstr", b"foobarbarbazbarbop", b"foobarbarbazbarbop"),
            c("strstr", b"foobarbarbazbarbop", b"baz"),
            c("strstr", b"foobarbarbazbarbop", b"bar"),
            c("strstr", b"foobarbarbazbarbop", b"bazbarbop"),
            c("strstr", b"foobarbarbazbarbop", b"barba"),
            c("strstr", b"foobarbarbazbarbop", b""),
            c("strstr", b"", b""),
            c("strstr", b"", b"x"),
            c("strstr", b"f", b"f"),
            c("strstr", b"foobarbarbazbarbop", b"barbarf"),
            c("strstr", b"foobarbarbazbarbop", b"foobarbarbazbarbopp"),
            c("strstr", c("strstr", b"foobarbarbazbarbop", b"baz"), b"bop"),
            c("strstr", Var(b"key=value"), Var(b"=")),
        ],
        strsize=64,
    ),
    Group(
        "strchr",
        [
            c("strchr", b"fooeyfooeyfoo", Char(ord("f"))),
            c("strrchr", b"fooeyfooeyfoo", Char(ord("f"))),
            c("strchr", b"fooeyfooeyfoo", Char(ord("y"))),
            c("strrchr", b"fooeyfooeyfoo", Char(ord("y"))),
            c("strrchr", c("strchr", b"fooeyfooeyfoo", Char(ord("y"))), Char(ord("e"))),
            c("strchr", b"fooeyfooeyfoo", Char(ord("a"))),
            c("strrchr", b"fooeyfooeyfoo", Char(ord("a"))),
            c("strchr", b"abc", Char(0)),
            c("strrchr", b"abc", Char(0)),
            c("strchr", b"", Char(ord("a"))),
            c("strrchr", b"", Char(ord("a"))),
            c("strchr", b"abc", Char(ord("b") + 256)),
            c("strrchr", b"abcb", Char(ord("b") + 512)),
            c("strchr", b"a\xffb", Char(0xFF)),
            c("strchr", b"a\xffb", Char(-1)),
            c("strchr", b"abc", Char(ord("c"))),
            c("strrchr", b"abc", Char(ord("a"))),
            c("strchr", Var(b"key=value"), Char(ord("="))),
        ],
        strsize=64,
    ),
    # Consecutive clauses of one BEGIN firing share strtok's state: each call is a case.
    Group(
        "strtok",
        [
            c("strtok", NULL, b","),
            c("strtok", b"a,b,,c", b","),
            c("strtok", NULL, b","),
            c("strtok", NULL, b","),
            c("strtok", NULL, b","),
            c("strtok", NULL, b","),
            c("strtok", NULL, b","),
            c("strtok", b",,,Carrots,,Barley,Oatmeal,,,Beans,", b","),
            c("strtok", NULL, b","),
            c("strtok", NULL, b","),
            c("strtok", NULL, b","),
            c("strtok", NULL, b","),
            c("strtok", NULL, b","),
            c("strtok", NULL, b","),
            c("strtok", b"a,,,", b","),
            c("strtok", NULL, b","),
            c("strtok", NULL, b","),
            c("strtok", NULL, b","),
            c("strtok", NULL, b","),
            c("strtok", NULL, b","),
            c("strtok", b"x", b""),
            c("strtok", NULL, b""),
            c("strtok", b"", b""),
            c("strtok", NULL, b""),
            c("strtok", b"", b","),
            c("strtok", b",,,", b","),
            c("strtok", NULL, b","),
            c("strtok", b"a b\tc", b" \t"),
            c("strtok", NULL, b" \t"),
            c("strtok", NULL, b" \t"),
            c("strtok", b"one:two;three", b":"),
            c("strtok", NULL, b";"),
            c("strtok", NULL, b";"),
            c("strtok", LONG, b"abcABC"),
            c("strtok", NULL, b"MNO"),
            c("strtok", NULL, b"MNO"),
            c("strtok", NULL, b"0123456789"),
            c("strtok", NULL, b"0123456789"),
            c("strtok", Var(b"/usr/local/bin"), Var(b"/")),
            c("strtok", NULL, b"/"),
            c("strtok", NULL, b"/"),
            c("strtok", NULL, b"/"),
            c("strtok", b"a\xffb", b"\xff"),
            c("strtok", NULL, b"\xff"),
            # One clause, three calls: the third prints NULL, a fault, and the clause's
            # whole output (its one record) is lost with it.
            Seq((c("strtok", b"p,q", b","), c("strtok", NULL, b","), c("strtok", NULL, b","))),
            Seq((c("strtok", b"p,q", b","), c("strtok", NULL, b","))),
        ],
        strsize=64,
    ),
    Group(
        "paths",
        [
            c("basename", b"/foo/bar/baz"),
            c("dirname", b"/foo/bar/baz"),
            c("basename", b"/foo/bar///baz/"),
            c("dirname", b"/foo/bar///baz/"),
            c("basename", b"/foo/bar/baz/"),
            c("dirname", b"/foo/bar/baz/"),
            c("basename", b"/foo/bar/baz//"),
            c("dirname", b"/foo/bar/baz//"),
            c("basename", b"foo"),
            c("dirname", b"foo"),
            c("basename", b"foo/"),
            c("dirname", b"foo/"),
            c("basename", b"/"),
            c("dirname", b"/"),
            c("basename", b"//"),
            c("dirname", b"//"),
            c("basename", b"///"),
            c("dirname", b"///"),
            c("basename", b""),
            c("dirname", b""),
            c("basename", b"."),
            c("dirname", b"."),
            c("basename", b".."),
            c("dirname", b".."),
            c("basename", b"/foo"),
            c("dirname", b"/foo"),
            c("basename", b"//foo"),
            c("dirname", b"//foo"),
            c("basename", b"foo//bar"),
            c("dirname", b"foo//bar"),
            c("dirname", b"//foo//bar//"),
            c("basename", b"a/b"),
            c("dirname", b"a/b"),
            c("basename", Var(b"/var/log/syslog")),
            c("dirname", Var(b"/var/log/syslog")),
            c("dirname", c("dirname", b"/a/b/c/d")),
            c("basename", c("dirname", b"/a/b/c/d")),
        ],
    ),
    Group(
        "default_strsize",
        [
            c("strlen", b"x" * 300),
            c("substr", b"x" * 250 + b"abcdefghij" + b"y" * 40, 248),
            c("index", b"a" * 255 + b"b", b"b"),
            c("index", b"a" * 254 + b"bc", b"b"),
            c("rindex", b"a" * 255 + b"b", b"b"),
            c("strstr", b"a" * 254 + b"bc", b"bc"),
            c("strchr", b"a" * 255 + b"b", Char(ord("b"))),
            c("strrchr", b"a" * 254 + b"bc", Char(ord("b"))),
            c("strjoin", b"a" * 200, b"b" * 100),
            c("basename", b"/" + b"d" * 250 + b"/file"),
            c("dirname", b"/" + b"d" * 250 + b"/file"),
        ],
    ),
    Group(
        "cleanpath",
        [
            c("cleanpath", b"/foo/bar/baz"),
            c("cleanpath", b"/foo/bar///baz/"),
            c("cleanpath", b"/foo/bar/baz/"),
            c("cleanpath", b"/foo/bar/baz//"),
            c("cleanpath", b"/foo/bar/baz/."),
            c("cleanpath", b"/foo/bar/baz/./"),
            c("cleanpath", b"/foo/bar/../../baz/.//"),
            c("cleanpath", b"foo/bar/./././././baz/"),
            c("cleanpath", b"/foo/bar/baz/../../../../../../"),
            c("cleanpath", b"/../../../../../../"),
            c("cleanpath", b"/./"),
            c("cleanpath", b"/foo/bar/baz/../../bop/bang/../../bar/baz/"),
            c("cleanpath", b"./"),
            c("cleanpath", b"//"),
            c("cleanpath", b"/."),
            c("cleanpath", b"/./."),
            c("cleanpath", b"/.//"),
            c("cleanpath", b"."),
            c("cleanpath", b"/////"),
            c("cleanpath", b""),
            c("cleanpath", b"a/."),
            c("cleanpath", b"a/./."),
            c("cleanpath", b"./a"),
            c("cleanpath", b"././a"),
            c("cleanpath", b".."),
            c("cleanpath", b"../.."),
            c("cleanpath", b"../../.."),
            c("cleanpath", b"../../../.."),
            c("cleanpath", b"a/.."),
            c("cleanpath", b"abc"),
            c("cleanpath", b"a/"),
            c("cleanpath", b"ab/"),
            c("cleanpath", b"/abc"),
            c("cleanpath", b"z/a/../b"),
            c("cleanpath", b"/z/a/../b"),
            c("cleanpath", b"z/a/b/../../././c///d/e"),
            c("cleanpath", b"/z/a/b/../../././c///d/e"),
            c("cleanpath", b"/a/../b"),
            c("cleanpath", b"/a/.."),
            c("cleanpath", b"/a/../.."),
            c("cleanpath", b"/a/b/../../././c///d/e"),
            c("cleanpath", b"a/../b"),
            c("cleanpath", b"a/../.."),
            c("cleanpath", b"a/b/../../././c///d/e"),
            c("cleanpath", b"/"),
            c("cleanpath", b"a"),
            c("cleanpath", b"..."),
            c("cleanpath", b"/.../x"),
            c("cleanpath", b"..a/b"),
            c("cleanpath", b"a/..b"),
            c("cleanpath", b"x/y/../../../z"),
            c("cleanpath", b"/x/./../y/"),
            c("cleanpath", b"a//b//c"),
            c("cleanpath", b"../a/../b"),
            c("cleanpath", Var(b"/usr/./lib/../bin//")),
        ],
        strsize=64,
    ),
    Group(
        "numbers",
        [
            c("lltostr", 0),
            c("lltostr", 1),
            c("lltostr", -1),
            c("lltostr", 123456789),
            c("lltostr", -123456789),
            c("lltostr", 1 << 62),
            c("lltostr", -(1 << 62)),
            c("lltostr", 0x7FFFFFFFFFFFFFFE),
            c("lltostr", 0x7FFFFFFFFFFFFFFF),
            c("lltostr", 0x8000000000000000),
            c("lltostr", 0x8000000000000001),
            c("lltostr", 0xFFFFFFFFFFFFFFFF),
            c("lltostr", 1000000000000000000),
            c("lltostr", 9999999999999999999),
            c("htons", 0x1234),
            c("htons", 0x123456),
            c("ntohs", 0xFF00),
            c("htonl", 0x12345678),
            c("htonl", 0x1234567890),
            c("ntohl", 0xFF),
            c("htonll", 0x1122334455667788),
            c("ntohll", 0xFF),
            c("htonll", 0xFFFFFFFFFFFFFFFF),
            c("getmajor", 0x00800003),
            c("getminor", 0x00800003),
            c("getmajor", 0xFFFFFFFFFFFFFFFF),
            c("getminor", 0xFFFFFFFFFFFFFFFF),
        ],
    ),
    Group(
        "addresses",
        [
            c("inet_ntoa", ip4("192.168.1.23")),
            c("inet_ntoa", ip4("127.0.0.1")),
            c("inet_ntoa", ip4("255.255.255.255")),
            c("inet_ntoa", ip4("0.0.0.0")),
            c("inet_ntoa", ip4("10.0.100.9")),
            c("inet_ntop", 2, Addr(bytes([10, 1, 2, 3]), "void *")),
            c("inet_ntop", 10, ip6([0xFE80, 0, 0, 0, 0x214, 0x4FFF, 0xFE0B, 0x76C8], "void *")),
            c("inet_ntop", 10, ip6([0, 0, 0, 0, 0, 0, 0, 1], "void *")),
            c("inet_ntop", 10, ip6([0, 0, 0, 0, 0, 0, 0, 0], "void *")),
            c("inet_ntop", 10, ip6([0, 0, 0, 0, 0, 0xFFFF, 0x7F00, 1], "void *")),
            c("inet_ntop", 10, ip6([0, 0, 0, 0, 0, 0, 0x7F00, 1], "void *")),
            c("inet_ntop", 10, ip6([0, 0, 0, 0, 0, 0, 0, 2], "void *")),
            c("inet_ntop", 10, ip6([0, 0, 0, 0, 0, 0xFFFE, 0x7F00, 1], "void *")),
            c("inet_ntop", 3, Addr(bytes([10, 1, 2, 3]), "void *")),
            c("inet_ntoa6", ip6([0xFE80, 0, 0, 0, 0x214, 0x4FFF, 0xFE0B, 0x76C8])),
            c("inet_ntoa6", ip6([0x1080, 0, 0, 0, 0, 0x808, 0xC, 0x417A])),
            c("inet_ntoa6", ip6([0, 0, 0, 0, 0, 0, 0, 1])),
            c("inet_ntoa6", ip6([0, 0, 0, 0, 0, 0, 0, 0])),
            c("inet_ntoa6", ip6([0, 0, 0, 0, 0, 0, 0x7F00, 1])),
            c("inet_ntoa6", ip6([0, 0, 0, 0, 0, 0xFFFF, 0x7F00, 1])),
            c("inet_ntoa6", ip6([0, 0, 0, 0, 0, 0xFFFF, 0x7F00, 1]), 1),
            c("inet_ntoa6", ip6([0, 0, 0, 0, 0, 0, 0x7F00, 1]), 1),
            c("inet_ntoa6", ip6([0, 0, 0, 0, 0, 0, 0, 5]), 1),
            c("inet_ntoa6", ip6([0, 0, 0, 0, 0, 0, 0, 5]), 0),
            c("inet_ntoa6", ip6([0, 0, 0, 0, 0, 0xFFFE, 0x7F00, 1])),
            c("inet_ntoa6", ip6([0xFE12, 0x3456, 0x789A, 0xBCDE, 0xF012, 0x3456, 0x789A, 0xBCDE])),
            c("inet_ntoa6", ip6([1, 0, 0, 2, 0, 0, 3, 4])),
            c("inet_ntoa6", ip6([1, 0, 0, 2, 0, 0, 0, 4])),
            c("inet_ntoa6", ip6([1, 0, 2, 0, 3, 0, 4, 0])),
            c("inet_ntoa6", ip6([0, 0, 1, 0, 0, 0, 0, 0])),
            c("inet_ntoa6", ip6([0, 1, 0, 0, 0, 0, 0, 1])),
            c("inet_ntoa6", ip6([0x2001, 0xDB8, 0, 0, 1, 0, 0, 1])),
            c("inet_ntoa6", ip6([0x2001, 0xDB8, 0, 0, 0, 0, 0, 0])),
            c("inet_ntoa6", ip6([0x2001, 0xDB8, 0, 1, 1, 1, 1, 1])),
            c("inet_ntoa6", ip6([0, 0, 0, 0, 1, 0, 0, 0])),
            c("inet_ntoa6", ip6([0, 0, 0, 0, 0, 1, 0, 0])),
            c("link_ntop", 1, Addr(bytes([0, 0x1B, 0x21, 0xAB, 0xCD, 0xEF]), "void *")),
            c("link_ntop", 1, Addr(bytes(6), "void *")),
            c("link_ntop", 32, Addr(bytes(range(1, 21)), "void *")),
            c("link_ntop", 7, Addr(bytes(6), "void *")),
        ],
    ),
]

# illumos-only subroutines: expected values from illumos' dtrace.c, not from a run.
ILLUMOS_CASES = [
    (c("toupper", b"Hello, World 123"), b"HELLO, WORLD 123"),
    (c("tolower", b"Hello, World 123"), b"hello, world 123"),
    (c("toupper", b""), b""),
    (c("toupper", b"\xe9t\xe9"), b"\xe9T\xe9"),
    (c("lltostr", 255, 16), b"0xff"),
    (c("lltostr", 0, 16), b"0x0"),
    (c("lltostr", 8, 8), b"010"),
    (c("lltostr", 0, 8), b"0"),
    (c("lltostr", 0, 2), b"0"),
    (c("lltostr", 5, 2), b"101"),
    (c("lltostr", -1, 16), b"0xffffffffffffffff"),
    (c("lltostr", -10, 10), b"-10"),
    (c("lltostr", 35, 36), b"z"),
    (c("lltostr", 1, 37), "illegal operation"),
    (c("lltostr", 1, 1), "illegal operation"),
    (c("strtoll", b"123"), 123),
    (c("strtoll", b"  -42xyz"), -42),
    (c("strtoll", b"ff", 16), 255),
    (c("strtoll", b"0x1F", 16), 31),
    (c("strtoll", b"0x1F", 0), 31),
    (c("strtoll", b"017", 0), 15),
    (c("strtoll", b"z", 36), 35),
    (c("strtoll", b"", 10), 0),
    (c("strtoll", b"1", 1), "illegal operation"),
]

# ------------------------------------------------------------------ rendering as D


def _d_string(value: bytes) -> str:
    out = []
    for byte in value:
        char = chr(byte)
        if char == "\\" or char == '"':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def _d_int(value: int) -> str:
    if value < 0:
        return f"({value})" if value > -(1 << 63) else "0x8000000000000000"
    if value >= 1 << 63:
        return f"0x{value:x}ULL"
    return str(value)


class _Renderer:
    """One case's D: setup statements (variables, buffers) and the expression."""

    def __init__(self, number: int) -> None:
        self.setup: list[str] = []
        self.number = number  # this-> variables are typed program-wide: one name per case
        self.count = 0

    def expr(self, node) -> str:
        if isinstance(node, Call):
            return f"{node.name}({', '.join(self.expr(arg) for arg in node.args)})"
        if isinstance(node, bytes):
            return _d_string(node)
        if node is NULL:
            return "NULL"
        if isinstance(node, bool):
            raise TypeError(node)
        if isinstance(node, int):
            return _d_int(node)
        if isinstance(node, Char):
            if 0x20 < node.value < 0x7F and chr(node.value) not in "'\\":
                return f"'{chr(node.value)}'"
            return _d_int(node.value)
        self.count += 1
        name = f"this->c{self.number}_{self.count}"
        if isinstance(node, Var):
            self.setup.append(f"{name} = {_d_string(node.value)};")
            return name
        if isinstance(node, Addr):
            self.setup.append(f"{name} = (uint8_t *)alloca({len(node.value)});")
            # alloca() memory is not zeroed (it is the firing's scratch space): every byte.
            self.setup.extend(f"{name}[{i}] = {b};" for i, b in enumerate(node.value))
            return f"({node.ctype}){name}"
        raise TypeError(node)


def _result_conversion(call: Call) -> str:
    result = SUBROUTINES[call.name].result
    if result == "string":
        return "%s"
    return "%d" if result in ("int", "int64_t") else "%u"


def render_program(group: Group) -> str:
    lines = ["#pragma D option quiet"]
    if group.strsize is not None:
        lines.append(f"#pragma D option strsize={group.strsize}")
    for number, case in enumerate(group.cases):
        steps = case.steps if isinstance(case, Seq) else (case,)
        renderer = _Renderer(number)
        exprs = [renderer.expr(step) for step in steps]
        body = list(renderer.setup)
        for step_number, (step, text) in enumerate(zip(steps, exprs)):
            tag = f"{number}.{step_number}" if isinstance(case, Seq) else str(number)
            body.append(f'printf("<<{tag}|{_result_conversion(step)}>>\\n", {text});')
        lines.append("BEGIN\n{\n" + "".join(f"\t{line}\n" for line in body) + "}")
    lines.append("BEGIN\n{\n\texit(0);\n}")
    return "\n\n".join(lines) + "\n"


# ------------------------------------------------------------------ computing the cases


def _value(node, strsize: int, state: S.StrtokState):
    if isinstance(node, Call):
        if node.name == "strtok":
            text, delims = node.args
            if text is NULL:
                return call(
                    "strtok",
                    [None, _value(delims, strsize, state)],
                    strsize=strsize,
                    strtok_state=state,
                    continue_previous=True,
                )
        args = [_value(arg, strsize, state) for arg in node.args]
        return call(node.name, args, strsize=strsize, strtok_state=state)
    if isinstance(node, bytes):
        return node
    if isinstance(node, (Var, Addr)):
        return node.value
    if isinstance(node, Char):
        return node.value
    if node is NULL:
        return None
    return node


def _printed(call: Call, value) -> bytes:
    """What ``printf`` prints for the value, as the case's conversion says; a NULL
    string faults."""
    conversion = _result_conversion(call)
    if conversion == "%s":
        if value is None:
            raise S.SubroutineFault(S.FAULT_BADADDR, 0)
        return value
    if conversion == "%d":
        return b"%d" % value
    return b"%d" % (value & 0xFFFFFFFFFFFFFFFF)


def compute(group: Group, number: int) -> tuple[list[bytes], str | None]:
    """What the model says case ``number`` prints (one entry per step) and its fault."""
    case = group.cases[number]
    steps = case.steps if isinstance(case, Seq) else (case,)
    strsize = group.strsize or S.DEFAULT_STRSIZE
    state = S.StrtokState()  # one probe firing: every BEGIN clause shares it
    for earlier in group.cases[:number]:
        # Earlier clauses of the same BEGIN firing leave their strtok state behind.
        for step in earlier.steps if isinstance(earlier, Seq) else (earlier,):
            try:
                _printed(step, _value(step, strsize, state))
            except S.SubroutineFault:
                break
    printed: list[bytes] = []
    for step in steps:
        try:
            printed.append(_printed(step, _value(step, strsize, state)))
        except S.SubroutineFault as fault:
            # A clause's output is one record, committed when the clause ends: a fault
            # discards what the clause had printed before it.
            return [], fault.message
    return printed, None


# ------------------------------------------------------------------ what dtrace printed

_PRINTED = re.compile(rb"<<(\d+)(?:\.(\d+))?\|(.*?)>>\n", re.DOTALL)
_ERROR = re.compile(
    r"^dtrace: error in dt_clause_(\d+) for probe ID \d+ \([^)]*\): (.*?)(?: at BPF pc \d+)?$",
    re.MULTILINE,
)


def captured(group: Group) -> tuple[dict[int, list[bytes]], dict[int, str]]:
    stdout = (FIXTURES / f"{group.name}.stdout").read_bytes()
    stderr = (FIXTURES / f"{group.name}.stderr").read_text()
    printed: dict[int, list[bytes]] = {}
    for match in _PRINTED.finditer(stdout):
        printed.setdefault(int(match.group(1)), []).append(match.group(3))
    faults = {int(m.group(1)): m.group(2) for m in _ERROR.finditer(stderr)}
    return printed, faults


def _case_ids(group: Group) -> list[str]:
    return [f"{group.name}-{number}" for number in range(len(group.cases))]


ALL_CASES = [(group, number) for group in GROUPS for number in range(len(group.cases))]


@pytest.mark.parametrize("group", GROUPS, ids=[g.name for g in GROUPS])
def test_fixture_is_this_table(group):
    """The stored program is the one the table renders: the fixtures answer these cases."""
    assert (FIXTURES / f"{group.name}.d").read_text() == render_program(group)


@pytest.mark.parametrize("group,number", ALL_CASES, ids=[i for g in GROUPS for i in _case_ids(g)])
def test_same_as_dtrace(group, number):
    printed, faults = captured(group)
    expected = (printed.get(number, []), faults.get(number))
    assert compute(group, number) == expected, render_program(group).split("\n\n")[
        number + 1 + (group.strsize is not None)
    ]


@pytest.mark.parametrize(
    "case,expected", ILLUMOS_CASES, ids=[str(i) for i in range(len(ILLUMOS_CASES))]
)
def test_illumos_only(case, expected):
    try:
        value = _value(case, S.DEFAULT_STRSIZE, S.StrtokState())
    except S.SubroutineFault as fault:
        value = fault.message
    assert value == expected


def test_every_consumer_subroutine_is_tested_against_dtrace():
    tested = set()
    for group in GROUPS:
        for case in group.cases:
            for step in case.steps if isinstance(case, Seq) else (case,):
                tested.add(step.name)
    tested |= {case.name for case, _ in ILLUMOS_CASES}
    computable = {name for name, sub in SUBROUTINES.items() if sub.compute is not None}
    assert computable <= tested, computable - tested


# ------------------------------------------------------------------ capturing


def capture(dtrace: str, only: list[str]) -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for group in GROUPS:
        if only and group.name not in only:
            continue
        program = FIXTURES / f"{group.name}.d"
        program.write_text(render_program(group))
        run = subprocess.run(
            [dtrace, "-s", str(program)], capture_output=True, timeout=120, check=False
        )
        (FIXTURES / f"{group.name}.stdout").write_bytes(run.stdout)
        (FIXTURES / f"{group.name}.stderr").write_bytes(run.stderr)
        print(f"{group.name}: exit {run.returncode}, {len(group.cases)} cases")


if __name__ == "__main__":
    if sys.argv[1:2] != ["--capture"]:
        sys.exit(f"usage: {sys.argv[0]} --capture [GROUP...]")
    capture(os.environ.get("DTRACE", "/opt/dtrace-build/dtrace"), sys.argv[2:])


def test_the_table_covers_every_d_subroutine():
    from dtscope.dscript.builtins import FUNCTIONS

    d_subroutines = {name for name, f in FUNCTIONS.items() if f.kind == "subroutine"}
    assert d_subroutines <= set(SUBROUTINES), d_subroutines - set(SUBROUTINES)
    for entry in SUBROUTINES.values():
        assert entry.consumer == (entry.compute is not None)


BPFTRACE_VALUES = [0, 1, 0x1234, 0x12345678, 0x1122334455667788, 0xFFFFFFFFFFFFFFFF, 0x00800003]


@pytest.mark.tracing
def test_bpftrace_column_computes_the_same():
    """Where the table names a bpftrace 0.17 expression for an integer subroutine, that
    expression, run by the real bpftrace, gives what the consumer computes."""
    entries = [
        e
        for e in SUBROUTINES.values()
        if e.bpftrace and e.compute and e.result != "string" and re.search(r"\bx\b", e.bpftrace)
    ]
    assert len(entries) == 8
    lines = []
    for entry in entries:
        for value in BPFTRACE_VALUES:
            expression = re.sub(r"\bx\b", f"(uint64){value}", entry.bpftrace)
            lines.append(f'printf("{entry.name} {value} %lu\\n", (uint64)({expression}));')
    program = "BEGIN {\n" + "\n".join(lines) + "\nexit();\n}\n"
    run = subprocess.run(
        ["bpftrace", "-e", program], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    got = [line for line in run.stdout.splitlines() if line and not line.startswith("Attaching")]
    expected = [
        f"{e.name} {v} {e.compute(v) & 0xFFFFFFFFFFFFFFFF}"
        for e in entries
        for v in BPFTRACE_VALUES
    ]
    assert got == expected
