"""The names a Python-authored tracing script imports.

A tracing script is an ordinary Python module that ``dtscope compile`` translates to
D (see docs/python-scripts.md and :mod:`dtscope.dscript.pyscript`). It is never run:
the compiler reads its source. This module exists so that the script's imports
resolve, editors complete the names and linters find nothing undefined. Importing it,
or a script, has no side effects; calling a D function from Python raises
:class:`NotCompiled`, because D functions only mean something inside the kernel.

    from dtscope.dscript.api import (
        aggregation, probe, probefunc, quantize, self, timestamp, zonename,
    )

    latency = aggregation(units="ns", labels=["zone", "syscall"])

    @probe("syscall:::entry")
    def enter():
        self.ts = timestamp

    @probe("syscall:::return", when=lambda: self.ts != 0)
    def leave():
        latency[zonename, probefunc] = quantize(timestamp - self.ts)
        del self.ts

The compiler knows every name below by its name (see :data:`VARIABLES`,
:data:`FUNCTIONS`, :data:`AGGREGATING_FUNCTIONS`); destructive actions (``system``,
``raise``, ``stop``, ``panic``...) are deliberately absent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])


class NotCompiled(RuntimeError):
    """A D-only name was used at Python run time."""


def _not_compiled(name: str) -> NotCompiled:
    return NotCompiled(
        f"{name}() is a D function: compile this script with `dtscope compile` instead of running it"
    )


# --------------------------------------------------------------------------- declarations


def probe(*descriptions: str, when: Any = None) -> Callable[[_F], _F]:
    """Make the decorated function a D clause.

    ``descriptions`` are D probe descriptions (``"syscall::read:entry"``, ``"profile-997"``,
    ``"syscall::{name}:entry"`` with a parameter in braces). ``when`` is the predicate,
    best written as a lambda so that nothing is evaluated on import:
    ``when=lambda: execname == "sshd"``.
    """

    def mark(function: _F) -> _F:
        function.__dtscope_probes__ = descriptions  # type: ignore[attr-defined]
        return function

    return mark


class Aggregation:
    """A D aggregation (``@name``): assign an aggregating function to a key tuple.

    ``latency[zonename, execname] = quantize(timestamp - self.ts)``; with no key,
    ``calls[()] = count()``.
    """

    def __init__(self, units: str | None = None, labels: Any = None, help: str = "") -> None:
        self.units = units
        self.labels = labels
        self.help = help

    def __getitem__(self, key: Any) -> Any:
        raise _not_compiled("aggregation")

    def __setitem__(self, key: Any, value: Any) -> None:
        raise _not_compiled("aggregation")


def aggregation(units: str | None = None, labels: Any = None, help: str = "") -> Any:
    """Declare an aggregation at module level: ``latency = aggregation(units="ns")``.

    ``units`` is "ns", "bytes" or "count"; ``labels`` names the keys (for exporters and
    reports); ``help`` describes it.
    """
    return Aggregation(units, labels, help)


class AssocArray:
    """A global D associative array: ``start[args[0].b_edev, args[0].b_blkno] = timestamp``."""

    def __getitem__(self, key: Any) -> Any:
        raise _not_compiled("assoc_array")

    def __setitem__(self, key: Any, value: Any) -> None:
        raise _not_compiled("assoc_array")

    def __delitem__(self, key: Any) -> None:
        raise _not_compiled("assoc_array")


def assoc_array() -> Any:
    """Declare a global associative array at module level: ``start = assoc_array()``."""
    return AssocArray()


def variable() -> Any:
    """Declare a global D variable at module level: ``started = variable()``.

    A clause that assigns it says ``global started`` first, as Python requires.
    """
    return 0


class Duration:
    """Parameter type: a time such as ``"10ms"``, given to D as integer nanoseconds."""


class Identifier:
    """Parameter type: a word (letters, digits, ``_ . -``) such as a zone or syscall name.

    Unlike a string it may also appear in probe descriptions: ``"syscall::{name}:entry"``.
    """


def param(type: Any, default: Any = None, help: str = "") -> Any:
    """Declare a parameter at module level, given as ``-D name=value``.

    ``type`` is ``int``, ``str``, :class:`Duration` or :class:`Identifier`. Without a
    default the parameter is required. In the script the name stands for its value.
    """
    return default


def options(**values: Any) -> None:
    """Set D options at module level: ``options(quiet=True, bufsize="4m")``."""


# --------------------------------------------------------------------------- scopes


class _Scope:
    """``self`` (thread-local, ``self->x``) and ``this`` (clause-local, ``this->x``)."""

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def __getattr__(self, name: str) -> Any:
        return 0  # D reads an unset variable as zero

    def __setattr__(self, name: str, value: Any) -> None:
        raise _not_compiled(self._name)

    def __delattr__(self, name: str) -> None:
        raise _not_compiled(self._name)


self: Any = _Scope("self")
this: Any = _Scope("this")


# --------------------------------------------------------------------------- built-in variables


class _Value:
    """Stands for a D built-in variable at import time; compares and computes to itself."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"<D variable {self._name}>"

    def __getattr__(self, name: str) -> Any:
        return self

    def __getitem__(self, key: Any) -> Any:
        return self

    def __bool__(self) -> bool:
        return False

    __hash__ = object.__hash__


