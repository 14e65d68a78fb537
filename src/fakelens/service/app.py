"""FastAPI app: a page to upload an image or video and read its report, and a REST API.

Uploads are stored only under the data directory with names we choose; their type is sniffed
from the content, not the name; analyses run in one background worker thread, never in the
request; nothing from the user is executed or used as a path.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import uuid
from pathlib import Path

from fastapi import FastAPI, File, Form, HTTPException, Query, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from fakelens.media import sniff
from fakelens.store import HistoryStore, data_dir

CHUNK = 1 << 20


class Feedback(BaseModel):
    """A reader's rating of the explanations of one analysis."""

    clarity: int = Field(ge=1, le=5, description="How clear were the explanations (1-5)?")
    helpfulness: int = Field(ge=1, le=5, description="How helpful were they (1-5)?")
    agree: bool | None = Field(None, description="Did you agree with the verdict?")
    comment: str = Field("", max_length=4000)


class Worker:
    """One background thread that runs queued analyses in order (models loaded once, on first use)."""

    def __init__(self, store: HistoryStore, methods: str):
        self.store, self.methods = store, methods
        self.jobs: queue.Queue = queue.Queue()
        self._det = self._videos = None
        threading.Thread(target=self._run, daemon=True, name="fakelens-worker").start()

    def _run(self) -> None:
        while True:
            job_id, path = self.jobs.get()
            try:
                self.store.set_status(job_id, "running")
                result, records = self._analyze(path)
                report = data_dir() / "reports" / f"{job_id}.html"
                from fakelens.report import write_report

                write_report(result, report, records, feedback_id=job_id)
                self.store.finish(job_id, result, str(report))
            except Exception as e:  # noqa: BLE001 - a failed job is reported, the worker lives on
                from fakelens.records import Analysis

                self.store.finish(job_id, Analysis(path=path, kind="image", label="error", score=None, faces=[],
                                                   error=f"analysis failed: {type(e).__name__}: {e}"))
            finally:
                self.jobs.task_done()

    def _analyze(self, path: str):
        from fakelens.detector import Detector
        from fakelens.explain.run import attach_explanations, explain_paths, parse_methods
        from fakelens.video import is_video

        if self._det is None:
            self._det = Detector.load()
        if is_video(path):
            if self._videos is None:
                from fakelens.video.analyze import VideoDetector

                self._videos = VideoDetector.load(frames=self._det)
            result = self._videos.analyze(path)
        else:
            result = self._det.analyze(path)
        records = []
        if result.label in ("real", "fake") and self.methods:
            records = list(explain_paths(self._det, [path], parse_methods(self.methods),
                                         data_dir() / "artifacts" / Path(path).stem, videos=self._videos))
            attach_explanations(result, records)
        return result, records


