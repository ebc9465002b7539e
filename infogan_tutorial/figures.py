"""Figures: sample grids, code traversals (the paper's Figure 2), L_I curves (Figure 1), confusion matrices.

Every plotting function here also describes its panel in words (:func:`describe`): what varies along
which axis, where each curve starts and ends. Shown in IPython, a figure becomes a PNG that carries
:func:`figure_description` in its ``Description`` text chunk, and the book's build (``book/_ext``)
turns that chunk into the image's alt text: the words are made with the figure, never typed twice.
"""

from __future__ import annotations

import base64
import math
import numbers
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor
from torchvision.utils import make_grid

from .checkpoints import PNG_MAGIC
from .data import check_images
from .errors import SpecError
from .evaluation import ClusterAccuracy
from .latent_codes import FLOAT32_MAX, MAX_SAMPLE, Codes, LatentSpec, check_generator, code_value_ok, count
from .networks import Generator, check_network, eval_mode

PAD = 2  # pixels between the images of a grid

DESCRIPTION_KEY = "Description"
"""The PNG text chunk (iTXt, UTF-8) that carries a shown figure's description."""

_MATH = {r"\lambda": "λ", r"\varepsilon": "ε", r"\sigma": "σ", r"\mu": "μ", r"\mid": "|", r"\log": "log",
         r"\ln": "ln", r"\mathbb{E}": "E", r"\hat": "", r"\,": " ", r"\;": " ", r"\le": "≤", r"\approx": "≈"}


def plain(text: str) -> str:
    """``text`` with matplotlib's mathtext made plain: ``"$L_I$ of $c_1$"`` -> ``"L_I of c_1"``.

    As matplotlib reads it: only text between pairs of unescaped ``$`` is math; with an odd number of
    them, or none, every ``$`` is a dollar sign (``"cost $5"`` stays), and ``\\$`` is one anywhere."""
    if not isinstance(text, str):
        raise SpecError(f"plain needs a str, got {type(text).__name__}.")
    parts = re.split(r"(?<!\\)\$", text)
    if len(parts) % 2 == 0:  # an odd number of $: matplotlib draws the text as it is
        parts = [text]
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            for tex, word in _MATH.items():
                part = part.replace(tex, word)
            part = re.sub(r"\\(?:mathrm|text|operatorname)\{([^}]*)\}", r"\1", part)
            part = re.sub(r"[{}\\]", "", part)
        out.append(part.replace("\\$", "$"))
    return re.sub(r"\s+", " ", "".join(out)).strip()


def describe(target: Axes | Figure, text: str) -> Axes | Figure:
    """Attach a description in words to a panel (Axes) or a whole Figure; returns ``target``.

    Say what the reader should see (what varies along which axis, what a curve does), not how it
    was drawn. :func:`figure_description` joins a figure's descriptions, each panel's after its
    title. In IPython the figure's PNG then carries it (see the module's docstring).
    """
    if not isinstance(target, (Axes, Figure)):
        raise SpecError(f"describe needs a matplotlib Axes or Figure (e.g. the ax a plot function returns), got "
                        f"{type(target).__name__}.")
    if not isinstance(text, str) or not text.strip():
        raise SpecError(f"describe needs the description as words in a non-empty str, got {text!r}.")
    target._infogan_description = plain(text)
    install_png_descriptions()
    return target