def _returns_itself(value: _Value, *others: Any) -> _Value:
    return value


# A predicate written without a lambda is evaluated on import: let it compute to nothing.
for _operator in [
    "add", "sub", "mul", "truediv", "floordiv", "mod", "lshift", "rshift", "and", "or", "xor",
    "radd", "rsub", "rmul", "rtruediv", "rfloordiv", "rmod", "rlshift", "rrshift", "rand", "ror",
    "rxor", "eq", "ne", "lt", "le", "gt", "ge", "neg", "pos", "invert",
]:
    setattr(_Value, f"__{_operator}__", _returns_itself)
del _operator


def _variable(name: str) -> Any:
    return _Value(name)


# The D built-in variables of the Dynamic Tracing Guide (illumos). Typed for editors.
arg0: int = _variable("arg0")
arg1: int = _variable("arg1")
arg2: int = _variable("arg2")
arg3: int = _variable("arg3")
arg4: int = _variable("arg4")
arg5: int = _variable("arg5")
arg6: int = _variable("arg6")
arg7: int = _variable("arg7")
arg8: int = _variable("arg8")
arg9: int = _variable("arg9")
args: Any = _variable("args")
caller: int = _variable("caller")
chip: int = _variable("chip")
cpu: int = _variable("cpu")
curcpu: Any = _variable("curcpu")
curlwpsinfo: Any = _variable("curlwpsinfo")
curpsinfo: Any = _variable("curpsinfo")
curthread: Any = _variable("curthread")
cwd: str = _variable("cwd")
epid: int = _variable("epid")
errno: int = _variable("errno")
execargs: str = _variable("execargs")
execname: str = _variable("execname")
fds: Any = _variable("fds")
gid: int = _variable("gid")
id: int = _variable("id")
ipl: int = _variable("ipl")
lgrp: int = _variable("lgrp")
pid: int = _variable("pid")
ppid: int = _variable("ppid")
probefunc: str = _variable("probefunc")
probemod: str = _variable("probemod")
probename: str = _variable("probename")
probeprov: str = _variable("probeprov")
pset: int = _variable("pset")
root: str = _variable("root")
stackdepth: int = _variable("stackdepth")
tid: int = _variable("tid")
timestamp: int = _variable("timestamp")
ucaller: int = _variable("ucaller")
uid: int = _variable("uid")
uregs: Any = _variable("uregs")
ustackdepth: int = _variable("ustackdepth")
vmregs: Any = _variable("vmregs")
vtimestamp: int = _variable("vtimestamp")
walltimestamp: int = _variable("walltimestamp")
zonename: str = _variable("zonename")

VARIABLES: frozenset[str] = frozenset(
    name for name, value in list(globals().items()) if isinstance(value, _Value)
)

# D's macro variable $target: the process of `dtscope run -c CMD` or `-p PID`.
target: int = _variable("target")
MACROS: frozenset[str] = frozenset({"target"})


# --------------------------------------------------------------------------- aggregating functions


class AggregatingCall:
    """What an aggregating function call stands for at import time."""


def count() -> Any:
    """``count()``: the number of times the clause fired."""
    raise _not_compiled("count")


