"""The explorer live in the page: its assets match the pretrained model, and headless Chromium draws
what PyTorch draws for every control (mean |difference| <= 0.01, worst pixel <= 0.05, on 0-1)."""

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from infogan_tutorial import web_export
from infogan_tutorial.errors import SpecError
from infogan_tutorial.pretrained import PRETRAINED_DIR, sha256

sys.path.insert(0, str(Path(__file__).parent))
from headless_chromium import BrowserError, Chromium, find_chromium, serve, write_explorer_page

ROOT = Path(__file__).resolve().parents[1]
ASSETS = web_export.ASSET_DIR
MEAN_TOL, WORST_TOL = 0.01, 0.05


@pytest.fixture(scope="module")
def manifest():
    return json.loads((ASSETS / web_export.MANIFEST_NAME).read_text())


@pytest.fixture(scope="module")
def built():
    """What web_export writes for the pretrained model (built once for this module)."""
    return web_export.build_assets()


# -- the assets -----------------------------------------------------------------------------
def test_committed_assets_are_those_of_the_pretrained_model(manifest, built, monkeypatch):
    monkeypatch.setattr(web_export, "build_assets", lambda folder=None: built)
    assert manifest["source"]["sha256"] == sha256(PRETRAINED_DIR / "infogan-mnist.pt"), \
        "the pretrained model changed: run python -m infogan_tutorial.web_export and commit book/_static/explorer"
    assert manifest["weights"]["sha256"] == sha256(ASSETS / web_export.WEIGHTS_NAME)
    assert web_export.stale_assets() == [], "run python -m infogan_tutorial.web_export"
    assert (ASSETS / web_export.WEIGHTS_NAME).stat().st_size <= 4_000_000


def test_weights_are_the_restored_fp32_weights_exactly(manifest):
    assert manifest["weights"]["max_abs_error"] == 0.0
    assert {manifest["tensors"][k]["dtype"] for k in ("fc2.weight", "deconv1.weight")} == {"int4"}


def test_category_labels_are_the_hungarian_matching_on_the_held_out_sample(pretrained, manifest):
    from infogan_tutorial.data import load_dataset
    from infogan_tutorial.evaluation import categorical_accuracy

    test = load_dataset("sample", split="test", verbose=False)
    result = categorical_accuracy(pretrained.D, test.images, test.labels)
    cats = manifest["categories"]
    assert cats["digit"] == result.mapping.tolist() and sorted(cats["digit"]) == list(range(10))
    assert cats["confusion"] == result.confusion.tolist() and cats["n"] == 1000
    assert cats["accuracy"] == pytest.approx(0.971, abs=1e-3)  # data/pretrained/README.md


def test_folded_layers_give_the_generator_s_images(pretrained):
    """fold_generator's four layers, in PyTorch, are G in eval mode."""
    t = web_export.fold_generator(pretrained.G)
    x = pretrained.spec.to_input(pretrained.spec.sample(8, torch.Generator().manual_seed(0)))
    conv = torch.nn.functional.conv_transpose2d
    h = torch.relu(x @ t["fc1.weight"].T * t["fc1.scale"] + t["fc1.shift"])
    h = torch.relu(h @ t["fc2.weight"].T * t["fc2.scale"] + t["fc2.shift"]).view(-1, 128, 7, 7)
    h = torch.relu(conv(h, t["deconv1.weight"], stride=2, padding=1) * t["deconv1.scale"][:, None, None]
                   + t["deconv1.shift"][:, None, None])
    image = torch.tanh(conv(h, t["deconv2.weight"], t["deconv2.bias"], stride=2, padding=1))
    with torch.no_grad():
        assert torch.allclose(image, pretrained.G.eval()(x), atol=1e-5)


def test_int4_encoding_is_exact_for_4bit_weights_and_reports_its_error_otherwise():
    q = torch.randint(-7, 8, (2, 64)).float()
    q[:, 0] = 7  # each group's largest |q| is 7, as in an int4 export
    scales = torch.tensor([0.01, 0.003]).half().float()
    exact = (q * scales[:, None]).reshape(1, -1).repeat(1000, 1)  # 128,000 weights: stored in 4 bits
    entry, blocks, error = web_export.encode_tensor(exact)
    assert entry["dtype"] == "int4" and error == 0.0 and len(blocks[0]) == exact.numel() // 2
    entry, _, error = web_export.encode_tensor(torch.randn(1000, 128))
    assert entry["dtype"] == "int4" and 0 < error < 0.5
    assert web_export.encode_tensor(torch.tensor([0.5, 0.25]))[0]["dtype"] == "f16"
    assert web_export.encode_tensor(torch.tensor([0.1]))[0]["dtype"] == "f32"


