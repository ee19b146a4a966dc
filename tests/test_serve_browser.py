"""``mnistctl serve`` as a person uses it: a real Chromium draws on the page.

The real server runs as a subprocess (``tests/serving.py``) with a small trained CNN; Debian's
``chromium``, driven by Playwright (no browser download), opens the page, draws digits with real
mouse and touch input on ``canvas#pad``, drops and chooses image files, and uses the keyboard.
Each answer the page shows is checked against ``/api/predict`` for the very same bytes, and
the explain panel against ``/api/explain``.

Skipped only when Chromium is not installed (CI installs Debian's ``chromium``). To look at the
page: every test saves a screenshot in its temporary folder; ``MNISTCTL_SCREENSHOT=PATH`` also
saves the drawing test's screenshot there (that is how ``docs/serve.png`` is made),
``MNISTCTL_EXPLAIN_SCREENSHOT=PATH`` the explain panel's (``docs/serve-explain.png``), and
``MNISTCTL_SERVE_RUN=RUN`` serves that run instead of training a small one.
"""

from __future__ import annotations

import base64
import os
import shutil
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import TINY_SPEC, digit_png, real_arrays, trained_run
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from serving import Server, serving

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"
    ),
]

WAIT_MS = 20_000  # for one answer to be shown: a model call on 2 busy cores, with margin
PROBABILITY_TOLERANCE = 1e-6

CNN_SPEC = TINY_SPEC.replace("name: tiny", "name: browser_cnn").replace(
    """    - {type: Input, name: input_tensor, shape: [784]}
    - {type: Dense, name: hidden, units: 64, activation: relu}""",
    """    - {type: Input, name: input_tensor, shape: [28, 28, 1]}
    - {type: Conv2D, name: conv, filters: 8, kernel_size: 3, activation: relu}
    - {type: MaxPooling2D, name: pool, pool_size: 2}
    - {type: Flatten, name: flat}""",
)

# Strokes in fractions of the pad (x, y): a "7" (bar, then the diagonal) and a "1".
SEVEN = [(0.25, 0.22), (0.72, 0.22), (0.62, 0.45), (0.48, 0.80)]
ONE = [(0.50, 0.18), (0.50, 0.82)]

# What the page shows, read in one go (ids and data attributes: the page's DOM contract).
READ_PAGE = """() => ({
  predictions: Number(document.body.dataset.predictions),
  top: document.querySelector('#top').textContent.trim(),
  guesses: [...document.querySelectorAll('#guesses li')].map(li => ({
    digit: li.dataset.digit, probability: li.dataset.probability, text: li.textContent.trim()
  })),
  lastPrediction: window.lastPrediction ?? null,
  lastImage: window.lastImage ?? null,
  status: document.querySelector('#status').textContent.trim(),
})"""

# The distinct pixel values of a canvas (at most a few: a blank canvas has one).
CANVAS_VALUES = """(selector) => {
  const c = document.querySelector(selector);
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const seen = new Set();
  for (let i = 0; i < data.length && seen.size < 4; i += 4) {
    seen.add(data[i] + ',' + data[i + 1] + ',' + data[i + 2] + ',' + data[i + 3]);
  }
  return [...seen];
}"""