def sum(value: int) -> Any:
    """``sum(x)``: the total of ``x``."""
    raise _not_compiled("sum")


def avg(value: int) -> Any:
    """``avg(x)``: the arithmetic mean of ``x``."""
    raise _not_compiled("avg")


def min(value: int) -> Any:
    """``min(x)``: the smallest ``x``."""
    raise _not_compiled("min")


def max(value: int) -> Any:
    """``max(x)``: the largest ``x``."""
    raise _not_compiled("max")


def stddev(value: int) -> Any:
    """``stddev(x)``: the standard deviation of ``x``."""
    raise _not_compiled("stddev")


def quantize(value: int) -> Any:
    """``quantize(x)``: a power-of-two frequency distribution of ``x``."""
    raise _not_compiled("quantize")


def lquantize(value: int, low: int, high: int, step: int = 1) -> Any:
    """``lquantize(x, low, high[, step])``: a linear frequency distribution."""
    raise _not_compiled("lquantize")


def llquantize(value: int, factor: int, low: int, high: int, steps: int) -> Any:
    """``llquantize(x, factor, low, high, steps)``: a log-linear frequency distribution."""
    raise _not_compiled("llquantize")


AGGREGATING_FUNCTIONS: frozenset[str] = frozenset(
    {"count", "sum", "avg", "min", "max", "stddev", "quantize", "lquantize", "llquantize"}
)


# --------------------------------------------------------------------------- actions and subroutines


def _d_function(name: str, doc: str) -> Callable[..., Any]:
    def function(*arguments: Any) -> Any:
        raise _not_compiled(name)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    function.__dtscope_d__ = True  # type: ignore[attr-defined]
    return function


