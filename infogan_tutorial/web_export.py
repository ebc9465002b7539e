"""G in the reader's browser: the assets of the book's live explorer, and an ONNX export of G.

The published book runs the generator G(z, c) of the pretrained model in the page, in plain
JavaScript (``book/_static/explorer/explorer.js``), so a reader turns c1, c2, c3 and z without
Python. This module writes what that script reads, into ``book/_static/explorer/``:

* ``generator.bin``: G's four layers with every batch norm folded into a per-unit scale and
  shift (BN(Wx) = s * (Wx) + t in eval mode). G's two large weight tensors (FC 1024 -> 6272
  and the 128 -> 64 up-convolution) are stored in 4 bits with one fp16 scale per 64 weights,
  which is how ``data/pretrained/infogan-mnist.pt`` stores them, so the values the page
  computes with are exactly the fp32 weights Python restores (:func:`encode_tensor` checks
  this); the small tensors are stored as fp16 where that is exact, else fp32. About 3.7 MB (3,694,082 bytes for the shipped model).
* ``generator.json``: the layout of that file (names, shapes, offsets), its SHA-256 and the
  model's, the spec, and the digit each category of c1 draws: the Hungarian matching of Q's
  c1 to the labels of the bundled held-out sample (:func:`category_labels`), with its
  confusion matrix and accuracy.
* ``explorer-static.png``: the ten categories for noise seed 0, the intro's figure for readers
  without JavaScript.

The page draws z from a seed with a small PRNG (mulberry32, then Box-Muller), so the same seed
gives the same z in the page and in :func:`seeded_noise`; :func:`render_web` is the Python
explorer's image for the page's settings. :func:`export_onnx` writes G to ONNX (fixed opset,
dynamic batch) for other runtimes; the book does not ship it (26 MB in fp32, see the README).

    python -m infogan_tutorial.web_export            # rewrite book/_static/explorer/ from the pretrained model
    python -m infogan_tutorial.web_export --check    # exit 1 if the committed assets are out of date
    python -m infogan_tutorial.web_export --onnx G.onnx
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import math
import shlex
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .errors import InfoGANError, SpecError
from .explorer import explorer_codes, to_png
from .latent_codes import LatentSpec
from .networks import Discriminator, Generator, check_network, eval_mode
from .pretrained import MODEL_NAME, PRETRAINED_DIR, load_pretrained
from .checkpoints import PNG_MAGIC, not_regular_file, starts_with
from .run_folder import missing_folders, path_argument, prepare_folder, remove_empty
from .quantize import INT4_GROUP, dequantize_int4, quantizable, quantize_int4

ASSET_DIR = Path(__file__).resolve().parents[1] / "book" / "_static" / "explorer"
WEIGHTS_NAME, MANIFEST_NAME, STATIC_NAME = "generator.bin", "generator.json", "explorer-static.png"
FORMAT = "infogan-web-generator/1"
OPSET = 17
MAX_NOISE = 10**6
"""The most values :func:`seeded_noise` draws (it runs in Python: a million take about a second)."""
"""ONNX opset of :func:`export_onnx`."""
_ALIGN = 8


# -- the noise z, the same in the page and here --------------------------------------------
def _mulberry32(seed: int):
    state = seed & 0xFFFFFFFF
    while True:
        state = (state + 0x6D2B79F5) & 0xFFFFFFFF
        t = state
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        yield (t ^ (t >> 14)) & 0xFFFFFFFF


def seeded_noise(seed: int, n: int) -> Tensor:
    """z ~ N(0, I) of size n drawn from ``seed`` exactly as ``explorer.js`` draws it (float32).

    mulberry32 gives 32-bit integers a, b; Box-Muller turns each pair into two normals:
    r = sqrt(-2 ln((a + 1) / 2^32)), z = (r cos(2 pi b / 2^32), r sin(2 pi b / 2^32)).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**32:
        raise SpecError(f"the noise seed must be an int in 0..2**32-1, got {seed!r}.")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= int(n) <= MAX_NOISE:
        raise SpecError(f"seeded_noise: n, the number of values, must be an int in 0..{MAX_NOISE:,} (G's noise has "
                        f"a few dozen), got {n!r}.")
    draw, out = _mulberry32(int(seed)), []
    while len(out) < n:
        a, b = next(draw), next(draw)
        r = math.sqrt(-2.0 * math.log((a + 1) / 2**32))
        out += [r * math.cos(2 * math.pi * b / 2**32), r * math.sin(2 * math.pi * b / 2**32)]
    return torch.tensor(out[:n], dtype=torch.float32)