# Drop a file (bytes passed in base64) on an element, as a file dragged from the desktop.
DROP_FILE = """([selector, name, type, b64]) => {
  const bytes = Uint8Array.from(atob(b64), ch => ch.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, {type}));
  const target = document.querySelector(selector);
  for (const kind of ['dragenter', 'dragover', 'drop']) {
    target.dispatchEvent(new DragEvent(kind, {bubbles: true, cancelable: true,
                                              dataTransfer: transfer}));
  }
}"""


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small CNN (300 real digits, 1 epoch), or the run named by MNISTCTL_SERVE_RUN."""
    given = os.environ.get("MNISTCTL_SERVE_RUN")
    if given:
        return Path(given)
    return trained_run(tmp_path_factory.mktemp("browser"), CNN_SPEC, "browser_cnn.yaml")


@pytest.fixture(scope="module")
def server(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(run_dir, log_dir=tmp_path_factory.mktemp("serve-log")) as running:
        yield running
        assert running.proc.poll() is None, f"the server died: {running.describe()}"
    # Ctrl-C stopped it as an interrupted command stops: no traceback, whatever it served
    assert running.exit_code in (0, 130), running.describe()
    assert "Traceback" not in running.stderr(), running.describe()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    assert CHROMIUM is not None
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
    )
    yield launched
    launched.close()


@dataclass
class Visit:
    """One page opened in a fresh browser context, and what it did besides."""

    page: Page
    server: Server
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # "404 URL": answers that were errors

    def foreign_requests(self) -> list[str]:
        """Requests to anything but the server on 127.0.0.1 (data: and blob: URLs are local)."""
        out = []
        for url in self.requests:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme in ("data", "blob"):
                continue
            if parts.scheme not in ("http", "https") or parts.hostname != "127.0.0.1":
                out.append(url)
        return out


@pytest.fixture
def visit(browser: Browser, server: Server, tmp_path: Path) -> Iterator[Visit]:
    """The page, opened and filled from /api/info; afterwards: a screenshot in tmp_path, and
    no console error and no request to another host."""
    context = browser.new_context(viewport={"width": 1100, "height": 900}, has_touch=True)
    page = context.new_page()
    seen = Visit(page, server)
    page.on(
        "console",
        lambda msg: seen.console_errors.append(msg.text) if msg.type == "error" else None,
    )
    page.on("pageerror", lambda exc: seen.console_errors.append(f"uncaught: {exc}"))
    page.on("request", lambda req: seen.requests.append(req.url))
    page.on(
        "response",
        lambda resp: (
            seen.failed.append(f"{resp.status} {resp.url}") if resp.status >= 400 else None
        ),
    )
    page.goto(server.url + "/")
    page.wait_for_function(  # filled from /api/info: the parameter count has digits
        "() => /[0-9]/.test(document.querySelector('#params').textContent)", timeout=WAIT_MS
    )
    yield seen
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    context.close()
    assert seen.console_errors == [], (
        seen.console_errors,
        seen.failed,
        "an error answer that no request explains is usually /favicon.ico: the page should name"
        " its icon (<link rel=icon>)",
    )
    assert seen.foreign_requests() == [], seen.foreign_requests()


# --- helpers ---------------------------------------------------------------------------------


def read(page: Page) -> dict[str, Any]:
    return dict(page.evaluate(READ_PAGE))


def count(page: Page) -> int:
    return int(page.evaluate("() => Number(document.body.dataset.predictions)"))


def wait_for_answer(page: Page, before: int) -> dict[str, Any]:
    """Wait until the page has rendered one more answer than ``before``; what it shows."""
    page.wait_for_function(
        "n => Number(document.body.dataset.predictions) > n", arg=before, timeout=WAIT_MS
    )
    return read(page)


def pad_point(page: Page, fx: float, fy: float) -> tuple[float, float]:
    box = page.locator("canvas#pad").bounding_box()
    assert box is not None, "canvas#pad is not visible"
    return box["x"] + fx * box["width"], box["y"] + fy * box["height"]


def draw_with_mouse(page: Page, stroke: Sequence[tuple[float, float]]) -> None:
    """One stroke with the mouse: press, move through the points, release."""
    page.mouse.move(*pad_point(page, *stroke[0]))
    page.mouse.down()
    for fx, fy in stroke[1:]:
        page.mouse.move(*pad_point(page, fx, fy), steps=12)
    page.mouse.up()


def draw_with_touch(page: Page, stroke: Sequence[tuple[float, float]], steps: int = 12) -> None:
    """One stroke with a finger, through Chromium's own touch input (DevTools protocol)."""
    cdp = page.context.new_cdp_session(page)
    x, y = pad_point(page, *stroke[0])
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for fx, fy in stroke[1:]:
        tx, ty = pad_point(page, fx, fy)
        for i in range(1, steps + 1):
            px, py = x + (tx - x) * i / steps, y + (ty - y) * i / steps
            cdp.send(
                "Input.dispatchTouchEvent",
                {"type": "touchMove", "touchPoints": [{"x": px, "y": py}]},
            )
        x, y = tx, ty
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def data_url_bytes(url: str) -> bytes:
    head, _, payload = url.partition(",")
    assert head == "data:image/png;base64", head
    return base64.b64decode(payload)


