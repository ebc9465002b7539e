"""The live explorer in headless Chromium: page weight, load time and time per image.

    python benchmarks/web_explorer.py                            # the book's generator (explorer.js)
    python benchmarks/web_explorer.py --ort --screens DIR        # also onnxruntime-web; screenshots into DIR

Serves ``book/_static/explorer/`` on 127.0.0.1 in a page like the book's, opens the explorer
in headless Chromium (from apt) and prints:

* bytes transferred from the click to the first image (the page itself not counted), and the
  time from the click to the first image;
* the time G takes per image (median and 95th percentile of 100 images after a warm-up), on the
  page's kernel (WebAssembly SIMD where the browser has it) and, interleaved, on the plain
  JavaScript loop that stands in where it does not; with Node on the PATH, also the CPU time per
  image of both (wall-clock times grow when
  other processes share the cores, CPU time much less);
* slider-to-paint: a mouse drag across the c2 slider (60 moves, one every 16 ms, sent through the
  DevTools protocol as a hand would, without waiting for the page), from each move's timestamp
  to the first frame that shows its image, median and p95, at full speed and with the CPU slowed
  4x (``Emulation.setCPUThrottlingRate``);
* the largest difference from PyTorch over the settings shown (0-1 scale).

With ``--ort``, the same G exported to ONNX (``web_export.export_onnx``, fp32) runs in
onnxruntime-web (``ORT_VERSION``, fetched with ``npm pack`` into the ignored ``.web/`` and
checked against its registry integrity hash), on 1 and 2 WebAssembly threads.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import subprocess
import time
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from headless_chromium import Chromium, find_chromium, serve, write_explorer_page

from infogan_tutorial.pretrained import load_pretrained
from infogan_tutorial.web_export import ASSET_DIR, export_onnx, render_web, seeded_noise

ORT_VERSION = "1.22.0"
ORT_INTEGRITY = "sha512-Ud/+EBo6mhuaQWt/OjaOk0iNWjXqJoeeMFr6xQEERZdIZH2OWpGzuujz7lfuOBjUa6TEE/sc4nb7Da5dNL34fg=="
CACHE = ROOT / ".web"
ISOLATED = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}


def js_timings(browser: Chromium) -> dict:
    """Per-image times of the page's G (its kernel: WebAssembly SIMD where the browser has it) and of the
    same G on the plain JavaScript loop, interleaved."""
    return browser.evaluate("""(async () => {
      const root = document.querySelector('#full'), G = root.infoganExplorer.G, z = InfoGANExplorer.seededNoise(7, 62);
      const url = performance.getEntriesByType('resource').map(e => e.name).find(n => n.endsWith('generator.bin'));
      const js = new InfoGANExplorer.WebGenerator(G.manifest, await (await fetch(url)).arrayBuffer(), {simd: false});
      const q = (t, p) => t.slice().sort((a, b) => a - b)[Math.floor(p * (t.length - 1))];
      for (let i = 0; i < 20; i++) { G.render(i % 10, 0, 0, z); js.render(i % 10, 0, 0, z); }
      const g = [], j = [];
      for (let i = 0; i < 100; i++) for (const [net, t] of [[G, g], [js, j]]) {
        const t0 = performance.now(); net.render(i % 10, (i % 41) / 10 - 2, 0.3, z); t.push(performance.now() - t0); }
      return {kernel: G.kernel, g_median: q(g, 0.5), g_p95: q(g, 0.95), js_median: q(j, 0.5), js_p95: q(j, 0.95)};
    })()""")


DRAG_PROBE = """(() => {
  const root = document.querySelector(%s), slider = root.querySelector('[data-control=c2]');
  const state = root.infoganExplorer, moves = [], lat = [];
  slider.scrollIntoView({block: 'center'});
  let since = null;  // the earliest mouse move (coalesced ones included) not yet turned into a value
  slider.addEventListener('pointermove', e => {
    const all = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    if (since === null) since = all.length ? all[0].timeStamp : e.timeStamp;
  }, true);
  root.addEventListener('input', () => { if (since !== null) { moves.push({t: since, n: state.renders}); since = null; } }, true);
  (function frame(now) {  // painted: when draw() painted in a frame's callbacks (paintedAt), else (a script
    // that paints in its input handler) at the frame after the handler
    const painted = state.paintedAt || performance.now();
    for (let i = moves.length - 1; i >= 0; i--) if (state.renders > moves[i].n) { lat.push(painted - moves[i].t); moves.splice(i, 1); }
    if (!window.__dragDone) requestAnimationFrame(frame);
  })();
  window.__drag = {lat, moves};
  const r = slider.getBoundingClientRect();
  return [r.left + 4, r.right - 4, r.top + r.height / 2];
})()"""


def drag_to_paint(browser: Chromium, root: str = "#full", rate: float = 1, moves: int = 60) -> dict:
    """Slider-to-paint over a mouse drag across c2 (DevTools mouse events sent every 16 ms without waiting
    for the page, as a hand moves): from each move's timestamp to the first frame that shows it."""
    browser.send("Emulation.setCPUThrottlingRate", rate=rate)
    try:
        browser.evaluate("window.__dragDone = false")
        left, right, y = browser.evaluate(DRAG_PROBE % json.dumps(root))

        def fire(kind: str, x: float) -> None:  # no wait for the reply: the page may be busy, a hand is not
            browser._id += 1
            message = {"id": browser._id, "method": "Input.dispatchMouseEvent", "sessionId": browser.session,
                       "params": {"type": kind, "x": x, "y": y, "button": "left", "buttons": 1, "clickCount": 1}}
            os.write(browser._to_browser, json.dumps(message).encode() + b"\0")

        fire("mousePressed", left)
        for i in range(moves):
            time.sleep(0.016)
            fire("mouseMoved", left + (right - left) * (i + 1) / moves)
        fire("mouseReleased", right)
        browser.evaluate("new Promise(r => setTimeout(r, 300))")
        browser.wait_for("window.__drag.moves.length === 0", timeout=60)
        lat = browser.evaluate("(window.__dragDone = true, window.__drag.lat)")
    finally:
        browser.send("Emulation.setCPUThrottlingRate", rate=1)
    lat = sorted(lat)
    return {"n": len(lat), "median": lat[len(lat) // 2], "p95": lat[int(0.95 * (len(lat) - 1))], "max": lat[-1]}


def transferred(browser: Chromium, after: float) -> dict[str, int]:
    """Bytes each resource fetched after ``after`` (performance.now() ms) took on the wire."""
    return browser.evaluate(f"""Object.fromEntries(performance.getEntriesByType('resource')
        .filter(e => e.startTime >= {after} && !e.name.endsWith('favicon.ico'))
        .map(e => [e.name.split('/').pop(), e.transferSize]))""")


def canvas_pixels(browser: Chromium, selector: str, zoom: int) -> np.ndarray:
    values = browser.evaluate(f"""(() => {{ const c = document.querySelector({json.dumps(selector)});
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, out = [];
        for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) out.push(d[((y * {zoom} + {zoom // 2}) * c.width
            + x * {zoom} + {zoom // 2}) * 4]);
        return out; }})()""")
    return np.array(values, dtype=np.float32).reshape(28, 28) / 255


def set_controls(browser: Chromium, root: str, **values: object) -> None:
    for name, value in values.items():
        browser.evaluate(f"""(() => {{ const e = document.querySelector('{root} [data-control={name}]');
            e.value = {json.dumps(str(value))}; e.dispatchEvent(new Event('input')); }})()""")
    browser.evaluate(f"document.querySelector('{root}').infoganExplorer.idle()")


def page_explorer(browser: Chromium, base: str, model, screens: Path | None) -> None:
    browser.navigate(base + "index.html")
    t0 = browser.evaluate("performance.now()")
    browser.evaluate("document.querySelector('#full .infogan-explorer-open').click()")
    browser.wait_for("document.querySelector('#full').dataset.state === 'live'")
    load_ms = browser.evaluate("document.querySelector('#full').infoganExplorer.loadMs")
    sizes = transferred(browser, t0)
    print(f"page: {sum(sizes.values()) / 1e6:.2f} MB transferred on opening ({sizes}); "
          f"first image {load_ms:.0f} ms after the click")
    t = js_timings(browser)
    print(f"page: G {t['g_median']:.1f} ms per image (p95 {t['g_p95']:.1f}) on {t['kernel']}; on the plain "
          f"JavaScript loop, interleaved: {t['js_median']:.1f} ms (p95 {t['js_p95']:.1f})")
    for rate in (1, 4):
        d = drag_to_paint(browser, "#full", rate)
        print(f"page, CPU slowed {rate}x: slider to painted frame over a drag of {d['n']} mouse moves: "
              f"median {d['median']:.0f} ms, p95 {d['p95']:.0f} ms, worst {d['max']:.0f} ms")
    settings = [(0, -2.0, 0.0, 0), (5, 1.3, -1.1, 1234), (8, 0.0, 2.0, 99)]
    worst = 0.0
    for i, (c1, c2, c3, seed) in enumerate(settings):
        set_controls(browser, "#full", c1=c1, c2=c2, c3=c3, seed=seed)
        got = canvas_pixels(browser, "#full canvas[data-view=image]", 6)
        worst = max(worst, float(np.abs(got - render_web(model.G, model.spec, c1, c2, c3, seed).numpy()).max()))
        if screens:
            browser.screenshot(screens / f"explorer-{i + 1}-c1-{c1}-c2-{c2}-c3-{c3}-seed-{seed}.png", "#full")
    print(f"page: worst pixel difference from PyTorch over {len(settings)} settings: {worst:.4f}")
    if screens:
        browser.evaluate("document.querySelector('#small .infogan-explorer-open').click()")
        browser.wait_for("document.querySelector('#small').dataset.state === 'live'")
        browser.screenshot(screens / "explorer-small.png", "#small")


def fetch_ort() -> Path:
    """onnxruntime-web ORT_VERSION unpacked in .web/ (npm pack, integrity checked)."""
    folder = CACHE / f"onnxruntime-web-{ORT_VERSION}"
    if not (folder / "package" / "dist").is_dir():
        CACHE.mkdir(exist_ok=True)
        subprocess.run(["npm", "pack", f"onnxruntime-web@{ORT_VERSION}", "--silent"], cwd=CACHE, check=True,
                       stdout=subprocess.DEVNULL)
        tgz = CACHE / f"onnxruntime-web-{ORT_VERSION}.tgz"
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
        if digest != ORT_INTEGRITY:
            raise SystemExit(f"{tgz}: integrity {digest} is not the pinned {ORT_INTEGRITY}")
        folder.mkdir()
        with tarfile.open(tgz) as tar:
            tar.extractall(folder, filter="data")
    return folder / "package" / "dist"


ORT_PAGE = """<!doctype html><html><head><meta charset="utf-8"><script src="ort/ort.wasm.min.js"></script></head>
<body><script>
async function run(threads) {
  ort.env.wasm.numThreads = threads; ort.env.wasm.wasmPaths = new URL('ort/', location.href).href;
  const t0 = performance.now();
  const session = await ort.InferenceSession.create('G.onnx', {executionProviders: ['wasm']});
  const x = new Float32Array(74); x.set(window.z); x[62 + 3] = 1;
  const feed = {x: new ort.Tensor('float32', x, [1, 74])};
  let out = await session.run(feed);
  const first = performance.now() - t0, times = [];
  for (let i = 0; i < 50; i++) { const t = performance.now(); out = await session.run(feed); times.push(performance.now() - t); }
  times.sort((a, b) => a - b);
  return {first, median: times[25], p95: times[47], image: Array.from(out.image.data)};
}
</script></body></html>"""


def onnxruntime_web(binary: str, model, tmp: Path) -> None:
    dist = fetch_ort()
    (tmp / "ort").mkdir()
    for name in ("ort.wasm.min.js", "ort-wasm-simd-threaded.wasm", "ort-wasm-simd-threaded.mjs"):
        (tmp / "ort" / name).symlink_to(dist / name)
    export_onnx(model.G, tmp / "G.onnx")
    (tmp / "ort.html").write_text(ORT_PAGE)
    z = seeded_noise(5, model.spec.noise_dim)
    ref = render_web(model.G, model.spec, 3, 0.0, 0.0, 5).numpy()
    runtime = sum((dist / n).stat().st_size for n in ("ort.wasm.min.js", "ort-wasm-simd-threaded.wasm",
                                                      "ort-wasm-simd-threaded.mjs"))
    print(f"onnxruntime-web {ORT_VERSION}: runtime {runtime / 1e6:.1f} MB + G.onnx "
          f"{(tmp / 'G.onnx').stat().st_size / 1e6:.1f} MB uncompressed")
    with serve(tmp, ISOLATED) as base, Chromium(binary) as browser:
        browser.navigate(base + "ort.html")
        browser.evaluate(f"window.z = {json.dumps(z.tolist())}")
        for threads in (1, 2):
            t0 = browser.evaluate("performance.now()")
            r = browser.evaluate(f"run({threads})")
            wire = sum(transferred(browser, t0).values())
            image = np.clip((np.array(r["image"]).reshape(28, 28) + 1) / 2, 0, 1)
            print(f"onnxruntime-web, {threads} thread(s): {wire / 1e6:.2f} MB transferred, first image "
                  f"{r['first']:.0f} ms, then {r['median']:.1f} ms per image (p95 {r['p95']:.1f}); worst pixel "
                  f"difference from PyTorch {np.abs(image - ref).max():.4f}")


NODE_SCRIPT = """
const fs = require('fs'), dir = process.argv[2];
global.window = {}; global.location = {href: 'http://x/'};
global.document = {currentScript: {src: 'http://x/e.js'}, readyState: 'complete', querySelectorAll: () => []};
require(dir + '/explorer.js');
const E = window.InfoGANExplorer, buf = fs.readFileSync(dir + '/generator.bin');
const manifest = JSON.parse(fs.readFileSync(dir + '/generator.json'));
const weights = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
const z = E.seededNoise(7, 62), out = [];
for (const options of [{}, {simd: false}]) {
  const G = new E.WebGenerator(manifest, weights, options);
  for (let i = 0; i < 30; i++) G.render(i % 10, 0, 0, z);
  const n = 200, c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) G.render(i % 10, (i % 41) / 10 - 2, 0.3, z);
  const c = process.cpuUsage(c0);
  out.push(((c.user + c.system) / 1000 / n).toFixed(2) + ' ms on ' + G.kernel);
}
console.log(out.join(', '));
"""


def node_cpu_ms(tmp: Path) -> str | None:
    """CPU time per image of explorer.js's G under Node (same V8 engine; not inflated by other processes)."""
    script = tmp / "cpu.js"
    script.write_text(NODE_SCRIPT)
    try:
        return subprocess.run(["node", str(script), str(ASSET_DIR)], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ort", action="store_true", help="also measure onnxruntime-web (npm pack into .web/)")
    p.add_argument("--screens", type=Path, help="write screenshots of the explorer at three settings here")
    args = p.parse_args()
    binary = find_chromium()
    if not binary:
        raise SystemExit("no Chromium found: apt-get install chromium (or set $CHROMIUM)")
    if args.screens:
        args.screens.mkdir(parents=True, exist_ok=True)
    model = load_pretrained()
    gz = subprocess.run(["gzip", "-9c", str(ASSET_DIR / "generator.bin")], capture_output=True, check=True).stdout
    print(f"assets: generator.bin {(ASSET_DIR / 'generator.bin').stat().st_size / 1e6:.2f} MB "
          f"({len(gz) / 1e6:.2f} MB gzipped), explorer.js {(ASSET_DIR / 'explorer.js').stat().st_size / 1e3:.1f} kB")
    with tempfile.TemporaryDirectory() as tmp:
        cpu = node_cpu_ms(Path(tmp))
        if cpu:
            print(f"G under Node, CPU time per image (one thread): {cpu}")
        write_explorer_page(tmp, ASSET_DIR)
        with serve(tmp) as base, Chromium(binary) as browser:
            page_explorer(browser, base, model, args.screens)
        if args.ort:
            onnxruntime_web(binary, model, Path(tmp))


if __name__ == "__main__":
    main()
