"""Modal screens: help, a one-line prompt (filter, file name), a choice list (group, zone)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

HELP_TEXT = """\
dtscope top: live latency triage

  q      quit                     p      pause / resume
  s      sort by next column      S      reverse the sort
  /      filter rows by text      esc    clear filter, zone and grouping
  g      group by key columns     z      show one zone (cgroup)
  + -    longer / shorter interval (replay: slower / faster)
  w      write the run so far to a JSONL file
  [ ]    previous / next aggregation (also: click its tab)
  ↑ ↓    select a row (its distribution is drawn below)
  ?      this help

Rates are per second over the last interval; count is the total
since the view started. p50/p90/p99 are estimated from the
buckets by linear interpolation inside the bucket that holds the
rank; max is the top of the highest non-empty bucket.
Worst rows (highest p99, or highest rate) are shown in red.

press any key to close"""


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Static {
        width: auto;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static(HELP_TEXT, id="help")

    def on_key(self, event) -> None:
        event.stop()
        self.dismiss(None)


class PromptScreen(ModalScreen[str | None]):
    """Asks for one line of text; Enter answers, Escape cancels (answers None)."""

    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical {
        width: 70;
        max-width: 100%;
        height: auto;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[Binding]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str = "", placeholder: str = ""):
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceScreen(ModalScreen[object]):
    """Picks one of ``choices`` ((label, value) pairs); Escape answers the ``cancelled`` marker."""

    CANCELLED = object()
    DEFAULT_CSS = """
    ChoiceScreen { align: center middle; }
    ChoiceScreen > Vertical {
        width: 60;
        max-width: 100%;
        height: auto;
        max-height: 90%;
        border: round $primary;
        background: $surface;
    }
    ChoiceScreen OptionList { height: auto; max-height: 16; }
    """
    BINDINGS: ClassVar[list[Binding]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, choices: Sequence[tuple[str, object]]):
        super().__init__()
        self.title_text = title
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            yield OptionList(*[Option(label, id=str(i)) for i, (label, _) in enumerate(self.choices)])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[int(event.option.id)][1])

    def action_cancel(self) -> None:
        self.dismiss(self.CANCELLED)
