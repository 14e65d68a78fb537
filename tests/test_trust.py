"""Sanity (model randomisation) and robustness checks, on explainers whose right answer is known."""

import numpy as np
import torch

from fakelens.explain import create_explainer
from fakelens.metrics.trust import randomised_copies, robustness, sanity_check, weighted_layers
from fakelens.models import create_model


def _image(seed=0, size=64):
    from skimage import data

    img = data.astronaut()[40:296:4, 120:376:4] / 255.0  # a 64 x 64 face, real structure for the maps
    return torch.from_numpy(img.astype(np.float32)).permute(2, 0, 1)[None]


def test_cascade_reinitialises_from_the_top():
    torch.manual_seed(0)
    model = create_model("tiny-cnn", input_size=64).eval()
    layers = weighted_layers(model)
    for f, m in randomised_copies(model, fractions=(0.25, 1.0)):
        changed = [not torch.equal(a.weight, b.weight) for a, b in zip(layers, weighted_layers(m))]
        k = max(1, round(f * len(layers)))
        assert changed == [False] * (len(layers) - k) + [True] * k


def test_a_model_independent_map_fails_and_gradcam_passes():
    torch.manual_seed(0)
    model = create_model("tiny-cnn", input_size=64).eval()
    x = _image()

    def edges(_model, x):  # looks only at the input: the sanity check must fail it by construction
        g = x[0].mean(0).numpy()
        return np.abs(np.diff(g, axis=0, append=g[-1:])) + np.abs(np.diff(g, axis=1, append=g[:, -1:]))

    assert not sanity_check(edges, model, x)["passed"]
    assert sanity_check(edges, model, x)["similarity"][1.0] == 1.0

    def gradcam(m, x):
        return create_explainer("gradcam", m).attribute(x, target="fake", scores=[0.5])[0].map

    result = sanity_check(gradcam, model, x)
    assert result["passed"] and result["similarity"][0.5] < 0.5


def test_robustness_warps_the_map_back():
    x = _image()

    def red(x):  # a map that is the input's red channel: it must follow the face through the warp
        return x[0, 0].numpy().copy()

    r = robustness(red, x)
    assert r["affine"]["spearman"] > 0.9 and r["blur"]["spearman"] > 0.8 and r["affine"]["ssim"] > 0.6

    rng = np.random.default_rng(0)
    noise = robustness(lambda x: rng.random((64, 64)), x)
    assert abs(noise["affine"]["spearman"]) < 0.1 and abs(noise["blur"]["spearman"]) < 0.1


def test_audit_explainers_cli_writes_the_table(tiny_checkpoint, astronaut_path, tmp_path):
    import json
    import shutil

    from typer.testing import CliRunner

    from fakelens.cli import app

    for label in ("real", "fake"):
        (tmp_path / "data" / label).mkdir(parents=True)
        shutil.copy(astronaut_path, tmp_path / "data" / label / f"{label}.png")
    r = CliRunner().invoke(app, ["audit-explainers", str(tmp_path / "data"), "--faces", "2", "--split", "all",
                                 "--method", "gradcam,saliency", "--model", str(tiny_checkpoint), "--out",
                                 str(tmp_path / "audit")])
    assert r.exit_code == 0, r.output
    report = json.loads((tmp_path / "audit" / "audit.json").read_text())
    assert set(report["methods"]) == {"gradcam", "saliency"} and len(report["faces"]) == 2
    for row in report["methods"].values():
        assert row["faces"] == 2 and 0 <= row["deletion_auc"] <= 1 and 0 <= row["sanity_pass_rate"] <= 1
    assert "| gradcam |" in (tmp_path / "audit" / "audit.md").read_text()
