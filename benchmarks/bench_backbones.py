"""Backbones compared on one group-held-out split (as seed 001 compares four CNNs), plus a
cross-dataset check: each model, trained on one source, scored on another it never saw.
Trains every backbone with the same recipe and prints a table (needs ../shared/data)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from fakelens.train import TrainConfig, train
from fakelens.train.evaluate import evaluate

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--train-source", default="faces-gan")
    ap.add_argument("--cross-source", default="faces-dfdc")
    ap.add_argument("--archs", default="efficientnet-lite0,efficientnet-lite1,efficientnet-lite2")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--input-size", type=int, default=160)
    ap.add_argument("--out", default="runs/backbones")
    args = ap.parse_args()
    rows = []
    for arch in args.archs.split(","):
        t0 = time.time()
        cfg = TrainConfig(data=[args.data], sources=[args.train_source], out=f"{args.out}/{arch}", arch=arch,
                          input_size=args.input_size, epochs=args.epochs, progress=False)
        r = train(cfg)
        minutes = (time.time() - t0) / 60
        cross = evaluate([r.checkpoint], [args.data], [args.cross_source], split="all", progress=False)[str(r.checkpoint)]
        rows.append((arch, r.test["all"], cross["all"], minutes))
    print(f"backbones trained on {args.train_source} ({args.epochs} epochs, {args.input_size} px, same split), "
          f"tested on its held-out groups and on all of {args.cross_source}")
    print(f"| backbone | test AUROC | test accuracy | test F1 | {args.cross_source} AUROC (cross-dataset) | train minutes |")
    print("|---|---|---|---|---|---|")
    for arch, t, c, minutes in rows:
        print(f"| {arch} | {t['auroc']:.4f} | {t['accuracy']:.4f} | {t['f1']:.4f} | {c['auroc']:.4f} | {minutes:.1f} |")


if __name__ == "__main__":
    main()
