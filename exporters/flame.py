"""Flame graphs: stacks in (folded, DTrace, bpftrace, dtscope runs), pictures out.

The model is a :class:`Profile`: a count per stack, each stack a tuple of frame names
from the root to the leaf (the FlameGraph "folded" convention). Kernel frames carry the
``_[k]`` suffix that FlameGraph's own tools use, so that the kind of a frame survives a
round trip through folded text; renderers strip it for display and colour by it.

Layout follows the "flow" idea: with the stacks sorted, neighbours share a prefix, so
one pass that closes the frames past the shared prefix and opens the new ones yields
every frame with its start and width, without building a tree. Widths are exactly
``count * plot_width / total``.

Outputs: an interactive SVG (script in ``flame_svg.js``, inlined: no external
resources), folded text and speedscope JSON. A differential graph sizes frames by the
AFTER profile and colours them by the change from BEFORE (scaled to the same total).
"""

from __future__ import annotations

import html
import json
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources

from dtscope.collectors.bpftrace_assembler import split_key
from dtscope.collectors.model import read_jsonl

KERNEL_TAG = "_[k]"

# --------------------------------------------------------------------------- model


@dataclass
class Profile:
    """Sample counts per stack (root first). ``warnings`` tell what input was skipped."""

    stacks: dict[tuple[str, ...], int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    dropped_empty: int = 0  # samples whose stack had no frames (idle, no user stack)

    @property
    def total(self) -> int:
        return sum(self.stacks.values())

    def add(self, stack: tuple[str, ...], count: int) -> None:
        if count <= 0:
            return
        if not stack:
            self.dropped_empty += count
            return
        self.stacks[stack] = self.stacks.get(stack, 0) + count


class FlameInputError(ValueError):
    """The input is not in any stack format we read (the message says why)."""


# --------------------------------------------------------------------------- frames

# Offsets make one function into many siblings (``foo+0x1a``, ``foo+0x2c``); like
# FlameGraph's stackcollapse scripts we drop them. Addresses alone are kept.
_OFFSET = re.compile(r"\+(?:0x[0-9a-fA-F]+|\d+)$")
_KERNEL_MODULES = frozenset({"vmlinux", "genunix", "unix", "kernel"})
# Where every kernel stack starts (its root): syscall, interrupt and idle entry points
# on Linux x86-64 and illumos. A user stack never contains these names.
_KERNEL_ENTRY = re.compile(
    r"^(?:entry_SYSCALL|entry_INT80|entry_SYSENTER|asm_(?:exc|sysvec|common)_|ret_from_fork"
    r"|secondary_startup_64|common_startup_64|x86_64_start_kernel|start_kernel"
    r"|cpu_startup_entry|do_syscall_64|_sys_sysenter|sys_syscall32?$)"
)


def clean_frame(frame: str) -> str:
    """One frame as printed by a tracer -> the name shown: trimmed, offset removed."""
    frame = frame.strip()
    return _OFFSET.sub("", frame) if "+" in frame else frame


def looks_kernel(frame: str) -> bool:
    """True when a single frame is certainly kernel (module, address or entry point)."""
    module, tick, func = frame.rpartition("`")
    if tick and module in _KERNEL_MODULES:
        return True
    if func.startswith("0xffff") and len(func) == 18:  # x86-64 kernel half of the address space
        return True
    return bool(_KERNEL_ENTRY.match(func))


def tag_stack(leaf_first: list[str], kind: str | None = None) -> list[str]:
    """Frames (leaf first, as tracers print them) -> root first, kernel frames tagged.

    ``kind`` is "kernel" or "user" when the caller knows it. Otherwise frames up to
    the outermost one that looks like kernel are kernel: a DTrace record that holds
    both a kernel and a user stack prints the kernel part (leaf side) first.
    """
    frames = [clean_frame(f) for f in leaf_first]
    frames = [f for f in frames if f]
    if kind == "kernel":
        kernel_depth = len(frames)
    elif kind == "user":
        kernel_depth = 0
    else:
        kernel_depth = 0
        for i, frame in enumerate(frames):
            if looks_kernel(frame):
                kernel_depth = i + 1
    out = [f + KERNEL_TAG if i < kernel_depth and not f.endswith(KERNEL_TAG) else f
           for i, f in enumerate(frames)]
    out.reverse()
    return out


def is_kernel(name: str) -> bool:
    return name.endswith(KERNEL_TAG)


def display_name(name: str) -> str:
    return name.removesuffix(KERNEL_TAG)


def combine_keys(scalars: list[str], user: list[list[str]], kernel: list[list[str]]) -> tuple[str, ...]:
    """One flame stack from an aggregation key: scalar keys (execname...) at the root,
    then the user stack, then the kernel stack that the user code called into."""
    stack: list[str] = [s for s in scalars if s != ""]
    for part in user:
        stack.extend(part)
    for part in kernel:
        stack.extend(part)
    return tuple(stack)


def _sort_stacks(stacks: list[list[str]], user: list[list[str]], kernel: list[list[str]]) -> None:
    """Stacks of unknown kind: one with any kernel-looking frame is a kernel stack."""
    for leaf_first in stacks:
        frames = [f for f in (clean_frame(x) for x in leaf_first) if f]
        if any(looks_kernel(f) for f in frames):
            kernel.append(tag_stack(frames, "kernel"))
        else:
            user.append(tag_stack(frames, "user"))


def _combine_heuristic(scalars: list[str], stacks: list[list[str]]) -> tuple[str, ...]:
    user: list[list[str]] = []
    kernel: list[list[str]] = []
    _sort_stacks(stacks, user, kernel)
    return combine_keys(scalars, user, kernel)


# --------------------------------------------------------------------------- input formats

FORMATS = ("folded", "dtrace", "bpftrace", "bpftrace-json", "jsonl")


def detect_format(text: str) -> str:
    """Guess the input format from its first lines."""
    head = text[:65536]
    first = next((line for line in head.splitlines() if line.strip()), "")
    if first.lstrip().startswith("{"):
        try:
            record = json.loads(first)
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict):
            if "type" in record and "data" in record:
                return "bpftrace-json"
            if "time" in record:
                return "jsonl"
        raise FlameInputError("input looks like JSON but is neither a dtscope run nor bpftrace -f json")
    if re.search(r"^@\w*\[", head, re.MULTILINE):
        return "bpftrace"
    lines = [line for line in head.splitlines() if line.strip()]
    if lines:
        folded = sum(1 for line in lines if not line[0].isspace() and _FOLDED_LINE.match(line))
        if folded * 2 >= len(lines):
            return "folded"
        if any(_DTRACE_COUNT.match(line) for line in lines):
            return "dtrace"
    raise FlameInputError(
        "cannot tell the input format: expected folded stacks ('a;b;c 12'), DTrace's printed "
        "stack aggregation, bpftrace map output, or a dtscope JSONL run"
    )


