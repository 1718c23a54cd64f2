refused:
probes/tcp_connections.py:20:14: zonename is not available in Oracle's D 2.0 (Linux has no zones; use the bpftrace backend's cgroup mapping or drop the key) [D_UNSUPPORTED_ZONENAME]
probes/tcp_connections.py:25:13: zonename is not available in Oracle's D 2.0 (Linux has no zones; use the bpftrace backend's cgroup mapping or drop the key) [D_UNSUPPORTED_ZONENAME]