def assert_shows(shown: dict[str, Any], api: dict[str, Any]) -> None:
    """The page shows exactly the API's answer: top guess, ten sorted bars, each probability."""
    guesses = shown["guesses"]
    assert len(guesses) == 10, guesses
    digits = [int(g["digit"]) for g in guesses]
    probabilities = [float(g["probability"]) for g in guesses]
    assert sorted(digits) == list(range(10)), digits
    assert all("%" in g["text"] for g in guesses), guesses  # each bar says its percentage
    assert probabilities == sorted(probabilities, reverse=True), probabilities
    assert digits[0] == api["label"], (digits, api["label"])
    assert shown["top"] == str(api["label"]), (shown["top"], api["label"])
    for digit, p in zip(digits, probabilities, strict=True):
        assert p == pytest.approx(api["probabilities"][digit], abs=PROBABILITY_TOLERANCE), digit
    # the page's own record of the answer is the answer it showed
    assert shown["lastPrediction"]["label"] == api["label"]
    np.testing.assert_allclose(
        shown["lastPrediction"]["probabilities"], api["probabilities"], atol=PROBABILITY_TOLERANCE
    )


def assert_blank(page: Page, selector: str) -> None:
    values = page.evaluate(CANVAS_VALUES, selector)
    assert len(values) == 1, f"{selector} is not blank: {values}"


def assert_not_blank(page: Page, selector: str) -> None:
    values = page.evaluate(CANVAS_VALUES, selector)
    assert len(values) > 1, f"{selector} is blank: {values}"


def digit_bytes(tmp_path: Path, index: int) -> bytes:
    """A real test digit (28x28, white on black) as PNG bytes."""
    path = digit_png(tmp_path / f"digit-{index}.png", real_arrays()["x_test"][index])
    return path.read_bytes()


# --- the page --------------------------------------------------------------------------------


def test_page_shows_the_run(visit: Visit) -> None:
    page, server = visit.page, visit.server
    status, info = server.get_json("/api/info")
    assert status == 200, info
    assert (page.locator("#run-name").text_content() or "").strip() == info["name"]
    params = page.locator("#params").text_content() or ""
    assert int("".join(ch for ch in params if ch.isdigit())) == info["total_params"], params
    accuracy = (page.locator("#test-accuracy").text_content() or "").strip()
    if info["test_accuracy"] is not None:  # shown as a fraction or in percent
        shown = float("".join(ch for ch in accuracy if ch.isdigit() or ch == "."))
        assert (
            min(abs(shown - info["test_accuracy"]), abs(shown - 100 * info["test_accuracy"])) < 0.01
        ), accuracy
    assert count(page) == 0
    assert page.title().strip() != ""
    # the controls are there and have names a screen reader can say
    assert page.locator("canvas#pad").is_visible()
    assert (page.locator("button#clear").text_content() or "").strip() != ""
    assert page.locator("input#file").evaluate("e => e.labels.length") >= 1
    assert page.locator("#status").get_attribute("aria-live") == "polite"