_FOLDED_LINE = re.compile(r"^.*\S \d+$")
_DTRACE_COUNT = re.compile(r"^\s+(-?\d+)\s*$")


def parse_stacks(text: str, fmt: str = "auto", aggregation: str | None = None) -> Profile:
    """Any supported input -> :class:`Profile`. ``aggregation`` picks one map or
    aggregation when the input holds several with stacks."""
    if fmt == "auto":
        fmt = detect_format(text)
    if fmt == "folded":
        return parse_folded(text.splitlines())
    if fmt == "dtrace":
        return parse_dtrace(text)
    if fmt == "bpftrace":
        return _select(parse_bpftrace_text(text), aggregation, "map")
    if fmt == "bpftrace-json":
        return _select(parse_bpftrace_json(text), aggregation, "map")
    if fmt == "jsonl":
        try:
            snapshots = list(read_jsonl(text.splitlines()))
        except ValueError as err:
            raise FlameInputError(f"not a readable dtscope run: {err}") from None
        return profile_from_snapshots(snapshots, aggregation)
    raise FlameInputError(f"unknown input format {fmt!r} (one of: auto, {', '.join(FORMATS)})")


def parse_folded(lines: Iterable[str]) -> Profile:
    """FlameGraph's folded format: ``root;child;leaf COUNT`` per line (repeats add up)."""
    counts: dict[str, int] = {}
    bad = 0
    first_bad = ""
    for line in lines:
        stack, sep, number = line.rstrip().rpartition(" ")
        if not sep or not number.isdigit():
            if line.strip() and not line.startswith("#"):
                bad += 1
                first_bad = first_bad or line[:80]
            continue
        counts[stack] = counts.get(stack, 0) + int(number)
    profile = Profile()
    for stack, count in counts.items():
        frames = stack.split(";")
        if "" in frames:  # "a;;b", a leading or trailing ";"
            frames = [f for f in frames if f]
        profile.add(tuple(frames), count)
    if bad:
        if not counts:
            raise FlameInputError(f"no folded stack lines ('a;b;c 12'); first line: {first_bad!r}")
        profile.warnings.append(f"ignored {bad} lines that are not folded stacks (first: {first_bad!r})")
    return profile


