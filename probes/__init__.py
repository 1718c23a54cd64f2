"""dtscope.probes."""
