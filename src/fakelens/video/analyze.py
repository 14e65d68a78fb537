"""`VideoDetector`: sampled frames -> faces -> tracks -> frame, window and sequence scores."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fakelens.detector import WEIGHTS_DIR, Detector
from fakelens.errors import FakelensError, ModelError
from fakelens.faces import FaceDetector, crop_face
from fakelens.records import Analysis, FaceResult, FrameResult, TrackResult, WindowResult
from fakelens.video.decode import VideoInfo, read_video
from fakelens.media import file_sha256, time_budget
from fakelens.video.model import FrameEncoder, SequenceClassifier, load_sequence_model
from fakelens.video.track import detect_frames, link_tracks, window_starts

DEFAULT_VIDEO_MODEL = WEIGHTS_DIR / "fakelens-video-lstm-v2.safetensors"
DEFAULT_FRAME_MODEL = "fakelens-lite0-v3.safetensors"


def default_video_model_path() -> Path:
    """The shipped video model, unless FAKELENS_VIDEO_MODEL names another."""
    return Path(os.environ.get("FAKELENS_VIDEO_MODEL", DEFAULT_VIDEO_MODEL))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class TrackData:
    """What the explainers need of one track: per frame its time, index, box, crop, features and logit."""

    id: int
    times: np.ndarray
    indices: np.ndarray
    boxes: list[list[int]]
    crops: np.ndarray  # (T, S, S, 3) uint8
    feats: np.ndarray  # (T, D)
    logits: np.ndarray  # (T,)
    landmarks: np.ndarray  # (T, 68, 2) in crop pixels


class VideoDetector:
    """Scores a video with the DeepExplain model (seed 000) on top of the image detector.

    >>> vd = VideoDetector.load()
    >>> a = vd.analyze("clip.mp4")      # Analysis with kind 'video', frames, windows, tracks
    """

    def __init__(self, frames: Detector, sequence: SequenceClassifier, meta: dict, name: str = "video",
                 num_frames: int = 32, min_track_frames: int = 4, backend: str = "onnx",
                 face_detector: str | None = None):
        self.frames = frames
        self.sequence = sequence.eval()
        self.meta = meta
        self.name = name
        self.threshold = float(meta.get("threshold", 0.5))
        self.num_frames = num_frames
        self.min_track_frames = min_track_frames
        self.encoder = FrameEncoder(frames.model, head=sequence.frame_head)
        # The classifier behind the frame scores (what key-frame explanations must explain).
        self.frame_classifier = (frames.model if sequence.frame_head is None
                                 else frames.model.with_head(sequence.frame_head))
        # Frame scores come from the frame head: the image model's (its threshold) or one tuned on video frames.
        self.frame_threshold = float(meta.get("frame_threshold", frames.threshold))
        self.backend = backend
        self._faces = FaceDetector.for_video(face_detector or frames.face_detector)
        self._encode = None

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
        try:
            sequence, meta = load_sequence_model(path)
        except ModelError:
            raise  # already one line, naming the file
        except Exception as e:  # noqa: BLE001 - metadata naming options the model does not have
            raise ModelError(f"cannot load video model {path}: {' '.join(str(e).split())}") from None
        want = meta.get("frame_model_sha256")
        if frames is None or frames.path is None or (want and file_sha256(frames.path) != want):
            name = meta.get("frame_model", DEFAULT_FRAME_MODEL)
            candidates = [path.parent / name, WEIGHTS_DIR / name]
            frame_path = next((c for c in candidates if c.exists()), None)
            if frame_path is None:
                raise ModelError(f"video model {path.name} needs its frame model {name}, not found beside it")
            frames = Detector.load(frame_path)
        if meta.get("feature_dim") != frames.model.head.fc1.out_features:
            raise ModelError(f"video model {path.name} expects {meta.get('feature_dim')}-d frame features, "
                             f"the image model gives {frames.model.head.fc1.out_features}")
        return cls(frames, sequence, meta, name=path.stem, **kwargs)

    def encode(self, crops: list[np.ndarray], batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """Frame logits (N,) and features (N, D) for model-ready uint8 crops."""
        if self._encode is None:
            if self.backend == "onnx":
                from fakelens.models.onnx import onnx_forward, onnx_runtime_tag

                key = None
                if self.frames.path is not None:
                    head = self.meta.get("tensors_sha256", "")[:8] if self.sequence.frame_head is not None else ""
                    key = f"encoder-{file_sha256(self.frames.path)[:16]}{head}-{onnx_runtime_tag()}"
                self._encode = onnx_forward(self.encoder, cache_key=key)
            else:
                self._encode = self.encoder
        out = []
        with torch.no_grad():
            for i in range(0, len(crops), batch_size):
                x = torch.from_numpy(np.stack(crops[i:i + batch_size])).permute(0, 3, 1, 2).float().div_(255)
                out.append(self._encode(x).numpy())
        y = np.concatenate(out) if out else np.zeros((0, 1 + self.meta.get("feature_dim", 512)), np.float32)
        return y[:, 0], y[:, 1:]

    @torch.no_grad()
    def sequence_score(self, features: np.ndarray) -> float:
        """Probability that a track is fake, from its frame features in time order (T, D)."""
        return float(torch.sigmoid(self.sequence(torch.from_numpy(np.ascontiguousarray(features))[None].float()))[0])

    def _label(self, score: float) -> str:
        return "fake" if score >= self.threshold else "real"

    def analyze(self, path: str | os.PathLike, num_frames: int | None = None, every: int | None = None,
                fps: float | None = None, stages: dict | None = None, details: list | None = None,
                budget_s: float | None = None) -> Analysis:
        """Analyze one video file. Never raises for bad input: returns label 'error' with a one-line reason
        (also when it takes longer than `budget_s` seconds, if given).

        `stages`, when given, receives the seconds spent in decode/detect/crop/classify/sequence;
        `details`, when given, receives one `TrackData` per track (crops and features, for explainers).
        """
        t0 = time.perf_counter()
        try:
            with time_budget(budget_s, path):
                clock = time.perf_counter()
                frames, info = read_video(path, num_frames or self.num_frames, every, fps)
                timing = {"decode": time.perf_counter() - clock}
                result = self._analyze_frames(str(path), frames, info, timing, details)
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
        size, scale = self.frames.input_size, self.frames.crop_scale
        crops, crop_landmarks, where = [], [], {}
        for t, (frame, faces) in enumerate(zip(frames, detections)):
            for j, face in enumerate(faces):
                where[(t, j)] = len(crops)
                crop = crop_face(frame.rgb, face.landmarks, size, scale)
                crops.append(crop.image)
                crop_landmarks.append(crop.landmarks)
        tracks = link_tracks([[f.box for f in faces] for faces in detections])
        timing["crop"] = time.perf_counter() - clock
        clock = time.perf_counter()
        logits, feats = self.encode(crops)
        timing["classify"] = time.perf_counter() - clock
        clock = time.perf_counter()
        # Scale boxes from the decoded (possibly downscaled) frames back to the video's own pixels.
        k = info.width / frames[0].rgb.shape[1]
        frame_results, window_results, track_results, faces = [], [], [], []
        enough = min(self.min_track_frames, len(frames))
        for tr in tracks:
            rows = [where[m] for m in tr.members]
            times = [frames[t].time for t, _ in tr.members]
            score = self.sequence_score(feats[rows])
            probs = sigmoid(logits[rows])
            flags = [] if len(rows) >= enough else ["short"]
            track_results.append(TrackResult(id=tr.id, frames=len(rows), start=times[0], end=times[-1],
                                             score=round(score, 6), label=self._label(score),
                                             frame_mean=round(float(probs.mean()), 6), flags=flags))
            for (t, j), p in zip(tr.members, probs):
                box = [round(v * k) for v in detections[t][j].box]
                frame_results.append(FrameResult(index=frames[t].index, time=frames[t].time, track=tr.id, box=box,
                                                 score=round(float(p), 6)))
            w = min(self.sequence.window, len(rows))
            for s in window_starts(len(rows), w, self.sequence.stride):
                window_results.append(WindowResult(track=tr.id, start=times[s], end=times[s + w - 1],
                                                   score=round(float(sigmoid(logits[rows[s:s + w]].mean())), 6)))
            if details is not None:
                details.append(TrackData(tr.id, np.array(times), np.array([frames[t].index for t, _ in tr.members]),
                                         [[round(v * k) for v in detections[t][j].box] for t, j in tr.members],
                                         np.stack([crops[r] for r in rows]), feats[rows], logits[rows],
                                         np.stack([crop_landmarks[r] for r in rows])))
            top = int(np.argmax(probs))
            t_top, j_top = tr.members[top]
            faces.append(FaceResult(box=[round(v * k) for v in detections[t_top][j_top].box], score=round(score, 6),
                                    label=self._label(score), flags=flags, track=tr.id, time=times[top]))
        frame_results.sort(key=lambda f: (f.index, f.track))
        timing["sequence"] = time.perf_counter() - clock
        eligible = [t for t in track_results if "short" not in t.flags] or track_results
        if eligible:
            best = max(eligible, key=lambda t: t.score)
            score, label = best.score, self._label(best.score)
        else:
            score, label = None, "no_face"
        return Analysis(path=path, kind="video", label=label, score=score, faces=faces, model=self.name,
                        threshold=self.threshold, width=info.width, height=info.height, duration=info.duration,
                        fps=info.fps, frames=frame_results, windows=window_results, tracks=track_results,
                        warnings=info.warnings)

    def _error(self, path, message: str, t0: float) -> Analysis:
        return Analysis(path=str(path), kind="video", label="error", score=None, faces=[], error=message,
                        model=self.name, threshold=self.threshold, seconds=round(time.perf_counter() - t0, 4))
