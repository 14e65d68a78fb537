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
