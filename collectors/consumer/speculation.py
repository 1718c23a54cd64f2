"""Speculative tracing: ``speculation()``, ``speculate()``, ``commit()``, ``discard()``.

A clause that calls ``speculate(id)`` records its output into speculation ``id`` instead
of printing it; ``commit(id)`` prints what the speculation holds, ``discard(id)`` throws it
away. DTrace splits the work between the kernel (ids, which clauses run) and libdtrace
(buffers, printing); dtscope splits it the same way. The semantics below are Oracle's
DTrace for Linux (D 2.0: ``bpf/speculation.c``, ``libdtrace/dt_cg.c``, ``dt_consume.c``),
checked against the real ``dtrace`` by ``tests/test_consumer_speculation.py``.

Kernel part (:class:`KernelSpeculations` is its reference model; the lowering emits it)
---------------------------------------------------------------------------------------
* **Ids.** ``speculation()`` returns the first free id in ``1..min(nspec, 16)`` and marks
  it active; 0 when none is free, counting a *failed speculation*: "busy" if some id is
  draining (committed or discarded, not yet freed), else "unavailable". Oracle searches
  at most 16 ids whatever ``nspec`` says; ``nspec`` 0 fails when tracing starts.
  A predicate may test the result (``/self->spec/``), so the id must exist in the kernel.
* **speculate(id).** Valid only for an active id (allocated, not draining). Otherwise the
  rest of the clause is abandoned silently: no output, no drop counted, and statements
  after ``speculate()`` (``self->n++``) do not run. Statements before it do.
* **specsize in the kernel.** Each value stored by a speculative clause is checked: if its
  end offset in the clause's record (16 header bytes, then each value at its natural
  alignment) exceeds ``specsize``, a *speculative drop* is counted and the rest of the
  clause is abandoned. As observed on this build, only the clause's own data counts here,
  not what the speculation already holds (the consumer checks that, below).
* **commit(id)/discard(id).** An id above ``nspec`` (as an unsigned 32-bit value, so
  ``commit(-1)`` too) is an *illegal operation* fault (the clause's ERROR); an id that is
  not active is ignored (``commit(0)``, twice, after ``discard``); an active id becomes
  draining, and a commit/discard record goes to the consumer. A clause with only
  commit/discard prints nothing, even without ``quiet``.
* **Freeing.** A draining id is free again once the consumer has drained it: in Oracle,
  libdtrace deletes it from the kernel's map, so within the same probe firing (and until
  the consumer has run) the id stays busy. :meth:`KernelSpeculations.drained` is that
  moment. Oracle's quirk, kept: libdtrace frees only ids it holds data for, so an id
  committed or discarded before any of its records reached the consumer (nothing
  speculated, or everything dropped) stays busy until the end (illumos frees it).

Consumer part (:class:`SpeculationBuffers`)
-------------------------------------------
* A record made under speculation ``id`` (every record of a clause after a successful
  ``speculate(id)``, and an empty one for a clause whose only action is ``speculate``:
  it prints the ``CPU ID FUNCTION:NAME`` line when committed without ``quiet``) is kept in
  the speculation's buffer, in arrival order.
* **specsize in the consumer.** A record is refused, counting a *speculative drop*, when
  the buffer's size plus the record's size exceeds ``specsize``; the size of a record is
  its DTrace size: :func:`record_size` (16 + the values at natural alignment, rounded up
  to 8; a string takes ``strsize + 1``). Later, smaller records may still fit.
* On commit the buffer is printed at the commit's place in the output, records in their
  order, each with its own probe and CPU; on discard it is dropped. Either way the id is
  handed back to the kernel (:meth:`SpeculationBuffers.take_freed`). Records of a
  committed (discarded) speculation that arrive after the commit (other CPUs' buffers
  drained later) are printed (dropped) as they come.
* Speculations never committed are lost at exit, silently.
* Drops are reported as libdtrace reports them, on stderr, when it reads the status
  (about once a second and at exit): :func:`drop_messages`.

Lowering to bpftrace 0.17 (for the lead)
----------------------------------------
* State: ``@dt_spec[id]`` (absent or 0 free, 1 active, 2 draining) and
  ``@dt_spec_gen[id]`` (incremented at each allocation). Counters: ``@dt_spec_busy``,
  ``@dt_spec_unavail``, ``@dt_spec_drops`` as ``count()`` (per-CPU, exact).
* ``speculation()``: unrolled over ``id = 1..min(nspec, 16)``: the first ``id`` whose
  ``@dt_spec[id]`` is 0 gets 1 and a new generation; remember whether one was 2.
  **Race:** bpftrace 0.17 has no atomic compare-and-swap on maps (``@m[k]++`` is a
  lookup, an add and an update; ``delete()`` returns nothing), so two CPUs running
  ``speculation()`` at the same moment can get the same id. DTrace's allocation is atomic
  (``bpf_map_update_elem(BPF_NOEXIST)``). The lowering is exact only when no two clauses
  calling ``speculation()`` can run at once: all of them on ``BEGIN``, ``END`` or one
  ``tick-*`` probe (one timer, one CPU at a time). Elsewhere (``syscall``, ``profile-*``
  which fires on every CPU together) refuse: "speculation() in <probe> (file:line:col):
  bpftrace 0.17 cannot allocate a speculation id atomically across CPUs".
* ``speculate(x)``: ``if (@dt_spec[x] != 1) { <skip to the end of this clause> }``, then
  every record of the clause carries ``x`` and ``@dt_spec_gen[x]``; for a non-default
  ``specsize`` also the kernel check above (the lowering knows each value's offset). A
  speculate-only clause emits one empty record.
* ``commit(x)``/``discard(x)``: ``(uint32)x > nspec`` faults (ERROR, illegal operation);
  else if ``@dt_spec[x] == 1`` set 2; emit a commit/discard record carrying ``x`` and its
  generation (the consumer ignores one that matches nothing).
* Freeing: bpftrace's consumer cannot write the kernel's maps, so a cleaner probe
  (``interval:ms:10``, unrolled over the ids) turns 2 into 0 for the ids that had a
  record (``@dt_spec_data[id] = 1`` when a speculative record is emitted, cleared at
  allocation), which is Oracle's leak above too. Until it runs the id is busy, as in
  DTrace until libdtrace has drained it; the generation lets the consumer put a late
  record of a reused id into the right speculation.
* Output of different CPUs reaches bpftrace's consumer in no global order (one perf
  buffer per CPU); DTrace has the same freedom, which is why a late record of a committed
  speculation is printed when it arrives.

illumos differs: speculative buffers are per CPU (``specsize`` each), the states are
ACTIVE/ACTIVEONE/ACTIVEMANY/COMMITTING/COMMITTINGMANY/DISCARDING, and a committed id
becomes free when the kernel's cleaner (``cleanrate``) has processed every CPU.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .strings import FAULT_ILLOP, SubroutineFault

DEFAULT_NSPEC = 1
DEFAULT_SPECSIZE = 4 * 1024 * 1024  # Oracle's default (dt_open.c)
MAX_SEARCHED_IDS = 16  # Oracle's dt_speculation() looks at ids 1..16 only
RECORD_HEADER = 16  # bytes before a clause's first value in its DTrace record


class SpecState(Enum):
    FREE = 0
    ACTIVE = 1
    DRAINING = 2


# ------------------------------------------------------------------ the kernel's part


@dataclass
class KernelSpeculations:
    """What the kernel does for speculations, as a model the lowering follows (and the
    tests drive)."""

    nspec: int = DEFAULT_NSPEC
    specsize: int = DEFAULT_SPECSIZE
    states: dict[int, SpecState] = field(default_factory=dict)
    generations: dict[int, int] = field(default_factory=dict)
    busy: int = 0  # failed speculation(): some buffer still draining
    unavailable: int = 0  # failed speculation(): none free
    drops: int = 0  # kernel-side speculative drops (specsize)

    def __post_init__(self) -> None:
        if self.nspec < 1:
            raise ValueError("nspec must be at least 1 (DTrace cannot create its map)")

    def state(self, spec_id: int) -> SpecState:
        return self.states.get(spec_id, SpecState.FREE)

    def speculation(self) -> int:
        """``speculation()``: a new id, or 0 (counted as busy or unavailable)."""
        any_draining = False
        for spec_id in range(1, min(self.nspec, MAX_SEARCHED_IDS) + 1):
            state = self.state(spec_id)
            if state is SpecState.FREE:
                self.states[spec_id] = SpecState.ACTIVE
                self.generations[spec_id] = self.generations.get(spec_id, 0) + 1
                return spec_id
            if state is SpecState.DRAINING:
                any_draining = True
        if any_draining:
            self.busy += 1
        else:
            self.unavailable += 1
        return 0

    def speculate(self, spec_id: int) -> bool:
        """``speculate(id)``: False means the rest of the clause is abandoned."""
        return self.state(_u32(spec_id)) is SpecState.ACTIVE

    def store_fits(self, end_offset: int) -> bool:
        """The kernel's specsize check for a value a speculative clause stores, ending at
        ``end_offset`` in the clause's record. False: a drop, the clause is abandoned."""
        if end_offset > self.specsize:
            self.drops += 1
            return False
        return True

    def _finish(self, spec_id: int) -> int | None:
        spec_id = _u32(spec_id)
        if spec_id > self.nspec:
            raise SubroutineFault(FAULT_ILLOP, None)
        if self.state(spec_id) is SpecState.ACTIVE:
            self.states[spec_id] = SpecState.DRAINING
            return self.generations[spec_id]
        return None

    def commit(self, spec_id: int) -> int | None:
        """``commit(id)``: the generation made draining, or None when nothing was active.
        Raises the illegal-operation fault for an id above nspec."""
        return self._finish(spec_id)

    def discard(self, spec_id: int) -> int | None:
        """``discard(id)``: as :meth:`commit`."""
        return self._finish(spec_id)

    def drained(self, freed: list[int]) -> None:
        """The consumer has drained these ids (:meth:`SpeculationBuffers.take_freed`):
        they are free again."""
        for spec_id in freed:
            if self.state(spec_id) is SpecState.DRAINING:
                del self.states[spec_id]


