"""Known-answer tests: a model that only looks at one planted patch; every method must put its mass there."""

import numpy as np
import pytest
import torch
from torch import nn

from fakelens.explain import create_explainer, list_explainers
from fakelens.models import create_model
from fakelens.models.head import DeepfakeClassifier

ATTRIBUTION_METHODS = ["gradcam", "gradcam++", "saliency", "guided-backprop", "integrated-gradients", "lrp", "lime",
                       "shap", "occlusion", "rise"]
# Superpixel methods get a grid aligned with the patch and a black fill: a uniform red patch
# painted with its own mean colour (lime's default) would not be hidden at all.
GRID = {"samples": 500, "segmentation": "grid:8", "fill": 0.0}
FAST = {"rise": {"masks": 1000}, "integrated-gradients": {"steps": 16}, "lime": GRID, "shap": GRID}


def PatchModel() -> DeepfakeClassifier:
    """A classifier that fires only on saturated red pixels (red > 0.8): the right map is the patch."""
    conv = nn.Conv2d(3, 2, 1)
    backbone = nn.Sequential(conv, nn.ReLU(), nn.AvgPool2d(4))
    model = DeepfakeClassifier(backbone, feature_dim=2, input_size=64, mean=0.0, std=1.0)
    h = model.head
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[:, 0] = 10.0
        conv.bias.fill_(-8.0)
        h.fc1.weight.zero_()
        h.fc1.bias.zero_()
        h.fc1.weight[0] = 1.0
        h.fc2.weight.zero_()
        h.fc2.weight[0, 0] = 8.0
        h.fc2.bias.fill_(-1.0)
    return model.eval()


def planted(seed=0, size=64, at=(8, 36)):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(3, size, size, generator=g) * 0.5
    y, xx = at
    x[0, y:y + 16, xx:xx + 16] = 1.0
    mask = np.zeros((size, size), bool)
    mask[y:y + 16, xx:xx + 16] = True
    return x, mask


def mass_inside(m: np.ndarray, mask: np.ndarray, margin: int = 4) -> float:
    """Share of the map's above-median mass inside the patch grown by `margin` px (coarse
    methods, occlusion windows and 4x-upsampled CAMs, blur a few pixels past its edge)."""
    from scipy.ndimage import binary_dilation

    grown = binary_dilation(mask, iterations=margin)
    excess = np.clip(m - np.median(m), 0, None)
    return float(excess[grown].sum() / max(excess.sum(), 1e-12))


def test_registry_has_the_methods():
    assert set(ATTRIBUTION_METHODS + ["activations"]) <= set(list_explainers())
    with pytest.raises(ValueError, match="unknown explanation method"):
        create_explainer("crystal-ball", PatchModel())
    with pytest.raises(TypeError, match="unknown option"):
        create_explainer("rise", PatchModel(), nmasks=3)


def contrast(m: np.ndarray, mask: np.ndarray) -> float:
    """How many background standard deviations the patch's mean stands above the background's."""
    from scipy.ndimage import binary_dilation

    bg = ~binary_dilation(mask, iterations=8)
    return float((m[mask].mean() - m[bg].mean()) / (m[bg].std() + 1e-12))


@pytest.mark.parametrize("method", ATTRIBUTION_METHODS)
def test_mass_lands_on_the_planted_patch(method):
    model = PatchModel().eval()
    explainer = create_explainer(method, model, **FAST.get(method, {}))
    for seed, at in [(0, (8, 36)), (1, (40, 4))]:
        x, mask = planted(seed, at=at)
        e = explainer.attribute(x.unsqueeze(0), target="fake")[0]
        assert e.map.shape == (64, 64) and e.method == method and e.seconds > 0
        if method == "rise":
            # A Monte-Carlo estimate: the patch must stand well clear of the noise of the background.
            assert contrast(e.map, mask) > 3.0, contrast(e.map, mask)
        else:
            assert mass_inside(e.map, mask) > 0.9, (method, mass_inside(e.map, mask))
        peak = np.unravel_index(np.argmax(e.map), e.map.shape)
        assert mask[peak], (method, peak)


