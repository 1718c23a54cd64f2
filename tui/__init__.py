"""dtscope.tui: `dtscope top`, the live terminal UI (Textual).

- ``state``: snapshots -> table rows (numpy columns), fixed-window history, regrouping.
- ``estimate``: percentiles from buckets (how, and why it is an estimate), number formats.
- ``source``: where snapshots come from (live tracer via the collectors' session, or a replay).
- ``recorder``: spools the run to disk so `w` can save it without holding it in memory.
- ``app``: bindings and screens; one widget per file (``aggtable``, ``detail``,
  ``distribution``, ``sparkline``, ``heatmap``, ``statusbar``, ``screens``); ``top.tcss``.
"""
