"""Average the weights of checkpoints from one training run (a "model soup", Wortsman et al. 2022),
pick the decision threshold on the validation split (Youden's J, test-time flip as shipped), and
print validation AUROCs per source so the mixing weight is chosen on validation, never on test.

    python scripts/average_checkpoints.py A.safetensors B.safetensors --weight 0.5 --out soup.safetensors
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from fakelens.data import group_split, read_datasets
from fakelens.data.cache import build_cache
from fakelens.metrics.classification import best_threshold, binary_metrics
from fakelens.models import load_checkpoint, save_checkpoint
from fakelens.train.evaluate import score_samples

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("first")
    ap.add_argument("second")
    ap.add_argument("--weight", type=float, default=0.5, help="weight of the first checkpoint")
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--out", help="write the averaged checkpoint here")
    args = ap.parse_args()
    a, meta_a = load_checkpoint(args.first)
    b, meta = load_checkpoint(args.second)
    sa, sb = a.state_dict(), b.state_dict()
    w = args.weight
    b.load_state_dict({k: w * sa[k] + (1 - w) * v if v.is_floating_point() else v for k, v in sb.items()})
    samples = read_datasets([args.data])
    val = group_split(samples)["val"]
    cache = build_cache(samples, b.input_size, float(meta.get("crop_scale", 1.3)), progress=False)
    val = [i for i in val if cache.face_found[i]]
    y = np.array([samples[i].label for i in val])
    p = score_samples(b, cache, val, flip=True)
    thr = best_threshold(y, p)
    sources = np.array([samples[i].source for i in val])
    print(f"weight {w:g} x {Path(args.first).name} + {1 - w:g} x {Path(args.second).name}; validation, flip; "
          f"threshold {thr:.3f}")
    for src in ["all", *sorted(set(sources))]:
        m = np.ones(len(y), bool) if src == "all" else sources == src
        r = binary_metrics(y[m], p[m], thr)
        print(f"  {src}: n {r['n']}, AUROC {r['auroc'] if r['auroc'] is None else round(r['auroc'], 4)}, "
              f"accuracy {r['accuracy']:.4f}")
    if args.out:
        # epoch and validation loss described one checkpoint, not the average
        keep = {k: v for k, v in meta.items() if k not in ("arch", "input_size", "tensors_sha256", "epoch", "val_loss")}
        save_checkpoint(b, args.out, {**keep, "threshold": round(thr, 4), "flip": True,
                                      "averaged": f"{w:g} x {Path(args.first).name} + {1 - w:g} x {Path(args.second).name}"})
        print(f"wrote {args.out}")


if __name__ == "__main__":
    torch.set_num_threads(2)
    main()
