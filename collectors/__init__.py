"""dtscope.collectors."""
