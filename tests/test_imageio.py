import numpy as np
import pytest
from PIL import Image

from fakelens.errors import InputError
from fakelens.imageio import load_rgb


@pytest.mark.parametrize(
    "kind, message",
    [("missing", "no such file"), ("empty", "empty file"), ("text", "not a readable image"),
     ("truncated", "truncated"), ("bomb", "too large")],
)
def test_bad_inputs_raise_one_line_input_errors(bad_files, kind, message):
    with pytest.raises(InputError) as e:
        load_rgb(bad_files[kind])
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_grey_and_rgba_become_rgb(tmp_path):
    Image.new("L", (20, 10), 77).save(tmp_path / "g.png")
    Image.new("RGBA", (20, 10), (1, 2, 3, 0)).save(tmp_path / "a.png")
    g, a = load_rgb(tmp_path / "g.png"), load_rgb(tmp_path / "a.png")
    assert g.shape == a.shape == (10, 20, 3) and g.dtype == np.uint8
    assert (g == 77).all() and tuple(a[0, 0]) == (1, 2, 3)


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    img.save(tmp_path / "r.jpg", exif=exif)
    assert load_rgb(tmp_path / "r.jpg").shape == (40, 20, 3)


def test_16_bit_and_float_images_keep_their_contrast(tmp_path):
    ramp = np.linspace(0, 65535, 64).astype(np.uint16)[None].repeat(8, 0)
    Image.fromarray(ramp).save(tmp_path / "g16.png")
    Image.fromarray(ramp.astype(np.float32) / 65535).save(tmp_path / "f.tif")
    for name in ("g16.png", "f.tif"):
        a = load_rgb(tmp_path / name)
        assert a.shape == (8, 64, 3) and a[0, 0, 0] == 0 and a[0, -1, 0] == 255 and 120 <= a[0, 32, 0] <= 135, name
