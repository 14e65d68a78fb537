"""`fakelens export`: the ONNX graph that analysis runs (fakelens.runtime), made from a checkpoint.

The graph is exported without constant folding, so its weights are exactly the checkpoint's float16
values (BatchNorm stays a node; ONNX Runtime folds it in float32 when it loads the graph), and then
stored as float16 with a Cast to float32 in front: half the size, the same numbers as torch.
Written by hand because onnxconverter-common's float16 conversion also moves the arithmetic to
float16, which is slow on CPUs.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fakelens.models.checkpoint import load_checkpoint

OPSET = 17


def store_float16(model_proto):
    """Float initializers of more than 16 values stored as float16, each behind a Cast to float32."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model_proto.graph
    casts = []
    for init in list(graph.initializer):
        if init.data_type != TensorProto.FLOAT:
            continue
        arr = numpy_helper.to_array(init)
        if arr.size <= 16:
            continue
        graph.initializer.remove(init)
        graph.initializer.append(numpy_helper.from_array(arr.astype(np.float16), f"{init.name}__fp16"))
        casts.append(helper.make_node("Cast", [f"{init.name}__fp16"], [init.name], to=TensorProto.FLOAT))
    for node in reversed(casts):
        graph.node.insert(0, node)
    return model_proto


def _export(module: nn.Module, args: tuple, inputs: list[str], outputs: list[str], dynamic: dict, path: Path,
            meta: dict) -> Path:
    import onnx

    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), args, buf, dynamo=False, input_names=inputs, output_names=outputs,
                          dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=False)
    proto = store_float16(onnx.load_from_string(buf.getvalue()))
    entry = proto.metadata_props.add()
    entry.key, entry.value = "fakelens", json.dumps(meta)
    tmp = path.with_suffix(".onnx.tmp")
    tmp.write_bytes(proto.SerializeToString())
    tmp.replace(path)  # atomic: a reader never sees half a graph
    return path


class _ImageGraph(nn.Module):
    """x -> (logits N x 2: fake, kind; pooled N x C)."""

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier

    def forward(self, x):
        pooled = self.classifier.features(x).mean((2, 3))
        return self.classifier.head.both(pooled), pooled


def export_image_model(checkpoint: str | Path) -> Path:
    """Write `<checkpoint>.onnx` beside an image checkpoint; returns its path."""
    checkpoint = Path(checkpoint)
    model, meta = load_checkpoint(checkpoint)
    size = model.input_size
    return _export(_ImageGraph(model), (torch.rand(2, 3, size, size),), ["x"], ["logits", "pooled"],
                   {"x": {0: "n"}, "logits": {0: "n"}, "pooled": {0: "n"}}, checkpoint.with_suffix(".onnx"),
                   {"tensors_sha256": meta.get("tensors_sha256"), "from": checkpoint.name, "kind": "image"})


class _VideoGraph(nn.Module):
    """(pooled T x C, windows N x T, keep K x T, keep_windows K x N) -> (frame logits T, frame features
    T x D, clip logits K). Row k of `keep` and `keep_windows` (1 keeps, 0 replaces by the model's
    reference feature, the mean real frame) gives clip logit k: all ones for the verdict, coalitions
    for SHAP over frames or windows (fakelens.explain.temporal_shap), without torch."""

    def __init__(self, head: nn.Module, sequence: nn.Module):
        super().__init__()
        self.head, self.sequence = head, sequence

    def forward(self, pooled, windows, keep, keep_windows):
        from fakelens.video.model import head_outputs

        y = head_outputs(self.head, pooled)
        feats = y[:, 1:]
        ref = self.sequence.reference
        x = keep[:, :, None] * feats[None] + (1 - keep[:, :, None]) * ref  # K x T x D
        a = windows @ x  # K x N x D: the window means
        a = keep_windows[:, :, None] * a + (1 - keep_windows[:, :, None]) * ref
        return y[:, 0], feats, self.sequence.forward_windows(a)


def export_video_model(checkpoint: str | Path, frame_model: str | Path | None = None) -> Path:
    """Write `<checkpoint>.onnx` beside a video model. Its frame head is its own (tuned on video
    frames) or, without one, the head of the image model it was trained on (`frame_model`)."""
    from fakelens.video.model import load_sequence_model

    checkpoint = Path(checkpoint)
    sequence, meta = load_sequence_model(checkpoint)
    head = sequence.frame_head
    if head is None:
        image = Path(frame_model) if frame_model else checkpoint.parent / meta["frame_model"]
        head = load_checkpoint(image)[0].head
    c = head.fc1.in_features
    return _export(_VideoGraph(head.eval(), sequence.eval()),
                   (torch.rand(8, c), torch.full((3, 8), 0.25), torch.ones(2, 8), torch.ones(2, 3)),
                   ["pooled", "windows", "keep", "keep_windows"], ["frame_logits", "features", "clip_logit"],
                   {"pooled": {0: "t"}, "windows": {0: "n", 1: "t"}, "keep": {0: "k", 1: "t"},
                    "keep_windows": {0: "k", 1: "n"}, "frame_logits": {0: "t"}, "features": {0: "t"},
                    "clip_logit": {0: "k"}},
                   checkpoint.with_suffix(".onnx"),
                   {"tensors_sha256": meta.get("tensors_sha256"), "from": checkpoint.name, "kind": "video"})


def export(checkpoint: str | Path) -> Path:
    """Export an image or a video checkpoint (told apart by its metadata)."""
    from fakelens.runtime import read_meta

    meta = read_meta(checkpoint)
    return export_video_model(checkpoint) if meta.get("kind") == "video-sequence" else export_image_model(checkpoint)
