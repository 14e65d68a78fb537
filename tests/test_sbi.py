import numpy as np
from skimage import data

from fakelens.data.augment import augment
from fakelens.data.sbi import SBIConfig, blend_mask, hull_mask, self_blend
from fakelens.faces import FaceDetector, crop_face


def _face_crop():
    img = data.astronaut()
    face = FaceDetector().detect(img, landmarks=True)[0]
    return crop_face(img, face.landmarks, 192, 1.3)


def test_self_blend_alters_the_face_and_the_rest_differently():
    """Either the blended-in copy or the picture around it was altered: the change inside the face
    (inside every mask) and at the corners (outside every mask) differ, which is the blending trace."""
    crop = _face_crop()
    for seed in range(6):
        fake = self_blend(crop.image, crop.landmarks, np.random.default_rng(seed))
        diff = fake.astype(int) - crop.image.astype(int)
        inner = diff[80:112, 80:112].reshape(-1, 3).mean(0)  # nose and cheeks
        corners = np.concatenate([diff[:12, :12].reshape(-1, 3), diff[-12:, -12:].reshape(-1, 3),
                                  diff[:12, -12:].reshape(-1, 3)]).mean(0)
        assert np.abs(inner - corners).max() > 2.0 or np.abs(diff[80:112, 80:112]).mean() > 4.0, seed


def test_mask_is_soft_and_bounded():
    crop = _face_crop()
    rng = np.random.default_rng(0)
    m = blend_mask(hull_mask(crop.landmarks, 192, 192, rng, variants=False), rng)
    assert m.min() >= 0 and m.max() <= 1
    assert 0 < ((m > 0.05) & (m < 0.95)).mean()  # a blurred boundary, not a hard edge


def test_lower_face_hull_leaves_the_eyes_out():
    crop = _face_crop()
    lm = crop.landmarks.astype(int)
    masks = [hull_mask(crop.landmarks, 192, 192, np.random.default_rng(s)) for s in range(30)]
    eye, mouth = lm[36:42].mean(0).astype(int), lm[48:68].mean(0).astype(int)
    assert all(m[mouth[1], mouth[0]] == 1 for m in masks)
    assert 0 < sum(m[eye[1], eye[0]] == 0 for m in masks) < 30  # some hulls cover the eyes, some do not


def test_each_part_of_the_recipe_can_be_turned_off():
    crop = _face_crop()
    plain = SBIConfig(colour=False, frequency=False, elastic=False, hull_variants=False, blend_ratios=(1.0,))
    face = hull_mask(crop.landmarks, 192, 192, np.random.default_rng(0), variants=False) > 0
    for seed in range(4):
        bare = self_blend(crop.image, crop.landmarks, np.random.default_rng(seed), plain)
        # Without colour or frequency changes only the slight shift of the copy is left: same colours.
        assert np.abs(bare[face].mean(0) - crop.image[face].mean(0)).max() < 3
        assert (bare != crop.image).any()
        for part in ("colour", "frequency", "elastic", "hull_variants"):
            one = SBIConfig(**{**plain.__dict__, part: True})
            assert (self_blend(crop.image, crop.landmarks, np.random.default_rng(seed), one) != bare).any(), part


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
