"""`fakelens data summary`: counts per source, class and split, a split bar chart and sample grids."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from fakelens.data.datasets import Sample
from fakelens.data.split import group_split

CLASS_NAMES = {0: "real", 1: "fake"}


def summarize(samples: list[Sample], ratios=(4, 1, 1), seed: int = 0) -> dict:
    """{'rows': [{source, label, train, val, test, total, groups}], 'split_of': list of split names}."""
    split = group_split(samples, ratios, seed)
    split_of = [""] * len(samples)
    for name, idx in split.items():
        for i in idx:
            split_of[i] = name
    counts = Counter((s.source, s.label, split_of[i]) for i, s in enumerate(samples))
    groups = Counter((src, lab) for src, lab, _ in {(s.source, s.label, s.group) for s in samples})
    rows = []
    for src, lab in sorted({(s.source, s.label) for s in samples}):
        r = {"source": src, "label": CLASS_NAMES[lab], **{n: counts[(src, lab, n)] for n in ("train", "val", "test")}}
        r["total"] = r["train"] + r["val"] + r["test"]
        r["groups"] = groups[(src, lab)]
        rows.append(r)
    return {"rows": rows, "split_of": split_of}


def plot_split(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [f"{r['source']}\n{r['label']}" for r in rows]
    fig, ax = plt.subplots(figsize=(max(5, 1.4 * len(rows)), 4))
    bottom = np.zeros(len(rows))
    for part, colour in (("train", "#4c72b0"), ("val", "#dd8452"), ("test", "#55a868")):
        vals = np.array([r[part] for r in rows])
        ax.bar(names, vals, bottom=bottom, label=part, color=colour)
        bottom += vals
    ax.set(ylabel="images", title="images per source, class and split")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def sample_grid(samples: list[Sample], path: Path, per_class: int = 8, seed: int = 0, tile: int = 112) -> None:
    """One row of random faces per (source, class), whole images resized to tiles."""
    from PIL import Image, ImageDraw

    from fakelens.errors import InputError
    from fakelens.imageio import load_rgb

    rng = np.random.default_rng(seed)
    keys = sorted({(s.source, s.label) for s in samples})
    label_w = 150
    grid = Image.new("RGB", (label_w + per_class * tile, len(keys) * tile), "white")
    draw = ImageDraw.Draw(grid)
    for r, (src, lab) in enumerate(keys):
        pool = [s for s in samples if s.source == src and s.label == lab]
        draw.text((6, r * tile + tile // 2 - 12), f"{src}\n{CLASS_NAMES[lab]}", fill="black")
        for c, i in enumerate(rng.choice(len(pool), size=min(per_class, len(pool)), replace=False)):
            try:
                img = Image.fromarray(load_rgb(pool[i].path)).resize((tile, tile))
            except InputError:
                continue
            grid.paste(img, (label_w + c * tile, r * tile))
    grid.save(path)
