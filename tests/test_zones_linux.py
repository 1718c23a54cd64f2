"""Zones on Linux are cgroup v2 paths; the global zone is the cgroup2 root."""

from __future__ import annotations

import pytest
from dtscope.collectors.linux_host import LinuxHost
from dtscope.dscript.bpftrace import StaticHost, lower
from dtscope.dscript.parser import parse
from workloads.dtscope_run import python_child, run_d_jsonl

HOST = StaticHost()

# --------------------------------------------------------------------------- the global zone


def test_global_zone_is_the_cgroup2_root():
    program = parse('syscall::read:entry /zonename == "global"/ { @g = count(); }', "z.d")
    lowered = lower(program, LinuxHost(cgroup_root="/sys/fs/cgroup/unified"))
    assert 'cgroup == cgroupid("/sys/fs/cgroup/unified")' in lowered.text
    program = parse('syscall::read:entry /zonename != "web/db"/ { @g = count(); }', "z.d")
    assert 'cgroup != cgroupid("/sys/fs/cgroup/unified/web/db")' in lower(
        program, LinuxHost(cgroup_root="/sys/fs/cgroup/unified")).text


@pytest.mark.tracing
def test_zonename_global_singles_out_the_root_cgroup(dtscope_cli, tmp_path):
    import os

    root = LinuxHost().cgroup_root
    zone = os.path.join(root, f"dtscope-test-{os.getpid()}")
    os.mkdir(zone)
    try:
        command = python_child(tmp_path, f"""
            with open({os.path.join(root, "cgroup.procs")!r}, "w") as fh:
                fh.write(str(os.getpid()))  # the root cgroup: the "global zone"
            for _ in range(100):
                os.getppid()
            with open({os.path.join(zone, "cgroup.procs")!r}, "w") as fh:
                fh.write(str(os.getpid()))
            for _ in range(50):
                os.getppid()
        """)
        rows, _, _, _ = run_d_jsonl(
            dtscope_cli, tmp_path,
            'syscall::getppid:entry /pid == $target && zonename == "global"/ { @global = count(); }\n'
            'syscall::getppid:entry /pid == $target && zonename != "global"/ { @zoned[zonename] = count(); }\n',
            "-c", command,
        )
    finally:
        os.rmdir(zone)
    assert {(r["aggregation"], tuple(r["keys"])): r["value"] for r in rows} == {
        ("global", ()): 100, ("zoned", (f"/dtscope-test-{os.getpid()}",)): 50}