def test_seeded_noise_is_standard_normal_and_reproducible():
    z = web_export.seeded_noise(3, 100_001)
    assert z.dtype == torch.float32 and z.shape == (100_001,)
    assert abs(float(z.mean())) < 0.02 and abs(float(z.std()) - 1) < 0.02
    assert torch.equal(web_export.seeded_noise(3, 62), z[:62])
    assert not torch.equal(web_export.seeded_noise(4, 62), z[:62])
    with pytest.raises(SpecError, match="seed"):
        web_export.seeded_noise(-1, 62)


def test_render_web_is_the_python_explorer_with_the_page_s_noise(pretrained):
    from infogan_tutorial.explorer import render

    image = web_export.render_web(pretrained.G, pretrained.spec, 2, 0.5, -0.5, 11)
    assert image.shape == (28, 28) and 0 <= float(image.min()) and float(image.max()) <= 1
    assert not torch.equal(image, render(pretrained.G, pretrained.spec, 2, 0.5, -0.5, 11))  # another z
    with pytest.raises(SpecError, match="c1"):
        web_export.render_web(pretrained.G, pretrained.spec, 10, 0.0, 0.0, 0)


def test_static_png_shows_the_ten_digits_in_order(pretrained, manifest):
    pixels = np.asarray(Image.open(ASSETS / web_export.STATIC_NAME), dtype=np.float32) / 255
    order = np.argsort(manifest["categories"]["digit"])
    first = web_export.render_web(pretrained.G, pretrained.spec, int(order[0]), 0.0, 0.0, 0).numpy()
    assert pixels.shape == (84, 840)
    assert np.abs(pixels[1::3, 1:84:3] - first).max() <= 1 / 255 + 1e-6