def glue(name: str, value) -> None:
    """Hand ``value`` to the page's prose as ``name`` (``{glue:text}`name:.1f``` in its Markdown).

    The book's build (jupyter-book, MyST-NB) writes the value of the run that built the page into
    the sentence, so the prose cannot contradict the printed output. Where MyST-NB is not installed
    (Colab) it does nothing: the Colab editions name the value instead (scripts/sync_notebooks.py).
    It returns nothing, so that a call at the end of a cell shows no output.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, value, display=False)


def spoken(value: float, scale: float = 1.0) -> str:
    """``value`` to three significant digits as a screen reader should hear it: "0" for a value below a
    millionth of ``scale`` (the largest magnitude it is read beside), so 4.44e-16 beside 1 is 0."""
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    if abs(value) <= 1e-6 * abs(scale) or value == 0:
        return "0"
    return f"{value:.3g}"


def _describe_lines(ax: Axes) -> str:
    """Where each labelled line of ``ax`` starts and ends (a fallback for panels nobody described)."""
    parts = []
    for line in ax.get_lines():
        label = line.get_label()
        x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
        if label.startswith("_") or not len(y):
            continue
        low, high = sorted(ax.get_xlim())
        shown = (x >= low) & (x <= high)  # only what the panel shows (a line may run past its x-limits)
        if len(x) > 2 and shown.sum() >= 2:
            x, y = x[shown], y[shown]
        sy = float(np.nanmax(np.abs(y))) if np.isfinite(y).any() else 1.0
        sx = float(np.nanmax(np.abs(x))) if np.isfinite(x).any() else 1.0
        if np.ptp(y) == 0 and len(y) <= 2:
            parts.append(f"{plain(label)}: a level line at {spoken(y[0], sy)}")
        elif np.ptp(x) == 0 and len(x) <= 2:  # axvline: its y runs over the panel's height, not the data
            parts.append(f"{plain(label)}: a vertical line at {spoken(x[0], sx)}")
        else:
            parts.append(f"{plain(label)}: from {spoken(y[0], sy)} at {spoken(x[0], sx)} to {spoken(y[-1], sy)} at "
                         f"{spoken(x[-1], sx)} (lowest {spoken(np.nanmin(y), sy)}, highest {spoken(np.nanmax(y), sy)})")
    if not parts:
        return ""
    axes = ", ".join(filter(None, (plain(ax.get_xlabel()) and f"x: {plain(ax.get_xlabel())}",
                                   plain(ax.get_ylabel()) and f"y: {plain(ax.get_ylabel())}")))
    return (f"Line chart ({axes}). " if axes else "Line chart. ") + "; ".join(parts) + "."


def _tick_words(ax: Axes) -> str:
    """The labels on an image panel's rows and columns where they are words (not plain numbers, which the
    panel's description already gives as values)."""
    said = []
    for axis, name in ((ax.yaxis, "rows"), (ax.xaxis, "columns")):
        labels = [plain(t.get_text()) for t in axis.get_ticklabels() if t.get_text().strip()]
        numbers = all(label.replace("\u2212", "-").lstrip("-").replace(".", "", 1).isdigit() for label in labels)
        if labels and not numbers:
            said.append(f"The {name} are labelled, in order: {', '.join(labels)}")
    return ". ".join(said)


def figure_description(fig: Figure) -> str:
    """The words that describe ``fig``: its own description, then each panel's (title: description).

    A panel described by nobody but holding labelled lines is described by where those lines start
    and end; a panel with neither adds nothing, so an undescribed image grid gives "".
    """
    if not isinstance(fig, Figure):
        raise SpecError(f"figure_description needs a matplotlib Figure (for a panel, pass ax.figure), got "
                        f"{type(fig).__name__}.")
    parts = [getattr(fig, "_infogan_description", "")]
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else ""
    if parts[0] and suptitle and plain(suptitle) not in parts[0]:
        parts[0] = f"{plain(suptitle)}: {parts[0]}"
    for ax in fig.axes:
        text = getattr(ax, "_infogan_description", "") or _describe_lines(ax)
        if text and ax.images:  # an image panel: the words on its rows and columns are part of what it shows
            text = ". ".join(filter(None, (text.rstrip("."), _tick_words(ax))))
        title = plain(ax.get_title())
        if text:
            parts.append(f"{title}: {text}" if title and title not in text else text)
    return " ".join(p if p.endswith(".") else p + "." for p in parts if p)


