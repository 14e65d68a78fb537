"""A corpus of hard inputs, made on the fly (no committed binaries): valid images and videos in many
formats and modes, and damaged copies of each (truncated, bit-flipped, header only, renamed).

Each case says what a correct outcome is: `expect` is "face" (analyzed, a face found), "ok"
(analyzed: any label but error), "error" (a one-line error) or "any" (either, but never a crash).
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

TRUNCATE_AT = (0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99)
FLIP_SEEDS = range(6)
WRONG_SUFFIX = {".png": ".mp4", ".jpg": ".webm", ".mp4": ".jpg", ".webm": ".png"}


@dataclass
class Case:
    path: Path
    expect: str  # face | ok | error | any
    kind: str  # what was done to make it, for failure messages


def _face(size: int = 224) -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut()[:300, 60:360]).resize((size, size), Image.LANCZOS)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height and whose data is a few bytes (a bomb by declaration)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def image_seeds(d: Path) -> list[Case]:
    """Valid images: every format and pixel mode Pillow writes here, odd sizes, animations, bombs."""
    face = _face()
    rgb = np.asarray(face)
    cases: list[Case] = []

    def save(name: str, im: Image.Image, expect: str = "face", **kw) -> None:
        im.save(d / name, **kw)
        cases.append(Case(d / name, expect, "seed"))

    save("face.png", face)
    save("face.jpg", face, quality=90)
    save("face-progressive.jpg", face, quality=85, progressive=True)
    save("face.webp", face, quality=90)
    save("face-lossless.webp", face, lossless=True)
    save("face.avif", face, quality=80)
    save("face.tif", face, compression="tiff_lzw")
    save("face.bmp", face)
    save("face.jp2", face)
    save("face.gif", face.convert("P", palette=Image.ADAPTIVE))
    save("grey.png", face.convert("L"))
    save("grey.jpg", face.convert("L"))
    save("cmyk.jpg", face.convert("CMYK"))
    save("cmyk.tif", face.convert("CMYK"))
    save("grey16.png", Image.fromarray((np.asarray(face.convert("L")).astype(np.uint16) * 257)))  # 16-bit
    save("rgba.png", face.convert("RGBA"))
    save("grey-alpha.png", face.convert("LA"))
    save("bilevel.png", face.convert("1"), expect="any")  # dithered black and white: a face or not
    frames = [face, face.transpose(Image.FLIP_LEFT_RIGHT), face.rotate(10)]
    save("animated.gif", frames[0].convert("P"), save_all=True, append_images=[f.convert("P") for f in frames[1:]],
         duration=100, loop=0)
    save("animated.webp", frames[0], save_all=True, append_images=frames[1:], duration=100)
    exif = face.getexif()
    exif[0x0112] = 8  # displayed rotated 90 degrees: the face is upright only after EXIF transposition
    save("exif-rotated.jpg", face.rotate(-90, expand=True), exif=exif)
    save("one-pixel.png", Image.new("RGB", (1, 1), (200, 150, 120)), expect="ok")
    save("one-pixel.jpg", Image.new("RGB", (1, 1), (200, 150, 120)), expect="ok")
    save("one-pixel-grey.gif", Image.new("L", (1, 1), 7), expect="ok")
    save("strip.png", Image.fromarray(np.tile(rgb[:1], (1, 1, 1))), expect="ok")  # 224 x 1
    save("tall.png", Image.new("RGB", (2, 3000), (9, 9, 9)), expect="ok")
    save("flat-grey.png", Image.new("L", (64, 64), 128), expect="ok")
    save("bomb.png", Image.new("1", (9000, 9000)), expect="error")  # 81 MP of pixels in a few KB
    (d / "claims-huge.png").write_bytes(_png_header_only(60000, 60000))
    cases.append(Case(d / "claims-huge.png", "error", "seed"))
    return cases


def _write_frames(path: Path, frames: list[np.ndarray], codec: str, fps: int = 10, rotation: int = 0,
                  pts: list[int] | None = None) -> Path:
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        if pts is not None:
            stream.time_base = Fraction(1, 1000)
        if rotation:
            stream.set_display_rotation(rotation)
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            if pts is not None:
                frame.pts, frame.time_base = pts[i], Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def write_audio_only(path: Path) -> Path:
    """An AAC file: a container with an audio stream and no video."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=16000)
        for i in range(20):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def video_seeds(d: Path) -> list[Case]:
    """Valid clips in several containers, rotated and variable-rate ones, and clips with nothing to read."""
    from skimage import data

    face = np.asarray(_face(128))
    background = np.asarray(Image.fromarray(data.coffee()).resize((256, 144)))
    frames = []
    for t in range(12):
        f = background.copy()
        x = 20 + 8 * t
        f[8:136, x:x + 128] = face
        frames.append(f)
    cases = [Case(_write_frames(d / "clip.mp4", frames, "libx264"), "face", "seed"),
             Case(_write_frames(d / "clip.webm", frames, "libvpx-vp9"), "face", "seed"),
             Case(_write_frames(d / "clip.avi", frames, "mpeg4"), "face", "seed"),
             Case(_write_frames(d / "clip.mkv", frames, "libx264"), "face", "seed"),
             Case(_write_frames(d / "clip.mov", frames, "libx264"), "face", "seed"),
             Case(_write_frames(d / "rotated.mp4", [np.ascontiguousarray(np.rot90(f, -1)) for f in frames],
                                "libx264", rotation=90), "face", "seed"),
             Case(_write_frames(d / "vfr.mkv", frames, "libx264", pts=[0, 40, 50, 300, 310, 700, 720, 800, 1500, 1510,
                                                                      1600, 2400]), "face", "seed"),
             Case(_write_frames(d / "one-frame.mp4", frames[:1], "libx264"), "face", "seed")]
    for name in ("zero-frames.mp4", "zero-frames.mkv"):  # a video stream that never gets a frame
        with av.open(str(d / name), "w") as out:
            s = out.add_stream("libx264", rate=10)
            s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
            out.start_encoding()
        cases.append(Case(d / name, "error", "seed"))
    cases.append(Case(write_audio_only(d / "audio-only.m4a"), "error", "seed"))
    return cases


