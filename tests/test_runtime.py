"""The shipped ONNX graph computes what the torch model computes, and crops become model input exactly."""

from __future__ import annotations

import numpy as np
import pytest


def test_to_input_is_a_cast_then_a_division():
    from fakelens.runtime import to_input

    crops = np.random.default_rng(0).integers(0, 256, (3, 5, 7, 3), dtype=np.uint8)
    x = to_input(crops)
    assert x.shape == (3, 3, 5, 7) and x.dtype == np.float32 and x.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(x, crops.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255))
    assert x[1, 2, 4, 6] == np.float32(crops[1, 4, 6, 2]) / np.float32(255)  # channel-first, same pixel


def test_shipped_graph_matches_the_torch_model():
    torch = pytest.importorskip("torch")
    from fakelens.models.checkpoint import load_checkpoint
    from fakelens.models.predict import fake_and_kind
    from fakelens.paths import default_model_path
    from fakelens.runtime import ImageModel, to_input

    path = default_model_path()
    runtime = ImageModel(path)
    model, _ = load_checkpoint(path)
    crops = np.random.default_rng(1).integers(0, 256, (4, runtime.input_size, runtime.input_size, 3), dtype=np.uint8)
    p_fake, p_kind = runtime.scores(crops)
    want_fake, want_kind = fake_and_kind(model.eval(), torch.from_numpy(to_input(crops)), flip=runtime.flip)
    np.testing.assert_allclose(p_fake, want_fake.numpy(), atol=1e-5)
    np.testing.assert_allclose(p_kind, want_kind.numpy(), atol=1e-5)
