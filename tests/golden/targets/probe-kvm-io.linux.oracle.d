refused:
probes/kvm_io.py:21:9: zonename is not available in Oracle's D 2.0 (Linux has no zones; use the bpftrace backend's cgroup mapping or drop the key) [D_UNSUPPORTED_ZONENAME]
probes/kvm_io.py:26:10: zonename is not available in Oracle's D 2.0 (Linux has no zones; use the bpftrace backend's cgroup mapping or drop the key) [D_UNSUPPORTED_ZONENAME]
probes/kvm_io.py:31:10: zonename is not available in Oracle's D 2.0 (Linux has no zones; use the bpftrace backend's cgroup mapping or drop the key) [D_UNSUPPORTED_ZONENAME]
