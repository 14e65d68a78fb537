"""Receiving an upload: the multipart body is parsed as it arrives and the field `file` streamed
straight to its final place under the data directory, under a name fakelens chooses.

FastAPI's own `UploadFile` would first spool the whole body to a temporary file; here a body
declared too large (Content-Length) is refused before a byte is read, and one that turns out too
large is refused as soon as it passes the limit, its partial file removed.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, Request
from python_multipart.multipart import MultipartParseError, MultipartParser, parse_options_header

from fakelens.media import sniff

OVERHEAD = 64 * 1024  # multipart framing and small form fields allowed on top of the file's limit
HEAD = 1 << 16  # bytes kept for sniffing the content


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
    behind: 415 for a body that is not multipart or content that is neither image nor video (sniffed
    from the bytes), 413 with `too_large` past `cap` bytes, 400 for a malformed body, no file or an
    empty one."""
    ctype, opts = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not opts.get(b"boundary"):
        raise HTTPException(415, "send the file as multipart/form-data, in the field 'file'")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap + OVERHEAD:
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
        kind = sniff(parts.head) if parts.size >= 16 else None
        if kind is None:
            raise HTTPException(415, "not an image or a video this app can read")
    except MultipartParseError:
        path.unlink(missing_ok=True)
        raise HTTPException(400, "malformed multipart body") from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    final = path.rename(path.with_suffix(".mp4" if kind == "video" else ".img"))
    return Upload(final, display_name(parts.filename), parts.size, parts.digest.hexdigest(), kind)