def _u32(value: int) -> int:
    return value & 0xFFFFFFFF


# ------------------------------------------------------------------ the consumer's part


@dataclass
class _Buffer:
    records: list[Any] = field(default_factory=list)
    size: int = 0
    # None while active; "commit" / "discard" once the commit/discard record was seen.
    outcome: str | None = None


class SpeculationBuffers:
    """libdtrace's side: speculative records held by (id, generation) until their commit
    or discard. Records are opaque to it (whatever the consumer prints)."""

    def __init__(self, specsize: int = DEFAULT_SPECSIZE, *, remember: int = 1024):
        self.specsize = specsize
        self.drops = 0  # consumer-side speculative drops
        self._buffers: OrderedDict[tuple[int, int], _Buffer] = OrderedDict()
        self._remember = remember  # finished speculations kept for late records
        self._freed: list[int] = []

    def record(self, spec_id: int, record: Any, size: int, generation: int = 0) -> list[Any]:
        """A clause's record made under ``spec_id`` (0: not speculative). Returns what to
        print now: the record itself when it is not speculative or its speculation is
        committed already, else nothing (held, dropped or discarded)."""
        if spec_id == 0:
            return [record]
        key = (spec_id, generation)
        buffer = self._buffers.get(key)
        if buffer is not None and buffer.outcome == "discard":
            return []
        if (buffer.size if buffer else 0) + size > self.specsize:
            self.drops += 1
            return []
        if buffer is None:
            buffer = self._buffers[key] = _Buffer()
        buffer.size += size
        if buffer.outcome == "commit":
            return [record]
        buffer.records.append(record)
        return []

    def _finish(self, spec_id: int, generation: int, outcome: str) -> list[Any]:
        key = (spec_id, generation)
        buffer = self._buffers.get(key)
        if buffer is None:
            # Nothing was kept for it. Oracle's libdtrace then never frees the id (it
            # frees only ids it holds data for): the id stays busy for good. Later
            # records (another CPU's) still follow the outcome.
            self._buffers[key] = _Buffer(outcome=outcome)
            self._forget_old()
            return []
        if buffer.outcome is not None:
            return []  # a second commit, a commit after a discard...: nothing
        buffer.outcome = outcome
        held, buffer.records = buffer.records, []
        self._buffers.move_to_end(key)
        self._freed.append(spec_id)
        self._forget_old()
        return held if outcome == "commit" else []

    def commit(self, spec_id: int, generation: int = 0) -> list[Any]:
        """The commit record: returns the held records, to print here, in order."""
        return self._finish(spec_id, generation, "commit")

    def discard(self, spec_id: int, generation: int = 0) -> None:
        """The discard record: the held records are dropped."""
        self._finish(spec_id, generation, "discard")

    def take_freed(self) -> list[int]:
        """The ids drained since the last call: libdtrace deletes them from the kernel's
        map, so ``speculation()`` can hand them out again."""
        freed, self._freed = self._freed, []
        return freed

    def held(self, spec_id: int, generation: int = 0) -> int:
        """How many records speculation ``spec_id`` holds (not yet committed)."""
        buffer = self._buffers.get((spec_id, generation))
        return len(buffer.records) if buffer else 0

    def _forget_old(self) -> None:
        finished = [key for key, b in self._buffers.items() if b.outcome is not None]
        for key in finished[: max(0, len(finished) - self._remember)]:
            del self._buffers[key]


