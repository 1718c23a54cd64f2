"""dtscope.tui."""