def test_onnx_export_has_a_dynamic_batch_and_the_generator_s_outputs(pretrained, tmp_path):
    onnx = pytest.importorskip("onnx", reason="pip install onnx (the web extra) to export G to ONNX")
    from onnx.reference import ReferenceEvaluator

    path = web_export.export_onnx(pretrained.G, tmp_path / "G.onnx")
    graph = onnx.load(str(path))
    onnx.checker.check_model(graph)
    assert graph.opset_import[0].version == web_export.OPSET
    assert graph.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    x = pretrained.spec.to_input(pretrained.spec.sample(3, torch.Generator().manual_seed(1)))
    (out,) = ReferenceEvaluator(graph).run(None, {"x": x.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(out, pretrained.G.eval()(x).numpy(), atol=1e-4)


def test_check_cli_reports_stale_assets(tmp_path, capsys, built, monkeypatch):
    monkeypatch.setattr(web_export, "build_assets", lambda folder=None: built)
    (tmp_path / web_export.WEIGHTS_NAME).write_bytes(b"old")
    assert web_export.main(["--check", "--out", str(tmp_path)]) == 1
    assert "out of date: generator.bin, generator.json, explorer-static.png" in capsys.readouterr().out
    assert web_export.main(["--check"]) == 0 and "up to date" in capsys.readouterr().out


# -- the page in headless Chromium ------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    binary = find_chromium()
    if binary is None:
        pytest.skip("Chromium not found: apt-get install chromium (scripts/dev.sh test does), or set $CHROMIUM")
    try:
        b = Chromium(binary)
    except (BrowserError, OSError) as err:
        pytest.skip(f"{binary} did not start headless ({err}); run it by hand to see why")
    yield b
    b.close()


@pytest.fixture(scope="module")
def page(browser, tmp_path_factory):
    folder = tmp_path_factory.mktemp("site")
    write_explorer_page(folder, ASSETS)
    with serve(folder) as base:
        browser.navigate(base + "index.html")
        yield base


def canvas(browser, selector, zoom, count=1):
    """The images on a canvas (count of them side by side, 2 px apart) as (count, 28, 28) in [0, 1]."""
    values = browser.evaluate(f"""(() => {{ const c = document.querySelector({json.dumps(selector)});
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, out = [];
        for (let k = 0; k < {count}; k++) for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++)
          out.push(d[((y * {zoom} + {zoom // 2}) * c.width + k * (28 * {zoom} + 2) + x * {zoom} + {zoom // 2}) * 4]);
        return [c.width, out]; }})()""")
    width, pixels = values
    assert width == count * 28 * zoom + (count - 1) * 2
    return np.array(pixels, dtype=np.float32).reshape(count, 28, 28) / 255


def assert_close(got, want, what):
    diff = np.abs(got - want)
    assert diff.mean() <= MEAN_TOL and diff.max() <= WORST_TOL, \
        f"{what}: mean |diff| {diff.mean():.4f}, worst {diff.max():.4f}"


def move(browser, root, control, value, commit=True):
    """Set a control as a reader does: an input event, then (``commit``) the change event of Enter or Tab."""
    change = "e.dispatchEvent(new Event('change'));" if commit else ""
    browser.evaluate(f"""(() => {{ const e = document.querySelector('{root} [data-control={control}]');
        e.value = {json.dumps(str(value))}; e.dispatchEvent(new Event('input')); {change} }})()""")
    browser.evaluate(f"document.querySelector('{root}').infoganExplorer.idle()")


def opened(browser, root):
    """Open the explorer ``root`` with its button, unless it is open already."""
    browser.evaluate(f"(e => e.dataset.state === 'closed' && e.querySelector('.infogan-explorer-open').click())"
                     f"(document.querySelector('{root}'))")
    browser.wait_for(f"document.querySelector('{root}').dataset.state === 'live'")


def settings(browser, root):
    return browser.evaluate(f"document.querySelector('{root}').infoganExplorer.settings")


def test_nothing_loads_before_the_button(browser, page):
    assert browser.evaluate("document.querySelector('#full').dataset.state") == "closed"
    assert browser.evaluate("document.querySelector('#small img.infogan-explorer-static').complete")
    loaded = browser.evaluate("performance.getEntriesByType('resource').map(e => e.name.split('/').pop())")
    assert "generator.bin" not in loaded and "generator.json" not in loaded


def test_page_noise_is_python_s(browser, page):
    for seed in (0, 1, 2**31 - 1):
        z = browser.evaluate(f"Array.from(InfoGANExplorer.seededNoise({seed}, 62))")
        np.testing.assert_array_equal(np.array(z, dtype=np.float32), web_export.seeded_noise(seed, 62).numpy())


def test_every_control_draws_pytorch_s_image(browser, page, pretrained, manifest):
    opened(browser, "#full")
    sent = browser.evaluate("performance.getEntriesByType('resource').filter(e => /generator/.test(e.name))"
                            ".reduce((n, e) => n + e.encodedBodySize, 0)")
    assert 3_000_000 < sent <= 5_000_000
    digit = manifest["categories"]["digit"]
    labels = browser.evaluate("Array.from(document.querySelectorAll('#full [data-control=c1] option'))"
                              ".map(o => [Number(o.value), o.textContent])")
    assert [text.split()[1] for _, text in labels] == [str(d) for d in range(10)]
    assert all(text.startswith(f"digit {digit[k]} ") for k, text in labels)

    def check(what):
        s = settings(browser, "#full")
        want = web_export.render_web(pretrained.G, pretrained.spec, s["c1"], s["c2"], s["c3"], s["seed"]).numpy()
        assert_close(canvas(browser, "#full canvas[data-view=image]", 6)[0], want, f"{what} {s}")
        return s

    check("first image")
    for control, value in (("c1", 7), ("c2", -1.7), ("c3", 1.2), ("seed", 424242), ("c2", 2), ("c3", -2)):
        move(browser, "#full", control, value)
        s = check(f"after moving {control}")
        assert s[control] == value
    browser.evaluate("document.querySelector('#full [data-control=new-noise]').click()")
    browser.evaluate("document.querySelector('#full').infoganExplorer.idle()")
    assert check("after new noise")["seed"] != 424242


def test_g_runs_in_webassembly_simd_and_its_javascript_twin_draws_the_same(browser, page, pretrained):
    """The page's G adds up its columns in WebAssembly SIMD; without SIMD the same loop runs in JavaScript."""
    opened(browser, "#full")
    got = browser.evaluate("""(async () => {
      const G = document.querySelector('#full').infoganExplorer.G;
      const url = performance.getEntriesByType('resource').map(e => e.name).find(n => n.endsWith('generator.bin'));
      const js = new InfoGANExplorer.WebGenerator(G.manifest, await (await fetch(url)).arrayBuffer(), {simd: false});
      const z = InfoGANExplorer.seededNoise(11, G.noiseDim), images = [];
      for (const [c1, c2, c3] of [[0, 0, 0], [3, -2, 1.5], [9, 2, -2]])
        images.push([c1, c2, c3, Array.from(G.render(c1, c2, c3, z)), Array.from(js.render(c1, c2, c3, z))]);
      return {kernels: [G.kernel, js.kernel], images};
    })()""")
    assert got["kernels"] == ["WebAssembly SIMD", "JavaScript"]
    for c1, c2, c3, simd, plain in got["images"]:
        simd, plain = np.array(simd).reshape(28, 28), np.array(plain).reshape(28, 28)
        assert np.abs(simd - plain).max() <= 1e-5, (c1, c2, c3)
        want = web_export.render_web(pretrained.G, pretrained.spec, c1, c2, c3, 11).numpy()
        assert_close(simd, want, f"WebAssembly SIMD at {(c1, c2, c3)}")


def test_traversal_strip_follows_the_code_moved_last(browser, page, pretrained):
    opened(browser, "#full")
    move(browser, "#full", "c2", 0.4)
    s = settings(browser, "#full")
    want = np.stack([web_export.render_web(pretrained.G, pretrained.spec, s["c1"], s["c2"], v, s["seed"]).numpy()
                     for v in np.linspace(-2, 2, 9)])
    move(browser, "#full", "c3", 0.0)
    strip = browser.evaluate("document.querySelector('#full').infoganExplorer.strip")
    assert strip["code"] == "c3" and strip["values"] == [-2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2]
    assert_close(canvas(browser, "#full canvas[data-view=strip]", strip["zoom"], 9), want, "c3 strip")
    move(browser, "#full", "c1", 4)
    order = np.argsort(json.loads((ASSETS / web_export.MANIFEST_NAME).read_text())["categories"]["digit"])
    want = np.stack([web_export.render_web(pretrained.G, pretrained.spec, int(k), 0.4, 0.0, s["seed"]).numpy()
                     for k in order])
    zoom = browser.evaluate("document.querySelector('#full').infoganExplorer.strip.zoom")
    assert_close(canvas(browser, "#full canvas[data-view=strip]", zoom, 10), want, "c1 strip, ordered by digit")


def test_small_explorer_opens_on_its_button(browser, page, pretrained):
    opened(browser, "#small")
    assert browser.evaluate("document.querySelector('#small img.infogan-explorer-static')") is None
    move(browser, "#small", "c2", -0.8)
    s = settings(browser, "#small")
    want = web_export.render_web(pretrained.G, pretrained.spec, s["c1"], -0.8, 0.0, 0).numpy()
    assert_close(canvas(browser, "#small canvas[data-view=image]", 4)[0], want, "small explorer")


BUILT = [Path(p) for p in os.environ.get("INFOGAN_BOOK_HTML", "").split(os.pathsep) if p] + [
    ROOT / "_build" / "html"]


def test_controls_draw_once_per_frame_and_the_seed_box_shows_the_drawn_seed(browser, page):
    opened(browser, "#full")
    before = browser.evaluate("document.querySelector('#full').infoganExplorer.renders")
    browser.evaluate("""(() => { const e = document.querySelector('#full [data-control=c2]');
        for (let i = 0; i < 10; i++) { e.value = (i / 10).toFixed(1); e.dispatchEvent(new Event('input')); } })()""")
    browser.evaluate("document.querySelector('#full').infoganExplorer.idle()")
    assert browser.evaluate("document.querySelector('#full').infoganExplorer.renders") == before + 1
    assert settings(browser, "#full")["c2"] == 0.9
    box = "document.querySelector('#full [data-control=seed]').value"
    for typed, drawn in (("-5", 0), ("3.7", 3), ("12", 12), ("1e10", 2**31 - 1)):
        move(browser, "#full", "seed", typed)
        assert settings(browser, "#full")["seed"] == drawn
        assert browser.evaluate(box) == str(drawn)
    move(browser, "#full", "seed", "1e1", commit=False)  # typing "1e10": the box keeps what is typed
    assert browser.evaluate(box) == "1e1"
    move(browser, "#full", "seed", "1e10")
    assert browser.evaluate(box) == str(2**31 - 1)


def test_strip_follows_the_width(browser, page):
    opened(browser, "#full")
    move(browser, "#full", "c3", 0.5)
    browser.evaluate("document.querySelector('#full').style.width = '330px'")
    browser.wait_for("document.querySelector('#full').infoganExplorer.strip.zoom === 1")
    browser.evaluate("document.querySelector('#full').infoganExplorer.idle()")
    assert browser.evaluate("document.querySelector('#full canvas[data-view=strip]').width") <= 330
    browser.evaluate("document.querySelector('#full').style.width = ''")
    browser.wait_for("document.querySelector('#full').infoganExplorer.strip.zoom > 1")


def test_explorer_names_its_images_announces_and_keeps_the_focus(browser, page):
    browser.navigate(page + "index.html")  # both explorers closed again
    status = "document.querySelector('#full [role=status]')"
    assert browser.evaluate(f"{status} !== null")
    assert browser.evaluate("document.querySelector('#full .infogan-explorer-nojs')") is None  # JavaScript runs
    browser.evaluate(f"window.loadingRegion = {status}")
    browser.evaluate("(b => { b.focus(); b.click(); })(document.querySelector('#full .infogan-explorer-open'))")
    assert "Loading" in browser.evaluate(f"{status}.textContent")
    browser.wait_for("document.querySelector('#full').dataset.state === 'live'")
    assert browser.evaluate("document.activeElement.dataset.control") == "c1"
    assert "ready" in browser.evaluate(f"{status}.textContent")
    # one live region, in the page before its message changed: screen readers announce "ready" too
    assert browser.evaluate(f"{status} === window.loadingRegion && document.querySelectorAll('#full [role=status]').length === 1")
    assert browser.evaluate("document.querySelector('#full [data-control=c1]').getAttribute('aria-label')") == "c1 (category)"
    browser.evaluate("document.querySelector('#full').infoganExplorer.idle()")
    names = browser.evaluate("Array.from(document.querySelectorAll('#full canvas')).map(c => c.getAttribute('aria-label'))")
    assert names[0].startswith("The image G draws for c1 = ") and "strip of 9 images" in names[1]


def test_built_chapter_runs_the_explorer_on_its_button(browser, pretrained):
    """Where the book was built (scripts/dev.sh book or test; or $INFOGAN_BOOK_HTML), chapter 7's explorer
    works in the built page, and downloads nothing until the reader presses its button."""
    html = next((d for d in BUILT if (d / "book" / "07_results.html").is_file()), None)
    if html is None:
        pytest.skip("the book is not built (bash scripts/dev.sh book)")
    assert (html / "book" / "../_static/explorer/explorer-static.png").is_file()  # the intro's <img> path
    with serve(html) as base:
        browser.navigate(base + "book/07_results.html")
        assert browser.evaluate("document.querySelector('.infogan-explorer').dataset.state") == "closed"
        browser.evaluate("document.querySelector('.infogan-explorer').scrollIntoView()")
        browser.evaluate("new Promise(r => setTimeout(r, 300))")
        assert browser.evaluate("document.querySelector('.infogan-explorer').dataset.state") == "closed"
        browser.evaluate("document.querySelector('.infogan-explorer .infogan-explorer-open').click()")
        browser.wait_for("document.querySelector('.infogan-explorer').dataset.state === 'live'")
        s = settings(browser, ".infogan-explorer")
        want = web_export.render_web(pretrained.G, pretrained.spec, s["c1"], s["c2"], s["c3"], s["seed"]).numpy()
        assert_close(canvas(browser, ".infogan-explorer canvas[data-view=image]", 6)[0], want, "built chapter")


def test_web_export_gives_each_network_back_its_mode_also_when_a_step_fails(monkeypatch, pretrained, tmp_path):
    G, D = pretrained.G.train(), pretrained.D.train()
    try:
        web_export.render_web(G, pretrained.spec, 0, 0.0, 0.0, 0)
        web_export.category_labels(D)
        assert G.training and D.training
        monkeypatch.setattr(torch.onnx, "export", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("exporter")))
        pytest.importorskip("onnx")
        with pytest.raises(RuntimeError, match="exporter"):
            web_export.export_onnx(G, tmp_path / "g.onnx")
        assert G.training
    finally:
        G.eval(), D.eval()
