"""The latent explorer: render is deterministic and follows its inputs; the widget's controls redraw the image."""

import io

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image

from infogan_tutorial.errors import SpecError
from infogan_tutorial.explorer import (SLIDER_RANGE, explorer, explorer_codes, explorer_static_figure, render,
                                       to_png)
from infogan_tutorial.latent_codes import LatentSpec
from infogan_tutorial.networks import Generator

matplotlib.use("Agg")
SPEC = LatentSpec()


@pytest.fixture(scope="module")
def G():
    # PyTorch's default initialisation (not the N(0, 0.02) one of build_networks) gives images
    # with clearly visible structure, so that a change of any input changes some PNG pixels.
    torch.manual_seed(0)
    return Generator(SPEC).eval()


def png_pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def test_render_gives_one_grey_image_in_the_unit_range(G):
    image = render(G, SPEC, 3, 0.5, -1.5, 7)
    assert image.shape == (28, 28)
    assert image.dtype == torch.float32 and image.device.type == "cpu"
    assert 0.0 <= float(image.min()) < float(image.max()) <= 1.0
    # it is G's tanh output mapped from [-1, 1] to [0, 1]
    codes = explorer_codes(SPEC, 3, 0.5, -1.5, 7)
    with torch.no_grad():
        expected = (G(codes)[0, 0] + 1) / 2
    torch.testing.assert_close(image, expected)


def test_render_is_deterministic_and_follows_each_input(G):
    base = render(G, SPEC, 0, 0.0, 0.0, 0)
    assert torch.equal(base, render(G, SPEC, 0, 0.0, 0.0, 0))
    for changed in [(1, 0.0, 0.0, 0), (0, 1.0, 0.0, 0), (0, 0.0, 1.0, 0), (0, 0.0, 0.0, 1)]:
        assert float((render(G, SPEC, *changed) - base).abs().max()) > 0.01, changed


def test_the_seed_alone_decides_z_and_the_controls_decide_c():
    a = explorer_codes(SPEC, 2, -2.0, 2.0, 11)
    b = explorer_codes(SPEC, 9, 1.5, 0.0, 11)
    assert torch.equal(a.z, b.z)
    assert torch.equal(a.z, torch.randn(1, 62, generator=torch.Generator().manual_seed(11)))
    assert not torch.equal(a.z, explorer_codes(SPEC, 2, -2.0, 2.0, 12).z)
    assert a.categorical.tolist() == [[2]] and a.continuous.tolist() == [[-2.0, 2.0]]
    # further codes of a larger spec stay at category 0 and value 0.0
    big = LatentSpec(noise_dim=5, categorical=(10, 4), n_continuous=3)
    c = explorer_codes(big, 7, 0.25, -0.5, 0)
    assert c.categorical.tolist() == [[7, 0]] and c.continuous.tolist() == [[0.25, -0.5, 0.0]]


def test_the_widget_has_the_documented_controls_and_ranges(G):
    ui = explorer(G, SPEC, c1=4, c2=0.5, c3=-1.0, seed=3)
    c = ui.controls
    assert set(c) == {"c1", "c2", "c3", "seed"}
    assert type(c["c1"]).__name__ == "Dropdown" and list(c["c1"].options) == list(range(10))
    assert c["c1"].value == 4
    for name, value in (("c2", 0.5), ("c3", -1.0)):
        assert type(c[name]).__name__ == "FloatSlider"
        assert (c[name].min, c[name].max) == SLIDER_RANGE == (-2.0, 2.0)
        assert c[name].value == value
    assert type(c["seed"]).__name__ == "BoundedIntText" and c["seed"].value == 3 and c["seed"].min == 0
    assert type(ui.image).__name__ == "Image" and ui.image.format == "png"
    # the image shown is the rendered one, enlarged 6 times
    pixels = png_pixels(ui.image.value)
    assert pixels.shape == (168, 168)
    expected = (render(G, SPEC, 4, 0.5, -1.0, 3).numpy() * 255).round().astype(np.uint8)
    np.testing.assert_array_equal(pixels[::6, ::6], expected)
    # the controls and the image are laid out in the box
    children = [w for box in ui.children for w in getattr(box, "children", (box,))]
    assert all(any(w is x for x in children) for w in (*c.values(), ui.image))


@pytest.mark.parametrize("name, value", [("c1", 7), ("c2", 1.5), ("c3", -2.0), ("seed", 42)])
def test_changing_a_control_redraws_the_image(G, name, value):
    ui = explorer(G, SPEC)
    before = ui.image.value
    ui.controls[name].value = value
    assert ui.image.value != before
    settings = {k: w.value for k, w in ui.controls.items()}
    assert settings[name] == value
    assert ui.image.value == to_png(render(G, SPEC, settings["c1"], settings["c2"], settings["c3"],
                                           settings["seed"]))
    ui.controls[name].value = {"c1": 0, "c2": 0.0, "c3": 0.0, "seed": 0}[name]  # back: the first image again
    assert ui.image.value == before


def test_bad_inputs_raise_spec_errors_that_say_what_to_do(G):
    with pytest.raises(SpecError, match=r"c1 must be a category index 0\.\.9"):
        render(G, SPEC, 10, 0.0, 0.0, 0)
    with pytest.raises(SpecError, match="c1 must be"):
        render(G, SPEC, -1, 0.0, 0.0, 0)
    with pytest.raises(SpecError, match="c1 must be"):
        explorer(G, SPEC, c1=12)
    with pytest.raises(SpecError, match="c2 must be a finite number"):
        render(G, SPEC, 0, float("nan"), 0.0, 0)
    with pytest.raises(SpecError, match="seed must be an int"):
        render(G, SPEC, 0, 0.0, 0.0, -5)
    no_cat = LatentSpec(noise_dim=8, categorical=(), n_continuous=2)
    with pytest.raises(SpecError, match="needs a categorical code c1.*categorical=\\(10,\\)"):
        render(Generator(no_cat), no_cat, 0, 0.0, 0.0, 0)
    with pytest.raises(SpecError, match="needs a categorical code c1"):
        explorer(Generator(no_cat), no_cat)
    one_cont = LatentSpec(noise_dim=8, categorical=(10,), n_continuous=1)
    with pytest.raises(SpecError, match="two continuous codes c2 and c3"):
        explorer_static_figure(Generator(one_cont), one_cont)


def test_static_figure_shows_both_views(G):
    fig = explorer_static_figure(G, SPEC, seeds=(0, 1), c1=2, seed=5, values=(-2.0, 0.0, 2.0))
    left, right = fig.axes
    # left: 2 seeds x 10 categories; right: 3 x 3 slider settings (28 px + 2 px padding per cell)
    assert left.images[0].get_array().shape == (2 * 30 + 2, 10 * 30 + 2)
    assert right.images[0].get_array().shape == (3 * 30 + 2, 3 * 30 + 2)
    assert [t.get_text() for t in left.get_xticklabels()] == [str(j) for j in range(10)]
    assert [t.get_text() for t in right.get_yticklabels()] == ["-2", "0", "2"]
    assert left.get_xlabel().startswith("c1") and right.get_xlabel().startswith("c2")
    assert right.get_ylabel().startswith("c3")
    # the cell for c2 = 2, c3 = 0 (row 1, column 2) is render(G, spec, 2, 2.0, 0.0, 5)
    grid = np.asarray(right.images[0].get_array())
    cell = grid[2 + 30:2 + 30 + 28, 2 + 60:2 + 60 + 28]
    np.testing.assert_allclose(cell, render(G, SPEC, 2, 2.0, 0.0, 5).numpy(), atol=1e-6)
    matplotlib.pyplot.close(fig)
