import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage import data

from fakelens.faces import FaceDetector, crop_face, crop_whole_image, square_around


def test_astronaut_face_found_with_landmarks():
    img = data.astronaut()
    faces = FaceDetector().detect(img)
    assert len(faces) == 1
    x0, y0, x1, y1 = faces[0].box
    # Eileen Collins' face sits around x 170-260, y 70-180 in the 512x512 photo.
    assert 150 < (x0 + x1) / 2 < 260 and 70 < (y0 + y1) / 2 < 180
    lm = faces[0].landmarks
    assert lm.shape == (68, 2)
    # Landmarks are anatomically ordered: eyes (36-47) above the mouth (48-67), jaw spans the face.
    assert lm[36:48, 1].mean() < lm[48:68, 1].mean()
    assert lm[0, 0] < lm[16, 0]


def test_no_face_in_cat_or_noise():
    det = FaceDetector()
    assert det.detect(data.chelsea()) == []
    assert det.detect(np.random.default_rng(0).integers(0, 255, (200, 300, 3), dtype=np.uint8)) == []


def test_detection_on_downscaled_copy_maps_boxes_back():
    img = data.astronaut()
    big = np.kron(img, np.ones((3, 3, 1), dtype=np.uint8))  # 1536x1536: detected on a 1024 copy
    small_box = np.array(FaceDetector().detect(img)[0].box)
    big_box = np.array(FaceDetector().detect(big)[0].box)
    assert np.abs(big_box / 3 - small_box).max() < 12


def test_crop_is_centred_on_face_and_scaled():
    img = data.astronaut()
    face = FaceDetector().detect(img)[0]
    c13 = crop_face(img, face.landmarks, 160, 1.3)
    c20 = crop_face(img, face.landmarks, 160, 2.0)
    assert c13.image.shape == (160, 160, 3)
    side13, side20 = c13.square[2] - c13.square[0], c20.square[2] - c20.square[0]
    assert abs(side20 / side13 - 2.0 / 1.3) < 0.02
    # landmarks land inside the crop, centred
    centre = (c13.landmarks.min(0) + c13.landmarks.max(0)) / 2
    assert np.abs(centre - 80).max() < 3


def test_whole_image_crop():
    c = crop_whole_image(np.zeros((30, 50, 3), np.uint8), 64)
    assert c.image.shape == (64, 64, 3) and c.square == (0, 0, 50, 30) and c.landmarks is None


@settings(max_examples=200, deadline=None)
@given(
    w=st.integers(20, 400), h=st.integers(20, 400), cx=st.floats(-50, 450), cy=st.floats(-50, 450),
    face=st.floats(2, 500), scale=st.sampled_from([1.3, 2.0]),
)
def test_square_always_inside_image(w, h, cx, cy, face, scale):
    lm = np.array([[cx - face / 2, cy - face / 2], [cx + face / 2, cy + face / 2]], np.float32)
    x0, y0, x1, y1 = square_around(lm, scale, w, h)
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    assert x1 - x0 == y1 - y0
    assert x1 - x0 == min(round(min(scale * face, w, h)), w, h)