def create_app(store: HistoryStore | None = None, max_upload_mb: float = 200, methods: str = "gradcam") -> FastAPI:
    """The app. `max_upload_mb` bounds an upload (413 beyond it); `methods` explain every analysis."""
    store = store or HistoryStore()
    app = FastAPI(title="fakelens", version="0.1.0",
                  description="Is this face a deepfake, and why: analyses with measured explanations.")
    worker = Worker(store, methods)
    app.state.store, app.state.worker = store, worker
    limit = int(max_upload_mb * 1024 * 1024)

    @app.post("/v1/analyses", status_code=202)
    async def create_analysis(file: UploadFile = File(...), explain: str = Form("")) -> dict:
        """Upload an image or a video; returns its id at once (the analysis runs in the background)."""
        uploads = data_dir() / "uploads"
        uploads.mkdir(parents=True, exist_ok=True)
        path = uploads / uuid.uuid4().hex  # our name, never the user's: nothing they send becomes a path
        digest, size, head = hashlib.sha256(), 0, b""
        try:
            with open(path, "wb") as f:  # streamed to disk: memory stays flat whatever the upload size
                while chunk := await file.read(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise HTTPException(413, f"upload over the {max_upload_mb:g} MB limit")
                    digest.update(chunk)
                    head = head if len(head) >= 1 << 16 else head + chunk[: (1 << 16) - len(head)]
                    f.write(chunk)
            if not size:
                raise HTTPException(400, "empty upload")
            kind = sniff(head) if size >= 16 else None
            if kind is None:
                raise HTTPException(415, "not an image or a video this app can read")
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        path = path.rename(path.with_suffix(".mp4" if kind == "video" else ".img"))
        job_id = store.create(str(path), digest.hexdigest())
        worker.jobs.put((job_id, str(path)))
        return {"id": job_id, "status": "queued", "kind": kind}

    @app.get("/v1/analyses/{analysis_id}")
    def get_analysis(analysis_id: int) -> dict:
        """Status (queued, running, done, failed) and, when finished, the `fakelens analyze` JSON."""
        row = store.get(analysis_id)
        if row is None:
            raise HTTPException(404, "no such analysis")
        return {k: row[k] for k in ("id", "status", "created", "sha256", "label", "score", "result")}

    @app.get("/v1/analyses/{analysis_id}/report", response_class=HTMLResponse)
    def get_report(analysis_id: int):
        """The self-contained HTML report of a finished analysis."""
        row = store.get(analysis_id)
        if row is None:
            raise HTTPException(404, "no such analysis")
        if not row["report"] or not Path(row["report"]).exists():
            raise HTTPException(409, f"no report yet (status {row['status']})")
        return FileResponse(row["report"], media_type="text/html")

    @app.post("/v1/analyses/{analysis_id}/feedback", status_code=201)
    def post_feedback(analysis_id: int, feedback: Feedback) -> dict:
        """Rate the explanations of an analysis (stored with it; `fakelens history --feedback` exports them)."""
        try:
            fid = store.add_feedback(analysis_id, feedback.clarity, feedback.helpfulness, feedback.agree,
                                     feedback.comment)
        except LookupError:
            raise HTTPException(404, "no such analysis") from None
        return {"id": fid, "analysis": analysis_id}

    @app.get("/v1/analyses")
    def list_analyses(limit: int = Query(50, ge=1, le=1000)) -> list[dict]:
        """Past analyses, newest first."""
        return [{k: r[k] for k in ("id", "status", "created", "label", "score", "sha256")} for r in store.list(limit)]

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return PAGE

    @app.exception_handler(ValueError)
    async def bad_value(_, exc: ValueError):
        return JSONResponse({"detail": str(exc)}, status_code=400)

    return app


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>fakelens</title>
<style>body{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto;padding:0 1em}
#drop{border:2px dashed #999;padding:2em;text-align:center;border-radius:8px}
#status{margin:1em 0;font-size:1.1em} iframe{width:100%;height:80vh;border:1px solid #ddd}</style></head>
<body><h1>fakelens</h1><p>Is this face a deepfake, and why? Choose or drop an image or a video.</p>
<div id="drop"><input type="file" id="file" accept="image/*,video/*"></div>
<div id="status"></div><iframe id="report" title="report" hidden></iframe>
<script>
const statusEl = document.getElementById('status');
async function send(file) {
  const body = new FormData(); body.append('file', file);
  statusEl.textContent = 'uploading ' + file.name + ' ...';
  const r = await fetch('/v1/analyses', {method: 'POST', body});
  const j = await r.json();
  if (!r.ok) { statusEl.textContent = 'error: ' + j.detail; return; }
  poll(j.id);
}
async function poll(id) {
  const r = await fetch('/v1/analyses/' + id); const j = await r.json();
  if (j.status === 'queued' || j.status === 'running') { statusEl.textContent = j.status + ' ...'; setTimeout(() => poll(id), 500); return; }
  const res = j.result || {};
  statusEl.innerHTML = '<b id="verdict">' + (res.label || j.status) + '</b>' +
    (res.score != null ? ' (probability of fake ' + res.score.toFixed(3) + ')' : '') + (res.error ? ': ' + res.error : '');
  if (j.status === 'done') { const f = document.getElementById('report'); f.src = '/v1/analyses/' + id + '/report'; f.hidden = false; }
}
document.getElementById('file').addEventListener('change', e => send(e.target.files[0]));
const drop = document.getElementById('drop');
drop.addEventListener('dragover', e => e.preventDefault());
drop.addEventListener('drop', e => { e.preventDefault(); send(e.dataTransfer.files[0]); });
</script></body></html>"""
