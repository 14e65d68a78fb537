"""The README's explanation table from an `fakelens audit-explainers` result.

    .venv/bin/python scripts/audit_table.py benchmarks/results/faithfulness-audit-v4-100val.json

Per method, best first: the gain over a random map with its 95% interval, deletion and insertion AUC
beside the random map's on the same faces, and the issue's ratios (deletion: random AUC / the
method's, insertion: the method's / random's; both above 1 when the map beats random).
"""

from __future__ import annotations

import argparse
import json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("audit", help="audit.json written by `fakelens audit-explainers --out DIR`")
    args = ap.parse_args()
    from fakelens.explain.registry import display_name

    methods = json.load(open(args.audit))["methods"]
    print("| rank | method | gain over a random map | deletion AUC (random map) | insertion AUC (random map) "
          "| deletion: random / method | insertion: method / random |")
    print("|---|---|---|---|---|---|---|")
    for name, r in sorted(methods.items(), key=lambda kv: kv[1]["rank"]):
        base, _, block = name.partition("@")
        label = display_name(base) + (f" (block {block})" if block else "")
        lo, hi = r["gain_ci"]
        print(f"| {r['rank']} | {label} | {r['gain']:.3f} [{lo:.3f}, {hi:.3f}] "
              f"| {r['deletion_auc']:.3f} ({r['random_deletion_auc']:.3f}) "
              f"| {r['insertion_auc']:.3f} ({r['random_insertion_auc']:.3f}) "
              f"| {r['random_deletion_auc'] / r['deletion_auc']:.2f}x | {r['insertion_auc'] / r['random_insertion_auc']:.2f}x |")


if __name__ == "__main__":
    main()
