"""Shortcut checks with known answers: sharpness that gives the label away is found, and the
sharpness-matched subset takes it away."""

import cv2
import numpy as np
from PIL import Image

from fakelens.metrics.shortcut import (jpeg_quality, laplacian_variance, matched_auroc, matched_subset,
                                       shortcut_baseline)


def test_sharp_fakes_are_caught_by_the_baseline_and_matched_away():
    rng = np.random.default_rng(0)
    base = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(200)]
    y = np.array([i % 2 for i in range(200)])
    pics = [b if label else cv2.GaussianBlur(b, (0, 0), 1.5) for b, label in zip(base, y)]  # fakes sharper
    sharp = np.array([np.log1p(laplacian_variance(p)) for p in pics])
    x = np.stack([sharp, np.full(200, 90.0)], 1)
    assert shortcut_baseline(x[:100], y[:100], x[100:], y[100:]) > 0.99
    # A model that only reads sharpness is perfect overall and no better than chance once matched.
    auroc, n = matched_auroc(sharp + rng.normal(0, 1e-3, 200), sharp, y)
    assert n < 40 or auroc is None or abs(auroc - 0.5) < 0.25
    # With overlapping sharpness, the matched subset has as many reals as fakes in every bin.
    mixed = rng.normal(0, 1, 400) + np.repeat([0.0, 0.5], 200)
    yy = np.repeat([0, 1], 200)
    idx = matched_subset(mixed, yy)
    assert len(idx) > 100 and yy[idx].sum() * 2 == len(idx)


def test_jpeg_quality_is_read_from_the_file(tmp_path):
    img = np.random.default_rng(1).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    for q in (30, 75, 95):
        Image.fromarray(img).save(tmp_path / f"{q}.jpg", quality=q)
        assert abs(jpeg_quality(str(tmp_path / f"{q}.jpg")) - q) <= 2
    Image.fromarray(img).save(tmp_path / "x.png")
    assert jpeg_quality(str(tmp_path / "x.png")) == 100.0
