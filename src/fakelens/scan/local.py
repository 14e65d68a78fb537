"""`fakelens scan` on one machine: a process pool, the models loaded once per worker, results
appended line by line so a killed scan resumes where it stopped.

Every file found ends up in the output exactly once: a file that cannot be read gets an `error`
line, never a crash, and a half-written last line (a kill mid-write) is cut off before resuming.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from typing import Iterator

from tqdm import tqdm

from fakelens.errors import InputError
from fakelens.imageio import IMAGE_SUFFIXES
from fakelens.media import VIDEO_SUFFIXES, is_regular_file, sniff
from fakelens.pipeline import AnalysisOptions
import fakelens.scan.worker as worker


def _head_is_media(p: Path) -> bool:
    with open(p, "rb") as f:
        return sniff(f.read(4096)) is not None


def _is_media(p: Path) -> bool:
    # By content first; a file named like media is kept too, so a broken one gets an error line, not silence.
    if p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
        return True
    try:
        return _head_is_media(p)
    except OSError:
        return False


def find_inputs(source: str | os.PathLike) -> list[str]:
    """Images and videos under a folder (recursively, sorted), or the paths listed in a text file."""
    src = Path(source)
    if src.is_dir():
        return [str(p) for p in sorted(src.rglob("*")) if p.is_file() and _is_media(p)]
    try:
        if not is_regular_file(src):
            raise InputError(f"neither a folder nor a text file listing paths: {src}")
        if _head_is_media(src):
            raise InputError(f"a scan takes a folder or a text file listing paths, not an image or video "
                             f"(use `fakelens analyze` for one file): {src}")
        text = src.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as e:
        raise InputError(f"not a text file listing paths ({type(e).__name__}): {src}") from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def done_paths(out: Path) -> set[str]:
    """Paths already in a results file; a half-written last record (a kill mid-write) is cut off first.
    A file that is not a scan's results (a list, a picture, notes) is refused, never cut or appended to."""
    if not out.exists():
        return set()
    raw = out.read_bytes()
    *complete, tail = raw.split(b"\n")
    done = set()
    for n, line in enumerate(complete, 1):
        if not line.strip():
            continue
        try:
            path = json.loads(line)["path"]
        except (ValueError, KeyError, TypeError):
            path = None
        if not isinstance(path, str):
            raise InputError(f"--out {out} is not a scan's results file (line {n} is not a JSON record with a "
                             "path); name a new file")
        done.add(path)
    if tail:
        if not tail.startswith(b'{"'):  # a record cut short starts like every record
            raise InputError(f"--out {out} is not a scan's results file (its last line is not a JSON record); "
                             "name a new file")
        with open(out, "r+b") as f:
            f.truncate(len(raw) - len(tail))
    return done


def _pool_records(todo: list[str], workers: int, options: AnalysisOptions) -> Iterator[dict]:
    """Records from a process pool, a chunk of files per task. A worker that dies (killed, out of
    memory, stuck in native code past twice the budget per file) is replaced: its chunk is retried one
    file at a time, and a file that dies twice gets an error line."""
    pending, tries = deque(worker.chunks_of(todo, workers)), Counter()
    hard_limit = 2 * options.budget_s + 30 if options.budget_s else None
    while pending:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=worker.init,
                                   initargs=(options,))
        running: dict = {}  # future -> (chunk, start); at most `workers`, so a dead worker's files are known
        stuck: set[str] = set()
        try:
            while pending or running:
                while pending and len(running) < workers:
                    chunk = pending.popleft()
                    running[pool.submit(worker.analyze_chunk, chunk)] = (chunk, time.monotonic())
                finished, _ = wait(running, timeout=5, return_when=FIRST_COMPLETED)
                if any(isinstance(f.exception(), BrokenProcessPool) for f in finished):
                    finished = wait(running)[0]  # a broken pool fails every chunk it holds: collect them all
                for fut in finished:
                    chunk, _ = running.pop(fut)
                    error = fut.exception()
                    if error is None:
                        yield from fut.result()
                    elif not isinstance(error, BrokenProcessPool):
                        yield from (worker.error_record(p, f"worker failed: {type(error).__name__}") for p in chunk)
                    elif len(chunk) > 1:  # which file killed it is unknown: each goes again on its own
                        pending.extendleft([p] for p in reversed(chunk))
                    elif chunk[0] in stuck:
                        yield worker.error_record(chunk[0], f"gave up after {hard_limit:g} s (the worker did not respond)")
                    else:
                        tries[chunk[0]] += 1
                        if tries[chunk[0]] >= 2:
                            yield worker.error_record(chunk[0], "the worker analyzing this file died twice (killed or out of memory)")
                        else:
                            pending.appendleft(chunk)
                if any(isinstance(f.exception(), BrokenProcessPool) for f in finished):
                    break  # a broken pool takes no more work: a fresh one takes what is left
                if hard_limit:
                    now = time.monotonic()
                    stuck = {p for c, t0 in running.values() if now - t0 > hard_limit * len(c) for p in c}
                    if stuck:  # the per-file budget did not fire (native code): end the stuck workers
                        for proc in list(pool._processes.values()):  # no public API ends a pool's workers
                            proc.kill()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def scan(source: str | os.PathLike, out: str | os.PathLike, workers: int | None = None,
         options: AnalysisOptions | None = None, progress: bool = True, engine: str = "local",
         ray_address: str | None = None) -> Iterator[dict]:
    """Analyze every input not yet in `out`, appending one JSON line per file; yields each record.

    engine 'local': a process pool on this machine; 'ray': Ray Data over a local Ray instance or
    the cluster at `ray_address` (needs `pip install fakelens[ray]`). `options` are the pipeline's
    (models, face detector, video sampling, the time budget per file: past it a file gets an error line)."""
    options = options or AnalysisOptions()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    inputs = find_inputs(source)
    done = done_paths(out)
    todo = [p for p in dict.fromkeys(inputs) if p not in done]
    workers = workers or os.cpu_count() or 1
    if engine == "ray":
        from fakelens.scan.ray_engine import ray_records

        records = ray_records(todo, workers, options, ray_address)
    else:
        records = _pool_records(todo, workers, options) if todo else iter(())
    with open(out, "a", encoding="utf-8") as f, tqdm(total=len(todo), desc="scan", unit="file",
                                                     disable=not progress) as bar:
        for rec in records:
            f.write(json.dumps(rec) + "\n")
            f.flush()
            bar.update(1)
            yield rec
