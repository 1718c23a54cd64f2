refused:
probes/tcp_bytes_linux.py:20:10: zonename is not available in Oracle's D 2.0 (Linux has no zones; use the bpftrace backend's cgroup mapping or drop the key) [D_UNSUPPORTED_ZONENAME]
probes/tcp_bytes_linux.py:25:14: zonename is not available in Oracle's D 2.0 (Linux has no zones; use the bpftrace backend's cgroup mapping or drop the key) [D_UNSUPPORTED_ZONENAME]