def test_drawing_shows_the_models_answer(visit: Visit, tmp_path: Path) -> None:
    page, server = visit.page, visit.server
    draw_with_mouse(page, SEVEN)
    shown = wait_for_answer(page, 0)
    assert shown["predictions"] == 1
    image = data_url_bytes(shown["lastImage"])
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    status, api = server.post("/api/predict?digit=1", image, "image/png")
    assert status == 200, api
    assert_shows(shown, api)
    # the 28x28 picture the model saw is drawn, and it is the API's
    assert_not_blank(page, "canvas#seen")
    np.testing.assert_allclose(shown["lastPrediction"]["digit"], api["digit"], atol=1e-6)
    seen = np.asarray(api["digit"])
    assert seen.shape == (28, 28) and seen.max() > 0.5, "the prepared digit has no ink"

    # a second stroke on the same drawing: one more answer, again the API's
    draw_with_mouse(page, [(0.35, 0.52), (0.65, 0.52)])
    shown = wait_for_answer(page, 1)
    assert shown["predictions"] == 2
    assert data_url_bytes(shown["lastImage"]) != image
    assert_shows(shown, server.predict(data_url_bytes(shown["lastImage"])))

    page.screenshot(path=str(tmp_path / "drawn.png"))
    target = os.environ.get("MNISTCTL_SCREENSHOT")
    if target:  # the page down to the end of its panels (docs/serve.png)
        main = page.locator("main").bounding_box()
        assert main is not None
        width = page.viewport_size["width"] if page.viewport_size else 1100
        clip = {"x": 0, "y": 0, "width": width, "height": main["y"] + main["height"] + 16}
        page.screenshot(path=target, clip=clip)  # type: ignore[arg-type]


def test_drawing_with_a_finger(visit: Visit) -> None:
    page = visit.page
    page.evaluate(
        "() => { window.pointerTypes = [];"
        " addEventListener('pointerdown', e => pointerTypes.push(e.pointerType), true); }"
    )
    draw_with_touch(page, ONE)
    shown = wait_for_answer(page, 0)
    assert page.evaluate("() => window.pointerTypes") == ["touch"]
    assert_not_blank(page, "canvas#pad")
    assert_shows(shown, visit.server.predict(data_url_bytes(shown["lastImage"])))


def test_clear_resets_the_pad(visit: Visit) -> None:
    page = visit.page
    assert_blank(page, "canvas#pad")
    draw_with_mouse(page, ONE)
    wait_for_answer(page, 0)
    assert_not_blank(page, "canvas#pad")
    page.locator("button#clear").click()
    assert_blank(page, "canvas#pad")
    after = read(page)
    assert after["predictions"] == 1, "clearing is not an answer"
    # no answer about the old drawing stays on the page
    assert after["top"] in ("", "–", "-", "?"), after["top"]
    assert after["guesses"] == [], after["guesses"]
    assert_blank(page, "canvas#seen")
    # drawing again after clearing works as the first time
    draw_with_mouse(page, SEVEN)
    shown = wait_for_answer(page, 1)
    assert_shows(shown, visit.server.predict(data_url_bytes(shown["lastImage"])))


