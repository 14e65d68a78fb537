"""`fakelens explain`: every face of every input, every chosen method -> .npy map, overlay PNG, one
`ExplanationRecord`. Torch is imported only for the methods that declare `needs_torch`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from PIL import Image

from fakelens.explain.registry import create_explainer, explainer_class, list_explainers
from fakelens.explain.render import overlay, superpixel_panels
from fakelens.explain.summary import MethodEvidence, summarize_face, summarize_windows
from fakelens.media import safe_stem
from fakelens.metrics.faithfulness import baselines, deletion_insertion
from fakelens.ops import sigmoid
from fakelens.records import ExplanationRecord, verdict
from fakelens.runtime import to_input

FAITHFULNESS_STEPS = 16  # deletion/insertion steps per curve (16-px patches: 100 units); 0 skips it


def parse_methods(spec: str) -> list[str]:
    """'all' or a comma-separated list of registered method names."""
    known = list_explainers()
    names = known if spec == "all" else [m.strip() for m in spec.split(",") if m.strip()]
    unknown = [m for m in names if m not in known]
    if unknown or not names:
        raise ValueError(f"unknown method(s) {unknown or spec!r}; known: {', '.join(known)}, or all")
    return names


def default_methods() -> list[str]:
    """What to explain with when the user names nothing: the methods that beat a random map in the
    100-face validation audit (docs/faithfulness.md) at a cost fit for every face: Grad-CAM and LIME
    with torch installed, LIME alone (ONNX Runtime) without it. Occlusion did not beat random there."""
    from fakelens.explain.base import torch_available

    return ["gradcam", "lime"] if torch_available() else ["lime"]


def _of(methods: list[str], explains: str) -> list[str]:
    return [m for m in methods if explainer_class(m).explains == explains]


def explain(result, methods: list[str], out: Path, images, videos=None, target: str = "verdict",
            options: dict[str, dict] | None = None, key_frames: int = 3, faithfulness: int = FAITHFULNESS_STEPS,
            drise_box: tuple[int, int, int, int] | None = None) -> Iterator[ExplanationRecord]:
    """Yield one record per (face, method) of an analysis (fakelens.pipeline.AnalysisResult), from the
    crops, landmarks and tracks it carries: nothing is decoded or detected again. An input that
    failed or holds no face yields one record saying so. `images` is the analysis's Detector.

    Videos: image methods explain the `key_frames` most suspicious frames of every face track, the
    sequence methods (shap-frames, shap-windows) the track's sequence (`videos`: the VideoDetector
    that analyzed it). `faithfulness` is the number of deletion/insertion steps measured per image
    map (0: not measured). `drise_box`: D-RISE explains this box (e.g. a face the detector missed)
    instead of the detections. A method that needs torch raises a one-line FakelensError without it.
    """
    for m in methods:
        explainer_class(m).require()
    record, path = result.record, result.record.path
    out.mkdir(parents=True, exist_ok=True)
    stem = safe_stem(path)
    if record.label == "error":
        yield ExplanationRecord(path, error=record.error)
        return
    image_methods = _of(methods, "classifier")
    if record.kind == "video":
        if record.label == "no_face" or not result.tracks:
            yield ExplanationRecord(path, label="no_face")
            return
        frame_logit = _frame_logit(videos)
        explainers = {m: _create(m, lambda: videos.frame_classifier, False, frame_logit, options) for m in image_methods}
        yield from _explain_video(videos, result, methods, explainers, frame_logit, out, stem, target, options,
                                  key_frames, faithfulness)
        return
    rgb = result.image
    if drise_box is not None and "detector" in {explainer_class(m).explains for m in methods}:
        yield replace(_drise_record(images, rgb, tuple(int(v) for v in drise_box), out, f"{stem}-box"),
                      path=path, face=list(drise_box), values=None)
    if not result.faces:
        yield ExplanationRecord(path, label="no_face")
        return
    explainers = {m: _create(m, lambda: images.model, images.flip, images.scorer, options) for m in image_methods}
    faces = result.faces
    crops = np.stack([f.crop for f in faces])
    scores = np.array([f.score for f in faces])
    tgts = [verdict(s, images.threshold) if target == "verdict" else target for s in scores]
    per_face: dict[int, list[ExplanationRecord]] = {}
    for i, rec in _explain_crops(explainers, images.scorer.fake_logit, crops, tgts, scores, out, stem,
                                 [f"face{i}" for i in range(len(crops))], faithfulness):
        per_face.setdefault(i, []).append(rec)
    whole = any(f.landmarks is None for f in faces)
    if _of(methods, "detector") and not whole and drise_box is None:
        for i, f in enumerate(faces):
            per_face.setdefault(i, []).append(_drise_record(images, rgb, tuple(f.box), out, f"{stem}-face{i}"))
    for i, recs in per_face.items():
        label = verdict(float(scores[i]), images.threshold)
        text, facts = summarize_face(label, float(scores[i]), images.threshold, _evidence(recs), faces[i].landmarks)
        for rec in recs:
            yield replace(rec, path=path, face=faces[i].box, crop_box=list(faces[i].square),
                          regions=facts.get("regions", {}).get(rec.method, [])[:3], summary=text)


def _create(method: str, torch_model: Callable, flip: bool, scorer, options: dict | None):
    """The explainer of a classifier method: on the torch twin (loaded only now) with the verdict's flip
    for the methods that need torch, else on what the verdict is computed with on ONNX Runtime (for
    images the ImageModel, whose fake logit averages the face and its mirror; for video frames the
    frame logit, which has no flip)."""
    opts = (options or {}).get(method, {})
    if explainer_class(method).needs_torch:
        return create_explainer(method, torch_model(), flip=flip, **opts)
    return create_explainer(method, scorer, **opts)


def _frame_logit(videos) -> Callable[[np.ndarray], np.ndarray]:
    """The frame logit the video verdict reads (the video model's frame head on the image model's
    pooled features, no flip: as VideoDetector.encode scores frames), on ONNX Runtime."""
    return lambda x: videos.video.run(videos.frames.scorer.run(x)[1])[0] if len(x) else np.zeros(0, np.float32)


def _drise_record(det, rgb: np.ndarray, box: tuple, out: Path, name: str) -> ExplanationRecord:
    """D-RISE on the face detector for one face: map over the region around it, overlay."""
    e = create_explainer("drise", det.faces).attribute(rgb, target=box)[0]
    base = out / f"{name}-drise"
    np.save(base.with_suffix(".npy"), e.map)
    x0, y0, x1, y1 = e.params["region"]
    # D-RISE maps sit on a high floor (most masks leave the face detectable): draw what rises above it.
    shown = np.clip(e.map - np.percentile(e.map, 5), 0, None)
    Image.fromarray(overlay(np.ascontiguousarray(rgb[y0:y1, x0:x1]), shown, False)).save(base.with_suffix(".png"))
    params = {k: v for k, v in e.params.items() if k != "region"}
    return ExplanationRecord("", method="drise", target=e.target, region=e.params["region"],
                             map=str(base.with_suffix(".npy")), overlay=str(base.with_suffix(".png")), seconds=e.seconds,
                             signed=False, params=params, values=e.map)


def _evidence(recs: list[ExplanationRecord]) -> list[MethodEvidence]:
    # Only attributions of the classifier are evidence for the verdict (not activations, not D-RISE).
    return [MethodEvidence(r.method, r.values, r.deletion_auc, r.insertion_auc, r.baselines or {})
            for r in recs if _is_evidence(r.method) and r.values is not None and np.ndim(r.values) == 2]


def _is_evidence(method: str) -> bool:
    cls = explainer_class(method)
    return cls.explains == "classifier" and cls.attribution


def _explain_crops(explainers: dict, logit: Callable, images: np.ndarray, tgts: list[str], scores, out: Path,
                   stem: str, names: list[str], faithfulness: int = FAITHFULNESS_STEPS
                   ) -> Iterator[tuple[int, ExplanationRecord]]:
    """Run every image explainer on face crops; save map and overlay; yield (crop index, record).

    With `faithfulness` > 0 (steps), each record gets deletion/insertion AUCs of the explained
    probability (from `logit`, the function the verdict is made of) and, once per face, those of a
    random and a centre-prior map (`baselines`)."""
    x = to_input(images)
    judged: dict[tuple[int, str], tuple] = {}

    def faithful(i: int, t: str, m: np.ndarray) -> dict:
        if not faithfulness or m.shape != tuple(x.shape[2:]):
            return {}
        if (i, t) not in judged:
            sign = 1.0 if t == "fake" else -1.0

            def prob(batch: np.ndarray) -> np.ndarray:
                return sigmoid(sign * logit(np.ascontiguousarray(batch.transpose(0, 3, 1, 2), np.float32)))

            image = np.ascontiguousarray(x[i].transpose(1, 2, 0))
            judged[(i, t)] = (prob, image, baselines(prob, image, faithfulness))
        prob, image, ref = judged[(i, t)]
        r = deletion_insertion(prob, image, m, faithfulness)
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
                yield i, ExplanationRecord("", method=method, target=t, score=round(float(scores[i]), 6),
                                           map=str(base.with_suffix(".npy")), overlay=str(base.with_suffix(".png")),
                                           seconds=e.seconds, signed=e.signed, params=e.params,
                                           **faithful(i, t, e.map), values=e.map)


def _explain_video(videos, analysis, methods: list[str], explainers: dict, frame_logit: Callable, out: Path, stem: str,
                   target: str, options: dict | None, key_frames: int, faithfulness: int) -> Iterator[ExplanationRecord]:
    from fakelens.explain.render import timeline
    from fakelens.video.track import window_starts

    result, details, path = analysis.record, analysis.tracks, analysis.record.path
    temporal = {m: create_explainer(m, videos.video, **(options or {}).get(m, {})) for m in _of(methods, "sequence")}
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
        for k, rec in _explain_crops(explainers, frame_logit, track.crops[order], [t] * len(order), probs[order], out,
                                     stem, names, faithfulness):
            i = int(order[k])
            recs.append(replace(rec, path=path, face=track.boxes[i], track=track.id, time=float(track.times[i]),
                                frame=int(track.indices[i])))
        shap_windows = None
        for method, explainer in temporal.items():
            e = explainer.attribute(track.pooled[None], target=t, scores=[info.score])[0]
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
            recs.append(ExplanationRecord(path, face=track.boxes[int(np.argmax(probs))], track=track.id, method=method,
                                          target=t, score=info.score, map=str(base.with_suffix(".npy")),
                                          overlay=str(base.with_suffix(".png")), times=spans, seconds=e.seconds,
                                          signed=True, params=e.params, values=e.map))
        # The summary reads the most suspicious key frame's maps, and the track's windows.
        key = int(order[0]) if len(order) else 0
        first = [r for r in recs if r.frame == int(track.indices[key])]
        label = verdict(info.score, videos.threshold)
        text, facts = summarize_face(label, info.score, videos.threshold, _evidence(first), track.landmarks(key))
        text = text.replace("The face is", f"Face track {track.id} is", 1)
        windows = [{"start": w.start, "end": w.end, "score": w.score} for w in result.windows if w.track == track.id]
        more, _ = summarize_windows(windows, videos.frame_threshold, shap_windows, target=t)
        for rec in recs:
            yield replace(rec, regions=facts.get("regions", {}).get(rec.method, [])[:3],
                          summary=f"{text} {more}".strip())


def attach_explanations(result, records: list[ExplanationRecord]) -> None:
    """Give an Analysis the summary and, per face, the most faithful map (`analyze --explain`)."""
    faces: dict = {}
    for r in records:
        if r.method and r.error is None:
            faces.setdefault((tuple(r.face), r.track), []).append(r)
    summaries, best = [], []
    for recs in faces.values():
        image_recs = [r for r in recs if r.deletion_auc is not None] or recs

        def gain(r):
            rnd = (r.baselines or {}).get("random")
            return (r.insertion_auc - r.deletion_auc) - (rnd["insertion_auc"] - rnd["deletion_auc"]) if rnd else 0

        top = max(image_recs, key=gain).to_dict()
        best.append({**{k: top.get(k) for k in ("face", "track", "time", "method", "map", "overlay", "deletion_auc",
                                                "insertion_auc", "baselines", "regions") if k in top},
                     # offered as evidence only when it beats a random map on the validated metric
                     "beats_random": bool(gain(max(image_recs, key=gain)) > 0),
                     "methods_run": sorted({r.method for r in recs})})
        if top.get("summary") and top["summary"] not in summaries:
            summaries.append(top["summary"])
    result.summary = " ".join(summaries) if summaries else None
    result.explanations = best
