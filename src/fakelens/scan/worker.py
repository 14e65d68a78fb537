"""The one scan worker both engines run (a process of the local pool, or a Ray actor): the analysis
pipeline loaded once, then one file at a time to the `fakelens analyze` record plus its SHA-256."""

from __future__ import annotations

from fakelens.media import file_sha256
from fakelens.pipeline import AnalysisOptions, Analyzer

_ANALYZER: Analyzer | None = None


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
