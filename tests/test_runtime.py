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


@pytest.mark.parametrize("edit, said", [
    ({"frame_threshold": 1.5}, "frame_threshold must be a number in [0, 1], got 1.5"),
    ({"window": 0}, "window must be an integer in [1, 1024], got 0"),
    ({"input_size": 160.0}, "input_size must be an integer in [32, 1024], got 160.0"),
    ({"threshold": True}, "threshold must be a number in [0, 1], got True"),
    ({"flip": "yes"}, "flip must be true or false, got 'yes'"),
    ({"arch": 5}, "arch must be a string, got 5"),
    ({"cell": "gru"}, "cell must be lstm or rnn, got 'gru'"),
    ({"split": [4, 1]}, "split must be three positive integers, got [4, 1]"),
    ({"calibration": [1.0, float("inf")]}, "calibration must be two finite numbers, got [1.0, inf]"),
    ({"data_sources": "faces-gan"}, "data_sources must be a list of source names, got 'faces-gan'"),
])
def test_metadata_fields_are_checked_at_load(edit, said):
    from fakelens.errors import ModelError
    from fakelens.runtime import check_meta

    good = {"arch": "tiny-cnn", "input_size": 64, "threshold": 0.5, "crop_scale": 1.3, "flip": True, "split": [4, 1, 1]}
    assert check_meta(good, "m.safetensors") is good
    with pytest.raises(ModelError) as e:
        check_meta({**good, **edit}, "m.safetensors")
    assert str(e.value) == f"bad checkpoint metadata in m.safetensors: {said}"


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
