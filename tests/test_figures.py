import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from infogan_tutorial.data import FASHION_CLASSES  # noqa: E402
from infogan_tutorial.errors import SpecError  # noqa: E402
from infogan_tutorial.evaluation import hungarian_accuracy  # noqa: E402
from infogan_tutorial.figures import draw_traversal, plot_confusion  # noqa: E402
from infogan_tutorial.latent_codes import LatentSpec  # noqa: E402
from infogan_tutorial.networks import build_networks  # noqa: E402


def test_confusion_matrix_names_its_classes_and_refuses_the_wrong_number():
    labels = np.arange(100) % 10
    result = hungarian_accuracy((labels + 1) % 10, labels)
    ax = plot_confusion(result, class_names=FASHION_CLASSES)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(FASHION_CLASSES)
    assert "100.0%" in ax.get_title()
    plt.close(ax.figure)
    ax = plot_confusion(result)
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(k) for k in range(10)]
    plt.close(ax.figure)
    with pytest.raises(SpecError, match="10 labels"):
        plot_confusion(result, class_names=FASHION_CLASSES[:3])


def test_figures_describe_themselves_and_their_png_carries_it():
    import io

    import torch
    from PIL import Image

    from infogan_tutorial.figures import (describe, figure_description, plain, plot_images,
                                          plot_info_curves, png_with_description)
    from infogan_tutorial.latent_codes import LatentSpec

    fig, (a, b, c) = plt.subplots(1, 3)
    plot_images(torch.zeros(20, 1, 28, 28), nrow=10, ax=a, title="real $c_1$ digits")
    plot_info_curves({"InfoGAN": {"step": [0, 100], "info_cat": [0.1, 2.2]}}, LatentSpec(), ax=b)
    b.set_title("Figure 1: $L_I$ of $c_1$")  # a title set afterwards still leads its panel's words
    c.plot([0, 1], [3, 1], label="$\\lambda$ curve")
    text = figure_description(fig)
    assert text.startswith("real c_1 digits: 20 images of 28 by 28 pixels in 2 rows of up to 10.")
    assert "Figure 1: L_I of c_1: Line chart of L_I" in text and "InfoGAN: from 0.10 to 2.20 nats" in text
    assert "λ curve: from 3 at 0 to 1 at 1" in text  # a panel nobody described: its labelled lines
    describe(fig, "Three panels")
    assert figure_description(fig).startswith("Three panels. real c_1")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    png = png_with_description(buffer.getvalue(), "ε ≈ 0: a test")
    with Image.open(io.BytesIO(png)) as image:
        assert image.text["Description"] == "ε ≈ 0: a test"
        image.load()  # the pixels are intact
    assert plain(r"$Q_t = (1-t)\,P(c \mid x)$") == "Q_t = (1-t) P(c | x)"
    plt.close(fig)
    fig, ax = plt.subplots()
    ax.imshow(np.zeros((2, 2)))
    assert figure_description(fig) == ""  # an undescribed picture has no words: the book's build reports it
    plt.close(fig)


def test_a_vertical_reference_line_is_described_by_its_position():
    import matplotlib.pyplot as plt

    from infogan_tutorial.figures import figure_description

    fig, ax = plt.subplots()
    ax.plot([0.0, 0.5, 1.0], [-0.5, 0.2, 1.1], label="L_I")
    ax.axvline(0.3, ls=":", label="true ε = 0.3")
    text = figure_description(fig)
    plt.close(fig)
    assert "true ε = 0.3: a vertical line at 0.3" in text and "at 0.3 to 1" not in text


def test_a_short_run_s_curve_is_drawn_with_dots_so_one_point_shows():
    """A run logged once drew an empty chart (a line needs two points); short runs get a dot per point."""
    import matplotlib.pyplot as plt

    from infogan_tutorial.figures import MARKED_POINTS, plot_info_curves
    from infogan_tutorial.latent_codes import LatentSpec

    steps = list(range(0, 100 * (MARKED_POINTS + 1), 100))
    ax = plot_info_curves({"one point": {"step": [2], "info_cat": [0.01]},
                           "long run": {"step": steps, "info_cat": [0.1] * len(steps)}}, LatentSpec())
    short, long = ax.get_lines()[:2]
    assert short.get_marker() == "o" and long.get_marker() in (None, "None", "")
    plt.close(ax.figure)


def test_alt_text_says_what_a_reader_would_see(pretrained):
    """A screen reader hears 0 for 4.44e-16, that an untrained grid is one flat shade, how much a
    traversal's rows change, and the words on an image panel's rows (issue 27)."""
    from infogan_tutorial.figures import figure_description, plot_images, spoken, traverse

    assert (spoken(4.44e-16), spoken(2.64e-31), spoken(-0.0), spoken(0.25), spoken(1e-9, scale=1e-9)) == (
        "0", "0", "0", "0.25", "1e-09")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1.03, 4.44e-16], label="L_I")
    assert "from 1.03 at 0 to 0 at 1 (lowest 0, highest 1.03)" in figure_description(fig)
    plt.close(fig)
    fig, ax = plt.subplots()  # a line that runs past the panel's x-limits is read where the panel shows it
    ax.plot(np.linspace(-8, 8, 161), np.linspace(-8, 8, 161), label="x")
    ax.set_xlim(-6, 6)
    assert "from -6 at -6 to 6 at 6" in figure_description(fig)
    plt.close(fig)

    untrained, _ = build_networks(LatentSpec(), seed=0)
    flat = draw_traversal(traverse(untrained, LatentSpec(), "c1", rows=2, generator=torch.Generator().manual_seed(0)))
    assert "nearly one flat shade" in figure_description(flat.figure)
    trained = draw_traversal(traverse(pretrained.G, pretrained.spec, "c2", rows=3, steps=5,
                                      generator=torch.Generator().manual_seed(0)))
    words = figure_description(trained.figure)
    assert "flat shade" not in words and "a pixel changes by" in words and "% of the black-to-white range" in words

    grid = plot_images(torch.rand(20, 1, 28, 28) * 2 - 1, nrow=10)
    grid.set_yticks([14, 44], ["cat. 4 -> 1 (26)", "cat. 0 -> 7 (30)"])
    assert "The rows are labelled, in order: cat. 4 -> 1 (26), cat. 0 -> 7 (30)" in figure_description(grid.figure)
    assert "labelled" not in words  # a traversal's numbered rows and value columns are not repeated
    plt.close("all")
