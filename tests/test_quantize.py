"""One quantisation format: the 4-bit export, the pretrained model and the explorer's bytes agree."""

import json

import numpy as np
import pytest
import torch

from infogan_tutorial import web_export
from infogan_tutorial.checkpoints import load_networks, read_checkpoint
from infogan_tutorial.export import export_model
from infogan_tutorial.pretrained import MODEL_NAME, PRETRAINED_DIR
from infogan_tutorial.quantize import (INT4_GROUP, dequantize_int4, dequantize_rows, quantizable, quantize_int4,
                                       quantize_rows)


def test_int4_round_trip_is_within_half_a_step_and_idempotent():
    w = torch.randn(300, INT4_GROUP * 4)
    packed, scales = quantize_int4(w)
    assert packed.dtype == torch.uint8 and packed.numel() == w.numel() // 2 and scales.dtype == torch.float16
    restored = dequantize_int4(packed, scales, w.shape)
    step = scales.float().repeat_interleave(INT4_GROUP).reshape(w.shape)
    assert ((restored - w).abs() <= step / 2 + 1e-6).all()
    again = dequantize_int4(*quantize_int4(restored), w.shape)
    assert torch.equal(again, restored)  # quantising 4-bit weights again changes nothing


def test_all_zero_and_tiny_groups_give_zeros_not_nan():
    w = torch.randn(4, INT4_GROUP)
    w[1] = 0.0
    w[2] = 1e-9  # max|w| / 7 underflows fp16
    restored = dequantize_int4(*quantize_int4(w), w.shape)
    assert torch.isfinite(restored).all() and torch.equal(restored[1], torch.zeros(INT4_GROUP))
    assert restored[2].abs().max() <= 1e-9
    rows = torch.zeros(3, 5)
    q, scale = quantize_rows(rows)
    assert torch.equal(dequantize_rows(q, scale), rows)


def test_int4_refuses_a_size_that_is_not_a_multiple_of_the_group():
    with pytest.raises(ValueError, match="multiple of 64"):
        quantize_int4(torch.randn(INT4_GROUP + 1))


def test_export_and_explorer_use_the_same_bytes_for_the_same_weights(tmp_path):
    """The page's weights equal what Python restores: an int4 export's bytes are the web encoder's bytes."""
    w = torch.randn(1024, 128)
    w[0, :INT4_GROUP] = 0.0  # an all-zero group, where the two packers once differed
    assert quantizable(w, INT4_GROUP)
    packed, scales = quantize_int4(w)
    entry, blocks, _ = web_export.encode_tensor(w)
    assert entry["dtype"] == "int4"
    assert blocks == [packed.numpy().tobytes(), scales.numpy().tobytes()]


def test_explorer_assets_hold_the_pretrained_models_dequantised_weights():
    manifest = json.loads((web_export.ASSET_DIR / web_export.MANIFEST_NAME).read_text())
    blob = (web_export.ASSET_DIR / web_export.WEIGHTS_NAME).read_bytes()
    _, G, _ = load_networks(PRETRAINED_DIR / MODEL_NAME)
    folded = web_export.fold_generator(G)
    int4 = [name for name, e in manifest["tensors"].items() if e["dtype"] == "int4"]
    assert set(int4) == {"fc2.weight", "deconv1.weight"}
    for name in int4:
        e = manifest["tensors"][name]
        n = int(np.prod(e["shape"]))
        packed = torch.frombuffer(bytearray(blob[e["offset"]:e["offset"] + n // 2]), dtype=torch.uint8)
        scales = torch.frombuffer(bytearray(blob[e["scales_offset"]:e["scales_offset"] + n // INT4_GROUP * 2]),
                                  dtype=torch.float16)
        assert torch.equal(dequantize_int4(packed, scales, e["shape"]), folded[name]), name
    ckpt = read_checkpoint(PRETRAINED_DIR / MODEL_NAME)
    assert set(ckpt["int4"]["G"]) >= {"fc.3.weight", "deconv.0.weight"}


def test_an_int4_export_of_an_int4_export_is_byte_identical(tmp_path):
    export_model(PRETRAINED_DIR / MODEL_NAME, tmp_path / "again.pt", int4=True)
    a, b = read_checkpoint(PRETRAINED_DIR / MODEL_NAME), read_checkpoint(tmp_path / "again.pt")
    for k, v in a["int4"]["G"].items():
        assert torch.equal(v["scales"], b["int4"]["G"][k]["scales"]) and torch.equal(a["G"][k], b["G"][k]), k
