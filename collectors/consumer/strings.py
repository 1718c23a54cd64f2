"""DTrace's string subroutines, computed in the consumer from recorded values.

When a subroutine's result only flows into output (``printf``, ``trace``) or into an
aggregation key, the tracer can record its arguments and the consumer can compute it
here. Everything works on ``bytes`` (D strings are bytes, not characters) and follows
Oracle's DTrace for Linux (D 2.0), which the tests check byte for byte against the real
``dtrace`` (``tests/test_consumer_strings.py``). Where illumos DTrace differs, the
function says so.

Conventions, the same for every function:

* A string argument is ``bytes`` as recorded (it ends at its first NUL, if any) or
  ``None`` for a NULL pointer. DTrace faults on a NULL string argument: so do these
  functions, with :class:`SubroutineFault` (``invalid address (0x0)``). A function whose
  D result can be NULL (``strchr`` not finding its character...) returns ``None``;
  *using* that NULL (printing it with ``%s``) is the fault, not computing it.
* ``strsize`` is the ``strsize`` option (default 256). In Oracle's DTrace a string holds
  up to ``strsize`` bytes plus the NUL (a string constant or value longer than that is
  cut to ``strsize`` bytes wherever it is stored); in illumos, up to ``strsize - 1``
  bytes. Every result here is cut as Oracle cuts it; for illumos' rule pass
  ``strsize - 1``. A few Oracle functions look at fewer bytes than ``strsize``: those
  quirks are kept and named where they happen (``strchr``, ``index``...).
* Integer arguments are Python ints; they are wrapped to the width DTrace gives them.
* Address arguments (``inet_ntoa(ipaddr_t *)``, ``inet_ntoa6(struct in6_addr *)``,
  ``link_ntop``) are the ``bytes`` found at the address, which the tracer records.

``strtok`` keeps state between calls: :class:`StrtokState`. DTrace keeps it per probe
firing (Oracle initializes it in every probe's prologue, illumos in every probe's
machine state), shared by all the clauses of that firing and lost when the firing ends:
so the consumer makes a fresh state for each firing, not per thread.

Where Oracle's DTrace (what this module computes) and illumos differ, as far as known
from illumos' ``dtrace.c``:

* string length: Oracle keeps ``strsize`` bytes, illumos ``strsize - 1``;
* Oracle looks at fewer bytes in ``strchr``/``strrchr`` (``strsize - 1``) and in
  ``index``/``rindex``/``strstr`` (``strsize`` rounded up to 8, minus 1);
* ``strchr(s, 0)``: Oracle NULL, illumos the empty string at the end of ``s``;
* ``index``/``rindex`` with an empty ``t``: illumos returns the clamped position where
  Oracle returns -1 (``index("abc", "", 5)``: 3 against -1);
* ``substr``: Oracle keeps 32 bits of ``index`` and ``count``, illumos 64;
* ``strjoin`` longer than ``strsize``: Oracle cuts it, illumos gives NULL and a fault;
* ``strtok`` after the end: Oracle starts again from an offset (see :func:`strtok`),
  illumos stays at NULL;
* ``lltostr`` takes a base, ``toupper``/``tolower``/``strtoll`` exist, in illumos only;
  ``link_ntop`` in Oracle only; ``inet_ntop`` with another family than AF_INET/AF_INET6
  faults in illumos and is AF_INET in Oracle;
* ``cleanpath``: the rules for relative paths differ.

``subroutines.py`` holds the table of every D subroutine (which of them the consumer can
compute, and with which function here) and the dispatcher ``call()``.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_STRSIZE = 256

# Fault codes and the text libdtrace prints for them (dt_error.c, dtrace_faultstr()).
FAULT_BADADDR = "invalid address"
FAULT_ILLOP = "illegal operation"

AF_INET = 2
AF_INET6 = 10  # Linux; illumos has 26 (the consumer follows the tracer's host, Linux)
ARPHRD_ETHER = 1
ARPHRD_INFINIBAND = 32


class SubroutineFault(Exception):
    """A run-time fault in probe context: DTrace abandons the clause and fires ERROR.

    ``message`` is what libdtrace prints after ``error in <clause> for probe ID ...:``
    (without the ``at BPF pc N`` part, which only the kernel knows).
    """

    def __init__(self, fault: str, address: int | None = 0):
        self.fault = fault
        self.address = address
        detail = f" (0x{address:x})" if fault == FAULT_BADADDR and address is not None else ""
        self.message = fault + detail
        super().__init__(self.message)


# ------------------------------------------------------------------ small helpers


def _wrap(value: int, bits: int, signed: bool) -> int:
    value &= (1 << bits) - 1
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


def _cstr(value: bytes | None, limit: int) -> bytes:
    """A string argument as DTrace reads it: up to its first NUL, at most ``limit`` bytes."""
    if value is None:
        raise SubroutineFault(FAULT_BADADDR, 0)
    nul = value.find(0)
    if nul >= 0:
        value = value[:nul]
    return bytes(value[: max(limit, 0)])


def _roundup8(value: int) -> int:
    return (value + 7) & ~7


# ------------------------------------------------------------------ length and joining


def strlen(s: bytes | None, *, strsize: int = DEFAULT_STRSIZE) -> int:
    """``size_t strlen(const char *s)``: at most ``strsize``."""
    return len(_cstr(s, strsize))


def strjoin(s1: bytes | None, s2: bytes | None, *, strsize: int = DEFAULT_STRSIZE) -> bytes:
    """``string strjoin(const char *, const char *)``, cut to ``strsize`` bytes.

    illumos returns NULL (and counts an "out of scratch space" fault) when the joined
    string does not fit, instead of cutting it.
    """
    return (_cstr(s1, strsize) + _cstr(s2, strsize))[:strsize]


# ------------------------------------------------------------------ substrings


def substr(
    s: bytes | None, index: int, count: int | None = None, *, strsize: int = DEFAULT_STRSIZE
) -> bytes:
    """``string substr(const char *s, int index, [int count])``.

    A negative ``index`` counts from the end; a negative ``count`` leaves that many
    bytes off the end; a range that starts before the string keeps only its part inside
    it. ``index`` and ``count`` are D ``int``s: Oracle keeps their low 32 bits (illumos
    all 64).
    """
    text = _cstr(s, strsize)
    length = len(text)
    index = _wrap(index, 32, True)
    count = strsize if count is None else _wrap(count, 32, True)
    if length == 0:
        return b""
    if index < 0:
        index += length
        if index < 0:
            if count <= -index:
                return b""
            count += index
            index = 0
    if index >= length:
        return b""
    if count < 0:
        count += length - index
        if count <= 0:
            return b""
    return text[index : index + min(count, strsize)]


def _find_limit(strsize: int) -> int:
    # Oracle's index()/rindex()/strstr() copy both strings into buffers of strsize
    # rounded up to 8 bytes, NUL included: a string of exactly strsize bytes (strsize
    # a multiple of 8, as the default 256) loses its last byte there.
    return min(strsize, _roundup8(strsize) - 1)


def index(
    s: bytes | None, t: bytes | None, start: int | None = None, *, strsize: int = DEFAULT_STRSIZE
) -> int:
    """``int index(const char *s, const char *t, [int start])``: the first position of
    ``t`` in ``s`` at or after ``start`` (a negative start is 0), or -1.

    ``start`` keeps all 64 bits. illumos differs when ``t`` is empty: there
    ``index("abc", "", 5)`` is 3 (the length), here -1.
    """
    limit = _find_limit(strsize)
    text, sub = _cstr(s, limit), _cstr(t, limit)
    last = len(text) - len(sub)
    position = 0 if start is None else max(_wrap(start, 64, True), 0)
    while position <= last:
        if text[position : position + len(sub)] == sub:
            return position
        position += 1
    return -1


def rindex(
    s: bytes | None, t: bytes | None, start: int | None = None, *, strsize: int = DEFAULT_STRSIZE
) -> int:
    """``int rindex(const char *s, const char *t, [int start])``: the last position of
    ``t`` in ``s`` at or before ``start``, or -1; a negative ``start`` finds nothing.

    illumos differs when ``t`` is empty and ``start`` negative: there the result is 0.
    """
    limit = _find_limit(strsize)
    text, sub = _cstr(s, limit), _cstr(t, limit)
    if start is not None and _wrap(start, 64, True) < 0:
        return -1
    last = len(text) - len(sub)
    if last < 0:
        return -1
    position = last if start is None else min(_wrap(start, 64, True), last)
    while position >= 0:
        if text[position : position + len(sub)] == sub:
            return position
        position -= 1
    return -1


def strstr(s: bytes | None, t: bytes | None, *, strsize: int = DEFAULT_STRSIZE) -> bytes | None:
    """``string strstr(const char *s, const char *t)``: ``s`` from the first ``t`` on, or
    NULL (``None``)."""
    found = index(s, t, 0, strsize=strsize)
    if found < 0:
        return None
    return substr(s, found, strsize=strsize)


def strchr(s: bytes | None, c: int, *, strsize: int = DEFAULT_STRSIZE) -> bytes | None:
    """``string strchr(const char *s, char c)``: ``s`` from the first ``c`` on, or NULL.

    Oracle looks at the first ``strsize - 1`` bytes only, and never finds NUL: ``c`` of 0
    and an empty ``s`` give NULL (illumos returns the empty string at the terminator).
    """
    text = _cstr(s, strsize - 1)
    found = text.find(c & 0xFF) if c & 0xFF else -1
    return None if found < 0 else text[found:]


def strrchr(s: bytes | None, c: int, *, strsize: int = DEFAULT_STRSIZE) -> bytes | None:
    """``string strrchr(const char *s, char c)``: ``s`` from the last ``c`` on, or NULL
    (same limits as :func:`strchr`)."""
    text = _cstr(s, strsize - 1)
    found = text.rfind(c & 0xFF) if c & 0xFF else -1
    return None if found < 0 else text[found:]


# ------------------------------------------------------------------ strtok


@dataclass
class StrtokState:
    """What ``strtok(NULL, delims)`` continues from: the string last given to ``strtok``
    and the offset reached in it. Fresh (``text is None``) at the start of each probe
    firing; shared by the clauses of that firing."""

    text: bytes | None = None
    offset: int = 0


def strtok(
    s: bytes | None,
    delims: bytes | None,
    state: StrtokState,
    *,
    continue_previous: bool = False,
    strsize: int = DEFAULT_STRSIZE,
) -> bytes | None:
    """``string strtok(const char *s, const char *delims)``: the next token, or NULL.

    ``continue_previous`` is D's ``strtok(NULL, delims)`` (the literal NULL, a
    compile-time distinction): it continues from ``state``, and faults when this firing
    has no previous string. Otherwise ``s`` (which must not be NULL) starts over.

    Oracle's quirk, kept: when no token is left, the saved offset becomes the length of
    the remainder it scanned (0 at the very end), not its end, so a further
    ``strtok(NULL, ...)`` after a NULL starts again from that offset (from the start of
    the string if the end was reached). illumos keeps returning NULL.
    """
    if continue_previous:
        if state.text is None:
            raise SubroutineFault(FAULT_BADADDR, 0)
    else:
        state.text, state.offset = _cstr(s, strsize), 0
    delimiters = frozenset(_cstr(delims, strsize))
    assert state.text is not None
    remainder = state.text[max(state.offset, 0) :]
    begin = 0
    while begin < len(remainder) and remainder[begin] in delimiters:
        begin += 1
    if begin >= len(remainder):
        state.offset = len(remainder)
        return None
    end = begin
    while end < len(remainder) and remainder[end] not in delimiters:
        end += 1
    state.offset += end
    return remainder[begin:end]


# ------------------------------------------------------------------ paths


def basename(s: bytes | None, *, strsize: int = DEFAULT_STRSIZE) -> bytes:
    """``string basename(const char *)``: the last component, ``.`` for ``""``, ``/`` for
    slashes only."""
    text = _cstr(s, strsize)
    if not text:
        return b"."
    stripped = text.rstrip(b"/")
    if not stripped:
        return b"/"
    return stripped[stripped.rfind(b"/") + 1 :]


def dirname(s: bytes | None, *, strsize: int = DEFAULT_STRSIZE) -> bytes:
    """``string dirname(const char *)``: all but the last component, ``.`` when there is
    no slash before it, ``/`` when only slashes are."""
    text = _cstr(s, strsize)
    if not text:
        return b"."
    stripped = text.rstrip(b"/")
    if not stripped:
        return b"/"
    slash = stripped.rfind(b"/")
    if slash < 0:
        return b"."
    parent = stripped[:slash].rstrip(b"/")
    return parent if parent else b"/"


def cleanpath(s: bytes | None, *, strsize: int = DEFAULT_STRSIZE) -> bytes:
    """``string cleanpath(const char *)``: the path without ``//``, ``/./`` and ``dir/..``.

    Oracle's rules: a string of 0 or 1 bytes is returned as it is; ``..`` above the root
    of an absolute path is dropped, and kept (``../``) at the start of a relative one; the
    result never ends in ``/`` (but ``/`` itself) and is ``.`` when nothing is left.
    illumos' cleanpath treats relative paths and trailing slashes its own way.
    """
    text = _cstr(s, strsize)
    if len(text) <= 1:
        return text
    absolute = text.startswith(b"/")
    kept: list[bytes] = []
    for part in text.split(b"/"):
        if part in (b"", b"."):
            continue
        if part == b".." and kept and kept[-1] != b"..":
            kept.pop()
        elif part == b".." and absolute:
            continue
        else:
            kept.append(part)
    path = (b"/" if absolute else b"") + b"/".join(kept)
    return (path or b".")[:strsize]


# ------------------------------------------------------------------ case


def toupper(s: bytes | None, *, strsize: int = DEFAULT_STRSIZE) -> bytes:
    """``string toupper(const char *)`` (illumos only; Oracle's D has no toupper):
    ASCII a-z become A-Z, every other byte stays."""
    return _cstr(s, strsize).translate(_UPPER)


def tolower(s: bytes | None, *, strsize: int = DEFAULT_STRSIZE) -> bytes:
    """``string tolower(const char *)`` (illumos only): ASCII A-Z become a-z."""
    return _cstr(s, strsize).translate(_LOWER)


_UPPER = bytes.maketrans(b"abcdefghijklmnopqrstuvwxyz", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")

# ------------------------------------------------------------------ numbers to text

_DIGITS = b"0123456789abcdefghijklmnopqrstuvwxyz"


def lltostr(value: int, base: int | None = None, *, strsize: int = DEFAULT_STRSIZE) -> bytes:
    """``string lltostr(int64_t, [int base])``: decimal, ``-`` for negatives, cut to its
    first ``strsize`` bytes.

    Oracle's D takes no base. With a base (illumos), 2..36: the value is unsigned unless
    the base is 10, base 16 adds ``0x`` and base 8 a leading ``0``; another base is an
    illegal operation.
    """
    value = _wrap(value, 64, True)
    if base is None or base == 10:
        text = (b"-" if value < 0 else b"") + str(abs(value)).encode()
        return text[:strsize]
    if base <= 1 or base > 36:
        raise SubroutineFault(FAULT_ILLOP, None)
    unsigned = value & ((1 << 64) - 1)
    digits = b""
    while unsigned:
        unsigned, digit = divmod(unsigned, base)
        digits = _DIGITS[digit : digit + 1] + digits
    if value == 0 and base == 16:
        digits = b"0"
    prefix = b"0x" if base == 16 else b"0" if (base == 8 or value == 0) else b""
    return (prefix + digits)[:strsize]


def strtoll(s: bytes | None, base: int = 10, *, strsize: int = DEFAULT_STRSIZE) -> int:
    """``int64_t strtoll(const char *, [int base])`` (illumos only): C's strtoll without
    errno; base 0 guesses from a ``0x``/``0`` prefix; base outside 0, 2..36 is an
    illegal operation."""
    if base != 0 and not 2 <= base <= 36:
        raise SubroutineFault(FAULT_ILLOP, None)
    text = _cstr(s, strsize)
    position = 0
    while position < len(text) and text[position] in b" \t\n\r\f\v":
        position += 1
    negative = False
    if position < len(text) and text[position] in b"+-":
        negative = text[position] == ord("-")
        position += 1
    has_hex_prefix = text[position : position + 2].lower() == b"0x"
    if base == 0:
        base = 16 if has_hex_prefix else 8 if text[position : position + 1] == b"0" else 10
    if base == 16 and has_hex_prefix:
        position += 2
    value = 0
    while position < len(text):
        digit = _DIGITS.find(bytes([text[position]]).lower())
        if digit < 0 or digit >= base:
            break
        value = value * base + digit
        position += 1
    return _wrap(-value if negative else value, 64, True)


# ------------------------------------------------------------------ byte order


def htons(value: int) -> int:
    """``uint16_t htons(uint16_t)`` on a little-endian host (x86-64, arm64)."""
    return int.from_bytes((value & 0xFFFF).to_bytes(2, "little"), "big")


def htonl(value: int) -> int:
    """``uint32_t htonl(uint32_t)``."""
    return int.from_bytes((value & 0xFFFFFFFF).to_bytes(4, "little"), "big")


def htonll(value: int) -> int:
    """``uint64_t htonll(uint64_t)``."""
    return int.from_bytes((value & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little"), "big")


ntohs, ntohl, ntohll = htons, htonl, htonll


def getmajor(dev: int) -> int:
    """``dev_t getmajor(dev_t)`` on Linux: bits 20..31 of the kernel's dev_t."""
    return (dev & 0xFFFFFFFF) >> 20


def getminor(dev: int) -> int:
    """``dev_t getminor(dev_t)`` on Linux: bits 0..19."""
    return dev & 0xFFFFF


# ------------------------------------------------------------------ addresses


def _address(raw: bytes | None, size: int) -> bytes:
    if raw is None:
        raise SubroutineFault(FAULT_BADADDR, 0)
    if len(raw) < size:
        raise ValueError(f"an address of {size} bytes is needed, {len(raw)} recorded")
    return bytes(raw[:size])


def _dotted_quad(octets: bytes) -> bytes:
    return b".".join(str(octet).encode() for octet in octets)


def inet_ntoa(addr: bytes | None, *, strsize: int = DEFAULT_STRSIZE) -> bytes:
    """``string inet_ntoa(ipaddr_t *)``: the 4 bytes at the address, dotted (network
    order), cut to ``strsize``."""
    return _dotted_quad(_address(addr, 4))[:strsize]


def _longest_zero_run(words: list[int]) -> tuple[int, int]:
    """(start, length) of the first longest run of at least two zero words, (8, 0) if none."""
    best_start, best_length = 8, 0
    position = 0
    while position < 8:
        if words[position]:
            position += 1
            continue
        run_end = position
        while run_end < 8 and not words[run_end]:
            run_end += 1
        if run_end - position >= 2 and run_end - position > best_length:
            best_start, best_length = position, run_end - position
        position = run_end
    return best_start, best_length


def inet_ntoa6(addr: bytes | None, strict: int = 0, *, strsize: int = DEFAULT_STRSIZE) -> bytes:
    """``string inet_ntoa6(struct in6_addr *, [int strict])``: RFC 5952 text (lowercase
    hex, the first longest run of two or more zero words as ``::``).

    IPv4-mapped (``::ffff:a.b.c.d``) and IPv4-compatible addresses (six zero words then a
    non-zero word, or seven zero words then more than 1) print as the bare dotted quad,
    or with their ``::ffff:``/``::`` prefix when ``strict`` (a constant) is non-zero.
    """
    raw = _address(addr, 16)
    words = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, 16, 2)]
    if not any(words[:5]):
        prefix = None
        if words[5] == 0xFFFF:
            prefix = b"::ffff:"
        elif words[5] == 0 and (words[6] != 0 or words[7] > 1):
            prefix = b"::"
        if prefix is not None:
            return ((prefix if strict else b"") + _dotted_quad(raw[12:]))[:strsize]
    start, length = _longest_zero_run(words)
    hex_words = [b"%x" % word for word in words]
    if not length:
        return b":".join(hex_words)[:strsize]
    text = b":".join(hex_words[:start]) + b"::" + b":".join(hex_words[start + length :])
    return text[:strsize]


