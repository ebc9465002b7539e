"""The book's own Sphinx extension: what the published pages need beyond the theme.

- Alt text for notebook figures. infogan_tutorial.figures makes every shown figure a PNG whose
  ``Description`` text chunk describes it; here each output image takes that text as its ``alt``.
  An output image without one is reported (a warning: ``-W`` builds fail), so no figure is published
  with its file name as its only description.
- Output figures open full size: each is wrapped in a link to its own file (a phone shows a wide figure
  scaled down; the link shows it at its real size).
- The theme's defects, worked around: sphinx-thebe's script block (``const THEBE_JS_URL``) appears twice on
  a page, a SyntaxError, and the book uses no Thebe at all, so its scripts are dropped; the Font Awesome
  JavaScript (1.5 MB a page) is replaced by an empty file, since the theme's CSS already draws the same
  icons from its web fonts; buttons whose ``aria-label`` hides their visible text (axe-core's
  label-content-name-mismatch: the search field, the colour-mode switch, the "Show code cell source"
  toggles) and the bibliography's list of non-list items (aria-required-children) are mended in the
  written pages (:func:`mend_html`); the header's second search field is left out; sphinx-exercise's
  sections, each with the same id (``exercise-content``, ``solution-content``), are numbered; the themes'
  Jinja templates that Sphinx copies into ``_static`` (``webpack-macros.html``, not pages) are removed, and
  jupyter-book's bare redirect ``index.html`` gets a language, a title and a link (:func:`mend_redirect`).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)
DESCRIPTION_KEY = "Description"  # infogan_tutorial.figures.DESCRIPTION_KEY


def png_description(path: Path) -> str:
    """The ``Description`` text chunk of a PNG, or "" (no chunk, not a PNG, no file)."""
    try:
        from PIL import Image

        with Image.open(path) as image:
            return str(getattr(image, "text", {}).get(DESCRIPTION_KEY, "")).strip()
    except (OSError, ValueError):
        return ""


def describe_output_images(app: Sphinx, doctree: nodes.document) -> None:
    """Give each notebook output image (myst-nb writes them under jupyter_execute) its PNG's description."""
    for node in doctree.findall(nodes.image):
        uri = node.get("uri", "")
        if "jupyter_execute" not in uri or node.get("alt", "").strip() not in ("", uri):
            continue
        text = png_description(Path(app.srcdir) / uri.lstrip("/"))
        if text:
            node["alt"] = text
        else:
            logger.warning("notebook figure without a description: call infogan_tutorial.figures.describe "
                           "on it (it becomes the alt text)", location=node, type="infogan", subtype="alt")