def render_web(G: Generator, spec: LatentSpec, c1: int, c2: float, c3: float, seed: int) -> Tensor:
    """The page's image for these settings: like ``explorer.render``, with z = :func:`seeded_noise`.

    A (28, 28) float32 tensor in [0, 1] (1 = white).
    """
    check_network(G, "G", "render_web", spec)
    codes = explorer_codes(spec, c1, c2, c3, 0)  # validates the settings
    codes = dataclasses.replace(codes, z=seeded_noise(seed, spec.noise_dim)[None])
    with eval_mode(G), torch.no_grad():
        image = G(codes)[0, 0].float().cpu()
    return ((image + 1) / 2).clamp(0, 1)


# -- the weights ----------------------------------------------------------------------------
def fold_generator(G: Generator) -> dict[str, Tensor]:
    """G's weights with each eval-mode batch norm folded into a scale s and shift t per unit.

    Layer by layer: h1 = relu(s1 * (W1 x) + t1), h2 = relu(s2 * (W2 h1) + t2) viewed as
    (128, 7, 7), h3 = relu(s3 * deconv(h2; W3) + t3), image = tanh(deconv(h3; W4) + b4).
    """
    check_network(G, "G", "fold_generator")
    fc, deconv = G.fc, G.deconv
    tensors: dict[str, Tensor] = {}
    for name, layer, bn in (("fc1", fc[0], fc[1]), ("fc2", fc[3], fc[4]), ("deconv1", deconv[0], deconv[1])):
        # in float64, rounded once to float32: the same bytes on every CPU (float32 kernels differ in the last bit
        # between AVX2, AVX-512 and AMX machines, and --check compares bytes)
        s = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
        tensors[f"{name}.weight"] = layer.weight.detach().float()
        tensors[f"{name}.scale"] = s.float()
        tensors[f"{name}.shift"] = (bn.bias.detach().double() - bn.running_mean.double() * s).float()
    tensors["deconv2.weight"] = deconv[3].weight.detach().float()
    tensors["deconv2.bias"] = deconv[3].bias.detach().float()
    return {k: v.cpu().contiguous() for k, v in tensors.items()}


def encode_tensor(t: Tensor) -> tuple[dict, list[bytes], float]:
    """How one tensor is stored: (its manifest entry, its byte blocks, the largest ``abs(stored - t)``).

    Large matrices: int4 with a scale per INT4_GROUP weights (exact for weights that came out
    of a 4-bit export); others: fp16 where every value is exactly an fp16, else fp32.
    """
    if not isinstance(t, Tensor):
        raise SpecError(f"encode_tensor needs a torch.Tensor, got {type(t).__name__}.")
    t = t.detach().float().cpu().contiguous()
    if not torch.isfinite(t).all():
        raise SpecError(f"encode_tensor: the tensor of shape {tuple(t.shape)} holds NaN or inf, which the page's "
                        "weights cannot carry; export a model whose weights are finite.")
    entry: dict = {"shape": list(t.shape)}
    if quantizable(t, INT4_GROUP):  # the format of quantize.py, the same bytes as a 4-bit export
        packed, scales = quantize_int4(t)
        error = float((dequantize_int4(packed, scales, t.shape) - t).abs().max())
        entry.update(dtype="int4", group=INT4_GROUP)
        return entry, [packed.numpy().tobytes(), scales.numpy().tobytes()], error
    if torch.equal(t.half().float(), t):
        entry["dtype"] = "f16"
        return entry, [t.half().numpy().tobytes()], 0.0
    entry["dtype"] = "f32"
    return entry, [t.numpy().astype("<f4").tobytes()], 0.0


