"""Known-answer tests: a model that only looks at one planted patch; every method must put its mass there."""

import numpy as np
import pytest
import torch
from torch import nn

from fakelens.explain import create_explainer, list_explainers
from fakelens.models import create_model
from fakelens.models.head import DeepfakeClassifier

PERTURBATION_METHODS = ["lime", "shap", "occlusion", "rise"]  # ONNX Runtime, no torch
# The SmoothGrad variants and integrated gradients from a blurred face (issue 17) must pass the same tests.
VARIANTS = ["saliency-smoothgrad", "guided-backprop-smoothgrad", "integrated-gradients-smoothgrad",
            "integrated-gradients-blur"]
ATTRIBUTION_METHODS = ["gradcam", "gradcam++", "saliency", "guided-backprop", "integrated-gradients", "lrp",
                       *VARIANTS, *PERTURBATION_METHODS]
# Superpixel methods get a grid aligned with the patch and a black fill: a uniform red patch
# painted with its own mean colour (lime's default) would not be hidden at all.
GRID = {"samples": 500, "segmentation": "grid:8", "fill": 0.0}
FAST = {"rise": {"masks": 1000}, "integrated-gradients": {"steps": 16}, "integrated-gradients-blur": {"steps": 16},
        "lime": GRID, "shap": GRID}


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


def test_integrated_gradients_from_a_blurred_face_are_complete():
    from fakelens.explain.integrated_gradients import blurred

    torch.manual_seed(0)
    weights = torch.randn(3, 64, 64)  # a linear model: IG is exact, and blurring changes its logit

    class Linear(nn.Module):
        def forward(self, x):
            return (x * weights).sum((1, 2, 3)) / 64

    model = Linear()
    x = planted()[0].unsqueeze(0)
    e = create_explainer("integrated-gradients-blur", model, steps=16).attribute(x, "fake")[0]
    with torch.no_grad():  # the sum is logit(x) - logit(the blurred face), not logit(black)
        delta = (model(x) - model(blurred(x, 8.0))).item()
        black = (model(x) - model(torch.zeros_like(x))).item()
    assert abs(e.map.sum() - delta) < 1e-3 * max(1.0, abs(delta)) and abs(delta - black) > 0.1


def test_gradcam_on_a_chosen_backbone_block():
    torch.manual_seed(0)
    model = create_model("efficientnet-lite0", pretrained=False, input_size=96).eval()
    x = torch.rand(1, 3, 96, 96)
    last = create_explainer("gradcam", model, relu=False).attribute(x)[0].map  # a random model: maps of any sign
    block = create_explainer("gradcam", model, relu=False, layer=10).attribute(x)[0].map
    assert block.shape == last.shape == (96, 96) and np.abs(block).max() > 0 and np.abs(last).max() > 0
    assert abs(np.corrcoef(block.ravel(), last.ravel())[0, 1]) < 0.99  # another layer, another map
    with pytest.raises(IndexError):
        create_explainer("gradcam", model, layer=99).attribute(x)


def test_activations_show_the_chosen_layer():
    model = PatchModel().eval()
    x, mask = planted()
    e = create_explainer("activations", model, layer="backbone.1", channel=0).attribute(x.unsqueeze(0))[0]
    assert e.map[mask].mean() > 1.0 and np.abs(e.map[~mask & (np.abs(np.arange(64)[:, None] - 16) > 12)]).max() < 1e-6