def unique_exercise_ids(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """sphinx-exercise gives the body of every exercise and solution on a page the same id: number them
    (``exercise-content-1``, ``-2``, ...), so that each id names one element, as HTML requires."""
    seen: dict[str, int] = {}
    for section in doctree.findall(nodes.section):
        for i, name in enumerate(section["ids"]):
            if name in ("exercise-content", "solution-content"):
                seen[name] = seen.get(name, 0) + 1
                section["ids"][i] = f"{name}-{seen[name]}"


# myst-nb names each output image by its content's sha256
OUTPUT_IMG = re.compile(r'<img [^>]*?src="([^"]*_images/[0-9a-f]{64}\.(?:png|jpe?g|gif|svg))"[^>]*>')


def link_output_images(body: str) -> str:
    """Each output image of a page's body inside a link to its own file."""
    return OUTPUT_IMG.sub(lambda m: f'<a class="infogan-figure-link" href="{m.group(1)}">{m.group(0)}</a>', body)


def page_context(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: object) -> None:
    scripts = context.get("script_files")
    if scripts is not None:  # sphinx-thebe: unused here, and its config block is declared twice
        context["script_files"] = [s for s in scripts if "thebe" not in (str(s) + str(getattr(s, "attributes", {})))]
    if "body" in context:
        context["body"] = link_output_images(context["body"])


MENDS = [
    # the search field says "Search Ctrl+K" but is named "Search": let its text name it
    (re.compile(r'(<button class="btn search-button-field[^"]*"[^>]*?) aria-label="Search"'), r"\1"),
    # the colour-mode switch: its icons' titles (Light, Dark, System Settings) are text its name lacks
    (re.compile(r'(<i class="theme-switch [^"]*"[^>]*?) title="[^"]*"'), r'\1 aria-hidden="true"'),
    # sphinx-togglebutton's <summary> shows "Show code cell source" but is named "Toggle hidden content"
    (re.compile(r'<summary aria-label="Toggle hidden content">'), "<summary>"),
    # the front page, whose heading is the book's title, is titled once, not "X — X"
    (re.compile(r"<title>([^<]+?) &#8212; \1</title>"), r"<title>\1</title>"),
    # the Colab logo beside the word "Colab" in the Launch menu: decorative, so a screen reader says "Colab" once
    (re.compile(r'<img alt="Colab logo" (src="[^"]*logo_colab\.png")'), r'<img alt="" \1'),
    # sphinxcontrib-bibtex: a role=list whose entries are not list items
    (re.compile(r'role="doc-biblioentry"'), 'role="listitem"'),
]


def mend_html(text: str) -> str:
    """A written page with the theme's accessibility defects mended (idempotent)."""
    for pattern, replacement in MENDS:
        text = pattern.sub(replacement, text)
    return text


def finish(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        mended = mend_html(text)
        if mended != text:
            page.write_text(mended, encoding="utf-8")
    path = Path(app.outdir) / "_static" / "scripts" / "fontawesome.js"
    if path.is_file():
        path.write_text("/* infogan_site: the theme's CSS draws the Font Awesome icons from its web fonts */\n")
    for name in ("webpack-macros.html", "sbt-webpack-macros.html"):  # the themes' Jinja templates, not pages
        (Path(app.outdir) / "_static" / name).unlink(missing_ok=True)
    redirect = Path(app.outdir) / "index.html"
    if redirect.is_file():
        icon = "_static/favicon.png" if (Path(app.outdir) / "_static" / "favicon.png").is_file() else None
        redirect.write_text(mend_redirect(redirect.read_text(encoding="utf-8"), app.config.html_title or
                                          app.config.project, icon), encoding="utf-8")


REFRESH = re.compile(r'<meta http-equiv="Refresh" content="0; url=([^"]+)"\s*/?>', re.IGNORECASE)


def mend_redirect(text: str, title: str, icon: str | None = None) -> str:
    """jupyter-book's ``index.html``, a bare refresh to the first page, as a page with a language, a title, the
    site's icon (no request for a missing /favicon.ico) and a link a reader can follow (unchanged if it is not that
    redirect)."""
    found = REFRESH.search(text)
    if found is None or "<title>" in text:
        return text
    url, title = html.escape(found.group(1), quote=True), html.escape(title)
    link = f'<link rel="icon" href="{html.escape(icon, quote=True)}">\n' if icon else ""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n{link}'
            f'<meta http-equiv="Refresh" content="0; url={url}">\n<link rel="canonical" href="{url}">\n</head>\n'
            f'<body>\n<p><a href="{url}">{title}</a></p>\n</body>\n</html>\n')


def no_second_search_field(app: Sphinx, config: object) -> None:
    """The primary sidebar has the search field; the header's copy (navbar_persistent) put a second one above
    every page. (Set here: jupyter-book replaces html_theme_options wholesale if _config.yml names it.)"""
    config.html_theme_options.setdefault("navbar_persistent", [])


COLAB_PAGE = re.compile(
    r"^(?P<head>https://colab\.research\.google\.com/github/.+?/blob/[^/]+/)book/(?P<name>[^/]+\.ipynb)$")


def colab_url(url: str) -> str:
    """A Colab button's URL for a chapter, turned to the chapter's Colab edition (colab/<name>.ipynb, written by
    scripts/sync_notebooks.py: Markdown Colab renders, solutions folded away); other URLs unchanged."""
    m = COLAB_PAGE.match(url)
    return f"{m.group('head')}colab/{m.group('name')}" if m else url


def colab_buttons(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: object) -> None:
    """The theme's Colab launch button opens ``book/<chapter>.ipynb``; point it at the Colab edition."""
    def mend(buttons: list) -> None:
        for button in buttons:
            if isinstance(button, dict):
                if isinstance(button.get("url"), str):
                    button["url"] = colab_url(button["url"])
                mend(button.get("buttons") or [])

    mend(context.get("header_buttons") or [])


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", colab_buttons, priority=510)  # after the theme's add_launch_buttons (501)
    app.connect("config-inited", no_second_search_field)
    app.connect("doctree-read", describe_output_images)
    app.connect("doctree-resolved", unique_exercise_ids)
    app.connect("html-page-context", page_context)
    app.connect("build-finished", finish)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