def build_corpus(root: Path) -> list[Case]:
    """Seeds plus, for each, 7 truncations, 6 bit-flipped copies, a header-only copy and a renamed copy;
    then empty files, random bytes, a HEIC-like header and text named like media."""
    seeds_dir, bad = root / "seeds", root / "damaged"
    seeds_dir.mkdir(parents=True)
    bad.mkdir()
    cases = image_seeds(seeds_dir) + video_seeds(seeds_dir)
    rng = np.random.default_rng(0)
    for seed in list(cases):
        raw = seed.path.read_bytes()
        stem, suffix = seed.path.stem, seed.path.suffix
        for frac in TRUNCATE_AT:
            p = bad / f"{stem}-trunc{int(frac * 100):02d}{suffix}"
            p.write_bytes(raw[: max(1, int(len(raw) * frac))])
            cases.append(Case(p, "error" if frac <= 0.01 and len(raw) > 2000 else "any", "truncated"))
        for k in FLIP_SEEDS:
            flipped = bytearray(raw)
            for pos in rng.integers(0, len(raw), 1 + 4 * k):
                flipped[pos] ^= 1 << int(rng.integers(8))
            p = bad / f"{stem}-flip{k}{suffix}"
            p.write_bytes(bytes(flipped))
            cases.append(Case(p, "any", "bit-flipped"))
        p = bad / f"{stem}-header{suffix}"
        p.write_bytes(raw[:16])
        cases.append(Case(p, "error" if len(raw) > 16 else "any", "header only"))
        p = bad / f"{stem}-renamed{WRONG_SUFFIX.get(suffix, '.jpg' if suffix != '.jpg' else '.mp4')}"
        p.write_bytes(raw)
        cases.append(Case(p, seed.expect, "wrong extension"))
    for name in ("empty.jpg", "empty.png", "empty.mp4", "empty.webm", "empty"):
        (bad / name).write_bytes(b"")
        cases.append(Case(bad / name, "error", "zero bytes"))
    for k in range(10):
        p = bad / f"noise{k}{('.jpg', '.png', '.mp4', '.gif', '.webp')[k % 5]}"
        p.write_bytes(rng.integers(0, 256, int(rng.integers(1, 50_000)), dtype=np.uint8).tobytes())
        cases.append(Case(p, "error", "random bytes"))
    heic = bad / "photo.heic"  # an ISO BMFF still image Pillow has no plugin for here
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(200))
    cases.append(Case(heic, "error", "HEIC without a decoder"))
    for name in ("notes.jpg", "notes.mp4"):
        (bad / name).write_text("this is a text file\n" * 20)
        cases.append(Case(bad / name, "error", "text named like media"))
    buf = io.BytesIO()
    _face().save(buf, "PNG")
    (bad / "png-then-garbage.png").write_bytes(buf.getvalue() + bytes(rng.integers(0, 256, 5000, dtype=np.uint8)))
    cases.append(Case(bad / "png-then-garbage.png", "face", "trailing garbage"))
    return cases
