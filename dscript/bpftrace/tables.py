"""The D -> bpftrace mappings as data: built-in variables, members, probes, conversions.

The generator (:mod:`.generator` and its mixins) reads these tables; ``docs/bpftrace-mapping.md``
describes them for people. Each entry either says what bpftrace expression serves
a D construct faithfully, or why none does (the reason becomes the error message).

An expression is a pair ``(bpftrace text, key kind)``; the kind tells the collector
how to present the value when it is an aggregation key (see ``MapInfo.key_kinds``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

Served = tuple[str, str]  # (bpftrace expression, key kind)

# --------------------------------------------------------------------------- variables

# D built-in variables that mean the same in every probe context.
BUILTIN_VARIABLES: dict[str, Served] = {
    # comm is the thread's name: the process's exec name unless the thread renamed itself.
    "execname": ("comm", "str"),
    "pid": ("pid", "int"),
    "tid": ("tid", "int"),
    "uid": ("uid", "int"),
    "gid": ("gid", "int"),
    "cpu": ("cpu", "int"),
    "timestamp": ("nsecs", "int"),
    # Needs BTF (checked by the generator): the parent's thread-group id, unsigned like pid.
    "ppid": ("(uint64)curtask->real_parent->tgid", "int"),
    # On Linux a zone is a cgroup: the v2 id, resolved to its path by the collector.
    "zonename": ("cgroup", "cgroup"),
}

VARIABLES_NEEDING_BTF = {"ppid"}

# Built-ins with no faithful bpftrace 0.17 counterpart, and why.
UNSUPPORTED_VARIABLES: dict[str, str] = {
    "vtimestamp": "vtimestamp (the thread's on-CPU time) has no bpftrace counterpart",
    "walltimestamp": 'walltimestamp can only be printed with printf("%Y") in bpftrace 0.17 (it has no wall-clock value)',
    "curthread": "curthread is an illumos kthread_t; Linux has no equivalent structure",
    "caller": "caller (the calling kernel function) is not available to bpftrace tracepoints",
    "ucaller": "ucaller is not available to bpftrace",
    "stackdepth": "stackdepth has no bpftrace counterpart",
    "ustackdepth": "ustackdepth has no bpftrace counterpart",
    "epid": "epid (the enabled probe id) has no bpftrace counterpart",
    "id": "id (the probe id) has no bpftrace counterpart",
    "ipl": "ipl (interrupt priority level) does not exist on Linux",
    "uregs": "uregs[] is not supported by the bpftrace lowering",
    "curcpu": "curcpu is an illumos cpuinfo_t; use cpu",
    "errno": "errno is only defined in syscall return probes",
}

# Members of curpsinfo / curlwpsinfo (the current process and thread).
CURRENT_MEMBERS: dict[tuple[str, str], Served] = {
    ("curpsinfo", "pr_pid"): ("pid", "int"),
    ("curpsinfo", "pr_ppid"): ("(uint64)curtask->real_parent->tgid", "int"),
    ("curpsinfo", "pr_uid"): ("uid", "int"),
    ("curpsinfo", "pr_gid"): ("gid", "int"),
    ("curpsinfo", "pr_fname"): ("comm", "str"),
    ("curlwpsinfo", "pr_lwpid"): ("tid", "int"),
    ("curlwpsinfo", "pr_onpro"): ("cpu", "int"),
}

UNSUPPORTED_MEMBERS: dict[tuple[str, str], str] = {
    ("curpsinfo", "pr_psargs"): (
        "curpsinfo->pr_psargs: bpftrace 0.17 cannot copy a process's argument list into a string "
        "(it can read argv[0] only); use execname, or trace the execve syscall's arguments"
    ),
}

# --------------------------------------------------------------------------- probes


@dataclass(frozen=True)
class ProbeTarget:
    """How bpftrace serves one D probe (one variant of it).

    ``variables`` override :data:`BUILTIN_VARIABLES` in this context; ``forbidden``
    names variables (or ``args[i]`` / ``curpsinfo`` members, spelled ``"args[1]"``)
    whose value bpftrace cannot give here, with the reason. ``members`` serves
    ``args[i]->member``; ``args`` serves ``argN``. ``thread_key`` keys ``self->``
    variables (the thread the D probe fires for).
    """

    bt_probe: str
    prov: str
    mod: str
    func: str
    name: str
    filter: str | None = None
    variables: dict[str, Served] = field(default_factory=dict)
    forbidden: dict[str, str] = field(default_factory=dict)
    args: dict[int, Served] = field(default_factory=dict)
    members: dict[tuple[int, str], Served] = field(default_factory=dict)
    thread_key: str = "tid"
    no_args: str = "this probe's arguments are not available from bpftrace"
    features: frozenset[str] = frozenset({"tracepoint"})


# Linux TCP states (include/net/tcp_states.h) -> illumos TCPS_* values (netinet/tcp_fsm.h),
# so that a D script comparing with TCPS_ESTABLISHED... sees the numbers it expects.
LINUX_TO_ILLUMOS_TCP_STATE: dict[int, int] = {
    1: 0,  # ESTABLISHED
    2: -2,  # SYN_SENT
    3: -1,  # SYN_RECV
    4: 2,  # FIN_WAIT1
    5: 5,  # FIN_WAIT2
    6: 6,  # TIME_WAIT
    7: -6,  # CLOSE -> CLOSED
    8: 1,  # CLOSE_WAIT
    9: 4,  # LAST_ACK
    10: -3,  # LISTEN
    11: 3,  # CLOSING
    12: -1,  # NEW_SYN_RECV -> SYN_RCVD
    13: -4,  # BOUND_INACTIVE -> BOUND (Linux 6.6+)
}

ILLUMOS_TCP_STATE_NAMES: dict[str, int] = {
    "TCPS_CLOSED": -6,
    "TCPS_IDLE": -5,
    "TCPS_BOUND": -4,
    "TCPS_LISTEN": -3,
    "TCPS_SYN_SENT": -2,
    "TCPS_SYN_RCVD": -1,
    "TCPS_ESTABLISHED": 0,
    "TCPS_CLOSE_WAIT": 1,
    "TCPS_FIN_WAIT_1": 2,
    "TCPS_CLOSING": 3,
    "TCPS_LAST_ACK": 4,
    "TCPS_FIN_WAIT_2": 5,
    "TCPS_TIME_WAIT": 6,
}

# Constants a D script may use (from the illumos D libraries) -> their values.
# B_READ/B_WRITE as illumos defines them (sys/buf.h); io's b_flags holds only these two.
IO_FLAGS = {"B_READ": 0x40, "B_WRITE": 0x100}
D_CONSTANTS: dict[str, int] = {**ILLUMOS_TCP_STATE_NAMES, **IO_FLAGS}

# The block layer's rwbs string starts with R (read) or W (write); D (discard), F (flush)
# and N (none) requests have neither flag.
IO_B_FLAGS: tuple[str, str] = (
    '(strncmp(args->rwbs, "R", 1) == 0 ? 64 : (strncmp(args->rwbs, "W", 1) == 0 ? 256 : 0))',
    "int",
)


def tcp_state_expr(linux_state: str) -> str:
    """A bpftrace expression turning a Linux TCP state into the illumos TCPS_* number.

    The table is packed in one constant, four bits per Linux state (illumos value + 7;
    0 stands for a state illumos does not know, giving -7): a chain of ternaries would do
    the same but takes the BPF verifier seconds per clause.
    """
    table = sum(
        (illumos + 7) << (4 * linux) for linux, illumos in LINUX_TO_ILLUMOS_TCP_STATE.items()
    )
    return f"(({linux_state}) < 16 ? ((({table} >> (({linux_state}) * 4)) & 15) - 7) : -7)"


# Fixed-name probes served by one tracepoint. ``tcp`` probes are built by tcp_targets().
_ON_CPU_FORBIDDEN_REASON = (
    "is not available in sched:::on-cpu: bpftrace runs in the thread leaving the CPU "
    "(sched_switch), and only the incoming thread's id and name are known"
)

STATIC_PROBES: dict[tuple[str, str], ProbeTarget] = {
    ("proc", "exec-success"): ProbeTarget(
        "tracepoint:sched:sched_process_exec",
        "proc",
        "genunix",
        "exec_common",
        "exec-success",
        no_args="proc:::exec-success has no arguments",
    ),
    ("proc", "exec-failure"): ProbeTarget(
        "tracepoint:syscalls:sys_exit_execve",
        "proc",
        "genunix",
        "exec_common",
        "exec-failure",
        filter="args->ret < 0",
        args={0: ("(-args->ret)", "int")},
        members={},
    ),
    ("proc", "exit"): ProbeTarget(
        "tracepoint:sched:sched_process_exit",
        "proc",
        "genunix",
        "proc_exit",
        "exit",
        filter="args->group_dead",
        no_args="proc:::exit's argument (the exit reason) is not available from Linux tracepoints",
    ),
    ("proc", "create"): ProbeTarget(
        "tracepoint:task:task_newtask",
        "proc",
        "genunix",
        "cfork",
        "create",
        filter="(args->clone_flags & 0x10000) == 0",  # not CLONE_THREAD: a new process
        members={
            (0, "pr_pid"): ("args->pid", "int"),
            (0, "pr_fname"): ("args->comm", "str"),
            (0, "pr_ppid"): ("pid", "int"),
        },
    ),
    ("proc", "lwp-create"): ProbeTarget(
        "tracepoint:task:task_newtask",
        "proc",
        "genunix",
        "lwp_create",
        "lwp-create",
        filter="(args->clone_flags & 0x10000) != 0",  # CLONE_THREAD: a new thread
        members={
            (0, "pr_lwpid"): ("args->pid", "int"),
            (1, "pr_pid"): ("pid", "int"),
            (1, "pr_fname"): ("comm", "str"),
        },
    ),
    ("sched", "off-cpu"): ProbeTarget(
        "tracepoint:sched:sched_switch",
        "sched",
        "unix",
        "swtch",
        "off-cpu",
        # args[0]/args[1] describe the thread that will run next.
        members={
            (0, "pr_lwpid"): ("args->next_pid", "int"),
            (0, "pr_pri"): ("args->next_prio", "int"),
            (1, "pr_fname"): ("args->next_comm", "str"),
        },
    ),
    ("sched", "on-cpu"): ProbeTarget(
        "tracepoint:sched:sched_switch",
        "sched",
        "unix",
        "swtch",
        "on-cpu",
        variables={
            "tid": ("args->next_pid", "int"),
            "execname": ("args->next_comm", "str"),
        },
        forbidden={
            name: f"{name} {_ON_CPU_FORBIDDEN_REASON}"
            for name in (
                "pid",
                "ppid",
                "uid",
                "gid",
                "zonename",
                "stack",
                "ustack",
                "curpsinfo",
            )
        },
        thread_key="args->next_pid",
        no_args="sched:::on-cpu has no arguments",
    ),
    ("io", "start"): ProbeTarget(
        "tracepoint:block:block_rq_issue",
        "io",
        "genunix",
        "bdev_strategy",
        "start",
        members={
            (0, "b_bcount"): ("args->bytes", "int"),
            (0, "b_blkno"): ("args->sector", "int"),
            (0, "b_lblkno"): ("args->sector", "int"),
            (0, "b_edev"): ("args->dev", "int"),
            (0, "b_flags"): IO_B_FLAGS,
            (1, "dev_major"): ("(args->dev >> 20)", "int"),
            (1, "dev_minor"): ("(args->dev & 0xfffff)", "int"),
        },
        no_args="io:::start's arg0 (the buf pointer) has no Linux counterpart; use args[0]->b_edev and args[0]->b_blkno",
    ),
    ("io", "done"): ProbeTarget(
        "tracepoint:block:block_rq_complete",
        "io",
        "genunix",
        "biodone",
        "done",
        members={
            (0, "b_bcount"): ("(args->nr_sector * 512)", "int"),
            (0, "b_blkno"): ("args->sector", "int"),
            (0, "b_lblkno"): ("args->sector", "int"),
            (0, "b_edev"): ("args->dev", "int"),
            (0, "b_flags"): IO_B_FLAGS,
            (0, "b_error"): ("(-args->error)", "int"),
            (1, "dev_major"): ("(args->dev >> 20)", "int"),
            (1, "dev_minor"): ("(args->dev & 0xfffff)", "int"),
        },
        no_args="io:::done's arg0 (the buf pointer) has no Linux counterpart; use args[0]->b_edev and args[0]->b_blkno",
    ),
    # ip:::send/receive: the packets handed to / received from a network device, IP only
    # (the skb's protocol, read through BTF). Only the interface name is known.
    ("ip", "send"): ProbeTarget(
        "tracepoint:net:net_dev_queue",
        "ip",
        "ip",
        "ip_output",
        "send",
        filter="(((struct sk_buff *)args->skbaddr)->protocol == 0x0008 || ((struct sk_buff *)args->skbaddr)->protocol == 0xdd86)",
        members={(3, "if_name"): ("str(args->name)", "str")},
        no_args="ip:::send serves only args[3]->if_name from bpftrace",
        features=frozenset({"tracepoint", "btf"}),
    ),
    ("ip", "receive"): ProbeTarget(
        "tracepoint:net:netif_receive_skb",
        "ip",
        "ip",
        "ip_input",
        "receive",
        filter="(((struct sk_buff *)args->skbaddr)->protocol == 0x0008 || ((struct sk_buff *)args->skbaddr)->protocol == 0xdd86)",
        members={(3, "if_name"): ("str(args->name)", "str")},
        no_args="ip:::receive serves only args[3]->if_name from bpftrace",
        features=frozenset({"tracepoint", "btf"}),
    ),
}

# sdt probes: on illumos the kernel's own static probes, on Linux its tracepoints.
# SmartOS KVM (illumos-kvm's KVM_TRACE / DTRACE_PROBE, provider sdt, module kvm) mirrors
# the Linux kvm tracepoints it was ported from; argN is the Nth SmartOS argument.
_KVM_MMIO_TYPES = {"kvm-mmio-read-unsatisfied": 0, "kvm-mmio-read": 1, "kvm-mmio-write": 2}


def _sdt(
    bt_event: str,
    module: str,
    name: str,
    args: dict[int, Served],
    *,
    filter: str | None = None,
    no_args: str,
    members: dict[tuple[int, str], Served] | None = None,
    features: frozenset[str] = frozenset({"tracepoint"}),
) -> ProbeTarget:
    return ProbeTarget(
        f"tracepoint:{bt_event}",
        "sdt",
        module,
        "",
        name,
        filter=filter,
        args=args,
        members=members or {},
        no_args=no_args,
        features=features,
    )


SDT_PROBES: dict[tuple[str, str], ProbeTarget] = {
    # vmx_handle_exit: arg0 the guest rip, arg1 the VMX exit reason.
    ("sdt", "kvm-vexit"): _sdt(
        "kvm:kvm_exit",
        "kvm",
        "kvm-vexit",
        {0: ("args->guest_rip", "int"), 1: ("args->exit_reason", "int")},
        no_args="sdt:kvm::kvm-vexit serves arg0 (rip) and arg1 (exit reason)",
    ),
    ("sdt", "kvm-guest-exit"): _sdt(
        "kvm:kvm_exit",
        "kvm",
        "kvm-guest-exit",
        {},
        no_args="kvm-guest-exit's arg0 (the vcpu) has no Linux counterpart",
    ),
    ("sdt", "kvm-guest-entry"): _sdt(
        "kvm:kvm_entry",
        "kvm",
        "kvm-guest-entry",
        {},
        no_args="kvm-guest-entry's arg0 (the vcpu) has no Linux counterpart",
    ),
    # kvm_emulate_pio: arg0 1 for out (a write), arg1 port, arg2 size, arg3 count.
    ("sdt", "kvm-pio"): _sdt(
        "kvm:kvm_pio",
        "kvm",
        "kvm-pio",
        {
            0: ("args->rw", "int"),
            1: ("args->port", "int"),
            2: ("args->size", "int"),
            3: ("args->count", "int"),
        },
        no_args="sdt:kvm::kvm-pio serves arg0..arg3",
    ),
    **{
        ("sdt", name): _sdt(
            "kvm:kvm_mmio",
            "kvm",
            name,
            {0: ("args->len", "int"), 1: ("args->gpa", "int"), 2: ("args->val", "int")},
            filter=f"args->type == {mmio_type}",
            no_args=f"sdt:kvm::{name} serves arg0 (bytes), arg1 (gpa), arg2 (value)",
        )
        for name, mmio_type in _KVM_MMIO_TYPES.items()
    },
    # Linux only (no illumos counterpart): the vCPU thread returns to its VMM with
    # arg0 = KVM_EXIT_* reason, arg1 = errno.
    ("sdt", "kvm-userspace-exit"): _sdt(
        "kvm:kvm_userspace_exit",
        "kvm",
        "kvm-userspace-exit",
        {0: ("args->reason", "int"), 1: ("args->errno", "int")},
        no_args="sdt:kvm::kvm-userspace-exit serves arg0 (reason), arg1 (errno)",
    ),
    # Linux only: FUSE requests (zfs-fuse, other FUSE file systems). arg0 is the connection
    # (the mount's st_dev), arg1 the request id; send: arg2 opcode, arg3 length of the
    # request (headers included); end: arg2 length of the reply, arg3 error.
    ("sdt", "fuse-request-send"): _sdt(
        "fuse:fuse_request_send",
        "fuse",
        "fuse-request-send",
        {
            0: ("args->connection", "int"),
            1: ("args->unique", "int"),
            2: ("args->opcode", "int"),
            3: ("args->len", "int"),
        },
        no_args="sdt:fuse::fuse-request-send serves arg0..arg3",
    ),
    ("sdt", "fuse-request-end"): _sdt(
        "fuse:fuse_request_end",
        "fuse",
        "fuse-request-end",
        {
            0: ("args->connection", "int"),
            1: ("args->unique", "int"),
            2: ("args->len", "int"),
            3: ("args->error", "int"),
        },
        no_args="sdt:fuse::fuse-request-end serves arg0..arg3",
    ),
}


def _sock_length_target(direction: str) -> ProbeTarget:
    """Linux only: an IPv4 TCP socket's sendmsg/recvmsg returned; arg0 the bytes (or -errno),
    args[3] a tcpsinfo_t of the connection (addresses and ports, read through BTF).
    IPv6 is not served: bpftrace 0.17 cannot choose between two address types in one key."""
    sk = "((struct sock *)args->sk)->__sk_common"
    name = f"sock-{direction}-length"
    return ProbeTarget(
        f"tracepoint:sock:sock_{direction}_length",
        "sdt",
        "sock",
        "",
        name,
        filter="args->protocol == 6 && args->family == 2",
        args={0: ("args->ret", "int")},
        members={
            (3, "tcps_laddr"): (f"ntop({sk}.skc_rcv_saddr)", "str"),
            (3, "tcps_raddr"): (f"ntop({sk}.skc_daddr)", "str"),
            (3, "tcps_lport"): (f"{sk}.skc_num", "int"),
            (3, "tcps_rport"): (f"bswap({sk}.skc_dport)", "int"),
        },
        no_args=f"sdt:sock::{name} serves arg0 (bytes or -errno) and args[3]->tcps_laddr/raddr/lport/rport",
        features=frozenset({"tracepoint", "btf"}),
    )


SDT_PROBES.update({("sdt", f"sock-{d}-length"): _sock_length_target(d) for d in ("send", "recv")})

STATIC_PROBES.update(SDT_PROBES)


# tcp probes served by sock:inet_sock_set_state: (old Linux state or None, new Linux state,
# which end sent the packet the D probe describes: "local" or "remote").
TCP_STATE_PROBES: dict[str, tuple[int | None, int | None, str]] = {
    "state-change": (None, None, "local"),
    "connect-request": (7, 2, "local"),  # CLOSE -> SYN_SENT: our SYN goes out
    "connect-established": (2, 1, "remote"),  # SYN_SENT -> ESTABLISHED: their SYN-ACK came in
    "accept-established": (3, 1, "remote"),  # SYN_RECV -> ESTABLISHED: their ACK came in
}

TCP_UNSUPPORTED: dict[str, str] = {
    "send": "tcp:::send fires per segment; Linux has no stable tracepoint for every TCP segment",
    "receive": "tcp:::receive fires per segment; Linux has no stable tracepoint for every TCP segment",
    "connect-refused": "tcp:::connect-refused cannot be told apart from a connect timeout with Linux tracepoints",
    "accept-refused": "tcp:::accept-refused has no Linux tracepoint",
}


def tcp_targets(probe_name: str) -> list[ProbeTarget] | None:
    """The variants (IPv4, IPv6) serving one tcp probe, or None when it is not served."""
    if probe_name == "retransmit":
        return [
            _tcp_target(
                probe_name,
                "tracepoint:tcp:tcp_retransmit_skb",
                fam,
                None,
                None,
                "local",
                state="args->state",
            )
            for fam in (4, 6)
        ]
    if probe_name not in TCP_STATE_PROBES:
        return None
    old, new, sender = TCP_STATE_PROBES[probe_name]
    return [
        _tcp_target(
            probe_name,
            "tracepoint:sock:inet_sock_set_state",
            fam,
            old,
            new,
            sender,
            state="args->newstate",
        )
        for fam in (4, 6)
    ]


def _tcp_target(
    name: str,
    bt_probe: str,
    family: int,
    old: int | None,
    new: int | None,
    sender: str,
    *,
    state: str,
) -> ProbeTarget:
    conds = ["args->family == " + ("2" if family == 4 else "10")]
    if bt_probe.endswith("inet_sock_set_state"):
        conds.insert(0, "args->protocol == 6")
    if old is not None:
        conds.append(f"args->oldstate == {old}")
    if new is not None:
        conds.append(f"args->newstate == {new}")
    suffix = "" if family == 4 else "_v6"
    laddr, raddr = (f"ntop(args->saddr{suffix})", "str"), (f"ntop(args->daddr{suffix})", "str")
    lport, rport = ("args->sport", "int"), ("args->dport", "int")
    src_addr, dst_addr = (laddr, raddr) if sender == "local" else (raddr, laddr)
    src_port, dst_port = (lport, rport) if sender == "local" else (rport, lport)
    members: dict[tuple[int, str], Served] = {
        # csinfo_t's connection id: the socket's address identifies the connection on Linux.
        (1, "cs_cid"): ("(uint64)args->skaddr", "int"),
        (2, "ip_ver"): (str(family), "int"),
        (2, "ip_saddr"): src_addr,
        (2, "ip_daddr"): dst_addr,
        (3, "tcps_laddr"): laddr,
        (3, "tcps_raddr"): raddr,
        (3, "tcps_lport"): lport,
        (3, "tcps_rport"): rport,
        (3, "tcps_state"): (tcp_state_expr(state), "int"),
        (4, "tcp_sport"): src_port,
        (4, "tcp_dport"): dst_port,
    }
    if bt_probe.endswith("inet_sock_set_state"):
        members[(5, "tcps_state")] = (tcp_state_expr("args->oldstate"), "int")
    func = {"retransmit": "tcp_retransmit_skb"}.get(name, "tcp_set_state")
    return ProbeTarget(
        bt_probe,
        "tcp",
        "ip",
        func,
        name,
        filter=" && ".join(conds),
        members=members,
        no_args=f"tcp:::{name} serves args[2]->ip_*, args[3]->tcps_*, args[4]->tcp_sport/tcp_dport from bpftrace",
    )


# --------------------------------------------------------------------------- printf

# D conversions bpftrace prints the same way (the length modifiers are dropped: bpftrace
# takes the size from the argument's type).
PRINTF_SAME = set("diuxXocsp")

PRINTF_UNSUPPORTED: dict[str, str] = {
    "@": 'printf("%@") (an aggregation inside printf) has no bpftrace counterpart',
    "a": 'printf("%a") (symbol+offset) has no faithful bpftrace counterpart',
    "A": 'printf("%A") (symbol+offset) has no faithful bpftrace counterpart',
    "e": 'bpftrace has no floating point (printf "%e")',
    "E": 'bpftrace has no floating point (printf "%E")',
    "f": 'bpftrace has no floating point (printf "%f")',
    "g": 'bpftrace has no floating point (printf "%g")',
    "G": 'bpftrace has no floating point (printf "%G")',
    "S": 'printf("%S") (escaped string) has no bpftrace counterpart',
    "k": 'printf("%k") is not supported: use stack() as its own statement',
    "T": 'printf("%T") has no bpftrace counterpart',
}

# DTrace prints %Y as "2004 Jul 25 14:06:05".
WALLTIME_FORMAT = "%Y %b %e %H:%M:%S"

# --------------------------------------------------------------------------- types

# D integer types -> bpftrace cast types (LP64).
INTEGER_CASTS: dict[str, str] = {
    "char": "int8",
    "signed char": "int8",
    "unsigned char": "uint8",
    "short": "int16",
    "signed short": "int16",
    "unsigned short": "uint16",
    "short int": "int16",
    "unsigned short int": "uint16",
    "int": "int32",
    "signed int": "int32",
    "signed": "int32",
    "unsigned int": "uint32",
    "unsigned": "uint32",
    "long": "int64",
    "signed long": "int64",
    "unsigned long": "uint64",
    "long int": "int64",
    "unsigned long int": "uint64",
    "long long": "int64",
    "signed long long": "int64",
    "unsigned long long": "uint64",
    "long long int": "int64",
    "unsigned long long int": "uint64",
    "int8_t": "int8",
    "int16_t": "int16",
    "int32_t": "int32",
    "int64_t": "int64",
    "uint8_t": "uint8",
    "uint16_t": "uint16",
    "uint32_t": "uint32",
    "uint64_t": "uint64",
    "intptr_t": "int64",
    "uintptr_t": "uint64",
    "size_t": "uint64",
    "ssize_t": "int64",
    "pid_t": "int32",
    "uid_t": "uint32",
    "gid_t": "uint32",
    "id_t": "int32",
    "hrtime_t": "int64",
    "off_t": "int64",
    "dev_t": "uint64",
    "uchar_t": "uint8",
    "ushort_t": "uint16",
    "uint_t": "uint32",
    "ulong_t": "uint64",
    "u_longlong_t": "uint64",
    "longlong_t": "int64",
}

INTEGER_SIZES: dict[str, int] = {
    "int8": 1,
    "uint8": 1,
    "int16": 2,
    "uint16": 2,
    "int32": 4,
    "uint32": 4,
    "int64": 8,
    "uint64": 8,
}

# --------------------------------------------------------------------------- subroutines

# D string subroutines with a faithful bpftrace 0.17 form: name -> (bpftrace function, arities).
STRING_FUNCTIONS_UNSUPPORTED: dict[str, str] = {
    "basename": "basename() has no bpftrace 0.17 counterpart (bpftrace cannot slice strings)",
    "dirname": "dirname() has no bpftrace 0.17 counterpart (bpftrace cannot slice strings)",
    "substr": "substr() has no bpftrace 0.17 counterpart",
    "strstr": "strstr() has no bpftrace 0.17 counterpart",
    "strchr": "strchr() has no bpftrace 0.17 counterpart",
    "strrchr": "strrchr() has no bpftrace 0.17 counterpart",
    "index": "index() has no bpftrace 0.17 counterpart",
    "rindex": "rindex() has no bpftrace 0.17 counterpart",
    "strtok": "strtok() has no bpftrace 0.17 counterpart",
    "toupper": "toupper() has no bpftrace 0.17 counterpart",
    "tolower": "tolower() has no bpftrace 0.17 counterpart",
    "lltostr": "lltostr() has no bpftrace 0.17 counterpart (print the number with %d)",
    "strtoll": "strtoll() has no bpftrace 0.17 counterpart",
    "cleanpath": "cleanpath() has no bpftrace 0.17 counterpart",
    "inet_ntoa6": "inet_ntoa6() is not supported by the bpftrace lowering",
    "inet_ntop": "inet_ntop() is not supported by the bpftrace lowering",
    "copyin": "copyin() (raw memory) is not supported by the bpftrace lowering",
    "copyinto": "copyinto() is not supported by the bpftrace lowering",
    "alloca": "alloca() is not supported by the bpftrace lowering",
    "bcopy": "bcopy() is not supported by the bpftrace lowering",
    "rand": "rand() is not supported by the bpftrace lowering",
    "progenyof": "progenyof() has no bpftrace counterpart",
    "getmajor": "getmajor() is not supported by the bpftrace lowering",
    "getminor": "getminor() is not supported by the bpftrace lowering",
    "mutex_owned": "mutex_owned() is an illumos kernel subroutine",
    "mutex_owner": "mutex_owner() is an illumos kernel subroutine",
    "rw_read_held": "rw_read_held() is an illumos kernel subroutine",
    "speculation": "speculations have no bpftrace counterpart",
    "speculate": "speculations have no bpftrace counterpart",
    "commit": "speculations have no bpftrace counterpart",
    "discard": "speculations have no bpftrace counterpart",
    "chill": "chill() is a destructive action bpftrace does not offer",
    "breakpoint": "breakpoint() is a destructive action bpftrace does not offer",
    "panic": "panic() is a destructive action bpftrace does not offer",
    "raise": "raise() is not supported by the bpftrace lowering",
    "stop": "stop() is not supported by the bpftrace lowering",
    "copyout": "copyout() is not supported by the bpftrace lowering",
    "copyoutstr": "copyoutstr() is not supported by the bpftrace lowering",
    "freopen": "freopen() has no bpftrace counterpart",
    "ftruncate": "ftruncate() has no bpftrace counterpart",
    "tracemem": "tracemem() is not supported by the bpftrace lowering",
    "printm": "printm() is not supported by the bpftrace lowering",
    "func": "func() is not supported by the bpftrace lowering",
    "ufunc": "ufunc() is not supported by the bpftrace lowering",
    "mod": "mod() is not supported by the bpftrace lowering",
    "umod": "umod() is not supported by the bpftrace lowering",
    "sym": "sym() is not supported by the bpftrace lowering",
    "usym": "usym() is not supported by the bpftrace lowering",
    "uaddr": "uaddr() is not supported by the bpftrace lowering",
    "jstack": "jstack() has no bpftrace counterpart",
    "setopt": "setopt() has no bpftrace counterpart",
    "getf": "getf() is an illumos kernel subroutine",
    "ddi_pathname": "ddi_pathname() is an illumos kernel subroutine",
    "msgsize": "msgsize() is an illumos kernel subroutine",
    "msgdsize": "msgdsize() is an illumos kernel subroutine",
    "htonl": "htonl() is not supported by the bpftrace lowering",
    "htons": "htons() is not supported by the bpftrace lowering",
    "ntohl": "ntohl() is not supported by the bpftrace lowering",
    "ntohs": "ntohs() is not supported by the bpftrace lowering",
}

# D names of aggregating functions -> bpftrace functions that behave the same way.
SIMPLE_AGGREGATIONS: dict[str, str] = {"count": "count", "sum": "sum", "avg": "avg", "min": "min"}
