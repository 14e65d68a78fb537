"""Typed records that cross a boundary (CLI JSON, Python API, later the web service)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, ClassVar, Literal

Label = Literal["real", "fake", "no_face", "error"]
Manipulation = Literal["face_swap", "synthetic"]


def _plain(v: Any) -> Any:
    """JSON-ready copy of a record value. Not dataclasses.asdict, which deep-copies every leaf (a
    visible share of a many-file run in cProfile); records hold only JSON types and other records."""
    if is_dataclass(v):
        return {f.name: _plain(getattr(v, f.name)) for f in fields(v)}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def verdict(score: float, threshold: float) -> Label:
    """The one decision rule: fake when the probability reaches the threshold."""
    return "fake" if score >= threshold else "real"


def manipulation_of(label: str, scores: dict[str, float] | None) -> Manipulation | None:
    """The kind of fake a face looks like (None when it is called real or the model cannot tell)."""
    if label != "fake" or not scores:
        return None
    return "synthetic" if scores["synthetic"] >= scores["face_swap"] else "face_swap"


@dataclass
class FaceResult:
    """One face found in an input and its score (for a video: one face track and its sequence score).

    `box` is [x0, y0, x1, y1] in pixels of the input image (the detector's face box,
    or the whole image with --whole-image). `crop_box` is the square actually fed to
    the model, which may reach past the face box by the crop scale.
    """

    box: list[int]
    score: float
    label: Label
    flags: list[str] = field(default_factory=list)
    crop_box: list[int] | None = None
    landmarks: list[list[float]] | None = None
    track: int | None = None  # videos: the face track, and the time (s) of its most suspicious frame
    time: float | None = None
    # The kind of fake: face_swap or synthetic when called fake, else None; `manipulation_scores` are
    # P(face_swap | fake) and P(synthetic | fake) (None for a model without the manipulation head).
    manipulation: Manipulation | None = None
    manipulation_scores: dict[str, float] | None = None

    def to_dict(self, landmarks: bool = False) -> dict:
        d = {f.name: _plain(getattr(self, f.name)) for f in fields(self) if landmarks or f.name != "landmarks"}
        if self.track is None:
            d.pop("track")
            d.pop("time")
        return d


@dataclass
class FrameResult:
    """One face in one sampled video frame: time in seconds, its track, box and frame-model score."""

    index: int
    time: float
    track: int
    box: list[int]
    score: float


@dataclass
class WindowResult:
    """A sliding window of a track: `start`/`end` in seconds and the frame model's window score
    (sigmoid of the mean frame logit, the per-window view of the LSTM's input A_w)."""

    track: int
    start: float
    end: float
    score: float


@dataclass
class TrackResult:
    """One face followed through the video. `score` is the sequence model's verdict on it."""

    id: int
    frames: int
    start: float
    end: float
    score: float
    label: Label
    frame_mean: float
    flags: list[str] = field(default_factory=list)


@dataclass
class Analysis:
    """The verdict on one input: the contract behind `fakelens analyze --format json`.

    `score` is the probability that the most suspicious face is fake, or None when
    there is no face or the input could not be read (then `error` says why, in one line).
    """

    path: str
    kind: Literal["image", "video"]
    label: Label
    score: float | None
    faces: list[FaceResult]
    error: str | None = None
    model: str | None = None
    threshold: float | None = None
    manipulation: Manipulation | None = None  # of the most suspicious face (see FaceResult)
    manipulation_scores: dict[str, float] | None = None
    width: int | None = None
    height: int | None = None
    seconds: float = 0.0
    # Videos only (absent from image records):
    duration: float | None = None
    fps: float | None = None
    frames: list[FrameResult] | None = None
    windows: list[WindowResult] | None = None
    tracks: list[TrackResult] | None = None
    warnings: list[str] | None = None
    # With `analyze --explain`: the plain-language summary and, per face, the most faithful map.
    summary: str | None = None
    explanations: list[dict] | None = None

    @property
    def ok(self) -> bool:
        return self.label != "error"

    def to_dict(self, landmarks: bool = False) -> dict:
        d = {f.name: self.faces if f.name == "faces" else _plain(getattr(self, f.name)) for f in fields(self)}
        d["faces"] = [f.to_dict(landmarks) for f in self.faces]
        if self.kind == "image":
            for key in ("duration", "fps", "frames", "windows", "tracks", "warnings"):
                d.pop(key)
        if self.summary is None and self.explanations is None:
            d.pop("summary")
            d.pop("explanations")
        return d


@dataclass
class ExplanationRecord:
    """One explanation of one face by one method (`fakelens explain --format json` prints `to_dict()`),
    or one line saying why an input has none (`error`, or `label` "no_face" with `method` None).

    Image maps: `map` (.npy) and `overlay` (.png) paths, `crop_box` (the square the model saw), with
    `deletion_auc`, `insertion_auc` and `baselines` ({"random": {...}, "centre": {...}}) when
    faithfulness is measured. Video key frames add `track`, `time` (s), `frame`; the temporal methods
    `track` and `times` ([start, end] per frame or window). D-RISE: `target` "face detection" and the
    `region` its map covers. `regions` (the face regions the map weighs most) and `summary` (the
    plain-language summary of the face) come with every classifier explanation.
    """

    path: str
    face: list[int] | None = None
    crop_box: list[int] | None = None
    track: int | None = None
    time: float | None = None
    frame: int | None = None
    method: str | None = None
    target: str | None = None
    score: float | None = None
    region: list[int] | None = None
    map: str | None = None
    overlay: str | None = None
    times: list[list[float]] | None = None
    seconds: float | None = None
    signed: bool | None = None
    params: dict | None = None
    deletion_auc: float | None = None
    insertion_auc: float | None = None
    baselines: dict | None = None
    error: str | None = None
    label: Label | None = None
    regions: list[dict] | None = None
    summary: str | None = None
    # The map itself, for the summary and the caller in Python; never in the JSON (its file is `map`).
    values: Any = field(default=None, repr=False, compare=False)

    ALWAYS: ClassVar[tuple] = ("path", "face", "method", "error")  # keys present in every record, null or not

    def to_dict(self) -> dict:
        """The documented JSON: the keys above that apply (`path`, `face`, `method`, `error` always)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name != "values" and (f.name in self.ALWAYS or getattr(self, f.name) is not None)}
