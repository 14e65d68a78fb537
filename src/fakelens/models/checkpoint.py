"""Checkpoints as safetensors: float16 weights plus JSON metadata (arch, input size, crop scale, threshold).

Only safetensors are read (no pickle, so a weights file cannot run code), and a file whose tensors
do not match the digest written beside them, or a shipped file whose bytes differ from the
package's SHA256SUMS, is refused: a tampered or corrupted model never scores anything.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from fakelens.errors import ModelError
from fakelens.media import check_pinned
from fakelens.models.registry import create_model
from fakelens.runtime import check_meta

from fakelens.paths import WEIGHTS_DIR  # noqa: E402,F401 - where the shipped checkpoints live


def tensors_digest(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes (independent of file layout)."""
    h = hashlib.sha256()
    for k in sorted(state):
        v = state[k].detach().cpu().contiguous()
        h.update(f"{k}|{v.dtype}|{tuple(v.shape)}|".encode())
        h.update(v.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def write_weights(state: dict[str, torch.Tensor], path: str | Path, meta: dict) -> None:
    """Save tensors with their digest and `meta` (JSON) in the safetensors header."""
    state = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    save_file(state, str(path), metadata={"fakelens": json.dumps({**meta, "tensors_sha256": tensors_digest(state)})})


def read_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, metadata) of a fakelens safetensors file, verified; ModelError with one line otherwise."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"no such weights file: {path}")
    check_pinned(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {}).get("fakelens", "{}"))
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:  # JSONDecodeError is a ValueError
        raise ModelError(f"not a fakelens safetensors file ({' '.join(str(e).split())}): {path}") from None
    check_meta(meta, path)  # the one check of hand-edited fields, shared with the torch-free runtime
    want = meta.get("tensors_sha256")
    if want and tensors_digest(state) != want:
        raise ModelError(f"weights do not match the digest recorded in the file (tampered or corrupt): {path}")
    return state, meta


def save_checkpoint(model: nn.Module, path: str | Path, meta: dict, half: bool = True) -> None:
    """Write weights (float16 unless half=False; BN counters stay integer) and metadata."""
    state = {k: v.half() if half and v.is_floating_point() else v for k, v in model.state_dict().items()}
    write_weights(state, path, {"arch": model.arch, "input_size": model.input_size,
                                "manipulation": bool(getattr(model, "has_manipulation", False)), **meta})


def load_checkpoint(path: str | Path) -> tuple[nn.Module, dict]:
    """Rebuild the model a checkpoint was saved from; returns (model in eval mode, metadata)."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"no such checkpoint: {path}")
    state, meta = read_weights(path)
    if meta.get("kind") == "video-sequence":
        raise ModelError(f"a video model, not an image checkpoint (pass it as --video-model): {path}")
    if "arch" not in meta:
        raise ModelError(f"checkpoint has no fakelens metadata: {path}")
    extra = {"manipulation": True} if meta.get("manipulation") else {}
    model = create_model(meta["arch"], pretrained=False, input_size=meta.get("input_size", 160), **extra)
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except RuntimeError as e:
        raise ModelError(f"weights do not fit architecture {meta['arch']} ({str(e).split(chr(10))[0]}): {path}") from None
    return model.eval(), meta
