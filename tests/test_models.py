import pytest
import torch

from fakelens.errors import ModelError
from fakelens.models import create_model, list_models, load_checkpoint, save_checkpoint
from fakelens.models.efficientnet_lite import _weights_file


def test_registry_lists_backbones():
    assert {"efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2", "tiny-cnn"} <= set(list_models())
    with pytest.raises(ModelError, match="unknown model"):
        create_model("resnet-9000")


def test_pretrained_lite0_loads_imagenet_weights():
    m = create_model("efficientnet_lite0", input_size=160)  # underscores accepted, timm-style
    ref = torch.load(_weights_file("efficientnet-lite0"), map_location="cpu", weights_only=True)
    net = m.backbone.net
    assert torch.equal(net._conv_stem.weight, ref["_conv_stem.weight"])
    assert torch.equal(net._blocks[5]._project_conv.weight, ref["_blocks.5._project_conv.weight"])
    assert not torch.equal(create_model("efficientnet-lite0", pretrained=False)._modules["backbone"].net._conv_stem.weight,
                           ref["_conv_stem.weight"])


def test_seed_001_head_shape():
    m = create_model("efficientnet-lite0", pretrained=False)
    h = m.head
    assert h.fc1.out_features == 512 and isinstance(h.bn, torch.nn.BatchNorm1d) and h.dropout.p == 0.2
    assert h.fc2.out_features == 1
    with torch.no_grad():
        assert m.eval()(torch.rand(2, 3, 224, 224)).shape == (2,)


def test_checkpoint_roundtrip_fp16(tmp_path):
    torch.manual_seed(0)
    m = create_model("efficientnet-lite0", input_size=128).eval()
    x = torch.rand(2, 3, 128, 128)
    save_checkpoint(m, tmp_path / "m.safetensors", {"threshold": 0.4, "crop_scale": 2.0})
    m2, meta = load_checkpoint(tmp_path / "m.safetensors")
    assert meta["arch"] == "efficientnet-lite0" and meta["input_size"] == 128 and meta["threshold"] == 0.4
    with torch.no_grad():
        p1, p2 = torch.sigmoid(m(x)), torch.sigmoid(m2(x))
    assert (p1 - p2).abs().max() < 2e-2  # float16 storage


def test_bad_checkpoint_is_a_model_error(tmp_path):
    (tmp_path / "x.safetensors").write_bytes(b"garbage")
    with pytest.raises(ModelError):
        load_checkpoint(tmp_path / "x.safetensors")
    with pytest.raises(ModelError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "nope.safetensors")


def _flip_last_byte(path):
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0x01  # the last byte belongs to the last tensor's data, not to the header
    path.write_bytes(bytes(raw))


def test_tampered_weights_are_refused(tmp_path, tiny_checkpoint, astronaut_path):
    from typer.testing import CliRunner

    from fakelens.cli import app
    from fakelens.video.model import load_sequence_model

    bad = tmp_path / "tampered.safetensors"
    bad.write_bytes(tiny_checkpoint.read_bytes())
    load_checkpoint(bad)  # intact: loads
    _flip_last_byte(bad)
    with pytest.raises(ModelError, match="tampered"):
        load_checkpoint(bad)
    r = CliRunner().invoke(app, ["analyze", str(astronaut_path), "--model", str(bad), "--no-save"])
    assert r.exit_code != 0 and "tampered" in r.output and "Traceback" not in r.output
    torch.save({"w": torch.zeros(1)}, tmp_path / "pickled.safetensors")  # a pickle is never unpickled
    with pytest.raises(ModelError, match="not a fakelens safetensors file"):
        load_checkpoint(tmp_path / "pickled.safetensors")
    with pytest.raises(ModelError, match="not a fakelens video model"):
        load_sequence_model(tiny_checkpoint)


def test_weights_that_do_not_fit_their_architecture_are_refused(tmp_path):
    from fakelens.models.checkpoint import write_weights

    write_weights({"w": torch.zeros(3)}, tmp_path / "odd.safetensors", {"arch": "tiny-cnn", "input_size": 64})
    with pytest.raises(ModelError, match="do not fit"):
        load_checkpoint(tmp_path / "odd.safetensors")


