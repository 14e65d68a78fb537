"""The plain-language summary: regions from landmarks, and sentences that follow the numbers."""

import json

import numpy as np
from typer.testing import CliRunner

from fakelens.cli import app
from fakelens.explain.regions import REGIONS, region_masks, region_shares
from fakelens.explain.summary import MethodEvidence, summarize_face, summarize_windows


def _landmarks(size=160):
    from skimage import data

    from fakelens.faces import FaceDetector, crop_face

    img = data.astronaut()
    return crop_face(img, FaceDetector().detect(img, landmarks=True)[0].landmarks, size).landmarks


def test_regions_partition_the_crop_and_sit_where_the_landmarks_are():
    lm = _landmarks()
    masks = region_masks(lm, 160, 160)
    assert list(masks) == list(REGIONS)
    stacked = np.stack(list(masks.values()))
    assert (stacked.sum(0) == 1).all()  # disjoint and covering
    for name, idx in (("eyes", range(36, 48)), ("mouth", range(48, 68)), ("nose", range(27, 36))):
        inside = [masks[name][int(round(y)), int(round(x))] for x, y in lm[list(idx)]]
        assert np.mean(inside) > 0.8, name
    assert masks["background"][0, 0] and masks["background"][159, 159]


def test_shares_follow_the_map():
    lm = _landmarks()
    masks = region_masks(lm, 160, 160)
    m = masks["mouth"].astype(np.float32) * 3 + masks["eyes"].astype(np.float32)
    shares = {r["region"]: r for r in region_shares(m, lm)}
    expected = 3 * masks["mouth"].sum() / (3 * masks["mouth"].sum() + masks["eyes"].sum())
    assert abs(shares["mouth"]["mass"] - expected) < 1e-3 and shares["background"]["mass"] == 0
    assert region_shares(m, lm)[0]["region"] == "mouth"


def test_sentences_state_the_measured_numbers():
    lm = _landmarks()
    eyes = region_masks(lm, 160, 160)["eyes"].astype(np.float32)
    rnd = {"random": {"deletion_auc": 0.4, "insertion_auc": 0.4}}
    good = MethodEvidence("gradcam", eyes, deletion_auc=0.1, insertion_auc=0.9, baselines=rnd)
    text, facts = summarize_face("fake", 0.93, 0.5, [good], lm)
    assert "fake" in text and "0.93" in text and "strong" in text and facts["confidence"] == "strong"
    assert "100% of its positive evidence on the eyes" in text and "passes both" in text
    assert "0.10 vs 0.40" in text and "0.90 vs 0.40" in text
    bad = MethodEvidence("lime", eyes, deletion_auc=0.6, insertion_auc=0.2, baselines=rnd)
    text, _ = summarize_face("real", 0.45, 0.5, [bad], lm)
    assert "weak" in text and "No map beat a random one" in text
    noise = MethodEvidence("rise", np.random.default_rng(0).random((160, 160)).astype(np.float32))
    text, facts = summarize_face("fake", 0.8, 0.5, [good, noise], lm)
    assert facts["agreement_spearman"] < 0.15 and "disagree" in text


def test_window_sentence_names_the_peak():
    windows = [{"start": 0.0, "end": 1.0, "score": 0.2}, {"start": 1.0, "end": 2.0, "score": 0.9},
               {"start": 2.0, "end": 3.0, "score": 0.7}]
    text, facts = summarize_windows(windows, 0.5, [([0.0, 1.0], -0.1), ([1.0, 2.0], 0.3), ([2.0, 3.0], 0.05)])
    assert "2 of 3 windows" in text and "1.0-2.0 s (0.90)" in text and "1.0-2.0 s (+0.30)" in text
    assert facts["windows_above"] == 2


def test_analyze_explain_adds_summary_and_top_map(tiny_checkpoint, astronaut_path, cat_path, tmp_path):
    r = CliRunner().invoke(app, ["analyze", str(astronaut_path), str(cat_path), "--format", "json", "--model",
                                 str(tiny_checkpoint), "--explain", "gradcam,saliency", "--explain-out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    face, cat = [json.loads(line) for line in r.stdout.splitlines()]
    assert face["summary"].startswith("The face is classified") and len(face["explanations"]) == 1
    top = face["explanations"][0]
    assert top["method"] in ("gradcam", "saliency") and np.load(top["map"]).shape == (64, 64)
    assert 0 <= top["deletion_auc"] <= 1 and set(top["baselines"]) == {"random", "centre"}
    assert "summary" not in cat and cat["label"] == "no_face"