def inet_ntop(af: int, addr: bytes | None, *, strsize: int = DEFAULT_STRSIZE) -> bytes:
    """``string inet_ntop(int af, void *addr)``: ``inet_ntoa6(addr, 1)`` for AF_INET6,
    else ``inet_ntoa(addr)`` (Oracle treats every other family as AF_INET; illumos
    faults on a family that is neither)."""
    if _wrap(af, 32, True) == AF_INET6:
        return inet_ntoa6(addr, 1, strsize=strsize)
    return inet_ntoa(addr, strsize=strsize)


def link_ntop(hardware_type: int, addr: bytes | None, *, strsize: int = DEFAULT_STRSIZE) -> bytes:
    """``string link_ntop(int type, void *addr)``: an Ethernet (ARPHRD_ETHER, 6 bytes) or
    InfiniBand (ARPHRD_INFINIBAND, 20 bytes) address as lowercase hex pairs joined by
    ``:``; any other type is an illegal operation."""
    sizes = {ARPHRD_ETHER: 6, ARPHRD_INFINIBAND: 20}
    size = sizes.get(_wrap(hardware_type, 32, True))
    if size is None:
        raise SubroutineFault(FAULT_ILLOP, None)
    return b":".join(b"%02x" % octet for octet in _address(addr, size))[:strsize]
