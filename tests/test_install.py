"""A plain `pip install` of the checkout (no extras) into a fresh virtual environment: no torch, and it
still analyzes a photo and a clip; the gradient explainers then say which extra they need.

Marked `install` (about a minute, most of it pip): `.ci/run` runs it after `make test`."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.install


def test_plain_install_has_no_torch_and_analyzes_a_photo_and_a_clip(tmp_path):
    from skimage import data

    from fakelens.video.synth import face_clips

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(REPO)],
                         capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr[-2000:]
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format", "json"],
                            capture_output=True, text=True, check=True).stdout
    names = {p["name"].lower() for p in json.loads(listed)}
    assert not names & {"torch", "captum", "onnx", "torchvision"}, names & {"torch", "captum", "onnx"}
    photo = tmp_path / "astronaut.png"
    Image.fromarray(data.astronaut()).save(photo)
    real, _ = face_clips(tmp_path / "clips", seconds=2.0)
    env = {"FAKELENS_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([str(venv / "bin" / "fakelens"), "analyze", str(photo), str(real), "--format", "json"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert [rec["kind"] for rec in records] == ["image", "video"]
    assert all(rec["label"] in ("real", "fake") for rec in records)
    r = subprocess.run([str(venv / "bin" / "fakelens"), "explain", str(photo), "--method", "gradcam",
                        "--out", str(tmp_path / "expl")], capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "fakelens[torch]" in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]
