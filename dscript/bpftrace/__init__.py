"""The bpftrace target: D lowered to a bpftrace program, for Linux hosts.

``lower(program, host) -> Lowered``: the bpftrace text, the aggregations it feeds, and the
framing (:class:`~.maps.BpftraceFraming`: the bpftrace maps that hold each aggregation and
how to read them back). Every construct either has a faithful bpftrace form or is reported;
all problems are raised together as one :class:`~dtscope.dscript.diagnostics.DiagnosticError`
with positions. The parts:

* :mod:`.probes`: which bpftrace probes serve a D probe description;
* :mod:`.generator` with its mixins :mod:`.names`, :mod:`.aggregating`, :mod:`.actions`;
* :mod:`.tables`: the mappings as data (variables, members, probes, conversions);
* :mod:`.maps`: the contract with the collector;
* :mod:`.host`: what the lowering asks of the machine (the collector provides it).
"""

from __future__ import annotations

from .. import ast as A
from ..lowered import Lowered
from .host import Host, StaticHost, TracerVersion
from .maps import BpftraceFraming, MapInfo, aggregations_of_maps

__all__ = ["BpftraceFraming", "Host", "MapInfo", "StaticHost", "TracerVersion", "aggregations_of_maps", "lower"]


def lower(
    program: A.Program,
    host: Host,
    *,
    interval: float | None = None,
    target_pid: int | None = None,
    target_path: str | None = None,
    macro_args: list[str] | None = None,
    stack_frames: int | None = None,
    ustack_frames: int | None = None,
) -> Lowered:
    """Lower a D program to bpftrace; raises DiagnosticError listing every problem.

    ``target_pid`` (``-p``) or ``target_path`` (the ``-c`` command's executable) serve
    ``$target`` and the ``pid$target`` / USDT probes; without a pid, ``$target`` is
    bpftrace's ``cpid`` and the program must run with ``bpftrace -c``.

    ``macro_args`` (the run's ``$1``..): substituted as DTrace does when it compiles,
    ``$N`` as an integer (an error when the argument is not one), ``$$N`` as a string
    literal; a missing argument is an error unless the program sets ``defaultargs`` (then
    0 and ""). Without them (``dtscope compile``) ``$N`` stays bpftrace's positional
    parameter. ``stack_frames``/``ustack_frames`` (the ``stackframes``/``ustackframes``
    options) are the depth of ``stack()``/``ustack()`` written without one.
    """
    # The generator is imported here: reading a lowered program's maps back (the
    # collector) needs this package's maps module, not the whole lowering.
    from .generator import BpftraceGenerator

    if interval is not None and interval <= 0:
        raise ValueError("interval must be positive")
    options = program.options()
    generator = BpftraceGenerator(
        host,
        target_pid=target_pid,
        target_path=target_path,
        interval=interval,
        macro_args=macro_args,
        default_args="defaultargs" in options,
        stack_frames={"stack": stack_frames, "ustack": ustack_frames},
    )
    text = generator.generate(program)
    maps = dict(generator.maps)
    return Lowered(
        target="bpftrace",
        text=text,
        aggregations=aggregations_of_maps(maps),
        framing=BpftraceFraming(maps=maps),
        options=dict(options),
        features=frozenset(generator.features),
    )
