"""Registries of the D language: built-in variables, functions, macros, constants.

Data, not code: the checks, the targets and the documentation all read these tables.
Sources: the illumos Dynamic Tracing Guide ("Built-in Variables", "Actions and
Subroutines", "Aggregations", "Scripting" for macro variables) and the D libraries
DTrace ships in /usr/lib/dtrace (errno.d, signal.d, procfs.d, io.d, ip.d, tcp.d...).
"""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------- variables

BUILTIN_VARIABLES: dict[str, str] = {
    "arg0": "int64_t", "arg1": "int64_t", "arg2": "int64_t", "arg3": "int64_t", "arg4": "int64_t",
    "arg5": "int64_t", "arg6": "int64_t", "arg7": "int64_t", "arg8": "int64_t", "arg9": "int64_t",
    "args": "typed probe arguments",
    "caller": "uintptr_t", "ucaller": "uint64_t",
    "chip": "chipid_t", "cpu": "processorid_t", "curcpu": "cpuinfo_t *", "lgrp": "lgrp_id_t",
    "pset": "psetid_t", "ipl": "uint_t",
    "curthread": "kthread_t *", "curlwpsinfo": "lwpsinfo_t *", "curpsinfo": "psinfo_t *",
    "cwd": "string", "root": "string", "execname": "string", "execargs": "string",
    "zonename": "string",
    "epid": "uint_t", "id": "uint_t", "errno": "int",
    "pid": "pid_t", "ppid": "pid_t", "tid": "id_t", "uid": "uid_t", "gid": "gid_t",
    "probefunc": "string", "probemod": "string", "probename": "string", "probeprov": "string",
    "stackdepth": "uint32_t", "ustackdepth": "uint32_t",
    "timestamp": "uint64_t", "vtimestamp": "uint64_t", "walltimestamp": "int64_t",
    "uregs": "uint64_t[]", "vmregs": "uint64_t[]",
    "fds": "fileinfo_t[]",
}

# Inline arrays and functions the D libraries define (tcp.d, ip.d, io.d, sched.d...).
LIBRARY_INLINES = frozenset(
    ["tcp_state_string", "ipv4_protostr", "ipv6_protostr"]
)

# $target and friends ($1..$9 and $$1.. are positional and always allowed).
MACRO_VARIABLES = frozenset(
    ["target", "pid", "ppid", "pgid", "sid", "uid", "gid", "euid", "egid", "projid", "taskid"]
)

# ---------------------------------------------------------------- functions


@dataclass(frozen=True)
class Function:
    name: str
    min_args: int
    max_args: int | None  # None: variadic
    kind: str  # "action" | "subroutine" | "aggregating"
    destructive: bool = False


def _f(name: str, lo: int, hi: int | None, kind: str, destructive: bool = False) -> Function:
    return Function(name, lo, hi, kind, destructive)


