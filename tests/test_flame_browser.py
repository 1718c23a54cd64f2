"""The flame graph SVG in a real browser: headless Chromium clicks, hovers and searches.

Chromium is driven over the DevTools protocol through ``--remote-debugging-pipe``
(JSON messages separated by NUL bytes on fds 3 and 4), so no webdriver is needed:
only Debian's ``chromium`` package. Under CI (``CI`` set) a missing Chromium fails
instead of skipping.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from dtscope.exporters import flame

FOLDED = """\
main;foo;bar 5
main;foo 1
main;baz 4
other;work 2
"""
TOTAL = 12


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("CI needs Chromium for the browser test (apt-get install chromium)")
    pytest.skip("chromium is not installed")


def _high_fd(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class DevTools:
    """A minimal DevTools protocol client over Chromium's debugging pipe."""

    def __init__(self, binary: str, profile_dir: str, stderr=subprocess.DEVNULL):
        # Keep the pipe's own fds clear of 3 and 4, so the redirections cannot clash.
        to_chrome_r, self._to_chrome, self._from_chrome, from_chrome_w = (
            _high_fd(fd) for fd in (*os.pipe(), *os.pipe())
        )
        flags = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-extensions", "--disable-default-apps", "--mute-audio",
            f"--user-data-dir={profile_dir}", "--window-size=1300,900",
            "--remote-debugging-pipe", "about:blank",
        ]
        # The pipe must be fds 3 (commands in) and 4 (replies out) in Chromium.
        shell = f'exec "$0" "$@" 3<&{to_chrome_r} 4>&{from_chrome_w}'
        self.process = subprocess.Popen(
            ["bash", "-c", shell, binary, *flags],
            pass_fds=(to_chrome_r, from_chrome_w),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self._pending: list[dict] = []
        self.session: str | None = None

    def close(self) -> None:
        try:
            self.send("Browser.close", session=False, wait=False)
        except OSError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message from Chromium")
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 16)
                if not chunk:
                    raise EOFError("Chromium closed its debugging pipe")
                self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(raw)

    def wait_for(self, predicate, timeout: float = 20.0) -> dict:
        for i, message in enumerate(self._pending):
            if predicate(message):
                return self._pending.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            message = self._read_message(deadline)
            if predicate(message):
                return message
            self._pending.append(message)

    def send(self, method: str, params: dict | None = None, *, session: bool = True, wait: bool = True):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        if not wait:
            return self._next_id
        reply = self.wait_for(lambda m, i=self._next_id: m.get("id") == i)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def open(self, url: str) -> None:
        """Load ``url`` in the one page (attached on first use); forget older events."""
        if self.session is None:
            targets = self.send("Target.getTargets", session=False)["targetInfos"]
            page = next(t for t in targets if t["type"] == "page")
            self.session = self.send("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True},
                                     session=False)["sessionId"]
            self.send("Page.enable")
            self.send("Runtime.enable")
        self._pending.clear()
        self.send("Page.navigate", {"url": url})
        self.wait_for(lambda m: m.get("method") == "Page.loadEventFired")

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def mouse(self, kind: str, x: float, y: float, wait: bool = True):
        params = {"type": kind, "x": x, "y": y, "button": "left" if kind != "mouseMoved" else "none",
                  "clickCount": 1 if kind != "mouseMoved" else 0}
        return self.send("Input.dispatchMouseEvent", params, wait=wait)

    def click(self, x: float, y: float) -> None:
        self.mouse("mouseMoved", x, y)
        self.mouse("mousePressed", x, y)
        self.mouse("mouseReleased", x, y)


# JavaScript helpers evaluated in the page.
FRAME_JS = """
(function (name) {
  var groups = document.querySelectorAll('g.f');
  for (var i = 0; i < groups.length; i++) {
    var title = groups[i].querySelector('title').textContent;
    if (title.split('\\n')[0] === name) return groups[i];
  }
  return null;
})"""


def frame_state(browser: DevTools, name: str) -> dict:
    return browser.evaluate(
        f"""(function () {{
          var g = {FRAME_JS}({json.dumps(name)});
          var r = g.querySelector('rect');
          var box = r.getBoundingClientRect();
          return {{width: +r.getAttribute('width'), x: +r.getAttribute('x'),
                   hidden: g.classList.contains('hidden'), parent: g.classList.contains('parent'),
                   match: g.classList.contains('match'), label: g.querySelector('text').textContent,
                   cx: box.x + box.width / 2, cy: box.y + box.height / 2}};
        }})()"""
    )