def png_with_description(png: bytes, text: str) -> bytes:
    """``png`` with an iTXt chunk ``Description`` = ``text`` (UTF-8) after its header, in place of any description
    it had; pixels untouched."""
    if not isinstance(png, bytes) or png[:8] != PNG_MAGIC or png[12:16] != b"IHDR" or len(png) < 8 + 25 \
            or png[8:12] != (13).to_bytes(4, "big"):
        raise SpecError("png_with_description needs the bytes of a PNG image (they start with the PNG signature and "
                        "its IHDR header), e.g. what savefig(..., format='png') writes.")
    if not isinstance(text, str):
        raise SpecError(f"png_with_description: the description must be a str, got {type(text).__name__}.")
    try:
        data = DESCRIPTION_KEY.encode() + b"\0\0\0\0\0" + text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise SpecError(f"png_with_description: the description holds a character UTF-8 cannot write ({e.reason} at "
                        f"position {e.start}); pass ordinary text.") from None
    chunk = struct.pack(">I", len(data)) + b"iTXt" + data + struct.pack(">I", zlib.crc32(b"iTXt" + data))
    end = 8 + 25  # the signature, then IHDR (length, type, 13 bytes, crc)
    rest, at = [], end
    while at + 12 <= len(png):  # the other chunks, less an earlier description (a PNG shown twice)
        size = struct.unpack(">I", png[at:at + 4])[0]
        whole = png[at:at + 12 + size]
        if not (whole[4:8] == b"iTXt" and whole[8:8 + len(DESCRIPTION_KEY) + 1] == DESCRIPTION_KEY.encode() + b"\0"):
            rest.append(whole)
        at += 12 + size
    return png[:end] + chunk + b"".join(rest) + png[at:]


def install_png_descriptions() -> None:
    """In IPython, make a shown Figure's PNG carry :func:`figure_description` (idempotent; no-op elsewhere).

    Wraps the ``image/png`` formatter the inline backend registers for Figure; :func:`describe` calls
    it, so a notebook that reconfigures the backend is covered again at its next description.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        inner = formatter.lookup_by_type(Figure)
    except KeyError:
        return
    if getattr(inner, "_infogan", False):
        return

    def png(fig: Figure, *args: object, **kwargs: object) -> object:
        out = inner(fig, *args, **kwargs)
        text = figure_description(fig)
        data, meta = out if isinstance(out, tuple) else (out, None)
        if not text or not data:
            return out
        if isinstance(data, str):
            data = base64.b64encode(png_with_description(base64.b64decode(data), text)).decode("ascii")
        else:
            data = png_with_description(data, text)
        return (data, meta) if meta is not None else data

    png._infogan = True
    formatter.for_type(Figure, png)


def image_grid(images: Tensor, nrow: int) -> np.ndarray:
    """A (H, W) array in [0, 1] of images (N, 1, 28, 28) in [-1, 1], ``nrow`` images per row.

    Integer pixels (uint8) and values outside [-1, 1] (0..255) are refused with a :class:`SpecError`
    (:func:`~infogan_tutorial.data.check_images`), as are no images and an ``nrow`` that is not a whole number >= 1.
    """
    nrow = count(nrow, "image_grid: nrow")
    if isinstance(images, (Tensor, np.ndarray)) and images.ndim > 0 and len(images) > MAX_GRID:
        raise SpecError(f"image_grid: a grid shows at most {MAX_GRID:,} images, got {len(images):,}; pass a slice, "
                        "e.g. images[:100].")
    images = check_images(images.detach() if isinstance(images, Tensor) else images, "image_grid", background=False)
    grid = make_grid(images.cpu(), nrow=nrow, padding=PAD, normalize=True,
                     value_range=(-1, 1), pad_value=1.0)
    return grid[0].numpy()


def _flat(images: Tensor) -> str:
    """Words for a screen reader where the images show nothing: all nearly one shade."""
    spread = float(images.detach().float().std()) if images.numel() > 1 else 0.0
    if spread >= 0.05:
        return ""
    return (f". Every image is nearly one flat shade (pixels spread by only {spoken(spread)} on the -1 to 1 "
            "scale): the generator draws no shapes yet")


def _row_change(images: Tensor, rows: int, cols: int) -> str:
    """How much a traversal's rows change from their first column to their last, in words."""
    grid = images.detach().float().reshape(rows, cols, -1)
    change = float((grid[:, -1] - grid[:, 0]).abs().mean()) / 2  # a fraction of the range [-1, 1]
    return (f". From the first column to the last a pixel changes by {change:.0%} of the black-to-white range "
            "on average" + (" (barely visible: each row shows nearly the same image in every column)"
                            if change < 0.02 else ""))


