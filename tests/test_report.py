"""The HTML report: self-contained (no external resource), and it states the verdict and the evidence."""

import hashlib
import re

from typer.testing import CliRunner

from fakelens.cli import app


def _check_self_contained(html: str):
    assert "<script" not in html and "http://" not in html and "https://" not in html
    sources = re.findall(r'src="([^"]+)"', html)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)


def test_image_report(tiny_checkpoint, astronaut_path, tmp_path):
    out = tmp_path / "report.html"
    r = CliRunner().invoke(app, ["analyze", str(astronaut_path), "--model", str(tiny_checkpoint), "--report", str(out),
                                 "--explain-out", str(tmp_path / "ex"), "--format", "json"])
    assert r.exit_code == 0, r.output
    html = out.read_text()
    _check_self_contained(html)
    label = re.search(r'"label": "(\w+)"', r.stdout).group(1)
    assert f"Verdict: <b>{label}</b>" in html
    assert hashlib.sha256(astronaut_path.read_bytes()).hexdigest() in html
    assert "gradcam" in html and "occlusion" in html and "deletion AUC" in html  # the default evidence
    assert "The face is classified" in html and "Model card" in html


def test_video_report_has_a_timeline_and_error_reports_say_why(tiny_checkpoint, tiny_video_model, tmp_path):
    from fakelens.video.synth import face_clips

    real, _ = face_clips(tmp_path / "clips", seconds=2)
    (tmp_path / "empty.mp4").write_bytes(b"")
    r = CliRunner().invoke(app, ["analyze", str(real), str(tmp_path / "empty.mp4"), "--model", str(tiny_checkpoint),
                                 "--video-model", str(tiny_video_model), "--report", str(tmp_path / "reports"), "--explain", "gradcam",
                                 "--explain-out", str(tmp_path / "ex")])
    assert r.exit_code == 1  # the empty file fails, the clip is still analyzed and reported
    reports = {p.name.split("-")[0]: p.read_text() for p in (tmp_path / "reports").glob("*.html")}
    assert set(reports) == {"astronaut", "empty"}
    _check_self_contained(reports["astronaut"])
    assert "Timeline" in reports["astronaut"] and "duration" in reports["astronaut"]
    assert "Verdict: <b>error</b>" in reports["empty"] and "empty file" in reports["empty"]