@pytest.mark.parametrize("method", ATTRIBUTION_METHODS + ["activations"])
def test_every_method_runs_on_the_real_backbone(method):
    torch.manual_seed(0)
    model = create_model("efficientnet-lite0", pretrained=False, input_size=96).eval()
    opts = {"rise": {"masks": 64}, "integrated-gradients": {"steps": 4}, "integrated-gradients-blur": {"steps": 4},
            "integrated-gradients-smoothgrad": {"steps": 2}, "occlusion": {"window": 0.25, "stride": 0.25},
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
        assert 0 <= x["deletion_auc"] <= 1 and 0 <= x["insertion_auc"] <= 1 and set(x["baselines"]) == {"random", "centre"}
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
    from fakelens.explain.lrp_rules import LRP, Rule

    torch.manual_seed(0)
    model = create_model("efficientnet-lite0", pretrained=True, input_size=96).eval()
    x = torch.rand(2, 3, 96, 96)
    lrp = LRP(model)
    eps = Rule("epsilon", 1e-9, 0, 1, 0)
    folded = lrp._head(lrp._features(model.normalize(x), eps, {}), eps).detach()
    with torch.no_grad():
        np.testing.assert_allclose(folded.numpy(), model(x).numpy(), rtol=1e-3, atol=1e-4)


def patch_runtime(folder, model=None, flip=False):
    """The planted-patch model as `fakelens analyze` runs models: a checkpoint and its ONNX graph."""
    from fakelens.models.checkpoint import write_weights
    from fakelens.models.export import _ImageGraph, _export
    from fakelens.runtime import read_meta

    model = model or PatchModel()
    p = folder / "patch.safetensors"
    write_weights(model.state_dict(), p, {"arch": "patch", "input_size": 64, "flip": flip})
    _export(_ImageGraph(model), (torch.rand(2, 3, 64, 64),), ["x"], ["logits", "pooled"],
            {"x": {0: "n"}, "logits": {0: "n"}, "pooled": {0: "n"}}, p.with_suffix(".onnx"),
            {"tensors_sha256": read_meta(p)["tensors_sha256"]})
    return p


@pytest.mark.parametrize("method", PERTURBATION_METHODS)
def test_runtime_model_matches_torch_module(method, tmp_path):
    """The same maps whether the model is the ONNX Runtime ImageModel (as explain runs it) or the torch module."""
    from fakelens.runtime import ImageModel

    model = PatchModel()
    runtime = ImageModel(patch_runtime(tmp_path, model))
    x = torch.stack([planted(0)[0], planted(1, at=(40, 4))[0]])
    opts = FAST.get(method, {})
    a = create_explainer(method, runtime, **opts).attribute(x.numpy())
    b = create_explainer(method, model, **opts).attribute(x)
    for ea, eb in zip(a, b):
        np.testing.assert_allclose(ea.map, eb.map, atol=1e-4 * max(1.0, np.abs(eb.map).max()))
        assert ea.score == pytest.approx(eb.score, abs=1e-5)


NO_TORCH = """
import sys


class NoTorch:  # as if torch and its ecosystem were not installed (None in sys.modules would confuse scipy)
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision", "captum"):
            raise ModuleNotFoundError(f"No module named {name!r}")


sys.meta_path.insert(0, NoTorch())
"""

TORCH_FREE = NO_TORCH + """
import numpy as np
from fakelens.explain import create_explainer
from fakelens.runtime import ImageModel

model = ImageModel(sys.argv[1])
x = np.load(sys.argv[2])
opts = {"lime": {"samples": 500, "segmentation": "grid:8", "fill": 0.0}, "rise": {"masks": 1000},
        "shap": {"samples": 500, "segmentation": "grid:8", "fill": 0.0}, "occlusion": {}}
maps = {m: np.stack([e.map for e in create_explainer(m, model, **o).attribute(x)]) for m, o in opts.items()}
try:
    create_explainer("gradcam", model)
except Exception as e:
    print(type(e).__name__, e)
np.savez(sys.argv[3], **maps)
assert not [k for k in sys.modules if k.split(".")[0] in ("torch", "captum", "torchvision")]
"""


def test_perturbation_methods_run_without_torch_on_the_onnx_runtime(tmp_path):
    """LIME, SHAP, RISE and occlusion with torch unimportable, on the planted-patch model's ONNX graph:
    the known answer still holds; Grad-CAM says in one line which extra it needs."""
    import subprocess
    import sys

    x = torch.stack([planted(0)[0], planted(1, at=(40, 4))[0]]).numpy()
    masks = [planted(0)[1], planted(1, at=(40, 4))[1]]
    np.save(tmp_path / "x.npy", x)
    r = subprocess.run([sys.executable, "-c", TORCH_FREE, str(patch_runtime(tmp_path, flip=True)),
                        str(tmp_path / "x.npy"), str(tmp_path / "maps.npz")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "FakelensError gradcam needs torch: pip install 'fakelens[torch]'" in r.stdout
    maps = np.load(tmp_path / "maps.npz")
    for method in ("lime", "shap", "rise", "occlusion"):
        for m, mask in zip(maps[method], masks):
            if method == "rise":
                assert contrast(m, mask) > 3.0, (method, contrast(m, mask))
            else:
                assert mass_inside(m, mask) > 0.9, (method, mass_inside(m, mask))


NO_TORCH_CLI = NO_TORCH + """
sys.argv = ["fakelens", *sys.argv[1:]]
from fakelens.cli import app

app()
"""


def test_explain_cli_without_torch(tiny_checkpoint, astronaut_path, tmp_path):
    """Without torch: a gradient method stops in one line naming the extra; occlusion still runs."""
    import json
    import subprocess
    import sys

    def run(method):
        return subprocess.run([sys.executable, "-c", NO_TORCH_CLI, "explain", str(astronaut_path), "--method", method,
                               "--out", str(tmp_path), "--format", "json", "--model", str(tiny_checkpoint),
                               "--faithfulness-steps", "0"], capture_output=True, text=True)

    r = run("gradcam")
    assert r.returncode == 1 and "Traceback" not in r.stderr and r.stdout == "", r.stderr[-2000:]
    assert "gradcam needs torch: pip install 'fakelens[torch]'" in " ".join(r.stderr.split())
    r = run("occlusion")
    assert r.returncode == 0, r.stderr[-2000:]
    (rec,) = [json.loads(line) for line in r.stdout.splitlines()]
    assert rec["method"] == "occlusion" and np.load(rec["map"]).shape == (64, 64) and rec["error"] is None


def left_patch_logit(x: np.ndarray) -> np.ndarray:
    """A planted-patch model that only looks at the left half of the face (numpy)."""
    red = np.clip(10 * x[:, 0, :, :32] - 8, 0, None)
    return 32 * red.mean((1, 2)) - 1


class LeftHalf(nn.Module):
    def forward(self, x):
        return x * (torch.arange(x.shape[-1]) < x.shape[-1] // 2).float()


def test_explanations_explain_the_flip_average():
    """The verdict averages the face and its mirror: a patch on the right, invisible to the plain logit
    of a left-only model, is seen through the mirror, and both kinds of method must find it there."""
    x, mask = planted(0, at=(24, 40))  # right half only
    x = x[None].numpy()
    plain = create_explainer("occlusion", left_patch_logit, flip=False).attribute(x)[0]
    flipped = create_explainer("occlusion", left_patch_logit, flip=True).attribute(x)[0]
    assert np.abs(plain.map).max() < 1e-6 and mass_inside(flipped.map, mask) > 0.9
    assert flipped.params["flip"] is True and plain.params["flip"] is False
    verdict_logit = (left_patch_logit(x)[0] + left_patch_logit(x[..., ::-1])[0]) / 2
    assert verdict_logit > 0 > left_patch_logit(x)[0] and flipped.score == pytest.approx(1 / (1 + np.exp(-verdict_logit)))

    model = PatchModel()
    model.backbone = nn.Sequential(LeftHalf(), *model.backbone)
    ig = create_explainer("integrated-gradients", model, flip=True, steps=128).attribute(torch.from_numpy(x))[0]
    assert mass_inside(ig.map, mask) > 0.9
    with torch.no_grad():  # completeness, for the averaged logit
        t = torch.from_numpy(x)
        avg = lambda v: (model(v) + model(torch.flip(v, dims=[-1]))) / 2  # noqa: E731
        delta = (avg(t) - avg(torch.zeros_like(t))).item()
    assert abs(ig.map.sum() - delta) < 0.05 * abs(delta)


def test_kernel_shap_is_exact_on_an_additive_game():
    """Known answer: for value(S) = c + sum of w over S, the Shapley values are w (and sum to v(all) - v(none))."""
    from fakelens.explain.shap import kernel_shap

    w = np.random.default_rng(0).normal(size=12)
    phi = kernel_shap(lambda keep: 0.3 + keep @ w, 12, 200, np.random.default_rng(1))
    np.testing.assert_allclose(phi, w, atol=1e-9)


def test_occlusion_matches_captum():
    """The NumPy occlusion (no torch) computes what Captum's Occlusion computes, edge windows included."""
    from captum.attr import Occlusion as CaptumOcclusion

    model = PatchModel()
    x = torch.stack([planted(0)[0], planted(1, at=(40, 4))[0]])
    ours = create_explainer("occlusion", model, window=10, stride=7).attribute(x, target="real")
    ref = CaptumOcclusion(lambda t: -model(t)).attribute(x, sliding_window_shapes=(3, 10, 10), strides=(3, 7, 7),
                                                         baselines=0.5).mean(1).detach().numpy()
    for e, r in zip(ours, ref):
        np.testing.assert_allclose(e.map, r, atol=1e-4 * max(1.0, np.abs(r).max()))


def test_capabilities_are_declared_on_the_classes():
    from fakelens.explain.base import GradientExplainer, PerturbationExplainer
    from fakelens.explain.registry import display_name, explainer_class

    for name in list_explainers():
        cls = explainer_class(name)
        assert cls.explains in ("classifier", "sequence", "detector") and isinstance(cls.display, str)
        assert cls.needs_torch == (not issubclass(cls, PerturbationExplainer) and cls.explains == "classifier")
    assert list_explainers(explains="detector") == ["drise"]
    assert sorted(list_explainers(explains="sequence")) == ["shap-frames", "shap-windows"]
    assert list_explainers(attribution=False) == ["activations"]
    assert {m for m in list_explainers() if issubclass(explainer_class(m), PerturbationExplainer)} == set(
        PERTURBATION_METHODS)
    assert issubclass(explainer_class("gradcam"), GradientExplainer) and display_name("gradcam") == "Grad-CAM"
    assert display_name("not-a-method") == "not-a-method"


def test_explanation_record_json_keys():
    from fakelens.records import ExplanationRecord

    rec = ExplanationRecord("a.png", face=[1, 2, 3, 4], crop_box=[0, 0, 5, 5], method="lime", target="fake", score=0.9,
                            map="m.npy", overlay="m.png", seconds=0.1, signed=True, params={"samples": 10},
                            deletion_auc=0.1, insertion_auc=0.9,
                            baselines={"random": {"deletion_auc": 0.5, "insertion_auc": 0.5}}, regions=[],
                            summary="s", values=np.zeros((5, 5)))
    d = rec.to_dict()
    assert list(d) == ["path", "face", "crop_box", "method", "target", "score", "map", "overlay", "seconds", "signed",
                       "params", "deletion_auc", "insertion_auc", "baselines", "error", "regions", "summary"]
    assert d["baselines"]["random"]["deletion_auc"] == 0.5 and d["error"] is None
    assert ExplanationRecord("b.png", label="no_face").to_dict() == {"path": "b.png", "face": None, "method": None,
                                                                     "error": None, "label": "no_face"}
    assert ExplanationRecord("c.png", error="bad").to_dict() == {"path": "c.png", "face": None, "method": None,
                                                                 "error": "bad"}