def plot_images(images: Tensor, nrow: int = 10, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Show a grid of images (N, 1, 28, 28) in [-1, 1] without ticks (see :func:`image_grid`)."""
    if not isinstance(images, Tensor):
        raise SpecError(f"plot_images needs a torch tensor of images (N, 1, 28, 28), got {type(images).__name__}; "
                        "convert with torch.as_tensor(...).")
    nrow = count(nrow, "plot_images: nrow")
    ax = _axes(ax, figsize=(nrow * 0.6, math.ceil(len(images) / nrow) * 0.6))
    ax.imshow(image_grid(images, nrow), cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    rows = math.ceil(len(images) / nrow)
    describe(ax, f"{len(images)} images of 28 by 28 pixels in {rows} row{'s' * (rows > 1)} of up to {nrow}"
                 + _flat(images))
    return ax


@torch.no_grad()
def generate(G: Generator, codes: Codes) -> Tensor:
    """G's images for ``codes`` in eval mode (batch-norm running statistics), on the CPU.

    ``codes``: a :class:`Codes` of tensors (NumPy arrays are converted; anything else raises :class:`SpecError`).
    """
    check_network(G, "G", "generate")
    if not isinstance(codes, Codes):
        raise SpecError(f"generate needs a Codes batch, e.g. spec.sample(16), got {type(codes).__name__}.")
    parts = {}
    for name in ("z", "categorical", "continuous"):
        value = getattr(codes, name)
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(np.ascontiguousarray(value))
            value = value.long() if name == "categorical" else value.float()
        if not isinstance(value, Tensor):
            raise SpecError(f"generate: Codes.{name} must be a tensor (or a NumPy array), got {type(value).__name__}; "
                            "draw codes with spec.sample(n) or build them with torch.tensor(...).")
        if value.is_meta:
            raise SpecError(f"generate: Codes.{name} is on the meta device (a shape without values); build the codes "
                            "on the CPU or G's device, e.g. spec.sample(n).")
        if value.is_floating_point() and value.numel() and not bool(torch.isfinite(value).all()):
            raise SpecError(f"generate: Codes.{name} holds NaN or infinite values; G's image for them would be NaN. "
                            "Pass finite codes (spec.sample(n) draws them).")
        if name != "categorical" and value.is_floating_point():
            value = value.float()  # G computes in float32, as generate's images are
        parts[name] = value
    device = _device_of(G)
    with eval_mode(G):
        try:
            images = G(Codes(*(parts[name].to(device) for name in ("z", "categorical", "continuous"))))
        except (TypeError, AttributeError) as e:
            raise SpecError(f"generate: G({type(G).__name__}) could not take the codes ({type(e).__name__}: {e}). G "
                            "is called with a Codes batch and returns images (N, 1, 28, 28): a module of your own "
                            "builds its input with spec.to_input(codes), as the package's Generator does.") from e
    n = len(parts["z"])
    if not isinstance(images, Tensor) or tuple(images.shape) != (n, 1, 28, 28):
        got = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise SpecError(f"generate: G returned {got} for {n} codes; it must return images of shape ({n}, 1, 28, 28).")
    return images.cpu()


def _axes(ax: object, figsize: tuple[float, float]) -> Axes:
    """``ax`` if it is a matplotlib Axes, a new figure's Axes of ``figsize`` for None, else a SpecError."""
    if ax is None:
        return plt.subplots(figsize=figsize)[1]
    if not isinstance(ax, Axes):
        raise SpecError(f"ax must be a matplotlib Axes (e.g. plt.subplots()[1]) or None for a new figure, got "
                        f"{type(ax).__name__} {ax!r:.60}.")
    return ax


def _history(history: object, keys: tuple[str, ...], where: str) -> dict:
    """``history`` if it maps each of ``keys`` to a sequence of numbers of one length, else a SpecError."""
    if not isinstance(history, dict):
        raise SpecError(f"{where} needs a training history, a dict such as state.history or load_pretrained().history, "
                        f"got {type(history).__name__}.")
    missing = [k for k in keys if k not in history]
    if missing:
        raise SpecError(f"{where}: the history has no {', '.join(missing)} (it has {sorted(history) or 'nothing'}); "
                        "pass state.history or a history read from a run's history.json.")
    lengths = {k: len(history[k]) if isinstance(history[k], (list, tuple, np.ndarray, Tensor)) else None for k in keys}
    if None in lengths.values() or len(set(lengths.values())) != 1:
        raise SpecError(f"{where}: the history's {', '.join(keys)} must be lists of one length, got lengths {lengths}.")
    if not next(iter(lengths.values())):
        raise SpecError(f"{where}: the history is empty (no logged step yet); train at least log_every steps first.")
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) or isinstance(v, (np.number, Tensor))
               for k in keys for v in history[k]):
        raise SpecError(f"{where}: the history's {', '.join(keys)} must hold numbers.")
    return history


