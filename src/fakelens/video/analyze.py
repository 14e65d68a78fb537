"""`VideoDetector`: sampled frames -> faces -> tracks -> frame, window and sequence scores (no torch)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from fakelens.detector import Detector, require_torch
from fakelens.errors import FakelensError, ModelError
from fakelens.faces import FaceDetector, crop_faces, crop_landmarks
from fakelens.media import file_sha256, time_budget
from fakelens.ops import sigmoid
from fakelens.paths import DEFAULT_IMAGE_MODEL, WEIGHTS_DIR, default_video_model_path
from fakelens.records import Analysis, FaceResult, FrameResult, TrackResult, WindowResult, manipulation_of, verdict
from fakelens.runtime import VideoModel, to_input
from fakelens.video.decode import VideoInfo, read_video
from fakelens.video.track import detect_frames, link_tracks, window_starts


@dataclass
class TrackData:
    """What the explainers need of one track: per frame its time, index, box, crop, features, logit,
    landmarks and P(synthetic | fake)."""

    id: int
    times: np.ndarray
    indices: np.ndarray
    boxes: list[list[int]]
    crops: np.ndarray  # (T, S, S, 3) uint8
    feats: np.ndarray  # (T, D)
    logits: np.ndarray  # (T,)
    faces: list  # (T,) fakelens.faces.FaceCrop: landmarks in crop pixels on demand (crop_landmarks)
    kinds: np.ndarray | None = None  # (T,) NaN without the manipulation head
    pooled: np.ndarray | None = None  # (T, C) pooled backbone features: what SHAP over frames and windows reads

    def landmarks(self, i: int) -> np.ndarray | None:
        """Frame i's 68 landmarks in crop pixels (found on first use)."""
        return crop_landmarks(self.faces[i])


class FrameScorer:
    """The frame classifier behind a video's frame scores (the image backbone and the video model's
    frame head), as a NumPy function: N x 3 x S x S in [0, 1] -> fake logits. Key-frame explanations
    explain this function."""

    def __init__(self, images, video: VideoModel):
        self.images, self.video = images, video

    def fake_logit(self, x: np.ndarray) -> np.ndarray:
        return self.video.run(self.images.run(x)[1])[0]


