"""FastAPI app: a page to upload images and videos, browse their history and read their reports,
and the REST API behind it (reference: docs/server.md).

Uploads are stored only under the data directory with names we choose; their type is sniffed
from the content, not the name; analyses run in a child process fed by one worker thread, never
in the request; nothing from the user is executed or used as a path. Once a key exists (or on a
non-loopback host) every route but /healthz and the static files asks for one, and each key
sees only the analyses it made.
"""

from __future__ import annotations

import math
import secrets
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Form, HTTPException, Path as PathParam, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.security import HTTPBearer
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, BeforeValidator, Field, StrictBool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match

from fakelens.service.auth import CSRF_COOKIE, KEY_COOKIE, AuthMode, Gate, Principal, check_same_origin
from fakelens.service.upload import BODY_LIMIT, BodyLimit, receive_upload
from fakelens.service.worker import Worker
from fakelens.store import HistoryStore, data_dir

VERSION = "0.2.0"
API_CSP = "default-src 'none'; frame-ancestors 'none'"
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
# The report keeps its inline style sheet and data: pictures (it is also a standalone file), and is
# shown inside the page (frame-ancestors 'self'); its only script is the feedback form's, from /static.
REPORT_CSP = ("default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; "
              "form-action 'self'; base-uri 'none'; frame-ancestors 'self'")
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'")
# same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on form posts, which the
# same-origin check then refuses; other sites still get no referrer.
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


@dataclass(frozen=True)
class ServerConfig:
    """Settings of `fakelens serve` (each is an option of the command)."""

    max_upload_mb: float = 200  # one upload, 413 beyond it
    methods: str = "gradcam"  # explanation methods run on every analysis ("" for none)
    auth: AuthMode = "auto"  # auto: a key once any exists; required: always; off: never (--no-auth)
    rate_limit: int = 600  # requests a minute per key (bursts up to that many); 0: no limit
    quota_mb: float = 10240  # stored uploads per key, 413 beyond it; 0: no quota
    time_budget: float = 300  # seconds per analysis in the worker before it is given up; 0: no limit
    retain_days: float = 0  # analyses older than this are deleted, files and all; 0: kept
    purge_every_s: float = 3600  # how often the retention purge runs


MAX_MB = 2.0**33  # 8 PiB: larger sizes, in bytes, are past what a float counts exactly (or overflow to inf)
# Each number's allowed range (NaN never). `fakelens serve` checks its options; this covers create_app from Python.
_RANGES = {"max_upload_mb": (0, MAX_MB), "quota_mb": (0, MAX_MB), "time_budget": (0, math.inf),  # inf: no limit
           "retain_days": (0, 1e6), "purge_every_s": (1e-3, 1e6)}