def parse_dtrace(text: str) -> Profile:
    """DTrace's printed stack aggregations (``printa`` or the exit-time dump).

    Each record is its frames, one per line, leaf first, then the count alone on a
    line. Several aggregations printed one after another cannot be told apart (DTrace
    prints no names), so they add up; print one aggregation per file.
    """
    profile = Profile()
    frames: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        count = _DTRACE_COUNT.match(line)
        if count:
            if frames:
                profile.add(tuple(tag_stack(frames)), int(count.group(1)))
            frames = []
        elif line.startswith(("dtrace:", "CPU ")):
            continue
        else:
            frames.append(line)
    if not profile.stacks and not profile.dropped_empty:
        raise FlameInputError("no stack records found in the DTrace output (frames, then a count)")
    return profile


# bpftrace text: ``@name[key, key]: 12`` where a stack key spans lines.
_BPFTRACE_ENTRY = re.compile(r"^@(\w*)\[(.*?)\]: (-?\d+)$", re.MULTILINE | re.DOTALL)
def split_bpftrace_key(key: str) -> tuple[list[str], list[list[str]]]:
    """A bpftrace map key (text or JSON spelling) -> (scalar keys, stacks leaf first)."""
    scalars: list[str] = []
    stacks: list[list[str]] = []
    for piece in split_key(key, None)[0]:
        if piece.startswith("\n"):
            stacks.append([f for f in piece.split("\n") if f.strip()])
        elif piece.strip():
            scalars.append(piece.strip())
    return scalars, stacks


def parse_bpftrace_text(text: str) -> dict[str, Profile]:
    maps: dict[str, Profile] = {}
    for match in _BPFTRACE_ENTRY.finditer(text):
        name, key, value = match.group(1), match.group(2), int(match.group(3))
        scalars, stacks = split_bpftrace_key(key)
        maps.setdefault(name, Profile()).add(_combine_heuristic(scalars, stacks), value)
    if not maps:
        raise FlameInputError("no bpftrace map entries ('@[...]: N') found")
    return maps


def parse_bpftrace_json(text: str) -> dict[str, Profile]:
    maps: dict[str, Profile] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise FlameInputError(f"line {number}: not JSON: {err.msg}") from None
        if not isinstance(record, dict) or record.get("type") != "map":
            continue
        for map_name, entries in (record.get("data") or {}).items():
            if not isinstance(entries, dict):
                continue
            profile = maps.setdefault(map_name.lstrip("@"), Profile())
            for key, value in entries.items():
                if not isinstance(value, int):
                    continue  # hist(), stats(): not a count per stack
                scalars, stacks = split_bpftrace_key(key)
                profile.add(_combine_heuristic(scalars, stacks), value)
    if not maps:
        raise FlameInputError("no bpftrace maps with counts found in the JSON output")
    return maps


def _has_stacks(profile: Profile) -> bool:
    return any(len(s) > 1 for s in profile.stacks)


def _select(candidates: dict[str, Profile], wanted: str | None, what: str) -> Profile:
    def label(name: str) -> str:
        return "@" + name

    if wanted is not None:
        key = wanted.lstrip("@")
        if key not in candidates:
            names = ", ".join(label(n) for n in candidates) or "none"
            raise FlameInputError(f"no {what} {label(key)} in the input (found: {names})")
        return candidates[key]
    with_stacks = {n: p for n, p in candidates.items() if _has_stacks(p)} or candidates
    if len(with_stacks) > 1:
        names = ", ".join(label(n) for n in with_stacks)
        raise FlameInputError(f"the input has several {what}s with stacks ({names}): pick one with --aggregation")
    return next(iter(with_stacks.values()))