class VideoDetector:
    """Scores a video with the DeepExplain model (seed 000) on top of the image detector.

    >>> vd = VideoDetector.load()
    >>> a = vd.analyze("clip.mp4")      # Analysis with kind 'video', frames, windows, tracks
    """

    def __init__(self, frames: Detector, video: VideoModel, num_frames: int = 32, min_track_frames: int = 4,
                 face_detector: str | None = None):
        self.frames, self.video = frames, video
        self.meta, self.name, self.path = video.meta, video.name, video.path
        self.threshold = video.threshold
        self.window, self.stride = video.window, video.stride
        self.num_frames = num_frames
        self.min_track_frames = min_track_frames
        self.frame_threshold = float(video.meta.get("frame_threshold", frames.threshold))
        self.frame_scorer = FrameScorer(frames.scorer, video)
        self._faces = FaceDetector.for_video(face_detector or frames.face_detector)

    @classmethod
    def load(cls, path: str | Path | None = None, frames: Detector | None = None, **kwargs) -> "VideoDetector":
        """Load a video model (default: the shipped one) and the image model it was trained on.

        `frames` reuses an already loaded image Detector when it is that same checkpoint;
        otherwise the frame model named in the video model's metadata is loaded from beside it
        or from the shipped weights.
        """
        path = Path(path) if path else default_video_model_path()
        if not path.exists():
            raise ModelError(f"video model not found: {path}")
        video = VideoModel(path)
        want = video.meta.get("frame_model_sha256")
        if frames is None or (want and file_sha256(frames.path) != want):
            name = video.meta.get("frame_model", f"{DEFAULT_IMAGE_MODEL}.safetensors")
            frame_path = next((c for c in (path.parent / name, WEIGHTS_DIR / name) if c.exists()), None)
            if frame_path is None:
                raise ModelError(f"video model {path.name} needs its frame model {name}, not found beside it")
            frames = Detector.load(frame_path, face_detector=frames.face_detector if frames else "blazeface")
        return cls(frames, video, **kwargs)

    @cached_property
    def sequence(self):
        """The torch sequence model (its frame head for the gradient explainers; needs fakelens[torch])."""
        require_torch("explaining a video's frames with gradients")
        from fakelens.video.model import load_sequence_model

        return load_sequence_model(self.path)[0]

    @cached_property
    def frame_classifier(self):
        """The torch twin of the frame classifier (gradient explainers on key frames)."""
        head = self.sequence.frame_head
        return self.frames.model if head is None else self.frames.model.with_head(head)

    def encode(self, crops: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(pooled backbone features N x C, image-model logits N x 2) for model-ready uint8 crops."""
        if not crops:
            return np.zeros((0, 1), np.float32), np.zeros((0, 2), np.float32)
        logits, pooled = self.frames.scorer.run(to_input(np.stack(crops)))
        return pooled, logits

    def analyze(self, path: str | os.PathLike, num_frames: int | None = None, every: int | None = None,
                fps: float | None = None, stages: dict | None = None, details: list | None = None,
                budget_s: float | None = None, key_frame: list | None = None, decoded=None) -> Analysis:
        """Analyze one video file. Never raises for bad input: returns label 'error' with a one-line reason
        (also when it takes longer than `budget_s` seconds, if given).

        `stages`, when given, receives the seconds spent in decode/detect/crop/classify/sequence;
        `details`, when given, receives one `TrackData` per track (crops and features, for explainers);
        `key_frame`, when given, receives the decoded frame of the most suspicious face (for reports);
        `decoded`, when given, is called for the sampled frames instead of reading them here (a decode
        already under way: `Analyzer.read_ahead`), and may raise as `read_video` does.
        """
        t0 = time.perf_counter()
        try:
            with time_budget(budget_s, path):
                clock = time.perf_counter()
                frames, info = decoded() if decoded else read_video(path, num_frames or self.num_frames, every, fps)
                timing = {"decode": time.perf_counter() - clock}
                result = self._analyze_frames(str(path), frames, info, timing, details)
            if key_frame is not None and result.frames:
                best = max(result.frames, key=lambda f: f.score).index
                key_frame.extend(f.rgb for f in frames if f.index == best)
            if stages is not None:
                stages.update(timing)
        except FakelensError as e:
            return self._error(path, str(e), t0)
        except Exception as e:  # noqa: BLE001 - one bad input must not stop a batch
            return self._error(path, f"unexpected {type(e).__name__}: {' '.join(str(e).split())}", t0)
        result.seconds = round(time.perf_counter() - t0, 4)
        return result

    def _analyze_frames(self, path: str, frames, info: VideoInfo, timing: dict, details: list | None) -> Analysis:
        clock = time.perf_counter()
        detections = detect_frames(self._faces, frames)
        timing["detect"] = time.perf_counter() - clock
        clock = time.perf_counter()
        crops, face_crops, where = [], [], {}
        for t, (frame, faces) in enumerate(zip(frames, detections)):
            for j, crop in enumerate(crop_faces(frame.rgb, faces, self.frames.input_size, self.frames.crop_scale)):
                where[(t, j)] = len(crops)
                crops.append(crop.image)
                face_crops.append(crop)
        tracks = link_tracks([[f.box for f in faces] for faces in detections])
        timing["crop"] = time.perf_counter() - clock
        clock = time.perf_counter()
        pooled, image_logits = self.encode(crops)
        timing["classify"] = time.perf_counter() - clock
        clock = time.perf_counter()
        # Scale boxes from the decoded (possibly downscaled) frames back to the video's own pixels.
        scale = info.width / frames[0].rgb.shape[1]
        frame_results, window_results, track_results, faces = [], [], [], []
        enough = min(self.min_track_frames, len(frames))
        kinds = sigmoid(image_logits[:, 1]) if self.frames.scorer.manipulation else np.full(len(crops), np.nan)
        for tr in tracks:
            rows = [where[m] for m in tr.members]
            times = [frames[t].time for t, _ in tr.members]
            logits, feats, score = self.video.run(pooled[rows])
            probs = sigmoid(logits)
            flags = [] if len(rows) >= enough else ["short"]
            label = verdict(score, self.threshold)
            k = float(np.mean(kinds[rows]))
            mscores = None if np.isnan(k) else {"face_swap": round(1 - k, 6), "synthetic": round(k, 6)}
            track_results.append(TrackResult(id=tr.id, frames=len(rows), start=times[0], end=times[-1],
                                             score=round(score, 6), label=label,
                                             frame_mean=round(float(probs.mean()), 6), flags=flags))
            for (t, j), p in zip(tr.members, probs):
                box = [round(v * scale) for v in detections[t][j].box]
                frame_results.append(FrameResult(index=frames[t].index, time=frames[t].time, track=tr.id, box=box,
                                                 score=round(float(p), 6)))
            w = min(self.window, len(rows))
            for s in window_starts(len(rows), w, self.stride):
                window_results.append(WindowResult(track=tr.id, start=times[s], end=times[s + w - 1],
                                                   score=round(float(sigmoid(logits[s:s + w].mean())), 6)))
            if details is not None:
                details.append(TrackData(tr.id, np.array(times), np.array([frames[t].index for t, _ in tr.members]),
                                         [[round(v * scale) for v in detections[t][j].box] for t, j in tr.members],
                                         np.stack([crops[r] for r in rows]), feats, logits,
                                         [face_crops[r] for r in rows], kinds[rows], pooled[rows]))
            top = int(np.argmax(probs))
            t_top, j_top = tr.members[top]
            faces.append(FaceResult(box=[round(v * scale) for v in detections[t_top][j_top].box], score=round(score, 6),
                                    label=label, flags=flags, track=tr.id, time=times[top],
                                    manipulation=manipulation_of(label, mscores), manipulation_scores=mscores))
        frame_results.sort(key=lambda f: (f.index, f.track))
        timing["sequence"] = time.perf_counter() - clock
        eligible = [t for t in track_results if "short" not in t.flags] or track_results
        best = max(eligible, key=lambda t: t.score, default=None)
        face = next((f for f in faces if best is not None and f.track == best.id), None)
        return Analysis(path=path, kind="video", label=best.label if best else "no_face",
                        score=best.score if best else None, faces=faces, model=self.name, threshold=self.threshold,
                        manipulation=face.manipulation if face else None,
                        manipulation_scores=face.manipulation_scores if face else None,
                        width=info.width, height=info.height, duration=info.duration,
                        fps=info.fps, frames=frame_results, windows=window_results, tracks=track_results,
                        warnings=info.warnings)

    def _error(self, path, message: str, t0: float) -> Analysis:
        return Analysis(path=str(path), kind="video", label="error", score=None, faces=[], error=message,
                        model=self.name, threshold=self.threshold, seconds=round(time.perf_counter() - t0, 4))
