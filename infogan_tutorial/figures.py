"""Figures: sample grids, code traversals (the paper's Figure 2), L_I curves (Figure 1), confusion matrices."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from torch import Tensor
from torchvision.utils import make_grid

from .errors import SpecError
from .evaluation import ClusterAccuracy
from .latent_codes import Codes, LatentSpec
from .networks import Generator, eval_mode

PAD = 2  # pixels between the images of a grid


def image_grid(images: Tensor, nrow: int) -> np.ndarray:
    """A (H, W) array in [0, 1] of images (N, 1, 28, 28) in [-1, 1], ``nrow`` images per row."""
    grid = make_grid(images.detach().float().cpu(), nrow=nrow, padding=PAD, normalize=True,
                     value_range=(-1, 1), pad_value=1.0)
    return grid[0].numpy()


def plot_images(images: Tensor, nrow: int = 10, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Show a grid of images without ticks."""
    ax = ax or plt.subplots(figsize=(nrow * 0.6, math.ceil(len(images) / nrow) * 0.6))[1]
    ax.imshow(image_grid(images, nrow), cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


@torch.no_grad()
def generate(G: Generator, codes: Codes) -> Tensor:
    """G's images for ``codes`` in eval mode (batch-norm running statistics), on the CPU."""
    device = next(G.parameters()).device
    with eval_mode(G):
        return G(Codes(codes.z.to(device), codes.categorical.to(device), codes.continuous.to(device))).cpu()


def traversal_values(spec: LatentSpec, code: str, steps: int = 10,
                     values: tuple[float, float] = (-2.0, 2.0)) -> list[float]:
    """The values a traversal gives ``code``, column by column."""
    i = spec.code_index(code)
    if i < spec.n_categorical:
        return list(range(spec.categorical[i]))
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
        """Number of rows (each with its own z and other codes)."""
        return len(self.images) // len(self.values)


def traverse(G: Generator, spec: LatentSpec, code: str, rows: int = 10, steps: int = 10,
             values: tuple[float, float] = (-2.0, 2.0), generator: torch.Generator | None = None,
             fixed: Codes | None = None) -> Traversal:
    """G's images as ``code`` varies along each row while z and the other codes stay fixed per row.

    ``code`` is a code name (``"c1"``, ``"c2"``, ...) or a noise dimension (``"z0"``, ``"z1"``, ...).
    """
    if code.startswith("z"):
        codes = spec.noise_traversal(int(code[1:]), rows, steps, values, generator=generator)
        cols = torch.linspace(values[0], values[1], steps).tolist()
    else:
        codes = spec.traversal(code, rows, steps, values, generator=generator, fixed=fixed)
        cols = traversal_values(spec, code, steps, values)
    categorical = not code.startswith("z") and spec.code_index(code) < spec.n_categorical
    return Traversal(code, [float(v) for v in cols], generate(G, codes), categorical)


def draw_traversal(traversal: Traversal, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Draw a :class:`Traversal`, columns labelled with the code's value and rows numbered."""
    cols, rows = traversal.values, traversal.rows
    ax = ax or plt.subplots(figsize=(len(cols) * 0.55 + 1, rows * 0.55 + 0.8))[1]
    ax.imshow(image_grid(traversal.images, len(cols)), cmap="gray", vmin=0, vmax=1)
    cell = 28 + PAD
    ax.set_xticks([PAD + 14 + j * cell for j in range(len(cols))])
    ax.set_xticklabels([str(int(v)) if traversal.categorical else f"{v:.1f}" for v in cols], fontsize=8)
    ax.set_yticks([PAD + 14 + r * cell for r in range(rows)])
    ax.set_yticklabels([str(r) for r in range(rows)], fontsize=8)
    ax.set_xlabel(f"value of {traversal.code}")
    ax.set_ylabel("row: the other inputs fixed")
    ax.set_title(title or f"varying {traversal.code}")
    return ax


def plot_traversal(G: Generator, spec: LatentSpec, code: str, rows: int = 10, steps: int = 10,
                   values: tuple[float, float] = (-2.0, 2.0), generator: torch.Generator | None = None,
                   fixed: Codes | None = None, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Vary ``code`` along each row (columns labelled with its value); z and the other codes stay fixed per row.

    ``code`` is a code name (``"c1"``, ``"c2"``, ...) or a noise dimension (``"z0"``, ``"z1"``, ...).
    :func:`traverse` makes the images, :func:`draw_traversal` draws them.
    """
    return draw_traversal(traverse(G, spec, code, rows, steps, values, generator, fixed), ax, title)


def plot_info_curves(histories: dict[str, dict[str, list[float]]], spec: LatentSpec,
                     ax: Axes | None = None, key: str = "info_cat") -> Axes:
    """L_I over training for each named run, with H(c) of the categorical codes marked."""
    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    for label, h in histories.items():
        ax.plot(h["step"], h[key], label=label)
    entropy = spec.categorical_entropy()
    name = "H(c_1)" if spec.n_categorical == 1 else "H(c_cat)"
    ax.axhline(entropy, color="gray", ls="--", lw=1, label=f"${name}$ = {entropy:.2f} nats")
    ax.set_xlabel("training step")
    ax.set_ylabel("$L_I$ (nats)")
    ax.set_title("Lower bound $L_I$ on $I(c_1; G(z, c))$ during training")
    ax.legend()
    return ax


def plot_losses(history: dict[str, list[float]], ax: Axes | None = None) -> Axes:
    """D's and G's losses over training."""
    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    ax.plot(history["step"], history["loss_d"],
            label="D loss (with $-\\lambda\\,\\mathbb{E}[\\log Q]$ and any terms beyond the paper)")
    ax.plot(history["step"], history["loss_g"], label="G loss")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss")
    ax.legend()
    return ax


def plot_confusion(result: ClusterAccuracy, ax: Axes | None = None, title: str | None = None,
                   class_names: Sequence[str] | None = None) -> Axes:
    """Confusion matrix of true label vs the label c1's matched category stands for.

    ``class_names`` names the labels on the axes (e.g. Fashion-MNIST's classes); default 0..9.
    """
    ax = ax or plt.subplots(figsize=(5, 4.5))[1]
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
    return ax