def tab_to(page: Page, element_id: str, presses: int = 20) -> None:
    """Press Tab until the element has the focus (fails if it never gets it)."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == element_id:
            return
    pytest.fail(f"#{element_id} cannot be reached with Tab")


# Whether the focused control, or the label that stands for it, shows a focus ring.
FOCUS_SHOWN = """() => {
  const el = document.activeElement;
  return [el, ...(el.labels || [])].some(e => getComputedStyle(e).outlineStyle !== 'none');
}"""


def test_the_keyboard_clears_and_chooses_files(visit: Visit, tmp_path: Path) -> None:
    page = visit.page
    for key in ("Enter", " "):  # Clear: reached with Tab, pressed with Enter or Space
        before = count(page)
        draw_with_mouse(page, ONE)
        wait_for_answer(page, before)
        assert_not_blank(page, "canvas#pad")
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        tab_to(page, "clear")
        assert page.evaluate(FOCUS_SHOWN), "the focused Clear button shows no focus ring"
        page.keyboard.press(key)
        assert_blank(page, "canvas#pad")
    # the file input: reached with Tab, opens the file chooser with Space
    path = tmp_path / "chosen.png"
    path.write_bytes(digit_bytes(tmp_path, 2))
    tab_to(page, "file")
    assert page.evaluate(FOCUS_SHOWN), "the focused file control shows no focus ring"
    before = count(page)
    with page.expect_file_chooser(timeout=WAIT_MS) as chooser:
        page.keyboard.press(" ")
    chooser.value.set_files(str(path))
    shown = wait_for_answer(page, before)
    assert_shows(shown, visit.server.predict(path.read_bytes()))


def test_dropping_an_image_file(visit: Visit, tmp_path: Path) -> None:
    page, server = visit.page, visit.server
    png = digit_bytes(tmp_path, 0)
    before = count(page)
    page.evaluate(DROP_FILE, ["#drop", "digit.png", "image/png", base64.b64encode(png).decode()])
    shown = wait_for_answer(page, before)
    assert_shows(shown, server.predict(png))
    assert_not_blank(page, "canvas#seen")


def test_choosing_an_image_file(visit: Visit, tmp_path: Path) -> None:
    page, server = visit.page, visit.server
    path = tmp_path / "chosen.png"
    path.write_bytes(digit_bytes(tmp_path, 1))
    before = count(page)
    page.locator("input#file").set_input_files(str(path))
    shown = wait_for_answer(page, before)
    assert_shows(shown, server.predict(path.read_bytes()))


def test_a_file_that_is_not_an_image_is_refused_politely(visit: Visit, tmp_path: Path) -> None:
    """The server's 4xx reaches the person as a message, and the page keeps working."""
    page = visit.page
    notes = tmp_path / "notes.png"  # named like a PNG (so posted as image/png), but text
    notes.write_bytes(b"these are not pixels")
    page.locator("input#file").set_input_files(str(notes))
    page.wait_for_function("() => document.body.dataset.errors === '1'", timeout=WAIT_MS)
    status = read(page)["status"]
    assert "notes.png" in status, status
    assert visit.failed == [f"400 {visit.server.url}/api/predict?digit=1"], visit.failed
    # the browser logs the failed request itself ("Failed to load resource: ... 400"): expected
    visit.console_errors[:] = [e for e in visit.console_errors if "status of 400" not in e]
    assert count(page) == 0 and read(page)["guesses"] == []
    # a file that does not even claim to be an image is not sent at all
    text = tmp_path / "notes.txt"
    text.write_bytes(b"plain text")
    page.locator("input#file").set_input_files(str(text))
    page.wait_for_function("() => document.body.dataset.errors === '2'", timeout=WAIT_MS)
    assert sum("/api/predict" in url for url in visit.requests) == 1, visit.requests
    # and drawing still works
    draw_with_mouse(page, SEVEN)
    shown = wait_for_answer(page, 0)
    assert_shows(shown, visit.server.predict(data_url_bytes(shown["lastImage"])))


# --- why: the explain panel ------------------------------------------------------------------

# What the explain panel shows, read in one go.
READ_WHY = """() => ({
  explanations: Number(document.querySelector('#why').dataset.explanations),
  maps: [...document.querySelectorAll('#maps figure')].map(f => {
    const c = f.querySelector('canvas');
    return {method: f.dataset.method, caption: f.querySelector('figcaption').textContent,
            width: c ? c.width : null, height: c ? c.height : null,
            label: c ? c.getAttribute('aria-label') : null};
  }),
  layers: [...document.querySelectorAll('#layers .layer')].map(b => ({
    name: b.dataset.layer, title: b.querySelector('.layer-name').textContent,
    tiles: b.querySelectorAll('canvas').length,
    sizes: [...b.querySelectorAll('canvas')].map(c => [c.width, c.height]),
  })),
  status: document.querySelector('#why-status').textContent.trim(),
  last: window.lastExplanation ?? null,
})"""


def explanations(page: Page) -> int:
    return int(page.evaluate("() => Number(document.querySelector('#why').dataset.explanations)"))


