"""Small helpers every entry point shares: what a file is (by content), its hash, a safe output name."""

from __future__ import annotations

import hashlib
import io
import os
import re
import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from fakelens.errors import InputError


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, read in 1 MB chunks."""
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


def sniff(head: bytes) -> str | None:
    """'video', 'image' or None from a file's first bytes (a few KB are enough)."""
    from PIL import Image

    from fakelens.video.decode import looks_like_video

    if looks_like_video(head[:16]):
        return "video"
    try:
        with Image.open(io.BytesIO(head)):  # identifies from the header; decoding problems surface in the analysis
            return "image"
    except Exception:  # noqa: BLE001 - anything PIL cannot identify is not an image
        return None


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
