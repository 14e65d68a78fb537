"""The one analysis pipeline: a path and options in, one typed result out.

Every front end (the CLI, both scan engines, the web worker, the report) calls `Analyzer` and only
formats what it returns. The result carries what later stages need (the decoded picture, each
face's crop and landmarks, each video track's crops and features), so explanations and reports
never decode or detect an input a second time. No torch: scoring runs on ONNX Runtime.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Iterator

import numpy as np

from fakelens.errors import FakelensError
from fakelens.faces.crop import FaceCrop
from fakelens.media import is_video, time_budget
from fakelens.records import Analysis, ExplanationRecord


@dataclass
class AnalysisOptions:
    """What an analysis may vary. Front ends build one from their flags and pass it on unchanged."""

    model: str | None = None  # image checkpoint (default: the shipped one)
    video_model: str | None = None
    threshold: float | None = None  # default: the model's own
    face_detector: str = "blazeface"  # or "hog"
    whole_image: bool = False  # images are already face crops
    landmarks: bool = False  # also find each face's 68 landmarks (in the record; costs a model load)
    frames: int = 32  # videos: frames sampled uniformly ...
    every: int | None = None  # ... or every k-th frame ...
    fps: float | None = None  # ... or this many per second
    budget_s: float | None = 300.0  # seconds per file before it is given up as an error

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class PreparedFace:
    """One face as the model saw it: the crop (fakelens.faces.FaceCrop: image S x S x 3 uint8, its square
    in the picture's pixels, landmarks in crop pixels on demand), its box and its score."""

    face: "FaceCrop"
    box: list[int]
    score: float

    @property
    def crop(self) -> np.ndarray:
        return self.face.image

    @property
    def square(self) -> tuple[int, int, int, int]:
        return self.face.square

    @property
    def landmarks(self) -> np.ndarray | None:
        """The 68 landmarks in crop pixels, found on first use (None for a whole-image crop)."""
        from fakelens.faces import crop_landmarks

        return crop_landmarks(self.face)


@dataclass
class AnalysisResult:
    """The record (`record.to_dict()` is the JSON contract) and the prepared inputs behind it."""

    record: Analysis
    image: np.ndarray | None = None  # the decoded picture (a video: the frame of its most suspicious face)
    faces: list[PreparedFace] = field(default_factory=list)  # images: every face, as scored
    tracks: list = field(default_factory=list)  # videos: fakelens.video.analyze.TrackData per face track

    @property
    def ok(self) -> bool:
        return self.record.label in ("real", "fake")


@dataclass
class _Prepared:
    """A picture decoded with its faces found and cropped (or why that failed), before scoring."""

    rgb: np.ndarray | None = None
    found: list = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None


class Analyzer:
    """Loads the image and video models on first use and analyzes paths with one set of options.

    >>> analyzer = Analyzer(AnalysisOptions(frames=64))
    >>> result = analyzer.analyze("clip.mp4")     # AnalysisResult; result.record is the Analysis
    """

    def __init__(self, options: AnalysisOptions | None = None):
        self.options = options or AnalysisOptions()
        self._ahead: dict[str, _Ahead] = {}

    def read_ahead(self, path: str | os.PathLike) -> None:
        """When `path` is a video and the video models are not loaded yet, start decoding its sampled
        frames on another thread: a cold process then decodes while its models load (PyAV and ONNX
        Runtime release the GIL). The next analysis of that path uses those frames."""
        if "videos" in self.__dict__ or str(path) in self._ahead or not is_video(path):
            return
        from fakelens.video.decode import read_video

        o = self.options
        self._ahead[str(path)] = _Ahead(read_video, path, o.frames, o.every, o.fps)

    @cached_property
    def images(self):
        """The image Detector (fakelens.detector)."""
        from fakelens.detector import Detector

        o = self.options
        return Detector.load(o.model, threshold=o.threshold, face_detector=o.face_detector)

    @cached_property
    def videos(self):
        """The VideoDetector, reusing the loaded image model when it is the video model's."""
        from fakelens.video.analyze import VideoDetector

        return VideoDetector.load(self.options.video_model, frames=self.images, num_frames=self.options.frames)

    def analyze(self, path: str | os.PathLike) -> AnalysisResult:
        """Analyze one file. Never raises for a bad input: its record has label 'error' and a one-line
        reason (also past the time budget). Model files that cannot load do raise (FakelensError)."""
        if is_video(path):
            return self._video(path)
        return self._finish(path, self._prepare(path, alarm=True))

    def analyze_many(self, paths: list[str], threads: int = 2, batch: int = 32) -> Iterator[AnalysisResult]:
        """Results in input order. Pictures are decoded and their faces found in `threads` threads while
        the model scores the crops of several pictures in one call; videos go one by one."""
        paths = [str(p) for p in paths]
        if len(paths) <= 1:
            yield from (self.analyze(p) for p in paths)
            return
        from concurrent.futures import ThreadPoolExecutor  # only for several files: a cold start saves 0.1 s

        _ = self.images  # load before the threads start
        with ThreadPoolExecutor(threads) as pool:
            def submit(chunk):  # the next chunk is read while this one is scored; memory stays bounded
                return [(p, None if is_video(p) else pool.submit(self._prepare, p)) for p in chunk]

            chunks = [paths[k:k + batch] for k in range(0, len(paths), batch)]
            ahead = submit(chunks[0])
            for k in range(len(chunks)):
                current, ahead = ahead, submit(chunks[k + 1]) if k + 1 < len(chunks) else []
                prepared = [(p, f.result() if f is not None else None) for p, f in current]
                crops = [c.image for _, prep in prepared if prep is not None for c, _ in prep.found]
                scores, kinds = self.images.score_crops_both(np.stack(crops) if crops else [])
                i = 0
                for p, prep in prepared:
                    if prep is None:
                        yield self._video(p)
                        continue
                    n = len(prep.found)
                    yield self._finish(p, prep, (scores[i:i + n], kinds[i:i + n]))
                    i += n

    def explain(self, result: AnalysisResult, methods: list[str], out: str | os.PathLike, target: str = "verdict",
                key_frames: int = 3, faithfulness: int = 32, drise_box: tuple | None = None,
                attach: bool = True) -> list[ExplanationRecord]:
        """Explanation records of an analysis (fakelens.records.ExplanationRecord; `to_dict()` is the
        JSON), from what it carries; with `attach`, its record also gets the plain-language summary and
        the most faithful map per face. A method that needs torch raises a one-line FakelensError
        without it (fakelens.explain.run.default_methods are the ones that run here)."""
        from pathlib import Path

        from fakelens.explain.run import attach_explanations, explain

        videos = self.videos if result.record.kind == "video" and result.ok else None
        records = list(explain(result, methods, Path(out), self.images, videos, target, key_frames=key_frames,
                               faithfulness=faithfulness, drise_box=drise_box))
        if attach and result.ok:
            attach_explanations(result.record, records)
        return records

    # Images: decode and find faces (_prepare), then score and build the record (_finish).
    def _prepare(self, path, alarm: bool = False) -> "_Prepared":
        t0 = time.perf_counter()
        try:
            # SIGALRM stops a stuck decode in the main thread; in a worker thread the budget is
            # checked when the file is done (the scan's workers also have a hard limit from outside).
            with time_budget(self.options.budget_s if alarm else None, path):
                from fakelens.imageio import load_rgb

                rgb = load_rgb(path)
                found = self.images.face_crops(rgb, self.options.whole_image, self.options.landmarks)
            spent = time.perf_counter() - t0
            if self.options.budget_s and spent > self.options.budget_s:
                return _Prepared(seconds=spent, error=f"gave up after the time budget of "
                                                      f"{self.options.budget_s:g} s per file: {path}")
            return _Prepared(rgb, found, spent)
        except FakelensError as e:
            return _Prepared(seconds=time.perf_counter() - t0, error=str(e))
        except Exception as e:  # noqa: BLE001 - one bad input must not stop a batch
            return _Prepared(seconds=time.perf_counter() - t0,
                             error=f"unexpected {type(e).__name__}: {' '.join(str(e).split())}")

    def _finish(self, path, prep: "_Prepared", scored=None) -> AnalysisResult:
        if prep.error is not None:
            record = self.images.error(path, prep.error)
            record.seconds = round(prep.seconds, 4)
            return AnalysisResult(record)
        t0 = time.perf_counter()
        rgb, found = prep.rgb, prep.found
        scores, kinds = scored if scored is not None else self.images.score_crops_both([c.image for c, _ in found])
        record = self.images.record(str(path), found, scores, kinds, rgb.shape[1], rgb.shape[0])
        record.seconds = round(prep.seconds + time.perf_counter() - t0, 4)
        faces = [PreparedFace(c, f.box.copy(), f.score) for (c, _), f in zip(found, record.faces)]
        return AnalysisResult(record, rgb, faces)

    def _video(self, path) -> AnalysisResult:
        o = self.options
        try:
            videos = self.videos
        except FakelensError as e:
            return AnalysisResult(Analysis(path=str(path), kind="video", label="error", score=None, faces=[],
                                           error=str(e)))
        tracks: list = []
        frame: list = []
        ahead = self._ahead.pop(str(path), None)
        record = videos.analyze(path, num_frames=o.frames, every=o.every, fps=o.fps, details=tracks,
                                budget_s=o.budget_s, key_frame=frame, decoded=ahead.result if ahead else None)
        return AnalysisResult(record, image=frame[0] if frame else None, tracks=tracks)


class _Ahead:
    """fn(*args) on a daemon thread; result() waits and returns its value or raises its exception.
    By hand: importing concurrent.futures costs a cold start about 0.05 s (`python -X importtime`), a fifth of
    `fakelens --help`."""

    def __init__(self, fn, *args):
        self._value, self._error = None, None
        self._thread = threading.Thread(target=self._run, args=(fn, args), daemon=True)
        self._thread.start()

    def _run(self, fn, args) -> None:
        try:
            self._value = fn(*args)
        except BaseException as e:  # noqa: BLE001 - handed to the caller of result()
            self._error = e

    def result(self):
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value