_FUNCTIONS = [
    # Data recording actions
    _f("trace", 1, 1, "action"), _f("tracemem", 2, 3, "action"), _f("printf", 1, None, "action"),
    _f("printa", 1, None, "action"), _f("print", 1, 1, "action"),
    _f("stack", 0, 1, "action"), _f("ustack", 0, 2, "action"), _f("jstack", 0, 2, "action"),
    _f("sym", 1, 1, "action"), _f("usym", 1, 1, "action"), _f("func", 1, 1, "action"),
    _f("ufunc", 1, 1, "action"), _f("mod", 1, 1, "action"), _f("umod", 1, 1, "action"),
    _f("uaddr", 1, 1, "action"), _f("setopt", 1, 2, "action"),
    _f("printm", 2, 2, "action"), _f("printt", 2, 2, "action"),
    # Aggregation actions
    _f("clear", 1, 1, "action"), _f("trunc", 1, 2, "action"),
    _f("normalize", 2, 2, "action"), _f("denormalize", 1, 1, "action"),
    # Speculation and special actions
    _f("speculate", 1, 1, "action"), _f("commit", 1, 1, "action"), _f("discard", 1, 1, "action"),
    _f("exit", 1, 1, "action"), _f("ftruncate", 0, 0, "action"), _f("freopen", 1, None, "action"),
    # Destructive actions: need dtrace -w (dtscope: --destructive)
    _f("stop", 0, 0, "action", True), _f("raise", 1, 1, "action", True),
    _f("copyout", 3, 3, "action", True), _f("copyoutstr", 3, 3, "action", True),
    _f("system", 1, None, "action", True), _f("breakpoint", 0, 0, "action", True),
    _f("panic", 0, 0, "action", True), _f("chill", 1, 1, "action", True),
    # Subroutines
    _f("alloca", 1, 1, "subroutine"), _f("basename", 1, 1, "subroutine"), _f("bcopy", 3, 3, "subroutine"),
    _f("cleanpath", 1, 1, "subroutine"), _f("copyin", 2, 2, "subroutine"), _f("copyinstr", 1, 2, "subroutine"),
    _f("copyinto", 3, 3, "subroutine"), _f("dirname", 1, 1, "subroutine"), _f("msgdsize", 1, 1, "subroutine"),
    _f("msgsize", 1, 1, "subroutine"), _f("mutex_owned", 1, 1, "subroutine"), _f("mutex_owner", 1, 1, "subroutine"),
    _f("mutex_type_adaptive", 1, 1, "subroutine"), _f("mutex_type_spin", 1, 1, "subroutine"),
    _f("progenyof", 1, 1, "subroutine"), _f("rand", 0, 0, "subroutine"), _f("rw_iswriter", 1, 1, "subroutine"),
    _f("rw_read_held", 1, 1, "subroutine"), _f("rw_write_held", 1, 1, "subroutine"),
    _f("speculation", 0, 0, "subroutine"), _f("strjoin", 2, 2, "subroutine"), _f("strlen", 1, 1, "subroutine"),
    _f("strchr", 2, 2, "subroutine"), _f("strrchr", 2, 2, "subroutine"), _f("strstr", 2, 2, "subroutine"),
    _f("strtok", 2, 2, "subroutine"), _f("substr", 2, 3, "subroutine"), _f("index", 2, 3, "subroutine"),
    _f("rindex", 2, 3, "subroutine"), _f("htons", 1, 1, "subroutine"), _f("htonl", 1, 1, "subroutine"),
    _f("htonll", 1, 1, "subroutine"), _f("ntohs", 1, 1, "subroutine"), _f("ntohl", 1, 1, "subroutine"),
    _f("ntohll", 1, 1, "subroutine"), _f("inet_ntop", 2, 2, "subroutine"), _f("inet_ntoa", 1, 1, "subroutine"),
    _f("inet_ntoa6", 1, 2, "subroutine"), _f("lltostr", 1, 2, "subroutine"), _f("toupper", 1, 1, "subroutine"),
    _f("tolower", 1, 1, "subroutine"), _f("getmajor", 1, 1, "subroutine"), _f("getminor", 1, 1, "subroutine"),
    _f("ddi_pathname", 2, 2, "subroutine"), _f("strtoll", 1, 2, "subroutine"), _f("getf", 1, 1, "subroutine"),
    _f("json", 2, 2, "subroutine"), _f("link_ntop", 2, 2, "subroutine"), _f("d_path", 1, 1, "subroutine"),
    _f("vm_phys_to_virt", 1, 1, "subroutine"),
    # Aggregating functions: only on the right of `@name[keys] = ...`
    _f("count", 0, 0, "aggregating"), _f("sum", 1, 1, "aggregating"), _f("avg", 1, 1, "aggregating"),
    _f("min", 1, 1, "aggregating"), _f("max", 1, 1, "aggregating"), _f("stddev", 1, 1, "aggregating"),
    # quantize/lquantize/llquantize take an optional increment (weight) as last argument.
    _f("quantize", 1, 2, "aggregating"), _f("lquantize", 3, 5, "aggregating"),
    _f("llquantize", 5, 6, "aggregating"),
]

