"""Fixtures for the browser tests: the demo stack (anvil, contracts, three oracle nodes, gateway) in a background
thread with no product yet, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from oracle.dev.stack import running_stack
from oracle.domain import REPO_ROOT
from oracle.settings import load_settings
from oracle.vision import DamageModel

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"


class StackThread(threading.Thread):
    """Runs `running_stack` on its own event loop so the synchronous Playwright API can drive the browser."""

    def __init__(self, settings, model, state_dir: Path):
        super().__init__(daemon=True, name="dapp-stack")
        self.settings, self.model, self.state_dir = settings, model, state_dir
        self.stack = None
        self.error: BaseException | None = None
        self.ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None

    def run(self) -> None:
        """Start the stack and keep it up until `stop`."""
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:

        self._loop, self._stop_event = asyncio.get_running_loop(), asyncio.Event()
        async with running_stack(
            self.settings, self.model, self.state_dir, with_product=False, progress=lambda _: None
        ) as stack:
            self.stack = stack
            self.ready.set()
            await self._stop_event.wait()

    def stop(self) -> None:
        """Stop the nodes, the gateway and anvil, and wait for the thread."""
        if self._loop and self._stop_event:
            self._loop.call_soon_threadsafe(self._stop_event.set)
        self.join(timeout=60)


@pytest.fixture(scope="module")
def model():
    """The shipped damage model."""

    return DamageModel.load(load_settings().model_path)


@pytest.fixture(scope="module")
def stack(model, tmp_path_factory):
    """A running stack for the whole module (a fresh chain; the insurer creates the product in the browser)."""

    thread = StackThread(load_settings(), model, tmp_path_factory.mktemp("dapp-stack"))
    thread.start()
    if not thread.ready.wait(timeout=120):
        pytest.fail("the stack did not start within 120 s")
    if thread.error:
        raise thread.error
    yield thread.stack
    thread.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless; skips with the install command when it is absent."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: apt-get install -y chromium (make setup does)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


def console_problem(msg) -> str:
    """A console error as a test reports it, naming the resource when one failed to load (Chromium's message
    does not)."""
    url = (msg.location or {}).get("url", "")
    return f"console: {msg.text}" + (f" ({url})" if url and msg.text.startswith("Failed to load resource") else "")


@pytest.fixture
def page(browser):
    """A fresh browser page whose console errors and uncaught exceptions fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
    tab.on("console", lambda msg: problems.append(console_problem(msg)) if msg.type == "error" else None)
    tab.problems = problems
    yield tab
    context.close()


def screenshot(tab, name: str, full_page: bool = True) -> Path:
    """Save a screenshot, of the whole page or of what the window shows, under artifacts/screenshots (the README
    points there)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=full_page)
    return path
