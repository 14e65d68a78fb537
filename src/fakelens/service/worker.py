"""The web app's analyses: a queue, one thread that hands each upload to a child process, and the
child process that analyzes it and writes its report and thumbnail.

The analysis runs in a child process so that the time budget can be enforced from outside: Python
cannot stop a thread, and SIGALRM (what `fakelens analyze --time-budget` uses) works only in a main
thread. The worker thread waits at most the budget for each upload; past it the child is killed
(the upload fails with a one-line reason) and a fresh child, models loaded again, takes the next
one. A child that dies (out of memory, a crash in native code) is replaced the same way.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from fakelens.records import Analysis
from fakelens.store import HistoryStore, data_dir

STARTUP_TIMEOUT_S = 600  # loading the models in a fresh child (not counted in the time budget)
# The longest wait Connection.poll takes (the OS counts milliseconds in a C int, about 24.8 days; beyond it
# OverflowError): a longer time budget, inf included, is no limit at all.
MAX_WAIT_S = (2**31 - 1) / 1000
THUMBNAIL_SIDE = 160


@dataclass(frozen=True)
class Job:
    """One queued upload, as sent to the child process. Every path is under the data directory."""

    id: int
    upload: str
    filename: str
    kind: str
    report: str
    thumbnail: str
    artifacts: str


@dataclass
class JobResult:
    """What the child sends back: the analysis and the files it wrote (None when it could not)."""

    analysis: Analysis
    report: str | None = None
    thumbnail: str | None = None


def load_analyzer():
    """The analysis pipeline of one child process, models loaded now (the video model on the first
    video). The time budget is enforced from outside (see above), so none is set inside."""
    from fakelens.pipeline import AnalysisOptions, Analyzer

    analyzer = Analyzer(AnalysisOptions(budget_s=None))
    _ = analyzer.images
    return analyzer


def analyze_upload(analyzer, path: str, methods: str, artifacts: Path):
    """The web worker's one call into the analysis: the pipeline's result for an upload (its record is
    the `fakelens analyze` JSON, with the summary when explained) and its explanation records."""
    from fakelens.explain.run import parse_methods

    result = analyzer.analyze(path)
    records = analyzer.explain(result, parse_methods(methods), artifacts) if result.ok and methods else []
    return result, records


def make_thumbnail(picture, out: Path, side: int = THUMBNAIL_SIDE) -> str | None:
    """A small JPEG of the analyzed picture (a video's most suspicious frame) for the history list."""
    from PIL import Image

    if picture is None:
        return None
    im = Image.fromarray(picture)
    im.thumbnail((side, side))
    out.parent.mkdir(parents=True, exist_ok=True)
    im.convert("RGB").save(out, "JPEG", quality=82)
    return str(out)


def run_job(job: Job, analyzer, methods: str) -> JobResult:
    """Analyze one upload, then write its report (named by the upload's original name) and thumbnail,
    both from what the analysis decoded: the upload is read once."""
    from fakelens.report import write_report

    picture = None
    try:
        analysis, records = analyze_upload(analyzer, job.upload, methods, Path(job.artifacts))
        result, picture = analysis.record, analysis.image
    except Exception as e:  # noqa: BLE001 - a failed upload is reported, the child lives on
        result, records = _failed(job, f"analysis failed: {type(e).__name__}: {e}"), []
    report = None
    try:
        report = str(write_report(result, Path(job.report), records, feedback_id=job.id, name=job.filename,
                                  picture=picture))
    except Exception as e:  # noqa: BLE001 - the result stands without its report
        print(f"fakelens: no report for analysis {job.id}: {type(e).__name__}: {e}", file=sys.stderr)
    thumbnail = make_thumbnail(picture, Path(job.thumbnail)) if result.label != "error" else None
    return JobResult(result, report, thumbnail)


def _server_error(e: Exception) -> str:
    return f"analysis failed in the server: {type(e).__name__}: {' '.join(str(e).split())}"


def _failed(job: Job, message: str) -> Analysis:
    return Analysis(path=job.upload, kind="video" if job.kind == "video" else "image", label="error", score=None,
                    faces=[], error=message)


def child_main() -> None:
    """The child process (`python -c ...`, see AnalysisProcess): load the models, say so, then analyze
    jobs read from one pipe, answering on the other, until the server closes them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which then ends this process
    jobs, results = Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False)
    methods = sys.argv[3]
    try:
        analyzer = load_analyzer()
    except Exception as e:  # noqa: BLE001 - the parent reports it on the upload
        results.send(f"could not load the models: {type(e).__name__}: {e}")
        return
    results.send(None)
    while True:
        try:
            job = jobs.recv()
        except (EOFError, OSError):  # the server is gone
            return
        results.send(run_job(job, analyzer, methods))


class AnalysisProcess:
    """A child process that keeps the models loaded and analyzes one upload at a time; killed and
    replaced when it runs past the time budget or dies. It is a fresh interpreter (not a fork of
    the server's threads, nor a multiprocessing spawn that would import the caller's main module),
    talking over two pipes."""

    def __init__(self, methods: str):
        self.methods = methods
        self.proc: subprocess.Popen | None = None
        self.jobs: Connection | None = None
        self.results: Connection | None = None

    def _start(self) -> str | None:
        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        code = "from fakelens.service.worker import child_main; child_main()"
        self.proc = subprocess.Popen([sys.executable, "-c", code, str(job_r), str(res_w), self.methods],
                                     pass_fds=(job_r, res_w), stdin=subprocess.DEVNULL)
        os.close(job_r)
        os.close(res_w)
        self.jobs, self.results = Connection(job_w, readable=False), Connection(res_r, writable=False)
        try:
            ready = self.results.poll(STARTUP_TIMEOUT_S)
            problem = self.results.recv() if ready else "the models did not load in time"
        except (EOFError, OSError):
            problem = f"the analysis process exited while loading the models (exit code {self.proc.wait()})"
        if problem:
            self.close()
        return problem

    def run(self, job: Job, budget_s: float | None) -> JobResult:
        """Analyze `job` in the child; an error result past `budget_s` seconds or when the child dies."""
        if self.proc is None or self.proc.poll() is not None:
            problem = self._start()
            if problem:
                return JobResult(_failed(job, problem))
        proc = self.proc
        try:
            self.jobs.send(job)
            if self.results.poll(budget_s or None):
                return self.results.recv()
            message = f"gave up after the time budget of {budget_s:g} s per file: {job.filename}"
        except (EOFError, OSError, AttributeError):  # AttributeError: closed meanwhile by the shutdown
            message = f"the analysis process died (exit code {proc.wait()}) on {job.filename}"
        except Exception as e:  # noqa: BLE001 - the child may still be at work on the job: it goes too
            message = _server_error(e)
        self.close()
        return JobResult(_failed(job, message))

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.kill()
            proc.wait(10)
        for conn in (self.jobs, self.results):
            if conn is not None:
                conn.close()
        self.jobs = self.results = None


class Worker:
    """One background thread that runs queued uploads in order, each in the analysis process."""

    def __init__(self, store: HistoryStore, methods: str, budget_s: float | None):
        """`budget_s`: seconds per analysis; None, 0, NaN or past MAX_WAIT_S (inf) for no limit."""
        self.store = store
        self.budget_s = budget_s if budget_s and 0 < budget_s <= MAX_WAIT_S else None
        self.process = AnalysisProcess(methods)
        self.jobs: queue.Queue = queue.Queue()
        self._closing = False
        self.thread = threading.Thread(target=self._run, daemon=True, name="fakelens-worker")
        self.thread.start()

    def submit(self, id: int, upload: Path, filename: str, kind: str) -> None:
        """Queue an upload stored at `upload` (the row `id` exists already)."""
        root = data_dir()
        self.jobs.put(Job(id, str(upload), filename, kind, str(root / "reports" / f"{id}.html"),
                          str(root / "thumbnails" / f"{id}.jpg"), str(root / "artifacts" / upload.stem)))

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            try:
                if not self.store.set_status(job.id, "running"):
                    continue  # deleted while queued
                done = self.process.run(job, self.budget_s)
                if self._closing:
                    return  # interrupted by the shutdown: not a result
                if not self.store.finish(job.id, done.analysis, done.report, done.thumbnail):
                    from fakelens.store.history import remove_files

                    remove_files({"path": job.upload, "report": done.report, "thumbnail": done.thumbnail})
            except Exception as e:  # noqa: BLE001 - the worker lives on (e.g. the database was briefly locked)
                if self._closing:
                    return
                print(f"fakelens: analysis {job.id}: {_server_error(e)}", file=sys.stderr)
                try:  # failed with the reason, never left queued or running
                    self.store.finish(job.id, _failed(job, _server_error(e)))
                except Exception as again:  # noqa: BLE001 - the database still refuses: nothing more to do here
                    print(f"fakelens: analysis {job.id} not recorded: {_server_error(again)}", file=sys.stderr)
            finally:
                self.jobs.task_done()

    def close(self) -> None:
        """Stop the thread and the child process (a running analysis is abandoned)."""
        self._closing = True
        self.jobs.put(None)
        self.process.close()
