"""Receiving an upload: the multipart body is parsed as it arrives and the field `file` streamed
straight to its final place under the data directory, under a name fakelens chooses.

FastAPI's own `UploadFile` would first spool the whole body to a temporary file; here a body
declared too large (Content-Length) is refused before a byte is read, and one that turns out too
large is refused as soon as it passes the limit, its partial file removed. `BodyLimit` holds every
other request body to a small limit the same two ways.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse
from python_multipart.multipart import MultipartParseError, MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from fakelens.imageio import MAX_PIXELS
from fakelens.media import looks_like_video

OVERHEAD = 64 * 1024  # multipart framing and small form fields allowed on top of the file's limit
HEAD = 16  # bytes kept to recognize a video container (images are identified from the stored file)
BODY_LIMIT = 64 * 1024  # every other request body (a rating, the sign-in form): far more than they need


@dataclass(frozen=True)
class Upload:
    """A stored upload: where (our name), the name the client gave (for display only), size, hash, kind."""

    path: Path
    filename: str
    size: int
    sha256: str
    kind: str


def display_name(raw: str | None) -> str:
    """The client's file name made safe to show: its last path component, no control characters,
    at most 255 characters ('upload' when nothing is left). It never becomes a path."""
    name = re.split(r"[/\\]", raw or "")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = " ".join(name.split())[:255]
    return name or "upload"


def declared_over(headers: Mapping[str, str], limit: int) -> bool:
    """Whether the body's Content-Length says it is over `limit` bytes (refused before reading a byte)."""
    declared = headers.get("content-length", "")
    return declared.isascii() and declared.isdigit() and int(declared) > limit


class BodyLimit:
    """ASGI middleware: the body of every request but `exempt` (the upload, whose limits depend on the key:
    see receive_upload) at most `limit` bytes, checked as for uploads: Content-Length before the app
    runs, then the bytes as they arrive (a chunked body has no length). 413 {"detail": one line}:
    FastAPI's own max_body_size answers a too-large Content-Length in plain text, hence this."""

    def __init__(self, app, limit: int, exempt: tuple[str, str]):
        self.app, self.limit, self.exempt = app, limit, exempt

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.exempt == (scope["method"], _route_path(scope)):
            return await self.app(scope, receive, send)
        too_large = f"request body over the {self.limit // 1024} KB limit"
        if declared_over(Headers(scope=scope), self.limit):
            return await JSONResponse({"detail": too_large}, 413)(scope, receive, send)
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise HTTPException(413, too_large)  # raised where the app reads the body: its handler answers
            return message

        await self.app(scope, counted, send)


def _route_path(scope) -> str:
    return scope["path"].removeprefix(scope.get("root_path", ""))  # behind a proxy's prefix too


def identify(path: Path, head: bytes) -> str:
    """'video' or 'image' for a stored upload, else HTTPException with the reason. Images are identified
    by PIL from the file itself, header only (never decoded), reading as far as the format needs: a
    JPEG's ICC profile or an ICO's directory may lie past any fixed head. More pixels than the
    analysis takes (fakelens.imageio.MAX_PIXELS) is refused now, not left to fail later."""
    from PIL import Image

    if looks_like_video(head):
        return "video"
    limit = f"(limit {MAX_PIXELS / 1e6:.0f} MP)"
    try:
        with Image.open(path) as im:
            w, h = im.size
    except Image.DecompressionBombError as e:  # PIL's own guard, past 2x its limit: it names the pixels, not the sides
        pixels = re.search(r"\d+", str(e))
        raise HTTPException(413, f"image too large: {pixels[0] if pixels else 'too many'} pixels {limit}") from None
    except Exception:  # noqa: BLE001 - anything PIL cannot identify is not an image
        raise HTTPException(415, "not an image or a video this app can read") from None
    if w * h > MAX_PIXELS:
        raise HTTPException(413, f"image too large: {w} x {h} pixels {limit}")
    return "image"


class _Parts:
    """Multipart callbacks: the first part named `file` goes to disk, other parts are counted and dropped."""

    def __init__(self, out, cap: int):
        self.out, self.cap = out, cap
        self.header_field = self.header_value = b""
        self.headers: dict[bytes, bytes] = {}
        self.in_file = self.found = self.ended = self.over = False
        self.filename: str | None = None
        self.size = self.other = 0
        self.digest = hashlib.sha256()
        self.head = b""

    def callbacks(self) -> dict:
        return {"on_part_begin": self.part_begin, "on_header_field": self.on_field, "on_header_value": self.on_value,
                "on_header_end": self.header_end, "on_headers_finished": self.headers_done,
                "on_part_data": self.data, "on_part_end": self.part_end, "on_end": self.end}

    def part_begin(self) -> None:
        self.headers, self.in_file = {}, False

    def on_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def header_end(self) -> None:
        self.headers[self.header_field.lower()] = self.header_value
        self.header_field = self.header_value = b""

    def headers_done(self) -> None:
        _, opts = parse_options_header(self.headers.get(b"content-disposition", b""))
        if opts.get(b"name") == b"file" and not self.found:
            self.in_file = self.found = True
            raw = opts.get(b"filename")
            self.filename = raw.decode("utf-8", "replace") if raw is not None else None

    def data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if not self.in_file:
            self.other += len(chunk)
            return
        self.size += len(chunk)
        if self.size > self.cap:
            self.over = True
            return
        self.digest.update(chunk)
        if len(self.head) < HEAD:
            self.head += chunk[: HEAD - len(self.head)]
        self.out.write(chunk)

    def part_end(self) -> None:
        self.in_file = False

    def end(self) -> None:
        self.ended = True


async def receive_upload(request: Request, folder: Path, cap: int, too_large: str) -> Upload:
    """Store the multipart field `file` of `request` in `folder` and return it. Refuses, leaving no file
    behind: 415 for a body that is not multipart or content that is neither image nor video (see
    `identify`), 413 with `too_large` past `cap` bytes or for an image with too many pixels, 400 for
    a malformed body, no file or an empty one."""
    ctype, opts = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not opts.get(b"boundary"):
        raise HTTPException(415, "send the file as multipart/form-data, in the field 'file'")
    if declared_over(request.headers, cap + OVERHEAD):
        raise HTTPException(413, too_large)  # before reading the body at all
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / uuid.uuid4().hex  # our name, never the client's: nothing they send becomes a path
    try:
        with open(path, "wb") as out:
            parts = _Parts(out, cap)
            parser = MultipartParser(opts[b"boundary"], parts.callbacks())
            received = 0
            async for chunk in request.stream():
                received += len(chunk)
                if received > cap + OVERHEAD:
                    raise HTTPException(413, too_large)
                parser.write(chunk)
                if parts.over:
                    raise HTTPException(413, too_large)
                if parts.other > OVERHEAD:
                    raise HTTPException(400, f"form fields besides 'file' over {OVERHEAD // 1024} KB")
        if not parts.ended:
            raise HTTPException(400, "incomplete multipart body")
        if not parts.found:
            raise HTTPException(400, "no file in the multipart field 'file'")
        if not parts.size:
            raise HTTPException(400, "empty upload")
        kind = await run_in_threadpool(identify, path, parts.head)
    except MultipartParseError:
        path.unlink(missing_ok=True)
        raise HTTPException(400, "malformed multipart body") from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    final = path.rename(path.with_suffix(".mp4" if kind == "video" else ".img"))
    return Upload(final, display_name(parts.filename), parts.size, parts.digest.hexdigest(), kind)
