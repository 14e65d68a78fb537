"""`fakelens scan` on one machine: a process pool, the models loaded once per worker, results
appended line by line so a killed scan resumes where it stopped.

Every file found ends up in the output exactly once: a file that cannot be read gets an `error`
line, never a crash, and a half-written last line (a kill mid-write) is cut off before resuming.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Iterator

from tqdm import tqdm

from fakelens.imageio import IMAGE_SUFFIXES
from fakelens.media import file_sha256, sniff
from fakelens.video.decode import VIDEO_SUFFIXES

_WORKER: dict = {}


def _is_media(p: Path) -> bool:
    # By content first; a file named like media is kept too, so a broken one gets an error line, not silence.
    if p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
        return True
    try:
        with open(p, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return sniff(head) is not None


def find_inputs(source: str | os.PathLike) -> list[str]:
    """Images and videos under a folder (recursively, sorted), or the paths listed in a text file."""
    src = Path(source)
    if src.is_dir():
        return [str(p) for p in sorted(src.rglob("*")) if p.is_file() and _is_media(p)]
    return [line.strip() for line in src.read_text().splitlines() if line.strip() and not line.startswith("#")]


def done_paths(out: Path) -> set[str]:
    """Paths already in a results file; a half-written last line is cut off first."""
    if not out.exists():
        return set()
    raw = out.read_bytes()
    if raw and not raw.endswith(b"\n"):
        keep = raw.rfind(b"\n") + 1
        with open(out, "r+b") as f:
            f.truncate(keep)
        raw = raw[:keep]
    done = set()
    for line in raw.decode("utf-8", errors="replace").splitlines():
        try:
            done.add(json.loads(line)["path"])
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return done


def _init_worker(model: str | None, video_model: str | None) -> None:
    import torch

    torch.set_num_threads(1)  # one core per worker: the pool provides the parallelism
    from fakelens.detector import Detector

    _WORKER["det"] = Detector.load(model)
    _WORKER["video_model"] = video_model


def _sha256(path: str) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None


def analyze_one(path: str) -> dict:
    """One file -> the `fakelens analyze` record plus `sha256` (never raises)."""
    from fakelens.video import is_video

    det = _WORKER["det"]
    try:
        if is_video(path):
            if "videos" not in _WORKER:
                from fakelens.video.analyze import VideoDetector

                _WORKER["videos"] = VideoDetector.load(_WORKER.get("video_model"), frames=det)
            result = _WORKER["videos"].analyze(path)
        else:
            result = det.analyze(path)
        rec = result.to_dict()
    except Exception as e:  # noqa: BLE001 - a model failure on one file must not stop the scan
        rec = {"path": path, "kind": None, "label": "error", "score": None, "faces": [],
               "error": f"unexpected {type(e).__name__}: {' '.join(str(e).split())}"}
    rec["sha256"] = _sha256(path)
    return rec


def scan(source: str | os.PathLike, out: str | os.PathLike, workers: int | None = None, model: str | None = None,
         video_model: str | None = None, progress: bool = True, engine: str = "local",
         ray_address: str | None = None) -> Iterator[dict]:
    """Analyze every input not yet in `out`, appending one JSON line per file; yields each record.

    engine 'local': a process pool on this machine; 'ray': Ray Data over a local Ray instance or
    the cluster at `ray_address` (needs `pip install fakelens[ray]`)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    inputs = find_inputs(source)
    done = done_paths(out)
    todo = [p for p in dict.fromkeys(inputs) if p not in done]
    workers = workers or os.cpu_count() or 1
    bar = tqdm(total=len(todo), desc="scan", unit="file", disable=not progress)
    if engine == "ray":
        from fakelens.scan.ray_engine import ray_records

        with open(out, "a", encoding="utf-8") as f:
            for rec in ray_records(todo, workers, model, video_model, ray_address):
                f.write(json.dumps(rec) + "\n")
                f.flush()
                bar.update(1)
                yield rec
        bar.close()
        return
    with open(out, "a", encoding="utf-8") as f, ProcessPoolExecutor(
            max_workers=workers, mp_context=get_context("spawn"), initializer=_init_worker,
            initargs=(model, video_model)) as pool:
        futures = {pool.submit(analyze_one, p): p for p in todo}
        for fut in as_completed(futures):
            try:
                rec = fut.result()
            except Exception as e:  # noqa: BLE001 - a worker that died still leaves a line for its file
                rec = {"path": futures[fut], "kind": None, "label": "error", "score": None, "faces": [],
                       "error": f"worker failed: {type(e).__name__}", "sha256": _sha256(futures[fut])}
            f.write(json.dumps(rec) + "\n")
            f.flush()
            bar.update(1)
            yield rec
    bar.close()