def pack_tensors(tensors: dict[str, Tensor]) -> tuple[bytes, dict[str, dict], float]:
    """One binary blob of all tensors (8-byte aligned blocks), their entries, and the worst error."""
    if not isinstance(tensors, dict):
        raise SpecError(f"pack_tensors needs a dict of name -> tensor (e.g. G.state_dict()), got "
                        f"{type(tensors).__name__}.")
    blob, entries, worst = bytearray(), {}, 0.0
    for name, t in tensors.items():
        entry, blocks, error = encode_tensor(t)
        worst = max(worst, error)
        keys = ("offset", "scales_offset")
        for key, block in zip(keys, blocks):
            blob += b"\0" * (-len(blob) % _ALIGN)
            entry[key] = len(blob)
            blob += block
        entry["bytes"] = len(blocks[0])
        entries[name] = entry
    return bytes(blob), entries, worst


# -- what each category of c1 draws ---------------------------------------------------------
def category_labels(D: Discriminator) -> dict:
    """The digit each category of c1 draws: Q's c1 matched to the held-out sample's labels.

    Returns ``{"digit": [d_0, ..., d_9], "accuracy", "n", "confusion", "data"}``; ``digit[k]``
    is the label category k is matched to (Hungarian algorithm, ``evaluation.categorical_accuracy``).
    """
    from .data import load_dataset
    from .evaluation import categorical_accuracy

    test = load_dataset("sample", split="test", verbose=False)
    result = categorical_accuracy(D, test.images, test.labels)  # in eval mode, D's own mode kept
    return {"digit": result.mapping.tolist(), "accuracy": round(result.accuracy, 4), "n": result.n,
            "confusion": result.confusion.tolist(), "data": "bundled held-out sample (data/mnist-sample/t10k-*)"}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_assets(folder: Path = PRETRAINED_DIR) -> tuple[bytes, dict, bytes]:
    """(generator.bin, generator.json as a dict, explorer-static.png) for the model in ``folder``."""
    from .explorer import MAX_SEED, SLIDER_RANGE, SLIDER_STEP, check_explorer_spec

    model = load_pretrained("cpu", folder)
    check_explorer_spec(model.spec)
    blob, entries, worst = pack_tensors(fold_generator(model.G))
    if worst > 0:  # a model not exported in 4 bits (fp16, int8, a full checkpoint) would be re-quantised silently
        raise SpecError(f"the model in {folder} is not a 4-bit export: the explorer stores G's large matrices in 4 bits, "
                        f"which would change its weights by up to {worst:.3g}. Export it with `python -m "
                        "infogan_tutorial train ... --export MODEL.pt --int4` (or export_model(..., int4=True)) and "
                        "point --model-dir at that file's folder, named infogan-mnist.pt.")
    categories = category_labels(model.D)
    manifest = {
        "format": FORMAT,
        "source": {"model": f"data/pretrained/{MODEL_NAME}",
                   "sha256": _sha256((Path(folder) / MODEL_NAME).read_bytes()), "step": model.step},
        "weights": {"file": WEIGHTS_NAME, "bytes": len(blob), "sha256": _sha256(blob), "max_abs_error": worst},
        "spec": model.spec.to_dict(),
        "tensors": entries,
        "categories": categories,
        "noise": {"prng": "mulberry32", "normal": "Box-Muller", "python": "infogan_tutorial.web_export.seeded_noise"},
        "controls": {"slider_range": list(SLIDER_RANGE), "slider_step": SLIDER_STEP, "max_seed": MAX_SEED},
    }
    strip = torch.cat([render_web(model.G, model.spec, k, 0.0, 0.0, 0)
                       for k in np.argsort(categories["digit"])], dim=1)  # ordered by digit 0..9
    return blob, manifest, to_png(strip, zoom=3)


def manifest_text(manifest: dict) -> str:
    """The manifest as JSON text; a NaN or infinite number (not JSON) raises :class:`SpecError`."""
    try:
        return json.dumps(manifest, indent=1, allow_nan=False) + "\n"
    except TypeError as e:  # a tensor or a NumPy number where JSON needs a plain one
        raise SpecError(f"the manifest must hold plain numbers, strings, lists and dicts ({e}); convert tensors and "
                        "NumPy numbers with .tolist() or .item().") from None
    except ValueError as e:
        raise SpecError(f"the manifest holds a number JSON cannot hold (NaN or infinity): {e}; check the model's "
                        "weights and the categories' scores.") from None