def _checked(config: ServerConfig) -> ServerConfig:
    """`config`, or a ValueError (one line) naming the first setting out of its range."""
    for name, (lo, hi) in _RANGES.items():
        v = getattr(config, name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:  # NaN fails every comparison
            raise ValueError(f"{name} must be a number from {lo:g} to {hi:g}, not {v!r}")
    return config


class ErrorBody(BaseModel):
    """Every error answer: one line saying what is wrong."""

    detail: str


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Accepted(BaseModel):
    """An upload taken: its id, to poll at `Location`."""

    id: int
    status: Literal["queued"]
    kind: Literal["image", "video"]
    filename: str = Field(description="The name the client gave the file (shown, never used as a path).")


class AnalysisSummary(BaseModel):
    id: int
    status: Literal["queued", "running", "done", "failed"]
    created: datetime
    filename: str | None = Field(None, description="The uploaded file's name (None for command-line analyses).")
    kind: Literal["image", "video"] | None = None
    label: Literal["real", "fake", "no_face", "error"] | None = None
    score: float | None = Field(None, description="Probability of fake of the most suspicious face.")
    manipulation: str | None = Field(None, description="Kind of fake, when the model says: face_swap or synthetic.")
    sha256: str | None = None


class AnalysisDetail(AnalysisSummary):
    result: dict | None = Field(None, description="When finished: the same JSON record as `fakelens analyze`.")


def _json_integer(v):
    """A JSON integer (1 and 1.0 alike, as JSON Schema has it), not a string or a boolean."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not v.is_integer()):
        raise ValueError("must be an integer")
    return int(v)


Rating = Annotated[int, Field(ge=1, le=5), BeforeValidator(_json_integer)]


# Every search box: SQLite refuses long LIKE patterns (each % and _ is escaped, doubling them).
Search = Annotated[str | None, Query(max_length=255, description="Part of the uploaded file's name.")]


# Ids are 32-bit integers in the database (PostgreSQL's INTEGER): larger ones are invalid, not unknown.
AnalysisId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="An analysis id.")]


class Feedback(BaseModel):
    """A reader's rating of the explanations of one analysis."""

    clarity: Rating = Field(description="How clear were the explanations (1-5)?")
    helpfulness: Rating = Field(description="How helpful were they (1-5)?")
    agree: StrictBool | None = Field(None, description="Did you agree with the verdict?")  # 0 is not a "no"
    comment: str = Field("", max_length=4000)  # pydantic refuses lone surrogates (JSON's \ud800): 422


class FeedbackCreated(BaseModel):
    id: int
    analysis: int


_MESSAGES = {400: "Malformed request", 401: "No valid API key", 403: "Cross-site or CSRF-less request",
             404: "No such analysis (or not this key's)", 409: "Not ready yet", 413: "Upload over the size limit or "
             "the key's storage quota, an image with too many pixels, or another body over 64 KB",
             415: "Not multipart, or content that is neither image nor video",
             422: "Invalid parameter or body (each field and what is wrong)",
             429: "Rate limit reached (see Retry-After)"}
_HEADERS = {401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
            429: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}}


def errors(*codes: int) -> dict:
    """OpenAPI entries for error answers, each with the typed body {"detail": str}; 422 always (it replaces
    FastAPI's list of problems, see the handler in create_app)."""
    return {c: {"model": ErrorBody, "description": _MESSAGES[c], **({"headers": _HEADERS[c]} if c in _HEADERS else {})}
            for c in sorted({*codes, 422})}


def _one_line(text: str, most: int = 500) -> str:
    """One line of at most `most` characters that JSON can carry (a lone surrogate becomes "?")."""
    return " ".join(text.split())[:most].encode("utf-8", "replace").decode()


def _shown_result(row: dict) -> dict | None:
    """The result as the API shows it: an upload's `path` (also in an error message) is the name it was
    uploaded under, not where the server keeps it; the stored record is unchanged."""
    result, name = row["result"], row["filename"]
    if not result or not name:  # not finished, or a command-line analysis (its path is the user's own)
        return result
    error = result.get("error")
    return {**result, "path": name, "error": error.replace(result["path"], name) if error else error}


_templates = Environment(loader=PackageLoader("fakelens.service", "templates"), autoescape=select_autoescape(["html"]))


def _summary(row: dict) -> dict:
    return {**{k: row[k] for k in ("id", "status", "created", "filename", "kind", "label", "score", "sha256")},
            "manipulation": (row["result"] or {}).get("manipulation")}


def _page_rows(rows: list[dict]) -> list[dict]:
    return [{**_summary(r), "thumbnail": bool(r["thumbnail"]), "report": bool(r["report"])} for r in rows]


