refused:
probes/kvm_exit_latency_linux.py:38:13: zonename is not available in Oracle's D 2.0 (Linux has no zones; use the bpftrace backend's cgroup mapping or drop the key) [D_UNSUPPORTED_ZONENAME]
probes/kvm_exit_latency_linux.py:51:23: zonename is not available in Oracle's D 2.0 (Linux has no zones; use the bpftrace backend's cgroup mapping or drop the key) [D_UNSUPPORTED_ZONENAME]
