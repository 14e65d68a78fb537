"""Throughput of `fakelens analyze`: faces/s for full images (detection + crop + model) and for
already-cropped faces (--whole-image), with the shipped model. Prints a table."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from fakelens.detector import Detector


def timed(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    from skimage import data

    det = Detector.load(args.model)
    tmp = Path(tempfile.mkdtemp())
    astro = data.astronaut()
    big = np.asarray(Image.fromarray(astro).resize((1280, 1280)))
    files = {"512x512 photo, 1 face": tmp / "a.png", "1280x1280 photo, 1 face": tmp / "b.png"}
    Image.fromarray(astro).save(files["512x512 photo, 1 face"])
    Image.fromarray(big).save(files["1280x1280 photo, 1 face"])
    crops = tmp / "crops"
    crops.mkdir()
    crop_paths = []
    for i in range(32):
        p = crops / f"{i}.jpg"
        Image.fromarray(astro[60:316, 120:376]).save(p)
        crop_paths.append(p)

    rows = []
    for name, path in files.items():
        sec = timed(lambda: det.analyze(path), args.repeat)
        rows.append((f"analyze, {name}", 1 / sec, sec * 1000))
    sec = timed(lambda: list(det.analyze_many(crop_paths, whole_image=True)), max(1, args.repeat // 2))
    rows.append(("analyze --whole-image, 256 px crops", 32 / sec, sec * 1000 / 32))
    batch = np.stack([np.asarray(Image.open(p).resize((det.input_size,) * 2)) for p in crop_paths])
    sec = timed(lambda: det.score_crops(batch), args.repeat)
    rows.append((f"model only, batch 32 at {det.input_size} px", 32 / sec, sec * 1000 / 32))

    print(f"fakelens analyze throughput (model {det.name}, {det.input_size} px, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads)")
    print(f"| {'case':45s} | faces/s | ms/face |")
    print(f"|{'-' * 47}|---------|---------|")
    for name, fps, ms in rows:
        print(f"| {name:45s} | {fps:7.1f} | {ms:7.1f} |")


if __name__ == "__main__":
    main()