# Actions (data recording and aggregation handling) and safe subroutines; each is
# the D function of the same name. Spelled out one per line so editors see them.
trace: Callable[..., None] = _d_function("trace", "trace(x): record x")
tracemem: Callable[..., None] = _d_function("tracemem", "tracemem(addr, size): record memory")
printf: Callable[..., None] = _d_function("printf", "printf(format, ...): formatted output")
printa: Callable[..., None] = _d_function("printa", "printa([format,] agg...): print aggregations")
clear: Callable[..., None] = _d_function("clear", "clear(agg): zero an aggregation's values")
trunc: Callable[..., None] = _d_function("trunc", "trunc(agg[, n]): keep only the top n keys")
normalize: Callable[..., None] = _d_function("normalize", "normalize(agg, n): divide values by n")
denormalize: Callable[..., None] = _d_function("denormalize", "denormalize(agg): undo normalize")
setopt: Callable[..., None] = _d_function("setopt", "setopt(name[, value]): set an option")
exit: Callable[..., None] = _d_function("exit", "exit(status): stop tracing")
stack: Callable[..., Any] = _d_function("stack", "stack([frames]): kernel stack")
ustack: Callable[..., Any] = _d_function("ustack", "ustack([frames[, strsize]]): user stack")
jstack: Callable[..., Any] = _d_function("jstack", "jstack([frames[, strsize]]): JVM-aware user stack")
func: Callable[..., Any] = _d_function("func", "func(pc): kernel function name")
sym: Callable[..., Any] = _d_function("sym", "sym(pc): kernel symbol")
mod: Callable[..., Any] = _d_function("mod", "mod(pc): kernel module")
ufunc: Callable[..., Any] = _d_function("ufunc", "ufunc(pc): user function name")
usym: Callable[..., Any] = _d_function("usym", "usym(pc): user symbol")
umod: Callable[..., Any] = _d_function("umod", "umod(pc): user module")
uaddr: Callable[..., Any] = _d_function("uaddr", "uaddr(pc): user address")
speculation: Callable[..., int] = _d_function("speculation", "speculation(): a new speculation id")
speculate: Callable[..., None] = _d_function("speculate", "speculate(id): speculative clause")
commit: Callable[..., None] = _d_function("commit", "commit(id): commit a speculation")
discard: Callable[..., None] = _d_function("discard", "discard(id): discard a speculation")
basename: Callable[..., str] = _d_function("basename", "basename(path)")
dirname: Callable[..., str] = _d_function("dirname", "dirname(path)")
cleanpath: Callable[..., str] = _d_function("cleanpath", "cleanpath(path)")
copyin: Callable[..., Any] = _d_function("copyin", "copyin(addr, size): copy user memory")
copyinstr: Callable[..., str] = _d_function("copyinstr", "copyinstr(addr[, max]): copy a user string")
copyinto: Callable[..., None] = _d_function("copyinto", "copyinto(addr, size, dest)")
getmajor: Callable[..., int] = _d_function("getmajor", "getmajor(dev)")
getminor: Callable[..., int] = _d_function("getminor", "getminor(dev)")
htonl: Callable[..., int] = _d_function("htonl", "htonl(x)")
htonll: Callable[..., int] = _d_function("htonll", "htonll(x)")
htons: Callable[..., int] = _d_function("htons", "htons(x)")
ntohl: Callable[..., int] = _d_function("ntohl", "ntohl(x)")
ntohll: Callable[..., int] = _d_function("ntohll", "ntohll(x)")
ntohs: Callable[..., int] = _d_function("ntohs", "ntohs(x)")
index: Callable[..., int] = _d_function("index", "index(s, sub[, start])")
rindex: Callable[..., int] = _d_function("rindex", "rindex(s, sub[, start])")
inet_ntoa: Callable[..., str] = _d_function("inet_ntoa", "inet_ntoa(ipaddr_t *)")
inet_ntoa6: Callable[..., str] = _d_function("inet_ntoa6", "inet_ntoa6(in6_addr_t *)")
inet_ntop: Callable[..., str] = _d_function("inet_ntop", "inet_ntop(af, addr)")
lltostr: Callable[..., str] = _d_function("lltostr", "lltostr(x[, base])")
progenyof: Callable[..., int] = _d_function("progenyof", "progenyof(pid)")
rand: Callable[..., int] = _d_function("rand", "rand()")
strchr: Callable[..., str] = _d_function("strchr", "strchr(s, c)")
strrchr: Callable[..., str] = _d_function("strrchr", "strrchr(s, c)")
strjoin: Callable[..., str] = _d_function("strjoin", "strjoin(a, b)")
strlen: Callable[..., int] = _d_function("strlen", "strlen(s)")
strstr: Callable[..., str] = _d_function("strstr", "strstr(s, sub)")
strtok: Callable[..., str] = _d_function("strtok", "strtok(s, delims)")
strtoll: Callable[..., int] = _d_function("strtoll", "strtoll(s[, base])")
substr: Callable[..., str] = _d_function("substr", "substr(s, start[, length])")
tolower: Callable[..., str] = _d_function("tolower", "tolower(s)")
toupper: Callable[..., str] = _d_function("toupper", "toupper(s)")
mutex_owned: Callable[..., int] = _d_function("mutex_owned", "mutex_owned(kmutex_t *)")
mutex_owner: Callable[..., Any] = _d_function("mutex_owner", "mutex_owner(kmutex_t *)")
rw_iswriter: Callable[..., int] = _d_function("rw_iswriter", "rw_iswriter(krwlock_t *)")
rw_read_held: Callable[..., int] = _d_function("rw_read_held", "rw_read_held(krwlock_t *)")
rw_write_held: Callable[..., int] = _d_function("rw_write_held", "rw_write_held(krwlock_t *)")
mutex_type_adaptive: Callable[..., int] = _d_function("mutex_type_adaptive", "mutex_type_adaptive(kmutex_t *)")
mutex_type_spin: Callable[..., int] = _d_function("mutex_type_spin", "mutex_type_spin(kmutex_t *)")
alloca: Callable[..., Any] = _d_function("alloca", "alloca(size): scratch memory")
bcopy: Callable[..., None] = _d_function("bcopy", "bcopy(src, dest, size)")
d_path: Callable[..., str] = _d_function("d_path", "d_path(struct path *): a path name")
ddi_pathname: Callable[..., str] = _d_function("ddi_pathname", "ddi_pathname(dev_info_t *, minor)")
getf: Callable[..., Any] = _d_function("getf", "getf(fd): the file_t * of a descriptor")
json: Callable[..., str] = _d_function("json", "json(json_text, selector)")
link_ntop: Callable[..., str] = _d_function("link_ntop", "link_ntop(hwtype, addr)")
msgdsize: Callable[..., int] = _d_function("msgdsize", "msgdsize(mblk_t *)")
msgsize: Callable[..., int] = _d_function("msgsize", "msgsize(mblk_t *)")
freopen: Callable[..., None] = _d_function("freopen", "freopen(format, ...): redirect output")
ftruncate: Callable[..., None] = _d_function("ftruncate", "ftruncate(): truncate the output file")

