"""The models as `fakelens analyze` runs them: ONNX Runtime graphs, NumPy in and out, no torch.

Each checkpoint `<name>.safetensors` (the weights training and the gradient explainers load with
torch) has its graph `<name>.onnx` beside it, made from the same weights by `fakelens export`
(training writes it too; the shipped ones are pinned in SHA256SUMS). The graph stores the weights
in float16 and casts them to float32 as it loads, so it is as small as the safetensors and computes
what the torch model computes (to 1e-5 in tests/test_runtime.py).
"""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path

import numpy as np

from fakelens.errors import ModelError
from fakelens.media import check_pinned
from fakelens.ops import sigmoid

CHUNK = 16  # ONNX Runtime's arena grows with the largest batch it sees: 16 keeps it small and ran fastest


# What a hand-edited metadata field may hold (checked where present; absent ones keep their defaults):
# a wrong one fails at load with one line, not later as a NaN verdict, an OpenCV assertion or a huge allocation.
_META_NUMBERS = {"threshold": (float, 0, 1), "frame_threshold": (float, 0, 1), "input_size": (int, 32, 1024),
                 "crop_scale": (float, 0.5, 5), "window": (int, 1, 1024), "stride": (int, 1, 1024),
                 "video_frames": (int, 0, 10_000), "seed": (int, 0, 2**32 - 1), "feature_dim": (int, 1, 8192),
                 "hidden": (int, 1, 4096), "proj": (int, 0, 8192), "frame_head": (int, 0, 8192),
                 "dropout": (float, 0, 1)}
_META_TYPES = {"arch": (str, "a string"), "kind": (str, "a string"), "tensors_sha256": (str, "a string"),
               "frame_model": (str, "a string"), "flip": (bool, "true or false"),
               "manipulation": (bool, "true or false"), "frame_kind": (bool, "true or false")}


def check_meta(meta, path: str | os.PathLike) -> dict:
    """`meta` (a checkpoint's or graph's parsed fakelens metadata) if every known field is sane, else ModelError."""
    def bad(field: str, want: str, value) -> ModelError:
        return ModelError(f"bad checkpoint metadata in {path}: {field} must be {want}, got {value!r}")

    if not isinstance(meta, dict):
        raise ModelError(f"bad checkpoint metadata in {path}: must be a JSON object, got {json.dumps(meta)[:60]}")
    for field, (kind, low, high) in _META_NUMBERS.items():
        v = meta.get(field, low)  # an absent field passes: its reader has a default
        if isinstance(v, bool) or not isinstance(v, (int, float) if kind is float else int) or not low <= v <= high:
            raise bad(field, f"{'a number' if kind is float else 'an integer'} in [{low:g}, {high:g}]", v)
    for field, (kind, want) in _META_TYPES.items():
        if field in meta and not isinstance(meta[field], kind):
            raise bad(field, want, meta[field])
    if meta.get("cell", "lstm") not in ("lstm", "rnn"):
        raise bad("cell", "lstm or rnn", meta["cell"])
    split = meta.get("split", [4, 1, 1])
    if not (isinstance(split, list) and len(split) == 3 and all(type(r) is int and r > 0 for r in split)):
        raise bad("split", "three positive integers", split)
    cal = meta.get("calibration")
    if cal is not None and not (isinstance(cal, list) and len(cal) == 2 and all(
            type(c) in (int, float) and np.isfinite(c) for c in cal)):
        raise bad("calibration", "two finite numbers", cal)
    sources = meta.get("data_sources")
    if sources is not None and not (isinstance(sources, list) and all(isinstance(x, str) for x in sources)):
        raise bad("data_sources", "a list of source names", sources)
    return meta