def _key_kind(key_kind: str, key_name: str, value: object) -> str:
    """'user', 'kernel', 'stack' (unknown kind) or 'scalar' for one aggregation key.

    The backend's key kind ("stack", "ustack") decides when known; a saved run has
    only the key's D expression (``ustack()``), else a multi-line value is a stack.
    """
    if key_kind == "ustack":
        return "user"
    if key_kind == "stack":
        return "kernel"
    if key_kind:
        return "scalar"
    lowered = key_name.lower()
    if "ustack" in lowered:
        return "user"
    if "stack" in lowered:
        return "kernel"
    if isinstance(value, str) and "\n" in value:
        return "stack"
    return "scalar"


def profile_from_snapshots(snapshots: list, aggregation: str | None = None) -> Profile:
    """A dtscope run -> Profile. Snapshots with an ``interval`` hold counts for that
    interval and add up; cumulative snapshots (no interval) are read at the last one."""
    if not snapshots:
        raise FlameInputError("the run has no snapshots")
    names: dict[str, list[str]] = {}
    kinds: dict[str, list[str]] = {}
    for snap in snapshots:
        for row in snap.rows:
            if row.aggregation not in names:
                info = snap.aggregations.get(row.aggregation)
                names[row.aggregation] = list(info.key_names) if info else []
                kinds[row.aggregation] = list(info.key_kinds) if info else []
    cumulative = all(s.interval is None for s in snapshots)
    used = [snapshots[-1]] if cumulative else snapshots
    per_aggregation: dict[str, Profile] = {}
    for snap in used:
        for row in snap.rows:
            if row.is_histogram or row.function not in ("count", "sum"):
                continue
            key_names = names.get(row.aggregation, [])
            key_kinds = kinds.get(row.aggregation, [])
            scalars: list[str] = []
            user: list[list[str]] = []
            kernel: list[list[str]] = []
            unknown: list[list[str]] = []
            for i, value in enumerate(row.keys):
                kind = _key_kind(key_kinds[i] if i < len(key_kinds) else "",
                                 key_names[i] if i < len(key_names) else "", value)
                if kind == "scalar":
                    scalars.append(str(value))
                    continue
                frames = str(value).split("\n")
                if kind == "user":
                    user.append(tag_stack(frames, "user"))
                elif kind == "kernel":
                    kernel.append(tag_stack(frames, "kernel"))
                else:
                    unknown.append(frames)
            _sort_stacks(unknown, user, kernel)
            stack = combine_keys(scalars, user, kernel)
            per_aggregation.setdefault(row.aggregation, Profile()).add(stack, int(row.value))
    if not per_aggregation:
        if not any(snap.rows for snap in snapshots):
            raise FlameInputError("no samples: nothing matched (for --pid or --zone: is it running "
                                  "and using the CPU?)")
        raise FlameInputError("the run has no count() or sum() aggregation to draw")
    return _select(per_aggregation, aggregation, "aggregation")


# --------------------------------------------------------------------------- layout


@dataclass
class Frame:
    """One box: ``depth`` 0 is the root level; ``start`` and ``count`` are in samples."""

    name: str
    depth: int
    start: int
    count: int
    before: float = 0.0  # diff graphs: the BEFORE count (scaled), inclusive


def layout(profile: Profile, min_count: float = 0.0,
           before: dict[tuple[str, ...], float] | None = None) -> list[Frame]:
    """Every frame of the merged stacks, in tree order (a parent before its children).

    Frames narrower than ``min_count`` samples are left out with everything above them.
    """
    # Parallel lists rather than objects: a big profile has hundreds of thousands of
    # frames, most of them too narrow to draw.
    names: list[str] = []
    depths: list[int] = []
    starts: list[int] = []
    counts: list[int] = []
    open_ids: list[int] = []
    previous: tuple[str, ...] = ()
    position = 0
    for stack, count in sorted(profile.stacks.items()):
        shared = 0
        limit = min(len(previous), len(stack))
        while shared < limit and previous[shared] == stack[shared]:
            shared += 1
        # A frame's samples are contiguous: it closes when a stack no longer has it.
        for i in open_ids[shared:]:
            counts[i] = position - starts[i]
        del open_ids[shared:]
        new = len(stack) - shared
        if new:
            first = len(names)
            names.extend(stack[shared:])
            depths.extend(range(shared, len(stack)))
            starts.extend([position] * new)
            counts.extend([0] * new)
            open_ids.extend(range(first, first + new))
        position += count
        previous = stack
    for i in open_ids:
        counts[i] = position - starts[i]

    frames: list[Frame] = []
    skip_below = -1  # depth of a dropped frame: its descendants go too
    for i, depth in enumerate(depths):
        if skip_below >= 0:
            if depth > skip_below:
                continue
            skip_below = -1
        if counts[i] < min_count:
            skip_below = depth
            continue
        frames.append(Frame(names[i], depth, starts[i], counts[i]))
    if before:
        _attach_before(frames, before)
    return frames