def element_center(browser: DevTools, element_id: str) -> tuple[float, float]:
    box = browser.evaluate(
        f"(function () {{ var b = document.getElementById({json.dumps(element_id)}).getBoundingClientRect();"
        " return [b.x + b.width / 2, b.y + b.height / 2]; })()"
    )
    return box[0], box[1]


def search_with_prompt(browser: DevTools, term: str) -> None:
    """Click Search, answer the prompt() it opens, as a user would."""
    x, y = element_center(browser, "search")
    browser.mouse("mouseMoved", x, y)
    browser.mouse("mousePressed", x, y)
    # The click handler blocks in prompt(): the release is answered after the dialog.
    release = browser.mouse("mouseReleased", x, y, wait=False)
    dialog = browser.wait_for(lambda m: m.get("method") == "Page.javascriptDialogOpening")
    assert dialog["params"]["type"] == "prompt"
    browser.send("Page.handleJavaScriptDialog", {"accept": True, "promptText": term})
    browser.wait_for(lambda m: m.get("id") == release)


@pytest.fixture(scope="module")
def browser():
    binary = _chromium()
    with tempfile.TemporaryDirectory(prefix="dtscope-chromium.") as profile_dir:
        devtools = DevTools(binary, profile_dir)
        try:
            yield devtools
        finally:
            devtools.close()


@pytest.fixture(scope="module")
def svg_url(tmp_path_factory) -> str:
    profile = flame.parse_folded(FOLDED.splitlines())
    path: Path = tmp_path_factory.mktemp("flame") / "graph.svg"
    path.write_text(flame.render_svg(profile, flame.SvgOptions(title="browser test", min_width="0")))
    return path.as_uri()


def test_click_zooms_hover_details_and_reset(browser: DevTools, svg_url: str) -> None:
    browser.open(svg_url)
    plot_width = float(browser.evaluate("document.documentElement.getAttribute('data-plot-width')"))
    scale = plot_width / TOTAL
    foo = frame_state(browser, "foo")
    assert foo["width"] == pytest.approx(6 * scale, abs=1e-3)

    # Hover shows the frame's details at the bottom.
    browser.mouse("mouseMoved", foo["cx"], foo["cy"])
    details = browser.evaluate("document.getElementById('details').textContent")
    assert details == "foo (6 samples, 50.00%)"

    browser.click(foo["cx"], foo["cy"])
    foo = frame_state(browser, "foo")
    bar = frame_state(browser, "bar")
    main = frame_state(browser, "main")
    assert foo["width"] == pytest.approx(plot_width, abs=1e-3)
    assert foo["x"] == pytest.approx(10, abs=1e-3)
    assert bar["width"] == pytest.approx(plot_width * 5 / 6, abs=1e-3)
    assert bar["x"] == pytest.approx(10 + plot_width / 6, abs=1e-3)  # main;foo's own sample first
    assert bar["label"] == "bar" and not bar["hidden"]
    assert main["parent"] and main["width"] == pytest.approx(plot_width, abs=1e-3)
    for outside in ("baz", "other", "work"):
        assert frame_state(browser, outside)["hidden"], outside

    x, y = element_center(browser, "unzoom")
    browser.click(x, y)
    assert frame_state(browser, "baz")["width"] == pytest.approx(4 * scale, abs=1e-3)
    assert not frame_state(browser, "baz")["hidden"]
    assert frame_state(browser, "foo")["width"] == pytest.approx(6 * scale, abs=1e-3)


@pytest.mark.parametrize(
    "term, matched, share",
    [
        ("ba", {"bar", "baz"}, 9 / TOTAL),  # siblings: 5 + 4
        ("foo|bar", {"foo", "bar"}, 6 / TOTAL),  # bar lies inside foo: counted once
        ("^o", {"other"}, 2 / TOTAL),
    ],
)
def test_search_highlights_and_shows_share(browser: DevTools, svg_url: str, term, matched, share) -> None:
    browser.open(svg_url)
    search_with_prompt(browser, term)
    for name in ("main", "foo", "bar", "baz", "other", "work"):
        assert frame_state(browser, name)["match"] == (name in matched), name
    shown = browser.evaluate("document.getElementById('matched').textContent")
    assert shown.startswith(f"Matched: {100 * share:.2f}%")
    assert float(browser.evaluate("document.documentElement.getAttribute('data-match-share')")) == \
        pytest.approx(share)
    # The highlight is visible: the rect's computed fill is the match colour.
    fill = browser.evaluate(
        f"getComputedStyle({FRAME_JS}({json.dumps(min(matched))}).querySelector('rect')).fill"
    )
    assert fill == "rgb(230, 0, 230)"
