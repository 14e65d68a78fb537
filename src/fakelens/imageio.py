"""Safe image loading: every failure becomes an InputError with a one-line reason."""

from __future__ import annotations

import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from fakelens.errors import InputError
from fakelens.media import readable_file

# Larger inputs are refused before decoding: a decompression bomb must not exhaust memory.
MAX_PIXELS = 64_000_000
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"}


def load_rgb(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image file as an HxWx3 uint8 RGB array (EXIF orientation applied)."""
    p = readable_file(path, "an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                w, h = im.size
                if w * h > max_pixels:
                    raise InputError(
                        f"image too large: {w}x{h} = {w * h / 1e6:.0f} MP (limit {max_pixels / 1e6:.0f} MP): {p}"
                    )
                im.load()
                im = ImageOps.exif_transpose(im)
                rgb = _to_8bit(im).convert("RGB")
    except InputError:
        raise
    except UnidentifiedImageError:
        raise InputError(f"not a readable image (unknown or corrupt format): {p}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(f"image too large (decompression bomb guard): {p}") from None
    except OSError as e:
        raise InputError(f"corrupt or truncated image ({_one_line(e)}): {p}") from None
    except (ValueError, SyntaxError, MemoryError) as e:
        raise InputError(f"cannot decode image ({_one_line(e)}): {p}") from None
    return np.asarray(rgb, dtype=np.uint8)


def _to_8bit(im: Image.Image) -> Image.Image:
    """16-bit and float images scaled to 8 bits (Pillow's convert clips them to white instead)."""
    if im.mode not in ("I", "F") and not im.mode.startswith("I;16"):
        return im
    a = np.asarray(im).astype(np.float32)
    if im.mode != "F":
        a /= 257.0  # 16-bit range to 8-bit; mode "I" holds 16-bit PNG samples too
    elif a.size and np.nanmax(a) <= 1.0:
        a *= 255.0  # float images in [0, 1]
    a = np.nan_to_num(a)
    return Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8))


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__
