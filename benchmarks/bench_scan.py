"""Files/s of `fakelens scan` on the same folder: local process pool vs Ray, 1 and 2 workers,
shipped model, start-up (worker spawn, model load, Ray start) included. Prints a table."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from fakelens.scan import scan


def make_folder(n: int) -> Path:
    from skimage import data

    d = Path(tempfile.mkdtemp()) / "faces"
    d.mkdir()
    img = data.astronaut()
    for i in range(n):  # the same face shifted: distinct files, one face each
        Image.fromarray(np.roll(img, 5 * i, axis=1)).save(d / f"{i:03d}.jpg", quality=92)
    return d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--files", type=int, default=48)
    args = ap.parse_args()
    folder = make_folder(args.files)
    print(f"{args.files} photos of 512x512, one face each\n")
    print("| engine | workers | seconds | files/s |")
    print("|---|---|---|---|")
    for engine in ("local", "ray"):
        for workers in (1, 2):
            out = Path(tempfile.mkdtemp()) / "r.jsonl"
            t = time.perf_counter()
            n = sum(1 for _ in scan(folder, out, workers, engine=engine, progress=False))
            sec = time.perf_counter() - t
            print(f"| {engine} | {workers} | {sec:.1f} | {n / sec:.2f} |")


if __name__ == "__main__":
    main()