def _attach_before(frames: list[Frame], before: dict[tuple[str, ...], float]) -> None:
    """Inclusive BEFORE counts per frame path (frames are in tree order)."""
    inclusive: dict[tuple[str, ...], float] = {}
    for stack, count in before.items():
        for depth in range(1, len(stack) + 1):
            prefix = stack[:depth]
            inclusive[prefix] = inclusive.get(prefix, 0.0) + count
    path: list[str] = []
    for frame in frames:
        del path[frame.depth:]
        path.append(frame.name)
        frame.before = inclusive.get(tuple(path), 0.0)


# --------------------------------------------------------------------------- diff


def diff_profiles(before: Profile, after: Profile, normalize: bool = True) -> tuple[Profile, dict]:
    """(AFTER profile, BEFORE counts per stack). With ``normalize`` BEFORE is scaled to
    AFTER's total, so that a longer or busier capture does not read as growth."""
    scale = 1.0
    if normalize and before.total:
        scale = after.total / before.total
    scaled = {stack: count * scale for stack, count in before.stacks.items()}
    return after, scaled


# --------------------------------------------------------------------------- renderers


@dataclass
class SvgOptions:
    title: str = "Flame Graph"
    width: int = 1200
    frame_height: int = 16
    font_size: float = 12.0
    min_width: str = "0.1"  # pixels, or "N%" of all samples
    reverse: bool = False  # icicle: root on top
    subtitle: str = ""
    count_name: str = "samples"


_PAD = 10
_HEADER = 64
_FOOTER = 34
_CHAR_WIDTH = 0.6  # of the font size: the labels are monospace, so this is exact enough


def min_width_samples(min_width: str, plot_width: float, total: int) -> float:
    """``--min-width`` (pixels, or a percentage with '%') -> samples."""
    text = str(min_width).strip()
    try:
        if text.endswith("%"):
            return float(text[:-1]) / 100.0 * total
        return float(text) * total / plot_width if plot_width > 0 else 0.0
    except ValueError:
        raise FlameInputError(f"--min-width: {min_width!r} is not a number of pixels or a percentage") from None


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(text: str) -> str:
    text = html.escape(text, quote=True)
    return _XML_INVALID.sub("\ufffd", text) if _XML_INVALID.search(text) else text


def frame_color(name: str) -> str:
    """A stable colour per name: warm for user code, blue for kernel frames."""
    v = zlib.crc32(name.encode("utf-8", "replace"))
    a, b, c = (v & 0xFF) / 255, ((v >> 8) & 0xFF) / 255, ((v >> 16) & 0xFF) / 255
    if is_kernel(name):
        return f"rgb({int(40 + 60 * a)},{int(130 + 60 * b)},{int(200 + 55 * c)})"
    return f"rgb({int(205 + 50 * a)},{int(60 + 170 * b)},{int(30 + 40 * c)})"


def diff_color(after: int, before: float, max_change: float) -> str:
    """Red where AFTER grew, blue where it shrank, pale where it held."""
    change = after - before
    if max_change <= 0 or abs(change) < 1e-9:
        return "rgb(235,235,235)"
    strength = min(1.0, abs(change) / max_change)
    fade = int(225 - 190 * strength)
    return f"rgb(255,{fade},{fade})" if change > 0 else f"rgb({fade},{fade},255)"


def _fmt(value: float) -> str:
    return f"{value:.3f}"


def _script() -> str:
    return resources.files(__package__).joinpath("flame_svg.js").read_text(encoding="utf-8")


