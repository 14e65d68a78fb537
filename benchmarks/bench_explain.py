"""Seconds per face for every explanation method on the shipped model, and, on the same face and
model, the peers: the `lime` package's LIME and Captum's Lime, KernelShap and LayerGradCam.
Prints a table with the ratio peer / fakelens."""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from fakelens.detector import Detector
from fakelens.explain import create_explainer, list_explainers
from fakelens.explain.registry import explainer_class
from fakelens.faces import crop_faces


def face_tensor(det: Detector) -> tuple[np.ndarray, torch.Tensor]:
    from skimage import data

    img = data.astronaut()
    face = det.faces.detect(img, landmarks=True)[0]
    crop = crop_faces(img, [face], det.input_size, det.crop_scale)[0].image
    return crop, torch.from_numpy(crop).permute(2, 0, 1).float().div(255).unsqueeze(0)


def seconds(fn, repeat: int) -> float:
    """Median over `repeat` timed calls after one warm-up call; repeat=0 times a single cold call."""
    if repeat == 0:
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t
    fn()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--methods", default="all")
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args()
    det = Detector.load()
    crop, x = face_tensor(det)
    model = det.model
    score = float(det.score_crops(crop[None])[0])
    settings = {"lime": {"samples": 1000}, "shap": {"samples": 1000}, "rise": {"masks": 4000}}
    ours = {}
    methods = ([m for m in list_explainers() if explainer_class(m).input_dims == 4] if args.methods == "all"
               else args.methods.split(","))
    for m in methods:
        ex = create_explainer(m, model, **settings.get(m, {}))
        rep = 1 if m in ("lime", "shap", "rise") else args.repeat
        ours[m] = seconds(lambda: ex.attribute(x, scores=[score]), rep)  # the Detector's score is known already
    peers = {}
    if not args.no_peers:
        from captum.attr import KernelShap, LayerGradCam
        from captum.attr import Lime as CaptumLime
        from lime import lime_image

        from fakelens.explain.superpixels import segment

        seg = torch.from_numpy(segment(crop)).view(1, 1, *crop.shape[:2]).expand(1, 3, -1, -1)
        prob = lambda t: torch.sigmoid(model(t))  # noqa: E731
        gc = LayerGradCam(model, model.backbone)
        peers["gradcam"] = ("Captum LayerGradCam", seconds(lambda: gc.attribute(x.clone().requires_grad_(True)), args.repeat))
        cl = CaptumLime(prob)
        peers["lime"] = ("Captum Lime, 1000 samples, batch 64",
                         seconds(lambda: cl.attribute(x, feature_mask=seg, n_samples=1000, perturbations_per_eval=64), 0))
        ks = KernelShap(prob)
        peers["shap"] = ("Captum KernelShap, 1000 samples, batch 64",
                         seconds(lambda: ks.attribute(x, feature_mask=seg, n_samples=1000, perturbations_per_eval=64), 0))

        def classifier(batch: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                p = torch.sigmoid(model(torch.from_numpy(batch).permute(0, 3, 1, 2).float().div(255))).numpy()
            return np.stack([1 - p, p], axis=1)

        explainer = lime_image.LimeImageExplainer(random_state=0)
        from lime.wrappers.scikit_image import SegmentationAlgorithm

        qs = SegmentationAlgorithm("quickshift", kernel_size=4, max_dist=200, ratio=0.2, random_seed=0)
        t = time.perf_counter()
        explainer.explain_instance(crop, classifier, labels=(1,), top_labels=None, num_samples=1000,
                                   segmentation_fn=qs, batch_size=64)
        peers["lime-package"] = ("`lime` package, 1000 samples, batch 64", time.perf_counter() - t)

    print(f"explanation time per face ({det.name}, {det.input_size} px, {torch.get_num_threads()} threads)")
    print("| method | fakelens s | peer | peer s | peer / fakelens |")
    print("|---|---|---|---|---|")
    for m, s in ours.items():
        rows = [peers[k] for k in (m, "lime-package" if m == "lime" else None) if k in peers]
        if not rows:
            print(f"| {m} | {s:.3f} | | | |")
        for name, ps in rows:
            print(f"| {m} | {s:.3f} | {name} | {ps:.3f} | {ps / s:.1f}x |")


if __name__ == "__main__":
    main()
