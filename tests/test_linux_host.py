"""The Linux host as the bpftrace lowering sees it (collectors/linux_host.py), on a fake tracefs."""

from __future__ import annotations

from dtscope.collectors.linux_host import LinuxHost, elf_functions, shared_objects
from dtscope.dscript.tracepoints import parse_format

READ_ENTER = """name: sys_enter_read
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:unsigned int fd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:char * buf;\toffset:24;\tsize:8;\tsigned:0;
\tfield:size_t count;\toffset:32;\tsize:8;\tsigned:0;
"""
PROCESS_EXIT = """name: sched_process_exit
format:
\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;
\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:bool group_dead;\toffset:32;\tsize:1;\tsigned:0;
"""


def test_tracepoint_format_parsing():
    fmt = parse_format(READ_ENTER + PROCESS_EXIT.split("format:")[1], "syscalls", "sys_enter_read")
    assert [f.name for f in fmt.fields] == ["fd", "buf", "count", "comm", "pid", "group_dead"]
    assert fmt.field("buf").is_pointer and fmt.field("comm").is_string and not fmt.field("fd").is_string
    assert fmt.field("count").type == "size_t" and fmt.field("comm").type == "char[16]"


def test_host_reads_a_tracefs_tree(tmp_path):
    events = tmp_path / "tracing" / "events"
    for name, text in {"syscalls/sys_enter_read": READ_ENTER, "sched/sched_process_exit": PROCESS_EXIT,
                       "syscalls/sys_exit_read": "format:\n"}.items():
        (events / name).mkdir(parents=True)
        (events / name / "format").write_text(text)
    host = LinuxHost(str(events), cgroup_root="/sys/fs/cgroup")
    assert host.tracefs == str(tmp_path / "tracing")
    assert [f.name for f in host.tracepoint_format("syscalls", "sys_enter_read").fields] == ["fd", "buf", "count"]
    assert host.tracepoint_format("syscalls", "sys_enter_nope") is None
    assert host.tracepoint_events("syscalls") == ["sys_enter_read", "sys_exit_read"]
    assert host.tracepoint_events("nope") == []
    assert not host.has_kprobes()
    (tmp_path / "tracing" / "kprobe_events").write_text("")
    assert host.has_kprobes()
    assert host.syscall_numbers()["getppid"] == 110  # x86-64


def test_objects_and_functions_of_a_running_process():
    import os
    import sys

    objects = shared_objects(sys.executable, os.getpid())
    libc = next(path for path in objects if "libc.so" in path)
    assert "malloc" in elf_functions(libc) and "printf" in elf_functions(libc)
    assert elf_functions("/etc/hostname") == frozenset()
