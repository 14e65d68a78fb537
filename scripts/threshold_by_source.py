"""Which real source of the validation split sets the shipped threshold: per real source, its
reals' 95th percentile score (the lowest threshold that keeps its false positives at 5%) and
maximum, for a run of scripts/detection2.py. Validation only.

    python scripts/threshold_by_source.py runs/v4x/best.safetensors
"""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detection2 import RECIPE, SEED  # noqa: E402
from fakelens.train import TrainConfig
from fakelens.train.trainer import load_samples, _validate
from fakelens.data import group_split
from fakelens.data.cache import build_cache
from fakelens.models import load_checkpoint
cfg = TrainConfig(data=["../shared/data"], **RECIPE, progress=False)
samples = load_samples(cfg)
split = group_split(samples, (4, 1, 1), SEED)
cache = build_cache(samples, cfg.input_size, cfg.crop_scale, progress=False)
model, meta = load_checkpoint(sys.argv[1] if len(sys.argv) > 1 else "runs/v4x/best.safetensors")
val_idx = split["val"]
val, vy, vp = _validate(model, cache, samples, val_idx)
src = np.array([samples[i].source for i in val_idx if cache.face_found[i]])
grp = np.array([samples[i].group for i in val_idx if cache.face_found[i]])
out = {}
for s in sorted(set(src[vy == 0])):
    r = np.sort(vp[(vy == 0) & (src == s)])
    out[s] = {"reals": int(len(r)), "groups": int(len(set(grp[(vy == 0) & (src == s)]))), "p95": float(np.quantile(r, 0.95)), "max": float(r.max())}
print(json.dumps(out, indent=1))