def render_svg(profile: Profile, options: SvgOptions | None = None,
               before: dict[tuple[str, ...], float] | None = None) -> str:
    """The interactive SVG. With ``before`` (from :func:`diff_profiles`) a diff graph."""
    options = options or SvgOptions()
    total = profile.total
    plot_width = options.width - 2 * _PAD
    min_count = min_width_samples(options.min_width, plot_width, total) if total else 0.0
    frames = layout(profile, min_count, before) if total else []
    max_depth = max((f.depth for f in frames), default=0)
    fh = options.frame_height
    height = _HEADER + (max_depth + 1) * fh + _FOOTER
    scale = plot_width / total if total else 0.0
    is_diff = before is not None
    max_change = max((abs(f.count - f.before) for f in frames), default=0.0) if is_diff else 0.0
    font = options.font_size
    out: list[str] = []
    w = out.append
    w('<?xml version="1.0" standalone="no"?>\n')
    w(
        f'<svg version="1.1" xmlns="http://www.w3.org/2000/svg" width="{options.width}" '
        f'height="{height}" viewBox="0 0 {options.width} {height}" '
        f'data-total="{total}" data-pad="{_PAD}" data-plot-width="{plot_width}" '
        f'data-char-width="{_fmt(font * _CHAR_WIDTH)}" data-min-width="{_fmt(min_count * scale)}" '
        f'data-count-name="{_xml(options.count_name)}" data-diff="{1 if is_diff else 0}">\n'
    )
    w(
        "<style>\n"
        "text { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; fill: #000; }\n"
        f"g.f text {{ font-size: {_fmt(font)}px; pointer-events: none; }}\n"
        "g.f rect { stroke: #fff; stroke-width: 0.5; rx: 2; ry: 2; }\n"
        "g.f:hover rect { stroke: #000; stroke-width: 0.8; cursor: pointer; }\n"
        "g.f.parent rect { opacity: 0.5; }\n"
        "g.f.hidden { display: none; }\n"
        "g.f.match rect { fill: rgb(230,0,230) !important; }\n"
        ".button { font-size: 12px; cursor: pointer; fill: #0645ad; }\n"
        ".button.hidden { display: none; }\n"
        "#title { font-size: 17px; text-anchor: middle; }\n"
        "#subtitle, #legend text { font-size: 11px; fill: #555; }\n"
        "#details, #matched { font-size: 12px; }\n"
        "#matched { text-anchor: end; }\n"
        "</style>\n"
    )
    w(f'<rect x="0" y="0" width="{options.width}" height="{height}" fill="#f8f8f8"/>\n')
    w(f'<text id="title" x="{options.width / 2}" y="22">{_xml(options.title)}</text>\n')
    subtitle = options.subtitle or (
        f"{total:,} {options.count_name}" + ("; size: AFTER, colour: change from BEFORE" if is_diff else "")
    )
    w(f'<text id="subtitle" x="{options.width / 2}" y="38" text-anchor="middle">{_xml(subtitle)}</text>\n')
    w(f'<text id="unzoom" class="button hidden" x="{_PAD}" y="22">Reset Zoom</text>\n')
    w(f'<text id="search" class="button" x="{options.width - _PAD}" y="22" text-anchor="end">Search</text>\n')
    w(f'<text id="resetsearch" class="button hidden" x="{options.width - _PAD - 60}" y="22" '
      'text-anchor="end">Reset Search</text>\n')
    w(f'<text id="matched" x="{options.width - _PAD}" y="{height - 12}"> </text>\n')
    w(f'<text id="details" x="{_PAD}" y="{height - 12}"> </text>\n')
    w(_legend(options, is_diff))
    w('<g id="frames">\n')
    colors: dict[str, str] = {}
    names: dict[str, tuple[str, str]] = {}
    char_px = font * _CHAR_WIDTH
    percent = 100.0 / total if total else 0.0
    count_name = options.count_name
    for f in frames:
        x = _PAD + f.start * scale
        width = f.count * scale
        if options.reverse:
            y = _HEADER - 8 + f.depth * fh
        else:
            y = height - _FOOTER - (f.depth + 1) * fh
        cached = names.get(f.name)
        if cached is None:
            shown = display_name(f.name)
            cached = names[f.name] = (shown, _xml(shown))
        shown, name_xml = cached
        chars = int((width - 6) / char_px)
        label = name_xml if chars >= len(shown) else (
            "" if chars < 3 else _xml(shown[: chars - 2] + ".."))
        if is_diff:
            color = diff_color(f.count, f.before, max_change)
            change = f.count - f.before
            info = (f"{f.count:,} {count_name} after, {_fmt(round(f.before, 1))} before, "
                    f"change {'+' if change >= 0 else ''}{_fmt(round(change, 1))}")
        else:
            color = colors.get(f.name)
            if color is None:
                color = colors[f.name] = frame_color(f.name)
            info = f"{f.count:,} {count_name}, {f.count * percent:.2f}%"
        kernel = ' data-k="1"' if is_kernel(f.name) else ""
        w(
            f'<g class="f" data-s="{f.start}" data-n="{f.count}" data-d="{f.depth}"{kernel}>'
            f"<title>{name_xml}\n({info})</title>"
            f'<rect x="{x:.3f}" y="{y}" width="{width:.3f}" height="{fh - 1}" fill="{color}"/>'
            f'<text x="{x + 3:.3f}" y="{y + fh - 4.5}">{label}</text>'
            "</g>\n"
        )
    w("</g>\n")
    w("<script><![CDATA[\n")
    w(_script().replace("]]>", "]]]]><![CDATA[>"))
    w("\n]]></script>\n</svg>\n")
    return "".join(out)