def read_meta(path: str | os.PathLike) -> dict:
    """The fakelens metadata in a safetensors header (read without loading any tensor)."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"no such weights file: {path}")
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = json.loads((f.metadata() or {}).get("fakelens", "{}"))
    except (SafetensorError, OSError, ValueError) as e:
        raise ModelError(f"not a fakelens safetensors file ({' '.join(str(e).split())}): {path}") from None
    return check_meta(meta, path)


def session(graph: Path, threads: int | None = None):
    """An ONNX Runtime session for a graph file, refused if a SHA256SUMS beside it disagrees."""
    import onnxruntime as ort

    if not graph.is_file():
        raise ModelError(f"no ONNX graph beside the weights: {graph} (make it with `fakelens export "
                         f"{graph.with_suffix('.safetensors')}`, which needs pip install 'fakelens[torch]')")
    check_pinned(graph)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or int(os.environ.get("FAKELENS_THREADS", 0)) or min(4, os.cpu_count() or 1)
    try:
        return ort.InferenceSession(str(graph), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own types for damaged files
        raise ModelError(f"cannot load ONNX graph ({' '.join(str(e).split())[:200]}): {graph}") from None


def _graph_meta(sess, graph: Path) -> dict:
    try:
        meta = json.loads(sess.get_modelmeta().custom_metadata_map.get("fakelens", "{}"))
    except ValueError:
        raise ModelError(f"bad checkpoint metadata in {graph}: not JSON") from None
    return check_meta(meta, graph)


class ImageModel:
    """An image checkpoint on ONNX Runtime: crops in, P(fake) and the kind of fake out.

    The graph maps N x 3 x S x S floats in [0, 1] to `logits` (N x 2: fake, then synthetic-vs-swap)
    and `pooled` (N x C pooled backbone features, what the video model's frame head reads).
    """

    def __init__(self, path: str | os.PathLike, threads: int | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"no such checkpoint: {self.path}")
        check_pinned(self.path)
        self.meta = read_meta(self.path)
        if self.meta.get("kind") == "video-sequence":
            raise ModelError(f"a video model, not an image checkpoint (pass it as --video-model): {self.path}")
        if "arch" not in self.meta:
            raise ModelError(f"checkpoint has no fakelens metadata: {self.path}")
        self.session = session(self.path.with_suffix(".onnx"), threads)
        graph = _graph_meta(self.session, self.path.with_suffix(".onnx"))
        if graph.get("tensors_sha256") != self.meta.get("tensors_sha256"):
            raise ModelError(f"the ONNX graph was not made from these weights (export it again): {self.path}")
        self.name = self.path.stem
        self.input_size = int(self.meta.get("input_size", 160))
        self.crop_scale = float(self.meta.get("crop_scale", 1.3))
        self.threshold = float(self.meta.get("threshold", 0.5))
        self.flip = bool(self.meta.get("flip", False))
        self.manipulation = bool(self.meta.get("manipulation", False))

    def run(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(logits N x 2, pooled N x C) for N x 3 x S x S float32 in [0, 1], in chunks."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        outs = [self.session.run(None, {"x": x[i:i + CHUNK]}) for i in range(0, max(len(x), 1), CHUNK)]
        return np.concatenate([o[0] for o in outs]), np.concatenate([o[1] for o in outs])

    def logits(self, x: np.ndarray) -> np.ndarray:
        """The logits the verdict is made of (N x 2): with the model's test-time flip, the mean of
        the face's and its mirror image's."""
        y = self.run(x)[0]
        return (y + self.run(x[..., ::-1])[0]) / 2 if self.flip else y

    def fake_logit(self, x: np.ndarray) -> np.ndarray:
        """The function the verdict thresholds, as one number per image (what explanations explain)."""
        return self.logits(x)[:, 0]

    def scores(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(P(fake), P(synthetic | fake)) for uint8 crops N x S x S x 3; the second is NaN without
        the manipulation head."""
        if len(crops) == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.float32)
        y = sigmoid(self.logits(to_input(crops)))
        return y[:, 0], (y[:, 1] if self.manipulation else np.full(len(y), np.nan, np.float32))


