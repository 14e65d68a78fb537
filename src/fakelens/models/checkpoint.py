"""Checkpoints as safetensors: float16 weights plus JSON metadata (arch, input size, crop scale, threshold)."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from fakelens.errors import ModelError
from fakelens.models.registry import create_model


def save_checkpoint(model: nn.Module, path: str | Path, meta: dict, half: bool = True) -> None:
    """Write weights (float16 unless half=False; BN counters stay integer) and metadata."""
    state = {}
    for k, v in model.state_dict().items():
        v = v.detach().cpu().contiguous()
        state[k] = v.half() if half and v.is_floating_point() else v
    full_meta = {"arch": model.arch, "input_size": model.input_size, **meta}
    save_file(state, str(path), metadata={"fakelens": json.dumps(full_meta)})


def read_metadata(path: str | Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return json.loads((f.metadata() or {}).get("fakelens", "{}"))


def load_checkpoint(path: str | Path) -> tuple[nn.Module, dict]:
    """Rebuild the model a checkpoint was saved from; returns (model in eval mode, metadata)."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"no such checkpoint: {path}")
    try:
        meta = read_metadata(path)
        state = load_file(str(path))
    except (SafetensorError, OSError, json.JSONDecodeError) as e:
        raise ModelError(f"not a fakelens checkpoint ({e}): {path}") from None
    if "arch" not in meta:
        raise ModelError(f"checkpoint has no fakelens metadata: {path}")
    model = create_model(meta["arch"], pretrained=False, input_size=meta["input_size"])
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    model.load_state_dict(state)
    return model.eval(), meta
