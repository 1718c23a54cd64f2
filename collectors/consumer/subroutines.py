"""Every D subroutine, as data: which ones the consumer can compute, and how.

A subroutine can run in the consumer when it is a pure function of values the tracer can
record (strings, integers, the bytes at an address): its result may then flow only into
output (``printf``, ``trace``...) or an aggregation key. Where the result is needed in
the kernel (a predicate, arithmetic, a variable read later in probe context), only what
the tracer itself offers will do: the ``bpftrace`` column says what bpftrace 0.17 has
(each checked by running ``bpftrace -e`` 0.17.0 on this machine), or None when it has
nothing: then the construct is refused, naming it.

bpftrace 0.17 string support, as run: ``strncmp(a, b, n)``, ``strcontains(s, t)``,
``==``/``!=`` on strings, ``str(ptr[, n])`` (pointers only, not string values),
``ntop([af,] addr)``, ``pton()``, ``bswap()``, ``macaddr()``, ``buf()``/``%r``,
``strftime()``, ``strerror()``, ``path()`` (needs BPF d_path, absent on this kernel).
It has no ``strlen``, ``substr``, ``strcmp``, indexing into strings, ``toupper``,
``htons``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import strings as S


@dataclass(frozen=True)
class Subroutine:
    """One D subroutine.

    ``consumer``: the consumer can compute it (``compute``) from recorded arguments.
    ``bpftrace``: bpftrace 0.17's way to compute it in the kernel, or None.
    ``oracle``/``illumos``: which DTraces have it. ``strsize``: ``compute`` takes the
    ``strsize`` option.
    """

    name: str
    prototype: str
    result: str
    consumer: bool
    bpftrace: str | None = None
    oracle: bool = True
    illumos: bool = True
    compute: Callable[..., object] | None = field(default=None, compare=False, repr=False)
    strsize: bool = False
    note: str = ""


def _sub(
    name,
    prototype,
    result,
    bpftrace=None,
    compute=None,
    strsize=False,
    note="",
    *,
    oracle=True,
    illumos=True,
):
    return Subroutine(
        name,
        prototype,
        result,
        compute is not None,
        bpftrace,
        oracle,
        illumos,
        compute,
        strsize,
        note,
    )


STRSIZE = True  # readability of the table: "takes strsize"

# fmt: off
_TABLE = [
    # name         prototype                                       result      bpftrace 0.17         compute       strsize
    # -- strings: pure functions of their arguments
    _sub("strlen",   "size_t strlen(const char *)",                  "size_t",   None,                 S.strlen,     STRSIZE),
    _sub("strjoin",  "string strjoin(const char *, const char *)",   "string",   None,                 S.strjoin,    STRSIZE),
    _sub("substr",   "string substr(const char *, int, [int])",      "string",   None,                 S.substr,     STRSIZE),
    _sub("index",    "int index(const char *, const char *, [int])", "int",      None,                 S.index,      STRSIZE,
         "strcontains(s, t) answers index(s, t) >= 0 and nothing more"),
    _sub("rindex",   "int rindex(const char *, const char *, [int])", "int",     None,                 S.rindex,     STRSIZE),
    _sub("strstr",   "string strstr(const char *, const char *)",    "string",   None,                 S.strstr,     STRSIZE,
         "strcontains(s, t) answers strstr(s, t) != NULL and nothing more"),
    _sub("strchr",   "string strchr(const char *, char)",            "string",   None,                 S.strchr,     STRSIZE),
    _sub("strrchr",  "string strrchr(const char *, char)",           "string",   None,                 S.strrchr,    STRSIZE),
    _sub("strtok",   "string strtok(const char *, const char *)",    "string",   None,                 S.strtok,     STRSIZE,
         "state per probe firing (StrtokState); strtok(NULL, d) continues it"),
    _sub("basename", "string basename(const char *)",                "string",   None,                 S.basename,   STRSIZE),
    _sub("dirname",  "string dirname(const char *)",                 "string",   None,                 S.dirname,    STRSIZE),
    _sub("lltostr",  "string lltostr(int64_t, [int])",               "string",   None,                 S.lltostr,    STRSIZE,
         "Oracle's takes no base"),
    _sub("toupper",  "string toupper(const char *)",                 "string",   None,                 S.toupper,    STRSIZE,
         oracle=False),
    _sub("tolower",  "string tolower(const char *)",                 "string",   None,                 S.tolower,    STRSIZE,
         oracle=False),
    _sub("strtoll",  "int64_t strtoll(const char *, [int])",         "int64_t",  None,                 S.strtoll,    STRSIZE,
         oracle=False),
    _sub("cleanpath", "string cleanpath(const char *)",              "string",   None,                 S.cleanpath,  STRSIZE,
         "Oracle's rules; illumos differs on relative paths"),
    # -- byte order, device numbers
    _sub("htons",    "uint16_t htons(uint16_t)",                     "uint16_t", "bswap((uint16)x)",   S.htons),
    _sub("htonl",    "uint32_t htonl(uint32_t)",                     "uint32_t", "bswap((uint32)x)",   S.htonl),
    _sub("htonll",   "uint64_t htonll(uint64_t)",                    "uint64_t", "bswap((uint64)x)",   S.htonll),
    _sub("ntohs",    "uint16_t ntohs(uint16_t)",                     "uint16_t", "bswap((uint16)x)",   S.ntohs),
    _sub("ntohl",    "uint32_t ntohl(uint32_t)",                     "uint32_t", "bswap((uint32)x)",   S.ntohl),
    _sub("ntohll",   "uint64_t ntohll(uint64_t)",                    "uint64_t", "bswap((uint64)x)",   S.ntohll),
    _sub("getmajor", "dev_t getmajor(dev_t)",                        "dev_t",    "(x >> 20) & 0xfff",  S.getmajor),
    _sub("getminor", "dev_t getminor(dev_t)",                        "dev_t",    "x & 0xfffff",        S.getminor),
    # -- addresses: the tracer records the bytes at the address
    _sub("inet_ntoa",  "string inet_ntoa(ipaddr_t *)",               "string",   "ntop(2, *addr)",     S.inet_ntoa,  STRSIZE,
         "bpftrace's ntop takes the address value, not a pointer"),
    _sub("inet_ntoa6", "string inet_ntoa6(struct in6_addr *, [int])", "string",  None,                 S.inet_ntoa6, STRSIZE,
         "bpftrace's ntop(10, buf) is glibc's inet_ntop: it keeps ::ffff: and prints ::2 as D"
         " does not (::0.0.0.2)"),
    _sub("inet_ntop",  "string inet_ntop(int, void *)",              "string",   None,                 S.inet_ntop,  STRSIZE,
         "bpftrace's ntop(af, buf) is glibc's inet_ntop: IPv4-compatible addresses differ"),
    _sub("link_ntop",  "string link_ntop(int, void *)",              "string",   None,                 S.link_ntop,  STRSIZE,
         "bpftrace's macaddr() knows only 6-byte addresses", illumos=False),
    # -- the kernel's own: memory, processes, locks, randomness, allocation
    _sub("copyin",      "void *copyin(uintptr_t, size_t)",           "void *",   "buf(uptr(addr), n)"),
    _sub("copyinstr",   "string copyinstr(uintptr_t, [size_t])",     "string",   "str(uptr(addr), n)"),
    _sub("copyinto",    "void copyinto(uintptr_t, size_t, void *)",  "void"),
    _sub("alloca",      "void *alloca(size_t)",                      "void *"),
    _sub("bcopy",       "void bcopy(void *, void *, size_t)",        "void"),
    _sub("speculation", "int speculation()",                         "int",      None,                 None,         False,
         "allocated in the kernel: see collectors/consumer/speculation.py"),
    _sub("rand",        "int rand()",                                "int"),
    _sub("progenyof",   "int progenyof(pid_t)",                      "int"),
    _sub("mutex_owned", "int mutex_owned(struct mutex *)",           "int"),
    _sub("mutex_owner", "struct task_struct *mutex_owner(struct mutex *)", "void *"),
    _sub("mutex_type_adaptive", "int mutex_type_adaptive(struct mutex *)", "int"),
    _sub("mutex_type_spin", "int mutex_type_spin(struct mutex *)",   "int"),
    _sub("rw_iswriter", "int rw_iswriter(rwlock_t *)",               "int"),
    _sub("rw_read_held", "int rw_read_held(rwlock_t *)",             "int"),
    _sub("rw_write_held", "int rw_write_held(rwlock_t *)",           "int"),
    _sub("d_path",      "string d_path(struct path *)",              "string",   "path(p)",            illumos=False),
    _sub("msgsize",     "size_t msgsize(mblk_t *)",                  "size_t",   oracle=False),
    _sub("msgdsize",    "size_t msgdsize(mblk_t *)",                 "size_t",   oracle=False),
    _sub("ddi_pathname", "string ddi_pathname(void *, int64_t)",     "string",   oracle=False),
    _sub("getf",        "file_t *getf(int)",                         "file_t *", oracle=False),
    _sub("json",        "string json(const char *, const char *)",   "string",   oracle=False),
    _sub("vm_phys_to_virt", "uintptr_t vm_phys_to_virt(uintptr_t)",  "uintptr_t", oracle=False),
]
# fmt: on

SUBROUTINES: dict[str, Subroutine] = {sub.name: sub for sub in _TABLE}


def call(
    name: str,
    args: list[object],
    *,
    strsize: int = S.DEFAULT_STRSIZE,
    strtok_state: S.StrtokState | None = None,
    continue_previous: bool = False,
) -> object:
    """Compute subroutine ``name`` on recorded argument values: the consumer's one entry.

    ``strtok`` needs the probe firing's ``strtok_state``, and ``continue_previous`` for
    ``strtok(NULL, ...)`` (its first argument is then ignored). Raises
    :class:`strings.SubroutineFault` as DTrace faults, ``KeyError`` for a subroutine the
    consumer cannot compute.
    """
    entry = SUBROUTINES.get(name)
    if entry is None or entry.compute is None:
        raise KeyError(f"{name}() cannot be computed in the consumer")
    if name == "strtok":
        if strtok_state is None:
            raise ValueError("strtok() needs the probe firing's StrtokState")
        return S.strtok(*args, strtok_state, continue_previous=continue_previous, strsize=strsize)
    if entry.strsize:
        return entry.compute(*args, strsize=strsize)
    return entry.compute(*args)
