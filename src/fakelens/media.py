"""Small helpers every entry point shares: what a file is (by content), its hash, a safe output name."""

from __future__ import annotations

import hashlib
import io
import os
import re
import signal
import stat
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from fakelens.errors import InputError

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".ts", ".flv", ".wmv", ".3gp"}


def readable_file(path: str | os.PathLike, what: str = "a file") -> Path:
    """`path` when it is a regular file with bytes that this process may read, else an InputError
    with a one-line reason. Checked before anything opens it: opening a named pipe waits for a writer
    forever, and a device never ends."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputError(f"no such file: {p}") from None
    except (OSError, ValueError) as e:  # a symlink loop, a path too long, a NUL byte
        raise InputError(f"cannot read ({' '.join(str(e).split())}): {p}") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"is a directory, not {what}: {p}")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"not a regular file (a pipe, device or socket), not {what}: {p}")
    if st.st_size == 0:
        raise InputError(f"empty file (0 bytes): {p}")
    if not os.access(p, os.R_OK):
        raise InputError(f"permission denied: {p}")
    return p


def is_regular_file(path: str | os.PathLike) -> bool:
    """True for a regular file (what may be opened without blocking); never raises."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, read in 1 MB chunks (OSError for anything but a regular file)."""
    if not is_regular_file(path):
        raise OSError(f"not a regular file: {path}")
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_pinned(path: str | os.PathLike) -> None:
    """Refuse a file whose SHA-256 differs from the one a `SHA256SUMS` file beside it pins (the files
    fakelens ships: weights, graphs, face detector models). Files no SHA256SUMS names pass."""
    from fakelens.errors import ModelError

    path = Path(path)
    sums = path.parent / "SHA256SUMS"
    if not sums.is_file():
        return
    want = dict(reversed(line.split()) for line in sums.read_text().splitlines() if line.strip()).get(path.name)
    if want is not None and file_sha256(path) != want:
        raise ModelError(f"shipped file differs from the package's SHA256SUMS (tampered or corrupt): {path}")


# The first bytes of JPEG, PNG, GIF and TIFF (both byte orders) files.
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")


def sniff(head: bytes) -> str | None:
    """'video', 'image' or None from a file's first bytes (a few KB are enough)."""
    from PIL import Image

    if looks_like_video(head[:16]):
        return "video"
    if head.startswith(IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"  # by signature: PIL cannot parse a header cut short (a JPEG's EXIF or ICC block can exceed a few KB)
    try:
        with Image.open(io.BytesIO(head)):  # identifies from the header; decoding problems surface in the analysis
            return "image"
    except Exception:  # noqa: BLE001 - anything PIL cannot identify is not an image
        return None


def is_video(path: str | os.PathLike) -> bool:
    """Sniff the container from its first bytes (falls back to the suffix for odd containers)."""
    p = Path(path)
    if not is_regular_file(p):  # never opened: a named pipe would block; the readers say what it is
        return p.suffix.lower() in VIDEO_SUFFIXES
    try:
        with open(p, "rb") as f:
            head = f.read(16)
    except OSError:
        return p.suffix.lower() in VIDEO_SUFFIXES
    return looks_like_video(head, p.suffix.lower())


def looks_like_video(head: bytes, suffix: str = "") -> bool:
    """True when the first bytes are a video container's (mp4/mov, Matroska/WebM, AVI, FLV, MPEG, ASF)."""
    if len(head) >= 8 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide"):
        return not head[8:12].startswith((b"jp2", b"avif", b"heic", b"mif1"))  # still-image ISO BMFF files
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # Matroska / WebM
        return True
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return True
    if head.startswith((b"FLV", b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3", b"\x30\x26\xb2\x75")):
        return True  # FLV, MPEG-PS, MPEG video, ASF/WMV
    if head[:1] == b"\x47" and suffix in VIDEO_SUFFIXES:
        return True  # MPEG-TS sync byte
    return len(head) == 0 and suffix in VIDEO_SUFFIXES


def safe_stem(path: str | os.PathLike) -> str:
    """A readable file-name stem for outputs about `path`, plus a hash of its full path (same-named
    inputs in different folders never collide). No dots: outputs are named with Path.with_suffix."""
    digest = hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:8]
    return f"{re.sub(r'[^A-Za-z0-9_-]+', '_', Path(path).stem)[:80]}-{digest}"


@contextmanager
def time_budget(seconds: float | None, path: str | os.PathLike) -> Iterator[None]:
    """Raise InputError when the block runs past `seconds` (wall clock), so one pathological file
    cannot stall a batch. Needs SIGALRM, hence the main thread on Unix; elsewhere it does not limit."""
    if not seconds or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise InputError(f"gave up after the time budget of {seconds:g} s per file: {path}")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