def write_assets(out_dir: Path = ASSET_DIR, folder: Path = PRETRAINED_DIR) -> dict:
    """Write generator.bin, generator.json and explorer-static.png into ``out_dir``; return the manifest. Files of
    those names that are not an earlier export (a user's own) are refused, never overwritten
    (:func:`check_assets_replaceable`)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SpecError(f"write_assets writes three files into a folder, but {out_dir} is a file; give a folder "
                        "(it is made if missing).")
    if out_dir.is_dir():
        check_assets_replaceable(out_dir)
    blob, manifest, png = build_assets(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / WEIGHTS_NAME).write_bytes(blob)
    (out_dir / MANIFEST_NAME).write_text(manifest_text(manifest))
    (out_dir / STATIC_NAME).write_bytes(png)
    return manifest


def stale_assets(out_dir: Path = ASSET_DIR, folder: Path = PRETRAINED_DIR) -> list[str]:
    """The names of the files in ``out_dir`` that :func:`write_assets` would change (PNG: its pixels)."""
    from PIL import Image

    blob, manifest, png = build_assets(folder)
    out_dir, stale = Path(out_dir), []
    if not (out_dir / WEIGHTS_NAME).is_file() or (out_dir / WEIGHTS_NAME).read_bytes() != blob:
        stale.append(WEIGHTS_NAME)
    if not (out_dir / MANIFEST_NAME).is_file() or (out_dir / MANIFEST_NAME).read_text() != manifest_text(manifest):
        stale.append(MANIFEST_NAME)
    if not (out_dir / STATIC_NAME).is_file() or not np.array_equal(
            np.asarray(Image.open(out_dir / STATIC_NAME)), np.asarray(Image.open(io.BytesIO(png)))):
        stale.append(STATIC_NAME)
    return stale


# -- ONNX -----------------------------------------------------------------------------------
def export_onnx(G: Generator, path: str | Path, opset: int = OPSET) -> Path:
    """Write G to ONNX: input ``x`` = [z, one_hot(c1), c2, c3] of shape (N, input_dim), output
    ``image`` (N, 1, 28, 28) in [-1, 1]; opset ``opset``, N dynamic, G in eval mode, fp32 weights."""
    try:
        import onnx  # noqa: F401  (torch.onnx needs it)
    except ImportError as err:
        raise SpecError("export_onnx needs the onnx package: pip install 'infogan_tutorial[web]'.") from err
    check_network(G, "G", "export_onnx")
    from torch.onnx._constants import ONNX_MIN_OPSET, ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET as max_opset
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not ONNX_MIN_OPSET <= opset <= max_opset:
        raise SpecError(f"export_onnx: opset must be an int from {ONNX_MIN_OPSET} to {max_opset} (the versions this "
                        f"torch exports), got {opset!r}; the default, {OPSET}, runs in onnxruntime-web.")
    path = Path(path)
    _check_onnx_path(path, "export_onnx: path")
    example = torch.zeros(2, G.spec.input_dim)
    with eval_mode(G), warnings.catch_warnings():  # TorchScript's exporter: torch.export's needs onnxscript too
        warnings.simplefilter("ignore")
        torch.onnx.export(G, (example,), str(path), dynamo=False, opset_version=opset, input_names=["x"],
                          output_names=["image"], dynamic_axes={"x": {0: "batch"}, "image": {0: "batch"}})
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m infogan_tutorial.web_export", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=path_argument, default=ASSET_DIR, help="folder of the page's assets (default: %(default)s)")
    p.add_argument("--model-dir", type=path_argument, default=PRETRAINED_DIR, help="folder holding infogan-mnist.pt")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if the assets are out of date")
    p.add_argument("--onnx", type=path_argument, help="also write G to this ONNX file (its name ends .onnx)")
    args = p.parse_args(argv)
    try:
        return _run(args)
    except InfoGANError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # --out a file, an unwritable folder, ...
        print(f"error: cannot use {e.filename or args.out}: {e.strerror or e}; choose another path.", file=sys.stderr)
        return 2


def _check_onnx_path(path: Path, option: str = "--onnx") -> None:
    """``option`` names a file that can be written: onnx is installed, the name ends .onnx, and it is no folder, device,
    FIFO or file of another kind (only an earlier .onnx file is replaced)."""
    try:
        import onnx  # noqa: F401
    except ImportError as err:
        raise SpecError(f"{option} needs the onnx package: pip install 'infogan_tutorial[web]'.") from err
    if path.suffix != ".onnx":
        raise SpecError(f"{option} {path} must end in .onnx (the file is written in ONNX format), e.g. G.onnx.")
    if path.is_dir():
        raise SpecError(f"{option} {path} is a folder; give a file name, e.g. {path / 'G.onnx'}.")
    kind = not_regular_file(path)
    if kind:
        raise SpecError(f"{option} {path} is {kind}, not a file; give a file name, e.g. G.onnx.")
    if path.is_file() and path.stat().st_size and not starts_with(path, b"\x08"):  # ONNX's first field: IR version
        raise SpecError(f"{option} {path} exists and is not an ONNX model (only an earlier export is replaced); "
                        "choose another name, or move that file.")
    prepare_folder(path.parent, f"{option}'s folder")


def check_assets_replaceable(out_dir: Path) -> None:
    """Refuse to write into ``out_dir`` where a file of the assets' names is not an earlier export: a PNG at
    explorer-static.png, this format's manifest at generator.json, and generator.bin only beside that manifest
    (writing over anything else, such as a user's own file of the same name, would destroy it)."""
    manifest, static, weights = out_dir / MANIFEST_NAME, out_dir / STATIC_NAME, out_dir / WEIGHTS_NAME
    for path in (manifest, static, weights):
        kind = not_regular_file(path)
        if kind or path.is_dir():
            raise SpecError(f"--out {out_dir} holds {path.name} as {kind or 'a folder'}, where the export writes a "
                            "file; move it away, or choose another --out.")
    ours = False
    if manifest.is_file():
        try:
            ours = json.loads(manifest.read_text(encoding="utf8")).get("format") == FORMAT
        except (ValueError, UnicodeDecodeError, AttributeError):
            ours = False
        if not ours:
            raise SpecError(f"--out {out_dir} holds a {MANIFEST_NAME} that is not an earlier export (no \"format\": "
                            f"{FORMAT!r}); writing there would destroy it. Move it away, or choose another --out.")
    if static.is_file() and static.stat().st_size and not starts_with(static, PNG_MAGIC):
        raise SpecError(f"--out {out_dir} holds a {STATIC_NAME} that is not a PNG image; writing there would destroy "
                        "it. Move it away, or choose another --out.")
    if weights.is_file() and weights.stat().st_size and not ours:
        raise SpecError(f"--out {out_dir} holds a {WEIGHTS_NAME} without an earlier export's {MANIFEST_NAME} beside "
                        "it, so it may be a file of your own; writing there would destroy it. Move it away, or choose "
                        "another --out.")


def _run(args: argparse.Namespace) -> int:
    if args.check and args.onnx is not None:
        raise SpecError("--check writes nothing, so it cannot write --onnx; run the two separately.")
    if args.check:
        stale = stale_assets(args.out, args.model_dir)
        same = [f"{option} {shlex.quote(str(value))}" for option, value, default in (
            ("--out", args.out, ASSET_DIR), ("--model-dir", args.model_dir, PRETRAINED_DIR)) if value != default]
        print("up to date" if not stale else f"out of date: {', '.join(stale)}; run python -m "
              f"infogan_tutorial.web_export{''.join(' ' + o for o in same)} to write them again")
        return 1 if stale else 0
    if args.onnx is not None:  # checked before the assets are written, not after
        _check_onnx_path(args.onnx)
    if args.out.is_dir():
        check_assets_replaceable(args.out)
    created = missing_folders(args.out)
    prepare_folder(args.out, "--out")
    try:
        manifest = write_assets(args.out, args.model_dir)
    except BaseException:
        remove_empty(created)  # a model that cannot be read leaves no empty --out behind
        raise
    print(f"wrote {args.out}: {WEIGHTS_NAME} ({manifest['weights']['bytes']:,} bytes), {MANIFEST_NAME}, "
          f"{STATIC_NAME}; c1's categories draw {manifest['categories']['digit']} "
          f"({manifest['categories']['accuracy']:.1%} on {manifest['categories']['n']} held-out digits)")
    if args.onnx:
        print(f"wrote {export_onnx(load_pretrained('cpu', args.model_dir).G, args.onnx)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
