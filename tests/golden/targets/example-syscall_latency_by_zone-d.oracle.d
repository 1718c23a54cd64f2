refused:
examples/syscall_latency_by_zone.d:9:11: zonename is not available in Oracle's D 2.0 (Linux has no zones; use the bpftrace backend's cgroup mapping or drop the key) [D_UNSUPPORTED_ZONENAME]
