"""dtscope.exporters."""
