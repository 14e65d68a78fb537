"""`fakelens explain`: every face of every input, every chosen method -> .npy map, overlay PNG, JSON record."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from PIL import Image

from fakelens.detector import Detector
from fakelens.explain.registry import create_explainer, explainer_class, list_explainers
from fakelens.explain.render import overlay, superpixel_panels
from fakelens.explain.summary import MethodEvidence, summarize_face, summarize_windows
from fakelens.media import safe_stem
from fakelens.metrics.faithfulness import baselines, channels_first, deletion_insertion, target_probability
from fakelens.records import verdict
from fakelens.video.track import window_starts


FAITHFULNESS_STEPS = 32  # deletion/insertion steps per curve; 0 skips the measurement


DETECTOR_METHODS = ["drise"]  # explain the face detector, not the classifier (images only)


def parse_methods(spec: str) -> list[str]:
    """'all' or a comma-separated list of registered method names (and drise)."""
    known = list_explainers() + DETECTOR_METHODS
    names = known if spec == "all" else [m.strip() for m in spec.split(",") if m.strip()]
    unknown = [m for m in names if m not in known]
    if unknown or not names:
        raise ValueError(f"unknown method(s) {unknown or spec!r}; known: {', '.join(known)}, or all")
    return names




def explain(result, methods: list[str], out: Path, images: Detector, videos=None, target: str = "verdict",
            options: dict[str, dict] | None = None, key_frames: int = 3, faithfulness: int = FAITHFULNESS_STEPS,
            drise_box: tuple[int, int, int, int] | None = None) -> Iterator[dict]:
    """Yield one record per (face, method) of an analysis (fakelens.pipeline.AnalysisResult), from the
    crops, landmarks and tracks it carries: nothing is decoded or detected again. An input that
    failed or holds no face yields one record saying so.

    Videos: image methods explain the `key_frames` most suspicious frames of every face track, the
    temporal methods (shap-frames, shap-windows) the track's sequence (`videos`: the VideoDetector
    that analyzed it). `faithfulness` is the number of deletion/insertion steps measured per image
    map (0: not measured). `drise_box`: D-RISE explains this box (e.g. a face the detector missed)
    instead of the detections.
    """
    record, path = result.record, result.record.path
    out.mkdir(parents=True, exist_ok=True)
    stem = safe_stem(path)
    if record.label == "error":
        yield {"path": path, "face": None, "method": None, "error": record.error}
        return
    image_methods = [m for m in methods if m not in DETECTOR_METHODS and explainer_class(m).input_dims == 4]
    if record.kind == "video":
        if record.label == "no_face" or not result.tracks:
            yield {"path": path, "face": None, "method": None, "label": "no_face", "error": None}
            return
        classifier = videos.frame_classifier
        explainers = {m: create_explainer(m, classifier, **(options or {}).get(m, {})) for m in image_methods}
        yield from _explain_video(videos, result, methods, explainers, out, stem, target, options, key_frames,
                                  faithfulness)
        return
    rgb = result.image
    if drise_box is not None and "drise" in methods:
        rec = _drise_record(images, rgb, tuple(int(v) for v in drise_box), out, f"{stem}-box")
        rec.pop("_map")
        yield {"path": path, "face": list(drise_box), **rec}
    if not result.faces:
        yield {"path": path, "face": None, "method": None, "label": "no_face", "error": None}
        return
    explainers = {m: create_explainer(m, images.model, **(options or {}).get(m, {})) for m in image_methods}
    faces = result.faces
    crops = np.stack([f.crop for f in faces])
    scores = np.array([f.score for f in faces])
    tgts = [verdict(s, images.threshold) if target == "verdict" else target for s in scores]
    per_face: dict[int, list] = {}
    for rec in _explain_crops(images.model, explainers, crops, tgts, scores, out, stem,
                              [f"face{i}" for i in range(len(crops))], faithfulness):
        per_face.setdefault(rec.pop("_i"), []).append(rec)
    whole = any(f.landmarks is None for f in faces)
    if "drise" in methods and not whole and drise_box is None:
        for i, f in enumerate(faces):
            per_face.setdefault(i, []).append(_drise_record(images, rgb, tuple(f.box), out, f"{stem}-face{i}"))
    for i, recs in per_face.items():
        label = verdict(float(scores[i]), images.threshold)
        text, facts = summarize_face(label, float(scores[i]), images.threshold, _evidence(recs), faces[i].landmarks)
        for rec in recs:
            rec.pop("_map")
            yield {"path": path, "face": faces[i].box, "crop_box": list(faces[i].square), **rec,
                   "regions": facts.get("regions", {}).get(rec["method"], [])[:3], "summary": text}


def _drise_record(det: Detector, rgb: np.ndarray, box: tuple, out: Path, name: str) -> dict:
    """D-RISE on the face detector for one detected face: map over the region around it, overlay."""
    from fakelens.explain.drise import drise

    r = drise(det.faces.detections, rgb, box)
    base = out / f"{name}-drise"
    np.save(base.with_suffix(".npy"), r.map)
    x0, y0, x1, y1 = r.region
    # D-RISE maps sit on a high floor (most masks leave the face detectable): draw what rises above it.
    shown = np.clip(r.map - np.percentile(r.map, 5), 0, None)
    Image.fromarray(overlay(np.ascontiguousarray(rgb[y0:y1, x0:x1]), shown, False)).save(base.with_suffix(".png"))
    return {"method": "drise", "target": "face detection", "region": list(r.region), "map": str(base.with_suffix(".npy")),
            "overlay": str(base.with_suffix(".png")), "seconds": r.seconds, "signed": False,
            "params": {"masks": r.masks, "hit_rate": r.hit_rate}, "error": None, "_map": r.map}


def _evidence(recs: list[dict]) -> list[MethodEvidence]:
    # Activations show what a layer sees, not evidence for the verdict: left out of the summary.
    return [MethodEvidence(r["method"], r["_map"], r.get("deletion_auc"), r.get("insertion_auc"), r.get("baselines", {}))
            for r in recs if r["method"] not in ("activations", "drise") and r["_map"].ndim == 2]


def _explain_crops(model, explainers: dict, images: np.ndarray, tgts: list[str], scores, out: Path, stem: str,
                   names: list[str], faithfulness: int = FAITHFULNESS_STEPS) -> Iterator[dict]:
    """Run every image explainer on face crops; save map and overlay; yield record fields (with `_i`).

    With `faithfulness` > 0 (steps), each record gets deletion/insertion AUCs and, once per face,
    those of a random and a centre-prior map (`baselines`)."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255)
    judged: dict[tuple[int, str], tuple] = {}

    def faithful(i: int, t: str, m: np.ndarray) -> dict:
        if not faithfulness or m.shape != tuple(x.shape[2:]):
            return {}
        if (i, t) not in judged:
            from fakelens.models.onnx import onnx_forward

            prob = target_probability(channels_first(onnx_forward(model)), t)
            img = x[i].permute(1, 2, 0).numpy()  # the metrics take H x W x 3 numpy images
            judged[(i, t)] = (prob, img, baselines(prob, img, faithfulness))
        prob, img, ref = judged[(i, t)]
        r = deletion_insertion(prob, img, m, faithfulness)
        return {"deletion_auc": r["deletion_auc"], "insertion_auc": r["insertion_auc"], "baselines": ref}

    for method, explainer in explainers.items():
        for t in sorted(set(tgts)):
            idx = [i for i, tt in enumerate(tgts) if tt == t]
            for i, e in zip(idx, explainer.attribute(x[idx], target=t, scores=[float(scores[i]) for i in idx])):
                base = out / f"{stem}-{names[i]}-{method.replace('+', 'p')}"
                np.save(base.with_suffix(".npy"), e.map)
                picture = (superpixel_panels(images[i], e.map, e.segments) if e.segments is not None
                           else overlay(images[i], e.map, e.signed))
                Image.fromarray(picture).save(base.with_suffix(".png"))
                yield {"_i": i, "method": method, "target": t, "score": round(float(scores[i]), 6),
                       "map": str(base.with_suffix(".npy")), "overlay": str(base.with_suffix(".png")),
                       "seconds": e.seconds, "signed": e.signed, "params": e.params, **faithful(i, t, e.map),
                       "error": None, "_map": e.map}