def _device_of(net: torch.nn.Module) -> torch.device:
    first = next(net.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


MAX_GRID = 10_000
"""The most images one traversal grid draws (:func:`traverse`: rows * steps)."""


def traversal_values(spec: LatentSpec, code: str, steps: int = 10,
                     values: tuple[float, float] = (-2.0, 2.0)) -> list[float]:
    """The values a traversal gives ``code``, column by column (a continuous code: ``steps`` >= 2 of them)."""
    i = spec.code_index(code)
    if i < spec.n_categorical:
        return list(range(spec.categorical[i]))
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise SpecError(f"traversal_values: steps must be a whole number >= 2 (the two ends of the range), got {steps!r}.")
    if not (isinstance(values, (tuple, list)) and len(values) == 2 and all(
            isinstance(v, numbers.Real) and code_value_ok(v) for v in values)
            and abs(float(values[1]) - float(values[0])) <= FLOAT32_MAX):
        raise SpecError(f"traversal_values: values must be the two ends (low, high) of the range as finite numbers "
                        f"within float32's range, e.g. (-2.0, 2.0), got {values!r}.")
    if steps > MAX_SAMPLE:
        raise SpecError(f"traversal_values: steps is at most {MAX_SAMPLE:,} (one value per column), got {steps:,}.")
    return torch.linspace(values[0], values[1], steps).tolist()


@dataclass
class Traversal:
    """A traversal grid (the paper's Figure 2): ``images`` row by row, one column per entry of ``values``.

    Attributes:
        code: what varies: a code name (``"c1"``, ``"c2"``, ...) or a noise dimension (``"z0"``, ...).
        values: the value ``code`` takes in each column.
        images: ``(rows * len(values), 1, 28, 28)`` in ``[-1, 1]``, row-major.
        categorical: whether ``code`` is a categorical code (columns labelled 0, 1, ... rather than -2.0 ...).
    """

    code: str
    values: list[float]
    images: Tensor
    categorical: bool

    @property
    def rows(self) -> int:
        """Number of rows (each with its own z and other codes); 0 for a traversal without values."""
        return len(self.images) // len(self.values) if len(self.values) else 0


def traverse(G: Generator, spec: LatentSpec, code: str, rows: int = 10, steps: int = 10,
             values: tuple[float, float] = (-2.0, 2.0), generator: torch.Generator | None = None,
             fixed: Codes | None = None) -> Traversal:
    """G's images as ``code`` varies along each row while z and the other codes stay fixed per row.

    ``code`` is a code name (``"c1"``, ``"c2"``, ...) or a noise dimension (``"z0"``, ``"z1"``, ...).
    ``rows`` and ``steps`` are whole numbers >= 1; ``generator`` a CPU generator or one on G's device.
    """
    check_network(G, "G", "traverse")
    rows, steps = count(rows, "traverse: rows"), count(steps, "traverse: steps")
    if rows * steps > MAX_GRID:
        raise SpecError(f"traverse: rows * steps = {rows * steps:,} images; a grid holds at most {MAX_GRID:,} "
                        "(the paper's are 10 x 10). Ask for fewer rows or steps.")
    check_generator(generator, "traverse", _device_of(G))
    if not isinstance(spec, LatentSpec):
        raise SpecError(f"traverse needs the code layout as a LatentSpec (e.g. G.spec), got {type(spec).__name__}.")
    own = getattr(G, "spec", None)
    if isinstance(own, LatentSpec) and own != spec:
        raise SpecError(f"traverse: the spec passed ({spec}) is not G's own ({own}); G would be fed codes of another "
                        "layout. Pass G.spec.")
    if not isinstance(code, str):
        raise SpecError(f"traverse: code must be a name such as 'c1' or 'z0', got {code!r}.")
    if code.startswith("z"):
        if not code[1:].isdigit():
            raise SpecError(f"unknown code {code!r}; this spec has {spec.code_names()} and the noise dimensions "
                            f"z0 to z{spec.noise_dim - 1}.")
        codes = spec.noise_traversal(int(code[1:]), rows, steps, values, generator=generator)
        cols = torch.linspace(values[0], values[1], steps).tolist()
    else:
        codes = spec.traversal(code, rows, steps, values, generator=generator, fixed=fixed)
        cols = traversal_values(spec, code, steps, values)
    categorical = not code.startswith("z") and spec.code_index(code) < spec.n_categorical
    return Traversal(code, [float(v) for v in cols], generate(G, codes), categorical)


def draw_traversal(traversal: Traversal, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Draw a :class:`Traversal`, columns labelled with the code's value and rows numbered."""
    if not isinstance(traversal, Traversal):
        raise SpecError(f"draw_traversal needs a Traversal (from traverse, or a stored run's .traversals), got "
                        f"{type(traversal).__name__}.")
    cols = traversal.values
    if not len(cols) or not isinstance(traversal.images, Tensor) or traversal.images.dim() != 4 \
            or len(traversal.images) % len(cols) or not len(traversal.images):
        shape = tuple(traversal.images.shape) if isinstance(traversal.images, Tensor) else type(traversal.images)
        raise SpecError(f"draw_traversal: a traversal's images are rows x {len(cols)} values (one column per value), "
                        f"(N, 1, 28, 28) with N a multiple of {len(cols)}, got {shape}.")
    rows = traversal.rows
    ax = _axes(ax, figsize=(len(cols) * 0.55 + 1, rows * 0.55 + 0.8))
    ax.imshow(image_grid(traversal.images, len(cols)), cmap="gray", vmin=0, vmax=1)
    cell = 28 + PAD
    ax.set_xticks([PAD + 14 + j * cell for j in range(len(cols))])
    ax.set_xticklabels([str(int(v)) if traversal.categorical else f"{v:.1f}" for v in cols], fontsize=8)
    ax.set_yticks([PAD + 14 + r * cell for r in range(rows)])
    ax.set_yticklabels([str(r) for r in range(rows)], fontsize=8)
    ax.set_xlabel(f"value of {traversal.code}")
    ax.set_ylabel("row: the other inputs fixed")
    ax.set_title(title or f"varying {traversal.code}")
    what = "the noise dimension" if traversal.code.startswith("z") else "the code"
    span = (f"its {len(cols)} categories, {int(cols[0])} to {int(cols[-1])}" if traversal.categorical
            else f"{len(cols)} values from {cols[0]:.1f} to {cols[-1]:.1f}")
    describe(ax, f"A grid of generated images, {rows} rows by {len(cols)} columns. Along each row only "
                 f"{what} {traversal.code} changes, through {span}; each row keeps its own noise z and other "
                 f"codes, so reading across a row shows what {traversal.code} alone changes in the image"
                 + (_flat(traversal.images) or _row_change(traversal.images, rows, len(cols))))
    return ax


def plot_traversal(G: Generator, spec: LatentSpec, code: str, rows: int = 10, steps: int = 10,
                   values: tuple[float, float] = (-2.0, 2.0), generator: torch.Generator | None = None,
                   fixed: Codes | None = None, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Vary ``code`` along each row (columns labelled with its value); z and the other codes stay fixed per row.

    ``code`` is a code name (``"c1"``, ``"c2"``, ...) or a noise dimension (``"z0"``, ``"z1"``, ...).
    :func:`traverse` makes the images, :func:`draw_traversal` draws them.
    """
    return draw_traversal(traverse(G, spec, code, rows, steps, values, generator, fixed), ax, title)


MARKED_POINTS = 20  # a curve of at most this many logged points is drawn with a dot at each


def plot_info_curves(histories: dict[str, dict[str, list[float]]], spec: LatentSpec,
                     ax: Axes | None = None, key: str = "info_cat") -> Axes:
    """L_I over training for each named run, with H(c) of the categorical codes marked."""
    if not isinstance(histories, dict):
        raise SpecError(f"plot_info_curves needs a dict of run name -> history, got {type(histories).__name__}.")
    if not isinstance(spec, LatentSpec):
        raise SpecError(f"plot_info_curves needs the runs' LatentSpec (for H(c)), got {type(spec).__name__}.")
    for label, h in histories.items():
        _history(h, ("step", key), f"plot_info_curves ({label!r})")
    ax = _axes(ax, figsize=(6, 3.5))
    for label, h in histories.items():  # few points (a short run) are drawn as dots: one point is no line
        ax.plot(h["step"], h[key], label=label, marker="o" if len(h["step"]) <= MARKED_POINTS else None)
    entropy = spec.categorical_entropy()
    name = "H(c_1)" if spec.n_categorical == 1 else "H(c_cat)"
    ax.axhline(entropy, color="gray", ls="--", lw=1, label=f"${name}$ = {entropy:.2f} nats")
    ax.set_xlabel("training step")
    ax.set_ylabel("$L_I$ (nats)")
    ax.set_title("Lower bound $L_I$ on $I(c_1; G(z, c))$ during training")
    ax.legend()
    runs = "; ".join(f"{label}: from {h[key][0]:.2f} to {h[key][-1]:.2f} nats over {h['step'][-1]:,} steps "
                     f"(highest {max(h[key]):.2f})" for label, h in histories.items() if h[key])
    describe(ax, f"Line chart of L_I (nats) against the training step. {runs}. A dashed line marks "
                 f"{name} = {entropy:.2f} nats, the most L_I can reach: a curve near it means Q reads c_1 "
                 "from the images almost perfectly, one near 0 that the images carry nothing of c_1")
    return ax


def plot_losses(history: dict[str, list[float]], ax: Axes | None = None) -> Axes:
    """D's and G's losses over training."""
    _history(history, ("step", "loss_d", "loss_g"), "plot_losses")
    ax = _axes(ax, figsize=(6, 3.5))
    ax.plot(history["step"], history["loss_d"],
            label="D loss (with $-\\lambda\\,\\mathbb{E}[\\log Q]$ and any terms beyond the paper)")
    ax.plot(history["step"], history["loss_g"], label="G loss")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss")
    ax.legend()
    d, g = history["loss_d"], history["loss_g"]
    describe(ax, f"Line chart of the losses against the training step, over {history['step'][-1]:,} steps: "
                 f"D's from {d[0]:.2f} to {d[-1]:.2f}, G's from {g[0]:.2f} to {g[-1]:.2f}")
    return ax


def plot_confusion(result: ClusterAccuracy, ax: Axes | None = None, title: str | None = None,
                   class_names: Sequence[str] | None = None) -> Axes:
    """Confusion matrix of true label vs the label c1's matched category stands for.

    ``class_names`` names the labels on the axes (e.g. Fashion-MNIST's classes); default 0..9.
    """
    if not isinstance(result, ClusterAccuracy):
        raise SpecError(f"plot_confusion needs the result of categorical_accuracy(D, images, labels), got "
                        f"{type(result).__name__}.")
    ax = _axes(ax, figsize=(5, 4.5))
    m = result.confusion
    ax.imshow(m, cmap="Blues")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if m[i, j]:
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if m[i, j] > m.max() / 2 else "black")
    if class_names is not None and len(class_names) != m.shape[0]:
        raise SpecError(f"class_names has {len(class_names)} names for {m.shape[0]} labels.")
    if class_names is None:
        ax.set_xticks(range(m.shape[1]))
        ax.set_yticks(range(m.shape[0]))
    else:
        ax.set_xticks(range(m.shape[1]), class_names, rotation=90)
        ax.set_yticks(range(m.shape[0]), class_names)
    ax.set_xlabel("label matched to Q's category of $c_1$")
    ax.set_ylabel("true label")
    ax.set_title(title or f"c1 as a classifier: accuracy {result.accuracy:.1%} (n = {result.n})")
    names = list(class_names) if class_names is not None else [str(i) for i in range(m.shape[0])]
    off = m.copy()
    np.fill_diagonal(off, 0)
    i, j = np.unravel_index(int(off.argmax()), off.shape)
    worst = (f"; the most frequent confusion: true {names[i]} read as {names[j]}, {off[i, j]} times"
             if off[i, j] else "; no confusions")
    describe(ax, f"Confusion matrix of {result.n:,} images, true label down the rows, the label matched to "
                 f"c1's category across the columns: {result.accuracy:.1%} lie on the diagonal (read correctly)"
                 + worst)
    return ax


install_png_descriptions()  # a no-op outside IPython