def _legend(options: SvgOptions, is_diff: bool) -> str:
    y = 50
    x = _PAD
    if is_diff:
        items = [("rgb(255,60,60)", "grew"), ("rgb(60,60,255)", "shrank"), ("rgb(235,235,235)", "same")]
    else:
        items = [(frame_color("user"), "user"), (frame_color("kernel" + KERNEL_TAG), "kernel")]
    parts = ['<g id="legend">']
    for color, label in items:
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{color}"/>'
                     f'<text x="{x + 14}" y="{y}">{label}</text>')
        x += 70
    parts.append("</g>\n")
    return "".join(parts)


def render_folded(profile: Profile, before: dict[tuple[str, ...], float] | None = None) -> str:
    """Folded text, sorted. For a diff: ``stack BEFORE AFTER`` (FlameGraph's difffolded)."""
    lines = []
    if before is None:
        for stack, count in sorted(profile.stacks.items()):
            lines.append(f"{';'.join(stack)} {count}")
    else:
        for stack in sorted(set(profile.stacks) | set(before)):
            lines.append(f"{';'.join(stack)} {round(before.get(stack, 0))} {profile.stacks.get(stack, 0)}")
    return "\n".join(lines) + ("\n" if lines else "")


def render_speedscope(profile: Profile, name: str = "dtscope flame") -> str:
    """speedscope's file format: one sampled profile, frames shared, stacks root first."""
    index: dict[str, int] = {}
    frames: list[dict[str, str]] = []
    samples: list[list[int]] = []
    weights: list[int] = []
    for stack, count in sorted(profile.stacks.items()):
        ids = []
        for frame in stack:
            i = index.get(frame)
            if i is None:
                i = index[frame] = len(frames)
                entry = {"name": display_name(frame)}
                if is_kernel(frame):
                    entry["file"] = "[kernel]"
                frames.append(entry)
            ids.append(i)
        samples.append(ids)
        weights.append(count)
    document = {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "exporter": "dtscope",
        "name": name,
        "activeProfileIndex": 0,
        "shared": {"frames": frames},
        "profiles": [
            {
                "type": "sampled",
                "name": name,
                "unit": "none",
                "startValue": 0,
                "endValue": sum(weights),
                "samples": samples,
                "weights": weights,
            }
        ],
    }
    return json.dumps(document, separators=(",", ":")) + "\n"


OUTPUT_FORMATS = {".svg": "svg", ".folded": "folded", ".txt": "folded", ".json": "speedscope",
                  ".speedscope": "speedscope"}


def output_format(path: str, explicit: str | None) -> str:
    if explicit:
        return explicit
    for suffix, fmt in OUTPUT_FORMATS.items():
        if path.lower().endswith(suffix):
            return fmt
    raise FlameInputError(
        f"cannot tell the output format from {path!r}: use .svg, .folded or .json, or --format"
    )
