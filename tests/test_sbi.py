import numpy as np
from skimage import data

from fakelens.data.augment import augment
from fakelens.data.sbi import blend_mask, self_blend
from fakelens.faces import FaceDetector, crop_face


def _face_crop():
    img = data.astronaut()
    face = FaceDetector().detect(img)[0]
    return crop_face(img, face.landmarks, 192, 1.3)


def test_self_blend_changes_the_face_not_the_corners():
    crop = _face_crop()
    for seed in range(5):
        fake = self_blend(crop.image, crop.landmarks, np.random.default_rng(seed))
        diff = np.abs(fake.astype(int) - crop.image.astype(int)).sum(2)
        inner = diff[80:112, 80:112].mean()  # nose and cheeks: inside every mask
        corners = np.concatenate([diff[:12, :12].ravel(), diff[-12:, -12:].ravel(), diff[:12, -12:].ravel()])
        assert inner > 2.0, seed
        assert corners.mean() < 0.5 * inner


def test_mask_is_soft_and_bounded():
    crop = _face_crop()
    m = blend_mask(crop.landmarks, 192, 192, np.random.default_rng(0))
    assert m.min() >= 0 and m.max() <= 1
    assert 0 < ((m > 0.05) & (m < 0.95)).mean()  # a blurred boundary, not a hard edge


def test_grey_stays_grey():
    crop = _face_crop()
    grey = np.repeat(crop.image.mean(2, keepdims=True).astype(np.uint8), 3, axis=2)
    out = self_blend(grey, crop.landmarks, np.random.default_rng(1))
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()


def test_augment_shape_and_determinism():
    crop = _face_crop()
    a = augment(crop.image, 160, np.random.default_rng(7))
    b = augment(crop.image, 160, np.random.default_rng(7))
    assert a.shape == (160, 160, 3) and a.dtype == np.uint8 and (a == b).all()