def wait_for_why(page: Page, before: int) -> dict[str, Any]:
    """Wait until the page has shown one more explanation than ``before``; what it shows."""
    page.wait_for_function(
        "n => Number(document.querySelector('#why').dataset.explanations) > n",
        arg=before,
        timeout=WAIT_MS,
    )
    return dict(page.evaluate(READ_WHY))


def test_the_explain_panel_follows_each_stroke(visit: Visit, tmp_path: Path) -> None:
    page, server = visit.page, visit.server
    status, info = server.get_json("/api/info")
    assert status == 200, info
    height, width = info["input_shape"][:2]
    assert page.evaluate(READ_WHY)["maps"] == []  # nothing before a drawing
    draw_with_mouse(page, SEVEN)
    shown = wait_for_answer(page, 0)  # the guesses first
    why = wait_for_why(page, 0)
    image = data_url_bytes(shown["lastImage"])
    status, api = server.post("/api/explain?digit=1", image, "image/png")
    assert status == 200, api
    # the maps over the picture: one image per method, at the Input's size, not blank
    assert [m["method"] for m in why["maps"]] == ["gradcam", "saliency", "occlusion"]
    assert [m["caption"] for m in why["maps"]] == ["Grad-CAM", "Saliency", "Occlusion"]
    assert all((m["width"], m["height"]) == (width, height) for m in why["maps"]), why["maps"]
    assert all(m["label"] for m in why["maps"])  # a screen reader can name each
    for k in range(1, 4):
        assert_not_blank(page, f"#maps figure:nth-child({k}) canvas")
    # each layer's activations as tiles: the API's layers, its tile count each
    assert [b["name"] for b in why["layers"]] == [layer["name"] for layer in api["layers"]]
    for block, layer in zip(why["layers"], api["layers"], strict=True):
        assert block["tiles"] == layer["count"], block
        assert all(size == layer["tile"][::-1] for size in block["sizes"]), block
        assert layer["label"] in block["title"], block
    # the page's answer is the API's for the same bytes: same guess, same maps
    last = why["last"]
    assert last["label"] == api["label"] == shown["lastPrediction"]["label"]
    for method, rows in api["maps"].items():
        np.testing.assert_allclose(last["maps"][method], rows, atol=1e-4)
    assert str(api["label"]) in why["status"], why["status"]
    # a second stroke: the guesses and then the panel follow it
    draw_with_mouse(page, [(0.35, 0.52), (0.65, 0.52)])
    wait_for_answer(page, 1)
    why = wait_for_why(page, 1)
    assert why["explanations"] == 2 and len(why["maps"]) == 3
    # clearing empties the panel
    page.locator("button#clear").click()
    assert page.evaluate(READ_WHY)["maps"] == [] and page.evaluate(READ_WHY)["layers"] == []
    draw_with_mouse(page, SEVEN)
    wait_for_answer(page, 2)
    wait_for_why(page, 2)
    page.screenshot(path=str(tmp_path / "why.png"), full_page=True)
    target = os.environ.get("MNISTCTL_EXPLAIN_SCREENSHOT")
    if target:  # the whole page with its explain panel (docs/serve-explain.png)
        page.screenshot(path=target, full_page=True)


def test_the_guesses_never_wait_for_the_explanation(visit: Visit) -> None:
    """Strokes in quick succession: each gets its guesses; only the newest picture's
    explanation is shown (older ones are cancelled or dropped)."""
    page = visit.page
    for k, stroke in enumerate([ONE, SEVEN, [(0.3, 0.6), (0.7, 0.6)]]):
        draw_with_mouse(page, stroke)
        wait_for_answer(page, k)
    why = wait_for_why(page, 0)
    page.wait_for_timeout(300)  # no late explanation of an older picture replaces it
    now = dict(page.evaluate(READ_WHY))
    assert now["last"]["label"] == read(page)["lastPrediction"]["label"]
    assert now["explanations"] >= why["explanations"] >= 1