def to_input(crops: np.ndarray) -> np.ndarray:
    """uint8 N x H x W x 3 -> float32 N x 3 x H x W in [0, 1]."""
    crops = np.asarray(crops)
    n, h, w, c = crops.shape
    out = np.empty((n, c, h, w), np.float32)
    # One pass into the contiguous result, with the same values as a cast and then / 255 (that took three passes).
    return np.divide(crops.transpose(0, 3, 1, 2), np.float32(255), out=out)


class VideoModel:
    """The video model (seed 000) on ONNX Runtime: pooled frame features in, per-frame logits, the
    frame features X_t and the clip logit out. Window means are taken by a T x N matrix built here,
    so the graph has no data-dependent shapes."""

    def __init__(self, path: str | os.PathLike, threads: int | None = None):
        self.path = Path(path)
        check_pinned(self.path)
        self.meta = read_meta(self.path)
        if self.meta.get("kind") != "video-sequence":
            raise ModelError(f"not a fakelens video model: {self.path}")
        self.session = session(self.path.with_suffix(".onnx"), threads)
        graph = _graph_meta(self.session, self.path.with_suffix(".onnx"))
        if graph.get("tensors_sha256") != self.meta.get("tensors_sha256"):
            raise ModelError(f"the ONNX graph was not made from these weights (export it again): {self.path}")
        if "keep" not in {i.name for i in self.session.get_inputs()}:
            raise ModelError(f"the ONNX graph predates SHAP over frames without torch (export it again): {self.path}")
        self.name = self.path.stem
        self.window, self.stride = int(self.meta.get("window", 4)), int(self.meta.get("stride", 2))
        self.threshold = float(self.meta.get("threshold", 0.5))
        self.calibration = self.meta.get("calibration")  # Platt scaling (a, b) of the clip logit, if fitted

    def window_matrix(self, n: int) -> np.ndarray:
        """(N_windows, n) averaging weights: windows of `window` frames, stride `stride`, the last one
        ending on the last frame (one window over all frames when n < window)."""
        from fakelens.video.track import window_starts

        w = min(self.window, n)
        starts = window_starts(n, w, self.stride)
        m = np.zeros((len(starts), n), np.float32)
        for k, s in enumerate(starts):
            m[k, s:s + w] = 1.0 / w
        return m

    def run(self, pooled: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """(frame logits T, frame features T x D, clip probability) for one track's pooled features."""
        frame, feats, clip = self._run(pooled, np.ones((1, len(pooled)), np.float32), None)
        return frame, feats, float(clip[0])

    def clip_probs(self, pooled: np.ndarray, keep: np.ndarray | None = None,
                   keep_windows: np.ndarray | None = None) -> np.ndarray:
        """The clip probability (calibrated, as the verdict reads it) for each row of `keep` (K x T) and
        `keep_windows` (K x N_windows): 1 keeps a frame or window, 0 puts the reference feature there."""
        k = len(keep) if keep is not None else len(keep_windows) if keep_windows is not None else 1
        return self._run(pooled, np.ones((k, len(pooled)), np.float32) if keep is None else keep, keep_windows)[2]

    def _run(self, pooled, keep, keep_windows):
        pooled = np.ascontiguousarray(pooled, dtype=np.float32)
        windows = self.window_matrix(len(pooled))
        if keep_windows is None:
            keep_windows = np.ones((len(keep), len(windows)), np.float32)
        frame, feats, clip = self.session.run(None, {"pooled": pooled, "windows": windows,
                                                     "keep": np.asarray(keep, np.float32),
                                                     "keep_windows": np.asarray(keep_windows, np.float32)})
        logit = np.asarray(clip, np.float64).reshape(-1)
        if self.calibration:
            a, b = self.calibration
            logit = a * logit + b
        return frame, feats, sigmoid(logit)

    @cached_property
    def frame_threshold(self) -> float:
        return float(self.meta.get("frame_threshold", 0.5))
