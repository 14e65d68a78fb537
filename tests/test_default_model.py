"""The shipped default model: loads offline, is small, and tells a self-blended fake from its source."""

import json

import numpy as np
import pytest
from safetensors import safe_open
from skimage import data

from conftest import SHARED_DATA
from fakelens.data.sbi import self_blend
from fakelens.detector import Detector
from fakelens.faces import FaceDetector, square_around
from fakelens.paths import default_model_path

DEFAULT_MODEL = default_model_path()


def test_weights_are_small_float16_with_card():
    assert DEFAULT_MODEL.stat().st_size < 12 * 2**20
    with safe_open(str(DEFAULT_MODEL), framework="pt") as f:
        meta = json.loads(f.metadata()["fakelens"])
        dtypes = {str(f.get_slice(k).get_dtype()) for k in f.keys()}
    assert meta["arch"] == "efficientnet-lite0" and 0 < meta["threshold"] < 1
    assert "F16" in dtypes and "F32" not in dtypes
    assert (DEFAULT_MODEL.parent / "MODEL_CARD.md").exists()


@pytest.fixture(scope="module")
def detector():
    return Detector.load()


def test_self_blended_astronaut_scores_higher_than_the_real_one(detector):
    real = data.astronaut()
    face = FaceDetector().detect(real, landmarks=True)[0]
    x0, y0, x1, y1 = square_around(face.landmarks, 2.0, 512, 512)
    real_score = detector.analyze_array(real).score
    fake_scores = []
    for seed in range(4):
        fake = real.copy()
        fake[y0:y1, x0:x1] = self_blend(real[y0:y1, x0:x1], face.landmarks - [x0, y0], np.random.default_rng(seed))
        fake_scores.append(detector.analyze_array(fake).score)
    assert np.median(fake_scores) > real_score


@pytest.mark.slow
@pytest.mark.data
def test_default_model_on_shared_test_split():
    if not SHARED_DATA.exists():
        pytest.skip(f"shared data not found at {SHARED_DATA} (set FAKELENS_DATA)")
    from fakelens.train.evaluate import evaluate

    # The model's own test split (its metadata names it); the card's figures, with room for noise.
    res = evaluate([DEFAULT_MODEL], [str(SHARED_DATA)], split="test", progress=False)[str(DEFAULT_MODEL)]
    assert res["faces-dfdc"]["auroc"] > 0.75 and res["faces-gan"]["auroc"] > 0.85
    assert res["faces-diffusion"]["auroc"] > 0.9 and res["faces-simswap"]["auroc"] > 0.9
