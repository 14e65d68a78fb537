"""End-to-end video analysis, stage by stage (decode / detect / crop / classify / LSTM), with the
model loaded, on a synthetic 15 s 720p30 clip (always) and on real 720p clips from
../shared/data (when present), with each face detector (BlazeFace, the default, and dlib HOG) in
the same run, beside decoding alone (the same sampled frames); then the CLI's cold start beside
`fakelens --help`. Writes benchmarks/results/video.json. Target: <= 1.5 s per 15 s 720p clip warm.

    .venv/bin/python benchmarks/bench_video.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fakelens.video.analyze import VideoDetector
from fakelens.video.decode import read_video
from fakelens.video.synth import face_clips

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
STAGES = ("decode", "detect", "crop", "classify", "sequence")
OUT = Path(__file__).resolve().parent / "results" / "video.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--frames", type=int, default=32)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    synthetic, _ = face_clips(tmp, seconds=15, fps=30, size=(1280, 720))
    clips = {"synthetic 15 s 1280x720 h264 yuv420p": synthetic}
    for rel, name in [("videos-ffpp/real/youtube/c40/866.mp4", "FF++ 866 c40 17 s 1920x1080 yuv444p"),
                      ("videos-ffpp/real/youtube/c40/183.mp4", "FF++ 183 c40 13 s 1280x720 yuv444p"),
                      ("videos-ffpp/fake/FaceSwap/c40/672_720.mp4", "FF++ 672_720 c40 18 s 1280x720 yuv444p")]:
        if (DATA / rel).exists():
            clips[name] = DATA / rel
    base = VideoDetector.load()
    detectors = {name: VideoDetector(base.frames, base.video, face_detector=name)
                 for name in ("blazeface", "hog")}
    for vd in detectors.values():
        vd.analyze(synthetic)  # warm-up: ONNX session, allocators
    report = {"cpu_count": os.cpu_count(), "frames": args.frames, "repeat": args.repeat, "model": base.name,
              "clips": {}}
    print(f"{args.frames} sampled frames, median of {args.repeat}\n")
    print("| clip | face detector | " + " | ".join(STAGES) + " | total (s) | frames with a face |")
    print("|---|---|" + "---|" * (len(STAGES) + 2))
    detect = {name: [] for name in detectors}
    for name, path in clips.items():
        for det_name, vd in detectors.items():
            runs = []
            for _ in range(args.repeat):
                st = {}
                t = time.perf_counter()
                result = vd.analyze(path, num_frames=args.frames, stages=st)
                st["total"] = time.perf_counter() - t
                runs.append(st)
            med = {k: statistics.median(r[k] for r in runs) for k in (*STAGES, "total")}
            detect[det_name].append(med["detect"])
            found = len({f.index for f in result.frames or []})
            decode_only = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                read_video(path, num_frames=args.frames)
                decode_only.append(time.perf_counter() - t)
            med["decode_only"] = statistics.median(decode_only)
            report["clips"].setdefault(name, {})[det_name] = {**med, "x_decode_only": med["total"] / med["decode_only"],
                                                               "frames_with_a_face": found}
            print(f"| {name} | {det_name} | " + " | ".join(f"{med[k]:.3f}" for k in STAGES) +
                  f" | {med['total']:.2f} | {found} |")
    ratio = statistics.median(h / b for h, b in zip(detect["hog"], detect["blazeface"]))
    print(f"\ndetect stage, HOG / BlazeFace (median over clips, same run): {ratio:.2f}x")
    report["detect_hog_over_blazeface"] = ratio
    for name, rows in report["clips"].items():
        print(f"{name}: total {rows['blazeface']['total']:.2f} s = {rows['blazeface']['x_decode_only']:.2f}x decode only")
    print("\n| CLI cold start (new process: import, load both models, analyze the synthetic clip) | seconds |")
    print("|---|---|")
    cold = {}
    for label, cmd in (("analyze 15 s 720p clip", ["analyze", str(synthetic), "--format", "json", "--no-save"]),
                       ("--help", ["--help"])):
        runs = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "fakelens", *cmd], check=True, capture_output=True)
            runs.append(time.perf_counter() - t)
        cold[label] = statistics.median(runs)
        print(f"| `fakelens {' '.join(cmd[:1])}` | {cold[label]:.2f} |")
    cold["x_help"] = cold["analyze 15 s 720p clip"] / cold["--help"]
    report["cold_start"] = cold
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
