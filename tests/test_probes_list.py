"""The probe library's registry and `dtscope probes`."""

from __future__ import annotations

import os

import pytest
from dtscope.dscript.pyscript import compile_file

from dtscope import probes
from dtscope.errors import UsageError, UserError

# What issue 6 asks the library to cover, by area.
REQUIRED = {
    "zones": {"zone-cpu", "zone-syscalls", "zone-disk-io"},
    "kvm": {"kvm-exits", "kvm-exit-latency", "kvm-io"},
    "zfs": {"zfs-latency", "zfs-io-size", "zfs-txg", "zfs-arc", "zfs-fuse-requests", "zfs-fuse-daemon"},
    "net": {"tcp-bytes", "tcp-connections", "tcp-connect-latency", "tcp-retransmits", "net-packets"},
    "cpu": {"cpu-profile", "cpu-profile-user", "cpu-profile-kernel", "off-cpu", "off-cpu-stacks"},
    "syscalls": {"syscall-counts", "syscall-latency"},
    "disk": {"disk-latency", "disk-io-size"},
}
ILLUMOS_ONLY = {"zfs-txg", "zfs-arc", "off-cpu-stacks"}
LINUX_ONLY = {"zfs-fuse-requests", "zfs-fuse-daemon"}

ALL_SCRIPTS = sorted({path for p in probes.list() for path in p.scripts.values()})


def test_every_area_has_its_probes():
    for area, names in REQUIRED.items():
        assert {p.name for p in probes.list(area)} >= names, area
    assert {p.area for p in probes.list()} == set(probes.AREAS)


def test_platforms():
    for probe in probes.list():
        expected = ["illumos"] if probe.name in ILLUMOS_ONLY else ["linux"] if probe.name in LINUX_ONLY else ["illumos", "linux"]
        assert probe.platforms == expected, probe.name


def test_metadata_is_complete():
    for probe in probes.list():
        assert probe.description and "\n" not in probe.description, probe.name
        assert probe.units, f"{probe.name} declares no units"
        for platform_units in probe.units_by_platform.values():
            assert set(platform_units.values()) <= {"ns", "bytes", "count"}, probe.name
        for param in probe.params:
            assert param.default is not None, f"{probe.name}: parameter {param.name} needs a default"


@pytest.mark.parametrize("script", ALL_SCRIPTS, ids=[p.name for p in ALL_SCRIPTS])
def test_fast_reader_agrees_with_the_compiler(script):
    compiled = compile_file(str(script))
    meta, params = probes.read_declarations(script)
    for key in ("name", "area", "description", "platforms", "units", "labels"):
        assert meta[key] == compiled.metadata[key], key
    assert [(p.name, p.type, p.default) for p in params] == [(p.name, p.type, p.default) for p in compiled.params]
    # every aggregation the script declares has a unit
    assert set(compiled.aggregations) == set(meta["units"])


def test_get_and_platform_choice(monkeypatch):
    probe = probes.get("tcp-bytes")
    assert probe.path_for("illumos").name == "tcp_bytes.py"
    assert probe.path_for("linux").name == "tcp_bytes_linux.py"
    monkeypatch.setenv("DTSCOPE_PLATFORM", "illumos")
    assert probes.get("zfs-arc").path.name == "zfs_arc.py"
    monkeypatch.setenv("DTSCOPE_PLATFORM", "linux")
    with pytest.raises(UserError, match="probe zfs-arc does not run on linux: it serves illumos"):
        _ = probes.get("zfs-arc").path
    with pytest.raises(KeyError):
        probes.get("no-such-probe")
    with pytest.raises(UsageError, match="unknown area 'web'"):
        probes.list("web")


def test_list_is_ordered_by_area_then_name():
    listed = [(p.area, p.name) for p in probes.list()]
    assert listed == sorted(listed, key=lambda an: (probes.AREAS.index(an[0]), an[1]))


def test_names_prints_bare_names(dtscope_cli):
    code, out, err = dtscope_cli("probes", "--names")
    assert code == 0, err
    assert out.splitlines() == [p.name for p in probes.list()]
    code, out, _ = dtscope_cli("probes", "--names", "--area", "kvm")
    assert out.splitlines() == ["kvm-exit-latency", "kvm-exits", "kvm-io"]


def test_listing_shows_areas_descriptions_and_platforms(dtscope_cli):
    code, out, err = dtscope_cli("probes", "--area", "zfs")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "zfs:"
    assert any(line.split()[0] == "zfs-arc" and line.endswith("[illumos only]") for line in lines[1:])
    assert any(line.split()[0] == "zfs-fuse-requests" and line.endswith("[linux only]") for line in lines[1:])
    code, out, _ = dtscope_cli("probes", "--long", "zone-cpu")
    assert "-D hz=<int>  (default 997)" in out
    assert "@samples: count by zone, process" in out


def test_bad_input_is_a_usage_error(dtscope_cli):
    code, _, err = dtscope_cli("probes", "--area", "web")
    assert code == 2 and "invalid choice: 'web'" in err
    code, _, err = dtscope_cli("probes", "nope")
    assert code == 2 and "no such probe: nope" in err and "Traceback" not in err


def test_unserved_platform_fails_before_anything_runs(dtscope_cli, tmp_path):
    # A bpftrace that records being started: it must never be.
    fake = tmp_path / "bpftrace"
    marker = tmp_path / "started"
    fake.write_text(f"#!/bin/sh\ntouch {marker}\n")
    fake.chmod(0o755)
    env = {"DTSCOPE_PLATFORM": "linux"}
    code, _, err = dtscope_cli("run", "zfs-txg", "--duration", "1s", "--bpftrace", str(fake), env=env)
    assert code == 1
    assert "probe zfs-txg does not run on linux: it serves illumos" in err
    assert not marker.exists()
    code, _, err = dtscope_cli("compile", "zfs-fuse-requests", env={"DTSCOPE_PLATFORM": "illumos"})
    assert code == 1 and "serves linux" in err


def test_every_command_takes_a_probe_name(dtscope_cli):
    code, out, err = dtscope_cli("compile", "syscall-counts", env={"DTSCOPE_PLATFORM": "illumos"})
    assert code == 0, err
    assert "@calls[execname, pid, probefunc] = count();" in out


@pytest.mark.skipif(not os.access("/sys/kernel/tracing/events/syscalls", os.R_OK), reason="needs tracefs (root)")
@pytest.mark.parametrize("probe", [p for p in probes.list() if "linux" in p.platforms], ids=lambda p: p.name)
def test_linux_scripts_lower_to_bpftrace(probe):
    """Every Linux script lowers against this kernel's tracepoints (running them is tested
    in test_probes_real.py)."""
    from dtscope.collectors.linux_host import LinuxHost
    from dtscope.dscript.bpftrace import lower

    lowered = lower(compile_file(str(probe.path_for("linux"))).program, LinuxHost())
    assert lowered.framing.maps