FUNCTIONS: frozenset[str] = frozenset(
    name for name, value in list(globals().items()) if getattr(value, "__dtscope_d__", False)
)

# Functions that take an aggregation as their (first non-format) arguments.
AGGREGATION_ACTIONS: frozenset[str] = frozenset({"printa", "clear", "trunc", "normalize", "denormalize"})


# --------------------------------------------------------------------------- D operators as functions


def cast(type: str, value: Any) -> Any:
    """``cast("struct file *", arg0)`` is D's ``(struct file *)arg0``."""
    raise _not_compiled("cast")


def dot(value: Any, member: str) -> Any:
    """``dot(curthread.t_procp.p_user, "u_comm")``: member of a struct held by value.

    Attribute access compiles to ``->`` (most D values are pointers); ``dot`` is ``.``.
    """
    raise _not_compiled("dot")


def deref(pointer: Any) -> Any:
    """``deref(p)`` is D's ``*p``."""
    raise _not_compiled("deref")


def stringof(value: Any) -> str:
    """``stringof(x)``: ``x`` as a D string."""
    raise _not_compiled("stringof")


OPERATORS: frozenset[str] = frozenset({"cast", "dot", "deref", "stringof"})


class _Constants:
    """``const.B_READ``: the constants of DTrace's D libraries (io.d, errno.d, signal.d...).

    A bare ``B_READ`` compiles too; ``const.`` keeps linters from calling it undefined.
    """

    def __getattr__(self, name: str) -> int:
        return 0


const: Any = _Constants()

# Spelled out (not computed) so that linters and editors resolve `import *`.
__all__ = [  # noqa: RUF022 - grouped by kind, as documented
    # declarations and scopes
    "probe", "aggregation", "assoc_array", "variable", "param", "options", "Duration", "Identifier",
    "NotCompiled", "self", "this", "const", "target", "cast", "dot", "deref", "stringof",
    # built-in variables
    "arg0", "arg1", "arg2", "arg3", "arg4", "arg5", "arg6", "arg7", "arg8", "arg9", "args",
    "caller", "chip", "cpu", "curcpu", "curlwpsinfo", "curpsinfo", "curthread", "cwd", "epid",
    "errno", "execargs", "execname", "fds", "gid", "id", "ipl", "lgrp", "pid", "ppid", "probefunc",
    "probemod", "probename", "probeprov", "pset", "root", "stackdepth", "tid", "timestamp",
    "ucaller", "uid", "uregs", "ustackdepth", "vmregs", "vtimestamp", "walltimestamp",
    "zonename",
    # aggregating functions
    "avg", "count", "llquantize", "lquantize", "max", "min", "quantize", "stddev", "sum",
    # actions and subroutines
    "alloca", "basename", "bcopy", "cleanpath", "clear", "commit", "copyin", "copyinstr",
    "copyinto", "d_path", "ddi_pathname", "denormalize", "dirname", "discard", "exit",
    "freopen", "ftruncate", "func", "getf", "getmajor", "getminor", "htonl", "htonll", "htons",
    "index", "inet_ntoa", "inet_ntoa6", "inet_ntop", "json", "jstack", "link_ntop", "lltostr",
    "mod", "msgdsize", "msgsize", "mutex_owned", "mutex_owner", "mutex_type_adaptive",
    "mutex_type_spin", "normalize", "ntohl", "ntohll", "ntohs", "printa", "printf", "progenyof",
    "rand", "rindex", "rw_iswriter", "rw_read_held", "rw_write_held", "setopt", "speculate",
    "speculation", "stack", "strchr", "strjoin", "strlen", "strrchr", "strstr", "strtok",
    "strtoll", "substr", "sym", "tolower", "toupper", "trace", "tracemem", "trunc", "uaddr",
    "ufunc", "umod", "ustack", "usym",
]
