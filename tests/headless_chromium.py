"""A minimal driver of headless Chromium for the explorer's test and benchmark (no extra packages).

Chromium is started with ``--remote-debugging-pipe``: it reads DevTools-protocol commands
(JSON, each ending in a NUL byte) from file descriptor 3 and writes replies and events to 4.
:class:`Chromium` opens one page and offers what the tests need: navigate, evaluate a
JavaScript expression (awaiting promises), take a screenshot; :func:`serve` serves a folder
on 127.0.0.1 for it.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import io
import json
import os
import select
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """Path of a Chromium binary: ``$CHROMIUM`` if set (None if it is not an executable), else the first
    of CANDIDATES on PATH."""
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"])
    return next((p for p in map(shutil.which, CANDIDATES) if p), None)


class BrowserError(RuntimeError):
    """Chromium failed, or a page's JavaScript threw."""


class Chromium:
    """One headless Chromium with one page, driven over the DevTools pipe."""

    def __init__(self, binary: str, width: int = 1100, height: int = 900, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        args = [binary, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", f"--user-data-dir={self._profile.name}",
                f"--window-size={width},{height}", "about:blank"]

        # The child gets the pipes as its fds 3 and 4 by a bash redirection (no preexec_fn, unsafe with threads;
        # not sh, which may be dash: fds 0-9 only). from_browser_w, opened after to_browser_r, is not 3.
        moves = f"3<&{to_browser_r} 4>&{from_browser_w}" + "".join(
            f" {fd}>&-" for fd in (to_browser_r, from_browser_w) if fd not in (3, 4))
        self._proc = subprocess.Popen(["bash", "-c", f'exec "$@" {moves}', "bash", *args],
                                      pass_fds=(to_browser_r, from_browser_w),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer, self._id, self.session = b"", 0, None
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=False)

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_browser], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise BrowserError(f"Chromium did not answer within {self.timeout:.0f} s")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium closed the DevTools pipe (did it start? try running it by hand)")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, **params: object) -> dict:
        """Send one DevTools command to the page (or the browser before a page exists); return its result."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if self.session and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply["result"]

    def navigate(self, url: str) -> None:
        """Open ``url`` and wait until its document has loaded."""
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'")

    def evaluate(self, expression: str) -> object:
        """The value of a JavaScript expression in the page (promises awaited; JSON-serialisable values)."""
        result = self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise BrowserError(details.get("exception", {}).get("description") or details.get("text"))
        return result["result"].get("value")

    def wait_for(self, condition: str, timeout: float | None = None) -> None:
        """Poll a JavaScript condition until it is true."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.evaluate(f"Boolean({condition})"):
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for {condition}")
            time.sleep(0.05)

    def screenshot(self, path: str | Path, selector: str | None = None) -> Path:
        """A PNG of the viewport, or of the element ``selector`` (scrolled into view, cropped out of the viewport)."""
        box = None
        if selector:
            box = self.evaluate(f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
                                "e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect(); "
                                "return [r.left, r.top, r.right, r.bottom]; })()")
        data = base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"])
        if box is None:
            Path(path).write_bytes(data)
        else:
            from PIL import Image  # Pillow comes with matplotlib

            image = Image.open(io.BytesIO(data))
            left, top, right, bottom = (max(0, round(v)) for v in box)
            image.crop((left, top, min(right, image.width), min(bottom, image.height))).save(path)
        return Path(path)

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (BrowserError, OSError):
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        self._profile.cleanup()

    def __enter__(self) -> Chromium:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def serve(folder: str | Path, headers: dict[str, str] | None = None) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (a free port) in a thread; yields the base URL ``http://127.0.0.1:PORT/``."""
    extra = dict(headers or {})

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def end_headers(self) -> None:
            for key, value in extra.items():
                self.send_header(key, value)
            super().end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


EXPLORER_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>explorer test page</title>
<link rel="stylesheet" href="explorer/explorer.css">
<script src="explorer/explorer.js" defer></script></head>
<body style="max-width: 900px; margin: 1em auto; font-family: sans-serif">
<div class="infogan-explorer" id="small" data-size="small" data-load="click">
<img class="infogan-explorer-static" src="explorer/explorer-static.png" alt="the ten categories of c1"></div>
<div class="infogan-explorer" id="full" data-load="click"><p class="infogan-explorer-nojs">it needs JavaScript</p></div>
</body></html>
"""


def write_explorer_page(folder: str | Path, assets: str | Path) -> Path:
    """A page like the book's, with the intro's small explorer (#small) and chapter 7's (#full), both
    opened by their buttons; ``folder/explorer`` links to the ``assets`` folder. Returns the page's path."""
    folder = Path(folder)
    (folder / "explorer").symlink_to(Path(assets).resolve(), target_is_directory=True)
    page = folder / "index.html"
    page.write_text(EXPLORER_PAGE)
    return page
