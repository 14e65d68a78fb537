"""The figures the model cards quote about the shipped weight files: size on disk, stored dtype and
trainable parameters per top-level module (batch-norm running statistics and other buffers left out).
Reads the safetensors files alone: no torch needed.

    python scripts/weights_info.py            # every *.safetensors in src/fakelens/weights
    python scripts/weights_info.py FILE ...
"""

import sys
from pathlib import Path

from safetensors import safe_open

WEIGHTS = Path(__file__).resolve().parents[1] / "src" / "fakelens" / "weights"
# Tensors stored beside the parameters that no optimiser updates.
BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
BUFFER_NAMES = ("reference",)  # the video model's mean real frame feature (what SHAP removes a window to)


def info(path: Path) -> dict:
    """{'file', 'mb', 'dtypes', 'parameters': {module: count}, 'total'} for one safetensors file."""
    counts: dict[str, int] = {}
    dtypes: set[str] = set()
    with safe_open(str(path), "np") as f:
        for key in f.keys():
            t = f.get_tensor(key)
            dtypes.add(str(t.dtype))
            if key.rsplit(".", 1)[-1] in BUFFERS or key.split(".")[0] in BUFFER_NAMES:
                continue
            module = key.split(".")[0]
            counts[module] = counts.get(module, 0) + int(t.size)
    return {"file": path.name, "mb": path.stat().st_size / 1e6, "dtypes": sorted(dtypes),
            "parameters": counts, "total": sum(counts.values())}


def main() -> None:
    files = [Path(a) for a in sys.argv[1:]] or sorted(WEIGHTS.glob("*.safetensors"))
    print("| file | MB | stored as | parameters | by module |")
    print("|---|---|---|---|---|")
    for p in files:
        r = info(p)
        parts = ", ".join(f"{k} {v:,}" for k, v in r["parameters"].items())
        print(f"| {r['file']} | {r['mb']:.1f} | {', '.join(r['dtypes'])} | {r['total']:,} | {parts} |")


if __name__ == "__main__":
    main()