# ------------------------------------------------------------------ sizes and messages

_ALIGN_OF = {1: 1, 2: 2, 4: 4, 8: 8}


def record_layout(value_sizes: list[int]) -> tuple[list[int], int]:
    """Oracle's layout of a clause's record: (the end offset of each value, the record's
    size). Values are placed at their natural alignment (1, 2, 4 or 8 bytes; anything
    else, such as a string of ``strsize + 1`` bytes, at 1) after the 16-byte header; the
    size is rounded up to 8."""
    offset = RECORD_HEADER
    ends = []
    for size in value_sizes:
        align = _ALIGN_OF.get(size, 1)
        offset = (offset + align - 1) // align * align + size
        ends.append(offset)
    return ends, (offset + 7) // 8 * 8


def record_size(value_sizes: list[int]) -> int:
    """The size of a clause's record as libdtrace counts it against ``specsize``."""
    return record_layout(value_sizes)[1]


@dataclass(frozen=True)
class DropCounts:
    """The speculation counters libdtrace reads with its status."""

    speculative: int = 0  # kernel and consumer specsize drops together
    busy: int = 0
    unavailable: int = 0


# libdtrace's table (dt_handle.c, _dt_droptab): order, noun, suffix.
_DROP_MESSAGES = [
    ("speculative", "speculative drop", ""),
    ("busy", "failed speculation", " (available buffer(s) still busy)"),
    ("unavailable", "failed speculation", " (no speculative buffer available)"),
]


def drop_messages(before: DropCounts, after: DropCounts) -> list[str]:
    """What dtrace prints on stderr for the counters' growth between two status reads:
    ``dtrace: 2 speculative drops``, ``dtrace: 1 failed speculation (no speculative
    buffer available)``..."""
    lines = []
    for attribute, noun, suffix in _DROP_MESSAGES:
        grown = getattr(after, attribute) - getattr(before, attribute)
        if grown:
            lines.append(f"dtrace: {grown} {noun}{'s' if grown > 1 else ''}{suffix}")
    return lines
