"""dtscope: observability toolkit built on DTrace.

The installed namespace maps the repository's top-level folders:
``dtscope.dscript`` (D front end), ``dtscope.collectors`` (tracer backends and the
snapshot model), ``dtscope.tui``, ``dtscope.exporters`` and ``dtscope.probes``.
"""

__version__ = "0.1.0"
