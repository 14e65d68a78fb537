"""`fakelens analyze --report`: one self-contained HTML file per analysis, readable offline.

Every picture (the input with its face boxes, each explanation overlay, the video timeline) is an
inline PNG data URI, and the page loads no script, font or style sheet from anywhere.
"""

from __future__ import annotations

import base64
import io
import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np
from jinja2 import Environment, FileSystemLoader, select_autoescape
from PIL import Image, ImageDraw

from fakelens.explain.summary import confidence
from fakelens.media import file_sha256
from fakelens.records import Analysis

WEIGHTS = Path(__file__).resolve().parents[1] / "weights"


def _png(img: np.ndarray | Image.Image, max_side: int = 900) -> str:
    im = img if isinstance(img, Image.Image) else Image.fromarray(img)
    im.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()



def _versions() -> str:
    names = ["fakelens", "torch", "onnxruntime", "dlib-bin", "av", "captum"]
    found = []
    for n in names:
        try:
            found.append(f"{n} {metadata.version(n)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(found + [f"Python {platform.python_version()}"])


def _overview(a: Analysis) -> str | None:
    """The input (a video's most suspicious face frame) with every face box drawn."""
    try:
        if a.kind == "video":
            import av

            from fakelens.video.decode import _to_rgb

            best = max(a.frames or [], key=lambda f: f.score, default=None)
            if best is None:
                return None
            with av.open(a.path) as c:
                frame = next((f for i, f in enumerate(c.decode(video=0)) if i == best.index), None)
            if frame is None:
                return None
            img = Image.fromarray(_to_rgb(frame, max(a.width or 1280, a.height or 720)))
            boxes = [f.box for f in a.frames if f.index == best.index]
        else:
            from fakelens.imageio import load_rgb

            img = Image.fromarray(load_rgb(a.path))
            boxes = [f.box for f in a.faces]
    except Exception:  # noqa: BLE001 - a report without the picture still says everything else
        return None
    draw = ImageDraw.Draw(img)
    for k, b in enumerate(boxes):
        draw.rectangle(b, outline=(230, 40, 40), width=max(2, img.width // 300))
        draw.text((b[0] + 3, b[1] + 3), str(k), fill=(230, 40, 40))
    return _png(img)


def _timeline(a: Analysis) -> str | None:
    if a.kind != "video" or not a.frames:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 2.8), dpi=100)
    for tr in a.tracks or []:
        fr = [f for f in a.frames if f.track == tr.id]
        ax.scatter([f.time for f in fr], [f.score for f in fr], s=12, label=f"track {tr.id}: frames")
        ws = [w for w in a.windows if w.track == tr.id]
        ax.plot([(w.start + w.end) / 2 for w in ws], [w.score for w in ws], label=f"track {tr.id}: windows")
    ax.axhline(a.threshold or 0.5, color="grey", linestyle="--", linewidth=0.8)
    ax.set_ylim(0, 1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("probability of fake")
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def render_report(a: Analysis, records: list[dict] | None = None, feedback_id: int | None = None) -> str:
    """The HTML text of a report for one Analysis (and its explanation records, if any). With
    `feedback_id` (reports served by the web app) it carries a form that posts a rating of the
    explanations to /v1/analyses/{id}/feedback."""
    env = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["html"]))
    path = Path(a.path)
    explanations = []
    for r in records or []:
        if not r.get("method") or r.get("error") or not r.get("overlay") or not Path(r["overlay"]).exists():
            continue
        rnd = (r.get("baselines") or {}).get("random") or {}
        explanations.append({
            "method": r["method"], "face": r.get("face"), "time": r.get("time"), "image": _png(Image.open(r["overlay"])),
            "deletion": f"{r['deletion_auc']:.3f} ({rnd.get('deletion_auc', float('nan')):.3f})" if "deletion_auc" in r else "-",
            "insertion": f"{r['insertion_auc']:.3f} ({rnd.get('insertion_auc', float('nan')):.3f})" if "insertion_auc" in r else "-",
            "seconds": r.get("seconds")})
    card = WEIGHTS / ("VIDEO_MODEL_CARD.md" if a.kind == "video" else "MODEL_CARD.md")
    return env.get_template("template.html").render(
        a=a, name=path.name, confidence=confidence(a.score, a.threshold) if a.score is not None else "",
        overview=_overview(a) if a.label != "error" else None, timeline=_timeline(a), explanations=explanations,
        sha256=file_sha256(path) if path.is_file() else "-", size=path.stat().st_size if path.is_file() else "-",
        when=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"), versions=_versions(),
        model_card=card.read_text() if card.exists() else "-", feedback_id=feedback_id)


def write_report(a: Analysis, out: Path, records: list[dict] | None = None, feedback_id: int | None = None) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(a, records, feedback_id), encoding="utf-8")
    return out
