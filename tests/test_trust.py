"""Sanity (model randomisation) and robustness checks, on explainers whose right answer is known."""

import numpy as np
import pytest
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
                                 "--method", "gradcam,saliency,drise", "--model", str(tiny_checkpoint), "--out",
                                 str(tmp_path / "audit"), "--global-faces", "2", "--gradcam-layers", "2"])
    assert r.exit_code == 0, r.output
    report = json.loads((tmp_path / "audit" / "audit.json").read_text())
    assert set(report["methods"]) == {"gradcam", "gradcam@2", "saliency"} and len(report["faces"]) == 2
    for row in report["methods"].values():
        assert row["faces"] == 2 and 0 <= row["deletion_auc"] <= 1 and 0 <= row["sanity_pass_rate"] <= 1
    assert "| gradcam |" in (tmp_path / "audit" / "audit.md").read_text()
    for truth in ("real", "fake"):
        assert np.load(tmp_path / "audit" / f"global-gradcam-{truth}.npy").shape == (64, 64)


def test_drise_lights_the_patch_a_toy_detector_keys_on():
    """A detector that 'finds a face' where a red square is visible: D-RISE must light that square."""
    from fakelens.explain.drise import drise

    img = np.full((120, 120, 3), 90, np.uint8)
    img[::7] = 30  # some texture elsewhere
    img[40:70, 50:80] = (230, 20, 20)
    box = (50, 40, 80, 70)

    def toy(im):  # "a face" = the red pixels' bounding box, scored by how many of the 900 are visible
        ys, xs = np.nonzero((im[..., 0] > 150) & (im[..., 1] < 80))
        frac = len(ys) / 900
        return [((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1), 4 * (frac - 0.5))] if frac > 0.3 else []

    result = drise(toy, img, box, masks=300, grid=6, face_px=None)
    assert result.region == (20, 10, 110, 100) and result.map.shape == (90, 90)  # the box and 30 px around it
    inside = np.zeros((90, 90), bool)
    inside[30:60, 30:60] = True
    excess = np.clip(result.map - np.median(result.map), 0, None)
    # The square is 11% of the region and must hold far more of the above-median saliency than that.
    assert excess[inside].sum() / excess.sum() > 0.4 and 0 < result.hit_rate < 1
    assert result.map[inside].mean() > result.map[~inside].mean() + 0.1


@pytest.mark.parametrize("backend", ["blazeface", "hog"])
def test_drise_on_the_face_detector_for_a_real_face(backend):
    from skimage import data

    from fakelens.explain.drise import drise
    from fakelens.faces import FaceDetector

    img = data.astronaut()
    faces = FaceDetector(backend)
    face = faces.detect(img)[0]
    result = drise(faces.detections, img, face.box, masks=150, grid=6)
    x0, y0, x1, y1 = face.box
    rx0, ry0 = result.region[:2]
    inner = result.map[y0 - ry0:y1 - ry0, x0 - rx0:x1 - rx0]
    assert result.hit_rate > 0.05 and inner.mean() > result.map.mean()  # the face box carries the detection


def test_explain_drise_writes_map_and_overlay(tiny_checkpoint, astronaut_path, tmp_path):
    import json

    from typer.testing import CliRunner

    from fakelens.cli import app

    r = CliRunner().invoke(app, ["explain", str(astronaut_path), "--method", "drise", "--out", str(tmp_path),
                                 "--format", "json", "--model", str(tiny_checkpoint)])
    assert r.exit_code == 0, r.output
    (rec,) = [json.loads(line) for line in r.stdout.splitlines()]
    x0, y0, x1, y1 = rec["region"]
    assert rec["method"] == "drise" and np.load(rec["map"]).shape == (y1 - y0, x1 - x0)
    assert (tmp_path / rec["overlay"]).exists() and 0 < rec["params"]["hit_rate"] <= 1


def test_alignment_puts_landmarks_on_the_template():
    from fakelens.explain.global_view import align

    lm = np.array([[20, 20], [40, 20], [30, 40]], np.float32)
    template = lm * 1.2 + 5
    img = np.zeros((64, 64), np.float32)
    for x, y in lm.astype(int):
        img[y, x] = 1.0
    warped = align(img, lm, template)
    for x, y in np.round(template).astype(int):
        assert warped[y - 1:y + 2, x - 1:x + 2].max() > 0.2


def test_audit_detector_counts_missed_faces(astronaut_path, cat_path, tmp_path):
    import json
    import shutil

    from typer.testing import CliRunner

    from fakelens.cli import app

    (tmp_path / "data" / "real").mkdir(parents=True)
    shutil.copy(astronaut_path, tmp_path / "data" / "real" / "astronaut.png")
    shutil.copy(cat_path, tmp_path / "data" / "real" / "cat.jpg")  # a "face" dlib must miss
    r = CliRunner().invoke(app, ["audit-detector", str(tmp_path / "data"), "--out", str(tmp_path / "out"),
                                 "--images", "2", "--drise-faces", "1", "--masks", "60"])
    assert r.exit_code == 0, r.output
    report = json.loads((tmp_path / "out" / "detector.json").read_text())
    assert report["found"] == 1 and report["missed"][0].endswith("cat.jpg") and report["recall"] == 0.5
    assert np.load(tmp_path / "out" / "drise-mean.npy").shape == (96, 96)
    assert (tmp_path / "out" / "missed-faces.png").exists() and (tmp_path / "out" / "drise-mean.png").exists()


def test_drise_on_a_box_the_user_gives(tiny_checkpoint, cat_path, tmp_path):
    """A face the detector missed (here: a cat's face) can still be explained from a given box."""
    import json

    from typer.testing import CliRunner

    from fakelens.cli import app

    r = CliRunner().invoke(app, ["explain", str(cat_path), "--method", "drise", "--box", "120,40,330,250", "--out",
                                 str(tmp_path), "--format", "json", "--model", str(tiny_checkpoint)])
    assert r.exit_code == 0, r.output
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    assert recs[0]["method"] == "drise" and recs[0]["face"] == [120, 40, 330, 250] and recs[1]["label"] == "no_face"
    bad = CliRunner().invoke(app, ["explain", str(cat_path), "--method", "drise", "--box", "1,2,3"])
    assert bad.exit_code == 2 and "--box" in bad.output


def test_a_constant_map_fails_the_sanity_check_by_construction():
    torch.manual_seed(0)
    model = create_model("tiny-cnn", input_size=64).eval()
    result = sanity_check(lambda m, x: np.ones((64, 64), np.float32), model, _image())
    assert not result["passed"] and set(result["similarity"].values()) == {1.0}
