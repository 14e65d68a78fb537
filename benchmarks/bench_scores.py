"""Detection scores of a checkpoint on the group-held-out test split of ../shared/data, per source,
with and without the test-time flip. Prints a table (needs the shared data)."""

from __future__ import annotations

import argparse
from pathlib import Path

from fakelens.data import group_split, read_datasets
from fakelens.data.cache import build_cache
from fakelens.detector import default_model_path
from fakelens.models import load_checkpoint
from fakelens.train.evaluate import evaluate_split

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--model", default=str(default_model_path()))
    ap.add_argument("--split", default="test", choices=["train", "val", "test"])
    args = ap.parse_args()
    model, meta = load_checkpoint(args.model)
    samples = read_datasets([args.data])
    idx = group_split(samples)[args.split]
    cache = build_cache(samples, model.input_size, float(meta.get("crop_scale", 1.3)), progress=False)
    thr = float(meta.get("threshold", 0.5))
    plain = evaluate_split(model, cache, samples, idx, thr)
    flip = evaluate_split(model, cache, samples, idx, thr, flip=True)
    print(f"scores of {Path(args.model).name} on the {args.split} split of {args.data} (threshold {thr:.3f})")
    print("| source | n | AUROC | AUROC, test-time flip | accuracy | accuracy, flip | false positive rate |")
    print("|---|---|---|---|---|---|---|")
    for name, a in plain.items():
        b = flip[name]
        auroc = lambda r: "-" if r["auroc"] is None else f"{r['auroc']:.4f}"  # noqa: E731
        print(f"| {name} | {a['n']} | {auroc(a)} | {auroc(b)} | {a['accuracy']:.4f} | {b['accuracy']:.4f} | "
              f"{a['false_positive_rate']:.4f} |")


if __name__ == "__main__":
    main()