def test_shipped_weights_are_checked_against_the_package_sums(tmp_path, tiny_checkpoint):
    from fakelens.media import file_sha256
    from fakelens.models import checkpoint

    shipped_files = [p for p in checkpoint.WEIGHTS_DIR.rglob("*") if p.suffix in (".safetensors", ".tflite", ".onnx")]
    assert len(shipped_files) >= 4
    for p in shipped_files:  # every shipped file is pinned, and matches
        assert f"{file_sha256(p)}  {p.name}" in (p.parent / "SHA256SUMS").read_text()
    shipped = tmp_path / "weights"
    shipped.mkdir()
    model = shipped / "m.safetensors"
    model.write_bytes(tiny_checkpoint.read_bytes())
    (shipped / "SHA256SUMS").write_text(f"{file_sha256(model)}  m.safetensors\n")
    m, meta = load_checkpoint(model)  # pinned and intact: loads
    # A new, self-consistent file put in place of a shipped one: its own digest matches, the package's sum does not.
    torch.nn.init.zeros_(next(m.parameters()))
    save_checkpoint(m, model, {k: v for k, v in meta.items() if k not in ("arch", "input_size", "tensors_sha256")})
    with pytest.raises(ModelError, match="SHA256SUMS"):
        load_checkpoint(model)


def test_a_tampered_face_detector_model_is_refused(tmp_path):
    from fakelens.faces.blazeface import MODEL_DIR
    from fakelens.media import check_pinned

    copy = tmp_path / "face_detection_full_range.tflite"
    raw = bytearray((MODEL_DIR / copy.name).read_bytes())
    copy.write_bytes(raw)
    (tmp_path / "SHA256SUMS").write_text((MODEL_DIR / "SHA256SUMS").read_text())
    check_pinned(copy)  # intact
    raw[len(raw) // 2] ^= 1
    copy.write_bytes(raw)
    with pytest.raises(ModelError, match="tampered"):
        check_pinned(copy)


@pytest.mark.parametrize("edit, said", [
    ([1, 2, 3], "must be a JSON object, got [1, 2, 3]"),
    ({"threshold": "x"}, "threshold must be a number in [0, 1], got 'x'"),
    ({"threshold": float("nan")}, "threshold must be a number in [0, 1], got nan"),  # else NaN in the JSON output
    ({"input_size": "abc"}, "input_size must be an integer in [32, 1024], got 'abc'"),
    ({"input_size": -5}, "input_size must be an integer in [32, 1024], got -5"),
    ({"input_size": 100000}, "input_size must be an integer in [32, 1024], got 100000"),
    ({"crop_scale": 0}, "crop_scale must be a number in [0.5, 5], got 0"),
])
def test_hand_edited_metadata_is_a_one_line_model_error(tmp_path, tiny_checkpoint, astronaut_path, edit, said):
    import json
    import shutil

    from safetensors.torch import save_file
    from typer.testing import CliRunner

    from fakelens.cli import app
    from fakelens.models.checkpoint import read_weights

    state, meta = read_weights(tiny_checkpoint)
    bad = tmp_path / "edited.safetensors"
    shutil.copy(tiny_checkpoint.with_suffix(".onnx"), bad.with_suffix(".onnx"))  # analyze runs the graph beside it
    save_file(state, str(bad), metadata={"fakelens": json.dumps({**meta, **edit} if isinstance(edit, dict) else edit)})
    said = f"bad checkpoint metadata in {bad}: {said}"
    with pytest.raises(ModelError) as e:
        load_checkpoint(bad)
    assert str(e.value) == said
    r = CliRunner().invoke(app, ["analyze", str(astronaut_path), "--model", str(bad), "--no-save", "--format", "json"])
    assert r.exit_code == 1 and said in r.output and "Traceback" not in r.output, r.output
