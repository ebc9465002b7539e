"""An interactive explorer of the latent codes: pick c1, slide c2 and c3, change the noise z.

:func:`render` is a plain function, G(z, c) for one setting of the controls, so it can be
tested without a browser. :func:`explorer` wraps it in ipywidgets (a dropdown for the
categorical code c1, sliders for the continuous codes c2 and c3, an integer seed for z)
and redraws the image whenever a control changes. Widgets need a live kernel (Jupyter,
Colab); in a static page, :func:`explorer_static_figure` shows what the explorer shows.

The codes follow the paper's MNIST layout: c1 is the first categorical code, c2 and c3
the first two continuous codes. Any further codes of a spec are held at category 0 and 0.0.
"""

from __future__ import annotations

import io
import math
import numbers
from typing import TYPE_CHECKING, Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from .errors import SpecError
from .figures import MAX_GRID, describe, generate, image_grid
from .latent_codes import Codes, LatentSpec, code_value_ok
from .networks import Generator

if TYPE_CHECKING:  # ipywidgets is only needed to build the widget
    import ipywidgets

SLIDER_RANGE = (-2.0, 2.0)
"""The c2 and c3 sliders span -2..2, beyond the prior U(-1, 1), as in the paper's Figure 2."""

SLIDER_STEP = 0.1
"""Step of the c2 and c3 sliders."""

MAX_SEED = 2**31 - 1
"""Largest noise seed the seed widget accepts."""


def check_explorer_spec(spec: LatentSpec) -> None:
    """Raise SpecError unless ``spec`` has a categorical code c1 and two continuous codes c2, c3."""
    if not isinstance(spec, LatentSpec):
        raise SpecError(f"the explorer needs the code layout as a LatentSpec (e.g. G.spec), got {type(spec).__name__}.")
    if spec.n_categorical < 1:
        raise SpecError(f"the explorer needs a categorical code c1, but this spec has none ({spec}); "
                        "use a spec like LatentSpec(categorical=(10,), n_continuous=2).")
    if spec.n_continuous < 2:
        raise SpecError(f"the explorer needs two continuous codes c2 and c3, but this spec has "
                        f"{spec.n_continuous} ({spec}); use a spec like LatentSpec(categorical=(10,), n_continuous=2).")


