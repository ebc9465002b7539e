"""The built site as readers meet it: axe-core finds no serious or critical violation on any page, in light
and dark mode; no page is wider than a phone (390 px); every image has a description; no page shows the build
machine's paths.

These check a built book, named by $INFOGAN_BOOK_HTML (``scripts/dev.sh test`` sets it to its smoke build after
building it); without it they skip. The browser checks also need Chromium and axe-core
(``npm install --prefix .cache/axe axe-core``, which ``scripts/dev.sh test`` runs; or $AXE_JS, the path of
axe.min.js); without them they skip.
"""

from __future__ import annotations

import json
import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from headless_chromium import BrowserError, Chromium, find_chromium, serve

ROOT = Path(__file__).resolve().parents[1]
PHONE = 390  # px, an iPhone 12-15's CSS width
BLOCKING = ("serious", "critical")


@pytest.fixture(scope="module")
def html() -> Path:
    folder = os.environ.get("INFOGAN_BOOK_HTML", "").split(os.pathsep)[0]
    if not folder:
        pytest.skip("set INFOGAN_BOOK_HTML to a built book's html folder (scripts/dev.sh test does)")
    if not (Path(folder) / "book" / "intro.html").is_file():
        pytest.skip(f"no built book in {folder}")
    return Path(folder)


def pages(html: Path) -> list[str]:
    """Every page a reader can open: the book's (chapters, API, bibliography), the source pages the API links to,
    the generated indexes, and the search page with results shown (the root ``index.html`` only redirects: see
    :func:`test_built_site_redirect_is_a_page`)."""
    found = sorted(str(p.relative_to(html)) for p in html.rglob("*.html")
                   if p.relative_to(html).parts[0] not in ("_static", "_sources") and p.name != "index.html")
    # the search page with results, their words highlighted (the theme loads searchtools on every page, so
    # sphinx_highlight never marks the words on the page a result opens)
    return found + ["search.html?q=mutual+information"]


def read(html: Path, page: str) -> str:
    return (html / page.split("?")[0]).read_text()


# -- the HTML itself (no browser) -----------------------------------------------------------------
class Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs))


def test_built_site_every_image_is_described(html):
    missing = []
    for page in pages(html):
        parser = Images()
        parser.feed(read(html, page))
        for img in parser.images:
            alt, src = (img.get("alt") or "").strip(), img.get("src") or ""
            figure = "_images/" in src or "explorer" in src  # content, not an icon like the Colab logo
            if "_static/images/" in src and img.get("alt") == "":  # the theme's icons beside their own words
                continue
            if not alt or alt == src or re.search(r"\.(png|jpe?g|svg)$", alt) or (figure and len(alt) < 40):
                missing.append(f"{page}: {src} alt={alt!r}")
    assert not missing, "images without a description:\n" + "\n".join(missing)


class Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids += [value for name, value in attrs if name == "id" and value]


def test_built_site_gives_each_id_to_one_element(html):
    doubled = []
    for page in pages(html):
        parser = Ids()
        parser.feed(read(html, page))
        doubled += [f"{page}: id={name!r} x{parser.ids.count(name)}" for name in sorted(set(parser.ids))
                    if parser.ids.count(name) > 1]
    assert not doubled, "ids on more than one element:\n" + "\n".join(doubled)


def test_built_site_titles_each_page_once(html):
    titles = {page: re.search(r"<title>(.*?)</title>", read(html, page), re.S).group(1)
              for page in pages(html) if "?" not in page}
    assert titles["book/intro.html"] == "InfoGAN, step by step"
    assert titles["book/02_gan_noise.html"].endswith(" &#8212; InfoGAN, step by step")
    assert len(set(titles.values())) == len(titles), titles


def test_built_site_redirect_is_a_page(html):
    """The root index.html forwards to the first chapter with a language, a title and a link to follow."""
    text = (html / "index.html").read_text()
    assert '<html lang="en">' in text and "<title>InfoGAN, step by step</title>" in text, text
    assert re.search(r'http-equiv="Refresh" content="0; url=book/intro.html"', text), text
    assert '<a href="book/intro.html">' in text and '<link rel="icon" href="_static/favicon.png">' in text, text