class SecurityHeaders:
    """ASGI middleware: nosniff, a referrer policy and a Content-Security-Policy on every answer (pages set their
    own policy). Starlette's bare 500 page, made outside the app's middleware, goes without them."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", API_CSP)
                for k, v in SECURITY_HEADERS.items():
                    headers.setdefault(k, v)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Retention:
    """A background thread that deletes analyses older than `days` every `every_s` seconds."""

    def __init__(self, store: HistoryStore, days: float, every_s: float):
        self.store, self.days, self.every_s = store, days, every_s
        self.stop = threading.Event()
        threading.Thread(target=self._run, daemon=True, name="fakelens-retention").start()

    def purge(self) -> list[int]:
        """Delete what is past retention now; returns the ids deleted."""
        cutoff = datetime.now(timezone.utc) - timedelta(days=self.days)
        return [i for i in self.store.older_than(cutoff) if self.store.delete(i)]

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                self.purge()
            except Exception as e:  # noqa: BLE001 - try again next time (e.g. the database was briefly locked)
                print(f"fakelens: retention purge failed: {type(e).__name__}: {e}")
            self.stop.wait(self.every_s)


def create_app(store: HistoryStore | None = None, config: ServerConfig | None = None, **settings) -> FastAPI:
    """The app. `config` (or any of its fields as keyword arguments) sets limits, keys and retention."""
    config = _checked(replace(config or ServerConfig(), **settings))  # TypeError for a setting that does not exist
    store = store or HistoryStore()
    gate = Gate(store, config.auth, config.rate_limit)
    worker = Worker(store, config.methods, config.time_budget or None)
    retention = Retention(store, config.retain_days, config.purge_every_s) if config.retain_days > 0 else None

    @asynccontextmanager
    async def lifespan(_app):
        yield
        worker.close()
        if retention:
            retention.stop.set()

    app = FastAPI(title="fakelens", version=VERSION, lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None, description="Is this face a deepfake, and why: analyses with measured "
                  "explanations. Send `Authorization: Bearer KEY` (a key from `fakelens keys create NAME`).")
    app.state.store, app.state.worker, app.state.gate, app.state.config = store, worker, gate, config
    app.state.retention = retention
    app.add_middleware(BodyLimit, limit=BODY_LIMIT, exempt=("POST", "/v1/analyses"))
    app.add_middleware(SecurityHeaders)  # outermost: on BodyLimit's answers too
    limit = int(config.max_upload_mb * 1024 * 1024)
    quota = int(config.quota_mb * 1024 * 1024)
    admitting = threading.Lock()  # the quota's re-check and the record's creation as one step (see create_analysis)
    bearer = HTTPBearer(auto_error=False, description="An API key made by `fakelens keys create NAME`.")

    def caller(request: Request, _=Depends(bearer)) -> Principal:
        return gate.check(request)

    def owned(analysis_id: int, who: Principal) -> dict:
        row = store.get(analysis_id, owner=who.owner)
        if row is None:
            raise HTTPException(404, "no such analysis")
        return row

    def over_quota(left: int) -> str:
        return (f"over this key's storage quota of {config.quota_mb:g} MB ({max(left, 0) / 1024 / 1024:.1f} MB left; "
                "delete analyses to free it)")

    def admit(up, owner: int | None) -> int:
        """Create the analysis of a received upload if the key's quota still has room for it. Checked again
        now that the size is known, under a lock: uploads received side by side each passed the first
        check against the same usage. (One server process; several would need the database to lock.)"""
        with admitting:
            if config.quota_mb and (used := store.usage(owner)) + up.size > quota:
                raise HTTPException(413, over_quota(quota - used))
            return store.create(str(up.path), up.sha256, owner=owner, filename=up.filename, size=up.size,
                                kind=up.kind)

    @app.get("/healthz", response_model=Health, tags=["service"])
    def healthz() -> Health:
        """Whether the server is up (no key needed)."""
        return Health()

    @app.post("/v1/analyses", status_code=202, response_model=Accepted, tags=["analyses"],
              responses={**errors(400, 401, 403, 413, 415, 429),
                         202: {"headers": {"Location": {"description": "The analysis, to poll",
                                                        "schema": {"type": "string"}}}}},
              openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {
                  "schema": {"type": "object", "required": ["file"],
                             "properties": {"file": {"type": "string", "format": "binary",
                                                     "description": "An image or a video (sniffed from its bytes)."}}},
                  "encoding": {"file": {"contentType": "image/png, image/jpeg, video/mp4"}}}}}})
    async def create_analysis(request: Request, response: Response, who: Principal = Depends(caller)) -> Accepted:
        """Upload an image or a video (multipart field `file`); returns its id at once (202), the analysis
        runs in the background. 413 past the size limit or the key's storage quota, decided from
        Content-Length before the body is read, or as soon as the streamed file passes it."""
        cap, too_large = limit, f"upload over the {config.max_upload_mb:g} MB limit"
        if config.quota_mb:  # (database calls in a thread: this handler runs on the event loop)
            left = quota - await run_in_threadpool(store.usage, who.owner)
            if left < cap:  # refused before or while the body comes (admit() checks again once it is in)
                cap, too_large = max(left, 0), over_quota(left)
        up = await receive_upload(request, data_dir() / "uploads", cap, too_large)
        try:
            job_id = await run_in_threadpool(admit, up, who.owner)
        except BaseException:
            up.path.unlink(missing_ok=True)  # refused (or the database failed): nothing kept
            raise
        worker.submit(job_id, up.path, up.filename, up.kind)
        response.headers["Location"] = f"/v1/analyses/{job_id}"
        return Accepted(id=job_id, status="queued", kind=up.kind, filename=up.filename)

    @app.get("/v1/analyses", response_model=list[AnalysisSummary], tags=["analyses"], responses=errors(401, 429))
    def list_analyses(who: Principal = Depends(caller), limit: int = Query(50, ge=1, le=1000),
                      label: Literal["real", "fake", "no_face", "error"] | None = Query(None), q: Search = None
                      ) -> list[dict]:
        """This key's analyses, newest first."""
        return [_summary(r) for r in store.list(limit, label, owner=who.owner, search=q)]

    @app.get("/v1/analyses/{analysis_id}", response_model=AnalysisDetail, tags=["analyses"],
             responses=errors(401, 404, 429))
    def get_analysis(analysis_id: AnalysisId, who: Principal = Depends(caller)) -> dict:
        """Status (queued, running, done, failed) and, when finished, the `fakelens analyze` JSON (its `path`:
        the uploaded file's name)."""
        row = owned(analysis_id, who)
        return {**_summary(row), "result": _shown_result(row)}

    @app.delete("/v1/analyses/{analysis_id}", status_code=204, response_class=Response, tags=["analyses"],
                responses=errors(401, 403, 404, 429))
    def delete_analysis(analysis_id: AnalysisId, who: Principal = Depends(caller)) -> Response:
        """Delete an analysis with its stored upload, report, thumbnail and explanation maps."""
        if store.delete(analysis_id, owner=who.owner) is None:
            raise HTTPException(404, "no such analysis")
        return Response(status_code=204)

    @app.get("/v1/analyses/{analysis_id}/report", response_class=Response, tags=["analyses"],
             responses={**errors(401, 404, 409, 429), 200: {"content": {"text/html": {"schema": {"type": "string"}}},
                                                             "description": "The HTML report"}})
    def get_report(analysis_id: AnalysisId, who: Principal = Depends(caller)):
        """The self-contained HTML report of a finished analysis (409 while it runs)."""
        row = owned(analysis_id, who)
        if not row["report"] or not Path(row["report"]).exists():
            raise HTTPException(409, f"no report (status {row['status']})")
        return FileResponse(row["report"], media_type="text/html", headers={"Content-Security-Policy": REPORT_CSP})

    @app.get("/v1/analyses/{analysis_id}/thumbnail", response_class=Response, tags=["analyses"],
             responses={**errors(401, 404, 409, 429), 200: {"content": {"image/jpeg": {"schema": {
                 "type": "string", "format": "binary"}}}, "description": "A small JPEG of the upload"}})
    def get_thumbnail(analysis_id: AnalysisId, who: Principal = Depends(caller)):
        """A small JPEG of the upload (a video's first sampled frame), made once the analysis ran."""
        row = owned(analysis_id, who)
        if not row["thumbnail"] or not Path(row["thumbnail"]).exists():
            raise HTTPException(409, f"no thumbnail (status {row['status']})")
        return FileResponse(row["thumbnail"], media_type="image/jpeg")

    @app.post("/v1/analyses/{analysis_id}/feedback", status_code=201, response_model=FeedbackCreated,
              tags=["analyses"], responses=errors(400, 401, 403, 404, 409, 413, 429))
    def post_feedback(analysis_id: AnalysisId, feedback: Feedback, who: Principal = Depends(caller)) -> FeedbackCreated:
        """Rate the explanations of a finished analysis (stored with it; `fakelens history --feedback` exports
        them); 409 while it is queued or running."""
        row = owned(analysis_id, who)
        if row["status"] in ("queued", "running"):
            raise HTTPException(409, f"not finished yet (status {row['status']})")
        fid = store.add_feedback(analysis_id, feedback.clarity, feedback.helpfulness, feedback.agree, feedback.comment)
        return FeedbackCreated(id=fid, analysis=analysis_id)

    # The page, its sign-in, the docs and the schema: for people and tools, not part of the API.
    def page(request: Request, template: str, status: int = 200, csp: str = PAGE_CSP, **context) -> HTMLResponse:
        token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        html = _templates.get_template(template).render(csrf=token, version=VERSION, **context)
        response = HTMLResponse(html, status, headers={"Content-Security-Policy": csp, "Cache-Control": "no-store"})
        if CSRF_COOKIE not in request.cookies:
            response.set_cookie(CSRF_COOKIE, token, samesite="strict", secure=request.url.scheme == "https")
        return response

    def signed_in(request: Request) -> Principal | None:
        return gate.identify(request)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request, label: str | None = None, q: Search = None):
        who = signed_in(request)
        if who is None:  # the sign-in form, answered 401 like every other route without a key
            return page(request, "signin.html", 401)
        return page(request, "index.html", who=who, auth=gate.required(), label=label or "", q=q or "",
                    rows=_page_rows(store.list(100, label or None, owner=who.owner, search=q)))

    @app.get("/history", response_class=HTMLResponse, include_in_schema=False)
    def history_fragment(request: Request, label: str | None = None, q: Search = None,
                         who: Principal = Depends(caller)):
        """The history list alone, for the page's script to swap in after a change."""
        return page(request, "history.html", rows=_page_rows(store.list(100, label or None, owner=who.owner, search=q)))

    @app.post("/session", include_in_schema=False)
    def sign_in(request: Request, key: str = Form("")):
        """Sign the page in: the key goes into an HttpOnly, SameSite=Strict cookie."""
        check_same_origin(request)
        found = gate.key(key.strip()) if key.strip() else None
        if found is None:
            return page(request, "signin.html", 401, error="That key is not valid (or was revoked).")
        response = RedirectResponse("/", 303)
        secure = request.url.scheme == "https"
        response.set_cookie(KEY_COOKIE, key.strip(), httponly=True, samesite="strict", secure=secure)
        response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(24), samesite="strict", secure=secure)
        return response

    @app.post("/session/end", include_in_schema=False)
    def sign_out(request: Request):
        check_same_origin(request)
        response = RedirectResponse("/", 303)
        response.delete_cookie(KEY_COOKIE)
        return response

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs(request: Request, who: Principal = Depends(caller)):
        """Swagger UI, its assets served from the fastapi-offline package (nothing from another host)."""
        return page(request, "docs.html", csp=DOCS_CSP)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(who: Principal = Depends(caller)) -> JSONResponse:
        return JSONResponse(app.openapi())

    app.mount("/static/swagger", StaticFiles(packages=[("fastapi_offline", "static")]), name="swagger")
    app.mount("/static", StaticFiles(packages=[("fakelens.service", "static")]), name="static")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette lists only the first matching route's methods
            headers["Allow"] = ", ".join(sorted(_allowed_methods(app, request.scope)))
        return JSONResponse({"detail": str(exc.detail)}, exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        """422 {"detail": one line}: each bad field and what is wrong, never the input itself (it may be
        huge, or something JSON cannot carry: a non-finite number, a lone surrogate)."""
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
                             for e in exc.errors())
        return JSONResponse({"detail": _one_line(problems)}, 422)

    return app


def _allowed_methods(app: FastAPI, scope) -> set[str]:
    methods = set()
    for route in app.router.routes:
        match, _ = route.matches({**scope, "method": "GET"})
        if match != Match.NONE and getattr(route, "methods", None):
            methods |= route.methods
    return methods