def _explain_video(videos, analysis, methods: list[str], explainers: dict, out: Path, stem: str, target: str,
                   options: dict | None, key_frames: int, faithfulness: int) -> Iterator[dict]:
    from fakelens.explain.render import timeline
    from fakelens.ops import sigmoid

    result, details, path = analysis.record, analysis.tracks, analysis.record.path
    temporal = {m: create_explainer(m, videos.sequence, **(options or {}).get(m, {}))
                for m in methods if m not in DETECTOR_METHODS and explainer_class(m).input_dims == 3}
    tracks = {t.id: t for t in result.tracks}
    for track in details:
        info = tracks[track.id]
        if "short" in info.flags and len(details) > 1:
            continue
        t = verdict(info.score, videos.threshold) if target == "verdict" else target
        probs = sigmoid(track.logits)
        order = np.argsort(-probs if t == "fake" else probs)[:key_frames]
        names = [f"track{track.id}-t{track.times[i]:07.2f}s".replace(".", "_") for i in order]
        recs = []
        for rec in _explain_crops(videos.frame_classifier, explainers, track.crops[order], [t] * len(order),
                                  probs[order], out, stem, names, faithfulness):
            i = int(order[rec.pop("_i")])
            recs.append({"path": path, "face": track.boxes[i], "track": track.id, "time": float(track.times[i]),
                         "frame": int(track.indices[i]), **rec})
        shap_windows = None
        for method, explainer in temporal.items():
            e = explainer.attribute(torch.from_numpy(track.feats)[None].float(), target=t)[0]
            if method == "shap-windows":
                w = min(videos.window, len(track.times))
                starts = window_starts(len(track.times), w, videos.stride)
                spans = [[float(track.times[s]), float(track.times[s + w - 1])] for s in starts]
                shap_windows = list(zip(spans, e.map.tolist()))
            else:
                spans = [[float(v), float(v)] for v in track.times]
            base = out / f"{stem}-track{track.id}-{method}"
            np.save(base.with_suffix(".npy"), e.map)
            timeline(spans, e.map, base.with_suffix(".png"), title=f"{method}: contribution to '{t}' (track {track.id})")
            recs.append({"path": path, "face": track.boxes[int(np.argmax(probs))], "track": track.id, "method": method,
                         "target": t, "score": info.score, "map": str(base.with_suffix(".npy")),
                         "overlay": str(base.with_suffix(".png")), "times": spans, "seconds": e.seconds,
                         "signed": True, "params": e.params, "error": None, "_map": e.map})
        # The summary reads the most suspicious key frame's maps, and the track's windows.
        key = int(order[0]) if len(order) else 0
        first = [r for r in recs if r.get("frame") == int(track.indices[key])]
        label = verdict(info.score, videos.threshold)
        text, facts = summarize_face(label, info.score, videos.threshold, _evidence(first), track.landmarks(key))
        text = text.replace("The face is", f"Face track {track.id} is", 1)
        windows = [{"start": w.start, "end": w.end, "score": w.score} for w in result.windows if w.track == track.id]
        more, _ = summarize_windows(windows, videos.frame_threshold, shap_windows, target=t)
        for rec in recs:
            rec.pop("_map")
            yield {**rec, "regions": facts.get("regions", {}).get(rec["method"], [])[:3],
                   "summary": f"{text} {more}".strip()}


def attach_explanations(result, records: list[dict]) -> None:
    """Give an Analysis the summary and, per face, the most faithful map (`analyze --explain`)."""
    faces: dict = {}
    for r in records:
        if r.get("method") and r.get("error") is None:
            faces.setdefault((tuple(r["face"]), r.get("track")), []).append(r)
    summaries, best = [], []
    for recs in faces.values():
        image_recs = [r for r in recs if "deletion_auc" in r] or recs

        def gain(r):
            rnd = (r.get("baselines") or {}).get("random")
            return (r["insertion_auc"] - r["deletion_auc"]) - (rnd["insertion_auc"] - rnd["deletion_auc"]) if rnd else 0

        top = max(image_recs, key=gain)
        best.append({**{k: top.get(k) for k in ("face", "track", "time", "method", "map", "overlay", "deletion_auc",
                                                "insertion_auc", "baselines", "regions") if k in top},
                     "methods_run": sorted({r["method"] for r in recs})})
        if top.get("summary") and top["summary"] not in summaries:
            summaries.append(top["summary"])
    result.summary = " ".join(summaries) if summaries else None
    result.explanations = best