def test_built_site_publishes_no_templates(html):
    """The themes' Jinja templates (``_static/*webpack-macros.html``) are not pages and are not published."""
    assert not list((html / "_static").glob("*.html"))


def test_built_site_shows_no_machine_paths(html):
    machine = {str(ROOT), str(Path.home()) + "/", "/tmp/", "/work/"}
    found = [f"{p.relative_to(html)}: {m}" for p in html.rglob("*.html") for m in machine
             if m in p.read_text(errors="replace")]
    assert not found, "\n".join(found)


# -- in headless Chromium -------------------------------------------------------------------------
def axe_source() -> str:
    path = Path(os.environ.get("AXE_JS") or ROOT / ".cache/axe/node_modules/axe-core/axe.min.js")
    if not path.is_file():
        pytest.skip(f"axe-core not found at {path}: npm install --prefix .cache/axe axe-core (scripts/dev.sh test)")
    return path.read_text()


@pytest.fixture(scope="module")
def site(html):
    binary = find_chromium()
    if binary is None:
        pytest.skip("Chromium not found: apt-get install chromium (scripts/dev.sh test does), or set $CHROMIUM")
    axe = axe_source()
    try:
        browser = Chromium(binary, width=1280, height=900)
    except (BrowserError, OSError) as err:
        pytest.skip(f"{binary} did not start headless ({err})")
    with serve(html) as base:
        yield browser, base, axe
    browser.close()


COLOUR_RULES = ["color-contrast", "link-in-text-block"]  # what a colour scheme can change


def run_axe(browser: Chromium, axe: str, rules: list[str] | None = None) -> list[dict]:
    """axe-core's violations on the page (all its rules, or ``rules``)."""
    if not browser.evaluate("typeof window.axe === 'object'"):
        browser.evaluate(axe + ";true")
    # the colours the reader ends up with: a theme switch's CSS transitions finished, not half-way
    browser.evaluate("""(() => { const s = document.createElement('style');
        s.textContent = '*, *::before, *::after { transition: none !important; animation: none !important; }';
        document.head.appendChild(s); return Promise.all(document.getAnimations().map(a => a.finished.catch(() => 0)))
            .then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))); })()""")
    options = {"resultTypes": ["violations"], **({"runOnly": rules} if rules else {})}
    return browser.evaluate(f"""axe.run(document, {json.dumps(options)}).then(r => r.violations.map(v =>
        ({{id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')), n: v.nodes.length}})))""")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_built_site_axe_finds_nothing_serious(site, html, scheme):
    browser, base, axe = site
    browser.send("Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": scheme}])
    rules = COLOUR_RULES if scheme == "dark" else None  # the light run checks everything else once
    report = {}
    for page in pages(html):
        browser.navigate(base + page)
        browser.wait_for(f"document.documentElement.dataset.theme === '{scheme}'", timeout=10)
        if "?q=" in page:
            browser.wait_for("document.querySelector('.highlighted') !== null", timeout=30)
        bad = [v for v in run_axe(browser, axe, rules) if v["impact"] in BLOCKING]
        if browser.evaluate("document.querySelector('.infogan-explorer-open') !== null"):  # and the live explorer
            browser.evaluate("document.querySelector('.infogan-explorer-open').click()")
            browser.wait_for("document.querySelector('.infogan-explorer').dataset.state === 'live'")
            browser.evaluate("document.querySelector('.infogan-explorer').infoganExplorer.idle()")
            bad += [dict(v, live=True) for v in run_axe(browser, axe, rules) if v["impact"] in BLOCKING]
        if bad:
            report[page] = bad
    assert not report, f"axe-core, {scheme} mode:\n" + json.dumps(report, indent=1)


def test_built_site_fits_a_phone(site, html):
    browser, base, _ = site
    browser.send("Emulation.setDeviceMetricsOverride", width=PHONE, height=844, deviceScaleFactor=1, mobile=True)
    try:
        wide = {}
        for page in pages(html):
            browser.navigate(base + page)
            width = browser.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
            if width > PHONE:
                wide[page] = width
        assert not wide, f"pages wider than {PHONE} px (they scroll sideways): {wide}"
    finally:
        browser.send("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