FUNCTIONS: dict[str, Function] = {f.name: f for f in _FUNCTIONS}
AGGREGATING_FUNCTIONS = frozenset(f.name for f in _FUNCTIONS if f.kind == "aggregating")
DESTRUCTIVE_ACTIONS = frozenset(f.name for f in _FUNCTIONS if f.destructive)
# Actions whose first argument names an aggregation.
AGGREGATION_ACTIONS = frozenset(["printa", "clear", "trunc", "normalize", "denormalize", "setopt"])

# ---------------------------------------------------------------- probe-name units

# D's time units (tick-1sec, profile-10ms...) in nanoseconds; "hz" is a rate, not a time.
TIME_UNITS_NS: dict[str, int] = {
    "ns": 1, "nsec": 1, "us": 1_000, "usec": 1_000, "ms": 1_000_000, "msec": 1_000_000,
    "s": 1_000_000_000, "sec": 1_000_000_000, "m": 60_000_000_000, "min": 60_000_000_000,
    "h": 3_600_000_000_000, "hour": 3_600_000_000_000, "d": 86_400_000_000_000, "day": 86_400_000_000_000,
}
RATE_UNITS = frozenset(TIME_UNITS_NS) | {"hz"}

# ---------------------------------------------------------------- library constants

# Inlines and enumerators that DTrace's D libraries define (errno.d, signal.d, procfs.d,
# io.d, ip.d, tcp.d, sched.d, unistd.d...). Scripts use them without declaring them.
_ERRNO = """EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF ECHILD EAGAIN ENOMEM EACCES
EFAULT ENOTBLK EBUSY EEXIST EXDEV ENODEV ENOTDIR EISDIR EINVAL ENFILE EMFILE ENOTTY ETXTBSY
EFBIG ENOSPC ESPIPE EROFS EMLINK EPIPE EDOM ERANGE ENOMSG EIDRM EDEADLK ENOLCK ENOSTR ENODATA
ETIME ENOSR ENOLINK EPROTO EOVERFLOW ENOSYS ELOOP ENAMETOOLONG ENOTEMPTY EWOULDBLOCK ENOTSUP
EOPNOTSUPP ECONNREFUSED ECONNRESET ETIMEDOUT EINPROGRESS EALREADY ENOTSOCK EADDRINUSE
EADDRNOTAVAIL ENETDOWN ENETUNREACH EHOSTUNREACH ENOTCONN EISCONN ENOBUFS EDESTADDRREQ EMSGSIZE"""
_SIGNALS = """SIGHUP SIGINT SIGQUIT SIGILL SIGTRAP SIGABRT SIGIOT SIGEMT SIGFPE SIGKILL SIGBUS SIGSEGV
SIGSYS SIGPIPE SIGALRM SIGTERM SIGUSR1 SIGUSR2 SIGCLD SIGCHLD SIGPWR SIGWINCH SIGURG SIGPOLL
SIGIO SIGSTOP SIGTSTP SIGCONT SIGTTIN SIGTTOU SIGVTALRM SIGPROF SIGXCPU SIGXFSZ SIGWAITING
SIGLWP SIGFREEZE SIGTHAW SIGCANCEL SIGLOST SIGXRES SIGJVM1 SIGJVM2 CLD_EXITED CLD_KILLED
CLD_DUMPED CLD_TRAPPED CLD_STOPPED CLD_CONTINUED"""
_PROCFS = """SSLEEP SRUN SZOMB SSTOP SIDL SONPROC SWAIT PR_STOPPED PR_ISTOP PR_DSTOP PR_STEP
PR_ASLEEP PR_PCINVAL PR_ASLWP PR_AGENT PR_DETACH PR_DAEMON PR_IDLE PR_ISSYS PR_VFORKP
PR_ORPHAN PR_FORK PR_RLC PR_KLC PR_ASYNC PR_MSACCT PR_BPTADJ PR_PTRACE PR_MSFORK PR_VFORKP
PR_REQUESTED PR_SIGNALLED PR_SYSENTRY PR_SYSEXIT PR_FAULTED PR_JOBCONTROL PR_SUSPENDED
PR_CHECKPOINT PR_MODEL_ILP32 PR_MODEL_LP64 PR_MODEL_NATIVE"""
_IO = """B_BUSY B_DONE B_ERROR B_PAGEIO B_PHYS B_READ B_WRITE B_ASYNC B_RETRYWRI B_INVAL
B_STALE B_FORCE B_NOCACHE B_AGE B_PAGEIN B_PAGEOUT B_SHADOW B_FAILFAST B_WRITE_B
DEV_BSIZE"""
_NET = """AF_INET AF_INET6 AF_UNIX AF_UNSPEC IPPROTO_IP IPPROTO_TCP IPPROTO_UDP IPPROTO_ICMP
IPPROTO_ICMPV6 IPPROTO_IPV6 IPPROTO_SCTP TCP_STATE_CLOSED TCP_STATE_IDLE TCP_STATE_BOUND
TCP_STATE_LISTEN TCP_STATE_SYN_SENT TCP_STATE_SYN_RECEIVED TCP_STATE_ESTABLISHED
TCP_STATE_CLOSE_WAIT TCP_STATE_FIN_WAIT_1 TCP_STATE_CLOSING TCP_STATE_LAST_ACK
TCP_STATE_FIN_WAIT_2 TCP_STATE_TIME_WAIT TH_FIN TH_SYN TH_RST TH_PUSH TH_ACK TH_URG TH_ECE TH_CWR
TCPS_CLOSED TCPS_IDLE TCPS_BOUND TCPS_LISTEN TCPS_SYN_SENT TCPS_SYN_RCVD TCPS_ESTABLISHED
TCPS_CLOSE_WAIT TCPS_FIN_WAIT_1 TCPS_CLOSING TCPS_LAST_ACK TCPS_FIN_WAIT_2 TCPS_TIME_WAIT"""
_MISC = """NULL TRUE FALSE B_TRUE B_FALSE O_RDONLY O_WRONLY O_RDWR O_CREAT O_TRUNC O_APPEND O_EXCL
O_NONBLOCK O_NDELAY O_SYNC O_DSYNC O_RSYNC O_LARGEFILE O_NOFOLLOW O_NOCTTY O_CLOEXEC
FREAD FWRITE SEEK_SET SEEK_CUR SEEK_END VREG VDIR VBLK VCHR VLNK VFIFO VDOOR VPROC VSOCK VPORT VBAD VNON
P_PR_FORK P_PR_LOCK TS_FREE TS_SLEEP TS_RUN TS_ONPROC TS_ZOMB TS_STOPPED TS_WAIT
NANOSEC MICROSEC MILLISEC NBBY PAGESIZE PAGEOFFSET PAGEMASK PAGESHIFT
R_PC R_SP R_FP R_PS R_R0 R_R1 R_RAX R_RBX R_RCX R_RDX R_RSI R_RDI R_RBP R_RSP R_RIP R_RFL
R_R8 R_R9 R_R10 R_R11 R_R12 R_R13 R_R14 R_R15 R_EAX R_EBX R_ECX R_EDX R_ESI R_EDI R_EBP R_ESP
R_EIP R_EFL R_CS R_SS R_DS R_ES R_FS R_GS R_TRAPNO R_ERR"""

LIBRARY_CONSTANTS = frozenset(
    word for block in (_ERRNO, _SIGNALS, _PROCFS, _IO, _NET, _MISC) for word in block.split()
)