@pytest.mark.parametrize("method", ATTRIBUTION_METHODS + ["activations"])
def test_batch_equals_one_by_one(method):
    model = PatchModel().eval()
    explainer = create_explainer(method, model, **FAST.get(method, {}))
    xs = torch.stack([planted(s, at=(8 + 4 * s, 8 + 8 * s))[0] for s in range(3)])
    batch = explainer.attribute(xs)
    for i in range(3):
        single = explainer.attribute(xs[i:i + 1])[0]
        np.testing.assert_allclose(batch[i].map, single.map, rtol=1e-4, atol=1e-5 * max(1.0, np.abs(single.map).max()))


def test_real_target_is_the_mirror_of_fake_for_signed_methods():
    model = PatchModel().eval()
    x, _ = planted()
    ig = create_explainer("integrated-gradients", model, steps=128)
    fake, real = ig.attribute(x.unsqueeze(0), "fake")[0], ig.attribute(x.unsqueeze(0), "real")[0]
    np.testing.assert_allclose(fake.map, -real.map, atol=1e-6)
    # Integrated Gradients' completeness: attributions sum to logit(x) - logit(baseline).
    with torch.no_grad():
        delta = (model(x.unsqueeze(0)) - model(torch.zeros(1, 3, 64, 64))).item()
    assert abs(fake.map.sum() - delta) < 0.05 * abs(delta)


def test_activations_show_the_chosen_layer():
    model = PatchModel().eval()
    x, mask = planted()
    e = create_explainer("activations", model, layer="backbone.1", channel=0).attribute(x.unsqueeze(0))[0]
    assert e.map[mask].mean() > 1.0 and np.abs(e.map[~mask & (np.abs(np.arange(64)[:, None] - 16) > 12)]).max() < 1e-6


@pytest.mark.parametrize("method", ATTRIBUTION_METHODS + ["activations"])
def test_every_method_runs_on_the_real_backbone(method):
    torch.manual_seed(0)
    model = create_model("efficientnet-lite0", pretrained=False, input_size=96).eval()
    opts = {"rise": {"masks": 64}, "integrated-gradients": {"steps": 4}, "occlusion": {"window": 0.25, "stride": 0.25},
            "lime": {"samples": 64}, "shap": {"samples": 64}}
    out = create_explainer(method, model, **opts.get(method, {})).attribute(torch.rand(2, 3, 96, 96))
    assert len(out) == 2 and all(e.map.shape == (96, 96) and np.isfinite(e.map).all() for e in out)
    assert all(0 <= e.score <= 1 for e in out)


def test_explain_cli_writes_maps_overlays_and_records(tiny_checkpoint, astronaut_path, bad_files, tmp_path):
    import json

    from PIL import Image
    from typer.testing import CliRunner

    from fakelens.cli import app

    r = CliRunner().invoke(app, ["explain", str(astronaut_path), str(bad_files["text"]), "--method", "gradcam,saliency,lime",
                                 "--out", str(tmp_path), "--format", "json", "--model", str(tiny_checkpoint)])
    assert r.exit_code == 1  # the text file failed; the photo was still explained
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    good = [x for x in recs if x["error"] is None]
    assert [x["method"] for x in good] == ["gradcam", "saliency", "lime"]
    for x in good:
        assert x["path"] == str(astronaut_path) and len(x["face"]) == 4 and x["seconds"] > 0
        assert np.load(x["map"]).shape == (64, 64)
        # face | map over face; LIME: face | positive superpixels | positive and negative
        assert Image.open(x["overlay"]).size == ((192 if x["method"] == "lime" else 128), 64)
    assert recs[-1]["path"] == str(bad_files["text"]) and "not a readable image" in recs[-1]["error"]
    assert CliRunner().invoke(app, ["explain", str(astronaut_path), "--method", "tarot"]).exit_code == 2