def explorer_codes(spec: LatentSpec, c1: int, c2: float, c3: float, seed: int) -> Codes:
    """The one input (z, c) the explorer shows: z ~ N(0, I) drawn from ``seed``, c = (c1, c2, c3).

    The same seed always gives the same z, whatever the codes; the codes do not touch z.
    """
    check_explorer_spec(spec)
    k = spec.categorical[0]
    if isinstance(c1, bool) or not isinstance(c1, (int, np.integer)) or not 0 <= int(c1) < k:
        raise SpecError(f"c1 must be a category index 0..{k - 1} (an int), got {c1!r}.")
    for name, value in (("c2", c2), ("c3", c3)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not code_value_ok(float(value)):
            raise SpecError(f"{name} must be a finite number within float32's range (the sliders run from -2 to 2), "
                            f"got {value!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) <= MAX_SEED:
        raise SpecError(f"seed must be an int in 0..{MAX_SEED}, got {seed!r}.")
    z = torch.randn(1, spec.noise_dim, generator=torch.Generator().manual_seed(int(seed)))
    categorical = torch.zeros(1, spec.n_categorical, dtype=torch.long)
    categorical[0, 0] = int(c1)
    continuous = torch.zeros(1, spec.n_continuous)
    continuous[0, 0], continuous[0, 1] = float(c2), float(c3)
    return Codes(z, categorical, continuous)


def render(G: Generator, spec: LatentSpec, c1: int, c2: float, c3: float, seed: int) -> Tensor:
    """G(z, c) for one explorer setting: a (28, 28) float32 CPU tensor in [0, 1] (1 = white).

    G runs in eval mode (batch-norm running statistics), so the image does not depend on
    any other image, and the same arguments always give the same image.
    """
    codes = explorer_codes(spec, c1, c2, c3, seed)
    image = generate(G, codes)[0, 0]
    return ((image + 1) / 2).clamp(0, 1)


def _render_many(G: Generator, spec: LatentSpec, settings: Sequence[tuple[int, float, float, int]]) -> Tensor:
    """:func:`render` for many (c1, c2, c3, seed) settings in one batch: (N, 28, 28) in [0, 1]."""
    codes = [explorer_codes(spec, *s) for s in settings]
    batch = Codes(*(torch.cat([getattr(c, f) for c in codes]) for f in ("z", "categorical", "continuous")))
    return ((generate(G, batch)[:, 0] + 1) / 2).clamp(0, 1)


MAX_ZOOM = 64  # a 28 x 28 image at most 1,792 pixels wide
MAX_PNG_PIXELS = 64_000_000  # about 64 MB of grey pixels: a traversal strip at any zoom fits, a runaway size does not


def to_png(image: Tensor | np.ndarray, zoom: int = 6) -> bytes:
    """PNG bytes of a (H, W) image in [0, 1], enlarged ``zoom`` times (nearest neighbour; a whole number from 1
    to ``MAX_ZOOM``). Raises :class:`~infogan_tutorial.errors.SpecError` for another zoom, an image that is not
    2-d, or one with NaN or infinite pixels."""
    from PIL import Image  # Pillow ships with matplotlib

    if isinstance(zoom, bool) or not isinstance(zoom, numbers.Integral) or not 1 <= zoom <= MAX_ZOOM:
        raise SpecError(f"to_png: zoom must be a whole number from 1 to {MAX_ZOOM} (each pixel becomes zoom x zoom "
                        f"pixels), got {zoom!r}.")
    array = np.asarray(image.detach().cpu() if isinstance(image, Tensor) else image, dtype=np.float32)
    if array.ndim != 2 or not array.size:
        raise SpecError(f"to_png needs one grey image of shape (H, W), got shape {tuple(array.shape)}; for one "
                        "image of a batch (N, 1, H, W) pass images[i, 0].")
    if array.size * zoom * zoom > MAX_PNG_PIXELS:
        raise SpecError(f"to_png: a {array.shape[0]} x {array.shape[1]} image at zoom {zoom} is "
                        f"{array.size * zoom * zoom:,} pixels, more than the {MAX_PNG_PIXELS:,} a PNG here may hold; "
                        "pass a smaller zoom or a smaller image.")
    if not np.isfinite(array).all():
        raise SpecError("to_png: the image holds NaN or infinite pixels, which have no grey; check what drew it.")
    low, high = float(array.min()), float(array.max())
    if low < -1e-3 or high > 1 + 1e-3:
        hint = ("G's images are in [-1, 1]: pass (image + 1) / 2" if low >= -1.001 and high <= 1.001
                else "for 0..255 pixels pass image / 255")
        raise SpecError(f"to_png needs pixels in [0, 1] (0 black, 1 white), got values from {low:g} to {high:g}; "
                        f"{hint}.")
    pixels = (array.clip(0, 1) * 255).round().astype(np.uint8)
    picture = Image.fromarray(pixels, mode="L")
    picture = picture.resize((pixels.shape[1] * zoom, pixels.shape[0] * zoom), Image.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def explorer(G: Generator, spec: LatentSpec, c1: int = 0, c2: float = 0.0, c3: float = 0.0,
             seed: int = 0, zoom: int = 6) -> ipywidgets.VBox:
    """An ipywidgets UI that shows G(z, c) and redraws it whenever a control changes.

    Controls (also reachable as ``ui.controls[name]``): ``"c1"`` a Dropdown of the categories
    0..K-1, ``"c2"`` and ``"c3"`` FloatSliders over -2..2, ``"seed"`` a BoundedIntText that
    picks z. ``ui.image`` is the ``ipywidgets.Image`` holding the PNG (``zoom`` times 28 pixels).
    """
    import ipywidgets as widgets

    first = render(G, spec, c1, c2, c3, seed)  # validates every argument before building widgets
    k = spec.categorical[0]
    low, high = SLIDER_RANGE
    style = {"description_width": "initial"}
    controls: dict[str, Any] = {
        "c1": widgets.Dropdown(options=list(range(k)), value=int(c1), description="c1 (category)", style=style),
        "c2": widgets.FloatSlider(value=float(c2), min=low, max=high, step=SLIDER_STEP,
                                  description="c2", continuous_update=True, style=style),
        "c3": widgets.FloatSlider(value=float(c3), min=low, max=high, step=SLIDER_STEP,
                                  description="c3", continuous_update=True, style=style),
        "seed": widgets.BoundedIntText(value=int(seed), min=0, max=MAX_SEED, description="noise seed (z)",
                                       style=style),
    }
    image = widgets.Image(value=to_png(first, zoom), format="png", width=28 * zoom, height=28 * zoom)

    def update(_: object = None) -> None:
        values = {name: w.value for name, w in controls.items()}
        image.value = to_png(render(G, spec, values["c1"], values["c2"], values["c3"], values["seed"]), zoom)

    for widget in controls.values():
        widget.observe(update, names="value")
    ui = widgets.VBox([widgets.HBox([controls["c1"], controls["seed"]]),
                       widgets.HBox([controls["c2"], controls["c3"]]), image])
    ui.controls = controls
    ui.image = image
    ui.update = update
    return ui


def explorer_static_figure(G: Generator, spec: LatentSpec, seeds: Sequence[int] = (0, 1, 2),
                           c1: int = 0, seed: int = 0, values: Sequence[float] = (-2.0, -1.0, 0.0, 1.0, 2.0)) -> Figure:
    """What the explorer shows, as a static figure (for the built book, where widgets do not run).

    Left: one row per noise seed in ``seeds``, c1 = 0..K-1 across the columns, c2 = c3 = 0 (the
    dropdown). Right: for noise ``seed`` and category ``c1``, c2 across the columns and c3 down
    the rows, both over ``values`` (the two sliders).
    """
    check_explorer_spec(spec)
    if not seeds:
        raise SpecError("explorer_static_figure needs at least one seed.")
    if not values:
        raise SpecError("explorer_static_figure needs at least one slider value, e.g. values=(-2, -1, 0, 1, 2).")
    k = spec.categorical[0]
    if len(seeds) * k + len(values) ** 2 > MAX_GRID:
        raise SpecError(f"explorer_static_figure would draw {len(seeds) * k + len(values) ** 2:,} images ({len(seeds)} "
                        f"seeds x {k} categories, and {len(values)} x {len(values)} slider values); at most "
                        f"{MAX_GRID:,} are drawn: pass fewer seeds or values.")
    left = _render_many(G, spec, [(j, 0.0, 0.0, s) for s in seeds for j in range(k)])
    right = _render_many(G, spec, [(c1, a, b, seed) for b in values for a in values])
    fig, (ax_left, ax_right) = plt.subplots(1, 2, figsize=(11, 3.6), width_ratios=(k, len(values) * 1.25))
    cell = 30  # 28 pixels plus figures.PAD
    for ax, images, nrow in ((ax_left, left, k), (ax_right, right, len(values))):
        ax.imshow(image_grid(images.unsqueeze(1) * 2 - 1, nrow), cmap="gray", vmin=0, vmax=1)
    ax_left.set_xticks([16 + j * cell for j in range(k)], [str(j) for j in range(k)], fontsize=8)
    ax_left.set_yticks([16 + r * cell for r in range(len(seeds))], [str(s) for s in seeds], fontsize=8)
    ax_left.set_xlabel("c1 (the dropdown)")
    ax_left.set_ylabel("noise seed")
    ax_left.set_title("c1 across, c2 = c3 = 0")
    ax_right.set_xticks([16 + j * cell for j in range(len(values))], [f"{v:g}" for v in values], fontsize=8)
    ax_right.set_yticks([16 + r * cell for r in range(len(values))], [f"{v:g}" for v in values], fontsize=8)
    ax_right.set_xlabel("c2 (slider)")
    ax_right.set_ylabel("c3 (slider)")
    ax_right.set_title(f"c1 = {c1}, noise seed {seed}")
    fig.suptitle("The latent explorer's views")
    fig.tight_layout()
    describe(ax_left, f"Images drawn by G, {len(seeds)} rows (noise seeds {', '.join(map(str, seeds))}) by {k} "
                      f"columns (c1 = 0 to {k - 1}, what the dropdown picks), c2 = c3 = 0")
    describe(ax_right, f"Images drawn by G for c1 = {c1} and noise seed {seed}: c2 changes across the "
                       f"columns and c3 down the rows, both through {', '.join(f'{v:g}' for v in values)} "
                       "(what the two sliders do)")
    return fig
