"""Which faithfulness metric variants does the meta-test validate? (issue 17, docs/faithfulness.md)

For both planted models (red cue, texture cue), every deletion/insertion variant (unit x fill x
ordering) and the region attack (per unit), the planted-patch model's true map, a random map and the inverted true map are scored on three
planted faces; a variant is validated when true beats random and random beats inverted on every
face. Writes benchmarks/results/faithfulness-meta.json and prints the markdown table."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from fakelens.metrics import faithfulness_meta as M
from fakelens.metrics.faithfulness import FILLS, ORDERS

OUT = Path(__file__).parent / "results" / "faithfulness-meta.json"


def main() -> None:
    rows = []
    for model in M.MODELS:
        rows += _rows(model)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"faces": len(M.FACES), "margin": M.MARGIN, "attack_margin": M.ATTACK_MARGIN,
                               "rows": rows}, indent=1))
    print("| model | metric | unit | fill | order | validated | true | random | inverted |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['metric']} | {r['unit']} | {r['fill']} | {r['order']} | "
              f"{'yes' if r['validated'] else 'NO'} | {r['true']} | {r['random']} | {r['inverted']} |")
    print(f"{sum(r['validated'] for r in rows)} of {len(rows)} validated; {OUT}")


def _rows(model: str) -> list[dict]:
    rows = []
    for unit in M.UNITS:
        for fill in FILLS:
            for order in ORDERS:
                t = time.perf_counter()
                res = M.check_curves(unit, fill, order, model=model)
                dt = time.perf_counter() - t
                for kind, r in res.items():
                    rows.append({"model": model, "metric": kind, "unit": unit, "fill": fill, "order": order,
                                 "validated": r["validated"], "seconds": round(dt / 2, 3),
                                 **{k: round(float(np.mean([f[k] for f in r["faces"]])), 3)
                                    for k in ("true", "random", "inverted")}})
    for unit in M.UNITS:
        t = time.perf_counter()
        r = M.check_region_attack(unit, model=model)
        rows.append({"model": model, "metric": "region attack (top 10%)", "unit": unit, "fill": f"NES sign steps, eps {M.ATTACK['eps']:.3f}",
                     "order": "-", "validated": r["validated"], "seconds": round(time.perf_counter() - t, 3),
                     **{k: round(float(np.mean([f[k] for f in r["faces"]])), 4) for k in ("true", "random", "inverted")}})
    return rows


if __name__ == "__main__":
    main()