def reference_guided_backprop(model, x):
    """Independent guided backprop: clamp the gradient at every ReLU/ReLU6 output to >= 0."""
    def clamp_grad(module, inputs, output):
        output.register_hook(lambda g: g.clamp(min=0))

    handles = [m.register_forward_hook(clamp_grad) for m in model.modules() if isinstance(m, (nn.ReLU, nn.ReLU6))]
    try:
        x = x.clone().requires_grad_(True)
        model(x).sum().backward()
    finally:
        for h in handles:
            h.remove()
    return x.grad.sum(1).numpy()


def test_guided_backprop_gates_relu6_on_the_real_backbone():
    torch.manual_seed(0)
    model = create_model("efficientnet-lite0", pretrained=True, input_size=96).eval()
    x = torch.rand(2, 3, 96, 96)
    ours = np.stack([e.map for e in create_explainer("guided-backprop", model).attribute(x)])
    ref = reference_guided_backprop(model, x)
    np.testing.assert_allclose(ours, ref, atol=1e-4 * np.abs(ref).max())
    xx = x.clone().requires_grad_(True)
    grad = torch.autograd.grad(model(xx).sum(), xx)[0].sum(1).numpy()
    assert np.abs(ours - grad).max() > 0.1 * np.abs(grad).max()  # the ReLU6 gates changed the map


def zero_biases(model):
    """Make every folded bias zero (BN shift = its mean's scaled value; linear biases 0)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.bias.copy_(m.running_mean * m.weight / torch.sqrt(m.running_var + m.eps))
            elif isinstance(m, (nn.Linear, nn.Conv2d)) and m.bias is not None:
                m.bias.zero_()
    return model


@pytest.mark.parametrize("rule, first, tol", [("epsilon", "box", 1e-3), ("gamma", "box", 1e-3), ("gamma", "flat", 1e-3),
                                              ("epsilon", "same", 1e-3),
                                              ("alphabeta", "box", 1e-2)])  # z+ drops units with no positive input
def test_lrp_conserves_relevance_through_residual_adds(rule, first, tol):
    """With zero biases nothing can absorb relevance: the map must sum to the logit, residual adds included."""
    torch.manual_seed(0)
    model = zero_biases(create_model("efficientnet-lite0", pretrained=True, input_size=96).eval())
    with torch.no_grad():
        model.head.bn.running_mean.normal_()  # a non-trivial head
        zero_biases(model)
    x = torch.rand(2, 3, 96, 96)
    with torch.no_grad():
        logits = model(x)
    maps = create_explainer("lrp", model, rule=rule, first=first).attribute(x)
    for m, logit in zip(maps, logits.tolist()):
        assert abs(m.map.sum() - logit) < tol * abs(logit) + 1e-6, (rule, first, m.map.sum(), logit)


def test_lrp_bn_folding_keeps_the_forward_exact():
    from fakelens.explain.lrp import LRP, Rule

    torch.manual_seed(0)
    model = create_model("efficientnet-lite0", pretrained=True, input_size=96).eval()
    x = torch.rand(2, 3, 96, 96)
    lrp = LRP(model)
    eps = Rule("epsilon", 1e-9, 0, 1, 0)
    folded = lrp._head(lrp._features(model.normalize(x), eps, {}), eps).detach()
    with torch.no_grad():
        np.testing.assert_allclose(folded.numpy(), model(x).numpy(), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("method", ["lime", "occlusion", "rise"])
def test_onnx_backend_matches_torch(method):
    model = PatchModel()
    x = torch.stack([planted(0)[0], planted(1, at=(40, 4))[0]])
    opts = FAST.get(method, {})
    a = create_explainer(method, model, backend="onnx", **opts).attribute(x)
    b = create_explainer(method, model, backend="torch", **opts).attribute(x)
    for ea, eb in zip(a, b):
        np.testing.assert_allclose(ea.map, eb.map, atol=1e-4 * max(1.0, np.abs(eb.map).max()))
