"""`fakelens analyze --report`: one self-contained HTML file per analysis, readable offline.

Every picture is inline: the input with its face boxes and each explanation overlay as PNG data
URIs, the score gauge and the video timeline as SVG drawn here. The page loads no font or style
sheet from anywhere, carries its own Content-Security-Policy, and has no script, except in the
copy the web app serves, whose feedback form uses the app's /static/report.js.
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
from markupsafe import Markup, escape
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


def _overview(a: Analysis, picture: np.ndarray | None) -> str | None:
    """The analyzed picture (a video's most suspicious face frame, as the analysis decoded it) with
    every face box drawn; nothing is decoded again."""
    if picture is None:
        return None
    img = Image.fromarray(picture)
    if a.kind == "video":
        best = max(a.frames or [], key=lambda f: f.score, default=None)
        k = img.width / (a.width or img.width)  # boxes are in the video's pixels, the frame may be scaled
        boxes = [[v * k for v in f.box] for f in a.frames or [] if best is not None and f.index == best.index]
    else:
        boxes = [f.box for f in a.faces]
    draw = ImageDraw.Draw(img)
    for n, b in enumerate(boxes):
        draw.rectangle(b, outline=(230, 40, 40), width=max(2, img.width // 300))
        draw.text((b[0] + 3, b[1] + 3), str(n), fill=(230, 40, 40))
    return _png(img)


def _ticks(hi: float, n: int = 6) -> list[float]:
    """About `n` round tick values from 0 to `hi`."""
    step = max(hi / n, 1e-9)
    mag = 10 ** np.floor(np.log10(step))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= step)
    return [round(k * step, 6) for k in range(int(hi / step) + 1)]


_COLOURS = ["#1f5fa8", "#b3400b", "#2a7d3a", "#7b3fa0", "#8a6d00", "#0f7a7a"]


def _timeline(a: Analysis) -> Markup | None:
    """Per-frame (dots) and per-window (lines) scores of each face track over time, and the threshold,
    as inline SVG (no script: each dot's score shows as its tooltip)."""
    if a.kind != "video" or not a.frames:
        return None
    w, h, left, right, top, bottom = 900, 270, 52, 16, 14, 58
    t_max = max([a.duration or 0] + [f.time for f in a.frames] + [wi.end for wi in a.windows or []]) or 1.0

    def x(t: float) -> float:
        return left + (w - left - right) * t / t_max

    def y(p: float) -> float:
        return top + (h - top - bottom) * (1 - p)

    out = [f'<svg class="timeline" viewBox="0 0 {w} {h}" width="100%" role="img" aria-labelledby="timeline-title" '
           f'font-family="system-ui, sans-serif" font-size="12">',
           '<title id="timeline-title">Probability of fake over time, per face track</title>']
    for p in (0, 0.25, 0.5, 0.75, 1):
        out.append(f'<line x1="{left}" x2="{w - right}" y1="{y(p):.1f}" y2="{y(p):.1f}" stroke="#e2e2e2"/>'
                   f'<text x="{left - 6}" y="{y(p) + 4:.1f}" text-anchor="end" fill="#474747">{p:g}</text>')
    for t in _ticks(t_max):
        out.append(f'<text x="{x(t):.1f}" y="{h - bottom + 16}" text-anchor="middle" fill="#474747">{t:g}</text>')
    out.append(f'<text x="{(left + w - right) / 2}" y="{h - bottom + 32}" text-anchor="middle" fill="#474747">'
               'time (s)</text>')
    thr = a.threshold if a.threshold is not None else 0.5
    out.append(f'<line x1="{left}" x2="{w - right}" y1="{y(thr):.1f}" y2="{y(thr):.1f}" stroke="#555" '
               f'stroke-dasharray="6 4"/><text x="{w - right}" y="{y(thr) - 4:.1f}" text-anchor="end" '
               f'fill="#474747">threshold {thr:.3f}</text>')
    legend = []
    for k, tr in enumerate(a.tracks or []):
        colour = _COLOURS[k % len(_COLOURS)]
        ws = [wi for wi in a.windows or [] if wi.track == tr.id]
        if ws:
            pts = " ".join(f"{x((wi.start + wi.end) / 2):.1f},{y(wi.score):.1f}" for wi in ws)
            out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for f in (f for f in a.frames if f.track == tr.id):
            out.append(f'<circle cx="{x(f.time):.1f}" cy="{y(f.score):.1f}" r="3.2" fill="{colour}">'
                       f'<title>track {tr.id}, {f.time:.2f} s: frame score {f.score:.3f}</title></circle>')
        legend.append((colour, f"track {tr.id}: frames (dots), windows (line)"))
    for k, (colour, text) in enumerate(legend[:6]):
        lx = left + 300 * (k % 3)
        ly = h - 10 - 14 * (k // 3) if len(legend) > 3 else h - 8
        out.append(f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{lx + 14}" y="{ly}" fill="#1b1b1b">{escape(text)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def _gauge(score: float | None, threshold: float | None) -> Markup | None:
    """The score on a 0-1 bar, the threshold marked: below it is called real, at or above it fake."""
    if score is None:
        return None
    thr = threshold if threshold is not None else 0.5
    w, left, right = 460, 12, 12

    def x(p: float) -> float:
        return left + (w - left - right) * p

    return Markup(
        f'<svg class="gauge" viewBox="0 0 {w} 64" width="{w}" role="img" '
        f'aria-label="score {score:.3f} against the threshold {thr:.3f}" font-family="system-ui, sans-serif" '
        f'font-size="12"><rect x="{x(0)}" y="20" width="{x(thr) - x(0):.1f}" height="14" fill="#cfead6"/>'
        f'<rect x="{x(thr):.1f}" y="20" width="{x(1) - x(thr):.1f}" height="14" fill="#f7cfcc"/>'
        f'<line x1="{x(thr):.1f}" x2="{x(thr):.1f}" y1="14" y2="40" stroke="#333" stroke-dasharray="3 2"/>'
        f'<text x="{x(thr):.1f}" y="10" text-anchor="middle" fill="#333">threshold {thr:.3f}</text>'
        f'<path d="M{x(score):.1f},36 l-7,12 h14 z" fill="#1b1b1b"/>'
        f'<text x="{x(score):.1f}" y="60" text-anchor="middle" fill="#1b1b1b" font-weight="600">{score:.3f}</text>'
        f'<text x="{x(0)}" y="50" fill="#474747">0 real</text>'
        f'<text x="{x(1)}" y="50" text-anchor="end" fill="#474747">fake 1</text></svg>')


def _model_card(path: Path) -> Markup:
    """The model card's Markdown as HTML (raw HTML in it is escaped, not passed through)."""
    from markdown_it import MarkdownIt

    if not path.exists():
        return Markup("<p>-</p>")
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(path.read_text())
    for t in tokens:  # its headings sit under the report's "Model card" (h2): h1 -> h3, and so on
        if t.type in ("heading_open", "heading_close"):
            t.tag = f"h{min(6, int(t.tag[1]) + 2)}"
    return Markup(md.renderer.render(tokens, md.options, {}))


def render_report(a: Analysis, records: list[dict] | None = None, feedback_id: int | None = None,
                  name: str | None = None, picture: np.ndarray | None = None) -> str:
    """The HTML text of a report for one Analysis (and its explanation records, if any), with `picture`
    (the decoded input, or a video's most suspicious frame: fakelens.pipeline.AnalysisResult.image) and
    its face boxes, titled with
    `name` (the web app passes the upload's original name; default: the input's file name). With
    `feedback_id` (reports served by the web app) it carries a form that posts a rating of the
    explanations to /v1/analyses/{id}/feedback."""
    env = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["html"]))
    path = Path(a.path)
    explanations = []
    for r in records or []:
        r = r.to_dict() if hasattr(r, "to_dict") else r  # an ExplanationRecord, or its JSON
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
        a=a, name=name or path.name, shown_path=name or a.path,
        confidence=confidence(a.score, a.threshold) if a.score is not None else "",
        gauge=_gauge(a.score, a.threshold), manipulation=getattr(a, "manipulation", None),
        overview=_overview(a, picture) if a.label != "error" else None, timeline=_timeline(a), explanations=explanations,
        sha256=file_sha256(path) if path.is_file() else "-", size=path.stat().st_size if path.is_file() else "-",
        when=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"), versions=_versions(),
        model_card=_model_card(card), feedback_id=feedback_id)


def write_report(a: Analysis, out: Path, records: list[dict] | None = None, feedback_id: int | None = None,
                 name: str | None = None, picture: np.ndarray | None = None) -> Path:
    """Write `render_report(...)` to `out` (folders made as needed); returns `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(a, records, feedback_id, name, picture), encoding="utf-8")
    return out
