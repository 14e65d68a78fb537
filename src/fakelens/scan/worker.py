"""The one scan worker both engines run (a process of the local pool, or a Ray actor): the analysis
pipeline loaded once, then a few files at a time to their `fakelens analyze` records plus SHA-256."""

from __future__ import annotations

from fakelens.media import file_sha256
from fakelens.pipeline import AnalysisOptions, Analyzer

_ANALYZER: Analyzer | None = None
CHUNK = 8  # files per task: the model scores their faces in one call; a killed worker loses no more


def init(options: AnalysisOptions, threads: int = 1) -> None:
    """Load the models in this process; one thread each, since the pool provides the parallelism."""
    import os

    global _ANALYZER
    os.environ["FAKELENS_THREADS"] = str(threads)
    _ANALYZER = Analyzer(options)
    _ = _ANALYZER.images


def sha256(path: str) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None


def error_record(path: str, message: str) -> dict:
    """The line a file gets when it could not be analyzed at all."""
    return {"path": path, "kind": None, "label": "error", "score": None, "faces": [], "error": message,
            "sha256": sha256(path)}


def analyze_one(path: str) -> dict:
    """One file -> the `fakelens analyze` record plus `sha256` (never raises)."""
    try:
        rec = _ANALYZER.analyze(path).record.to_dict()
    except Exception as e:  # noqa: BLE001 - a model failure on one file must not stop the scan
        return error_record(path, f"unexpected {type(e).__name__}: {' '.join(str(e).split())}")
    rec["sha256"] = sha256(path)
    return rec


def chunks_of(todo: list[str], workers: int, most: int = CHUNK) -> list[list[str]]:
    """Files in chunks of up to `most`, small enough that every worker gets one."""
    size = max(1, min(most, -(-len(todo) // workers)))
    return [todo[k:k + size] for k in range(0, len(todo), size)]


def analyze_chunk(paths: list[str]) -> list[dict]:
    """Several files -> their records, in order (never raises). One thread reads the next pictures
    while the model scores the faces of several files in one call (Analyzer.analyze_many)."""
    if len(paths) == 1:
        return [analyze_one(paths[0])]
    out: list[dict] = []
    try:
        for path, result in zip(paths, _ANALYZER.analyze_many(paths, threads=1)):
            rec = result.record.to_dict()
            rec["sha256"] = sha256(path)
            out.append(rec)
    except Exception:  # noqa: BLE001 - a model failure mid-chunk: the rest one by one, each with its own error
        out += [analyze_one(p) for p in paths[len(out):]]
    return out
