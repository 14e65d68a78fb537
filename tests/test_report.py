"""The HTML report: self-contained (no external resource), and it states the verdict and the evidence."""

import hashlib
import re

from typer.testing import CliRunner

from fakelens.cli import app


def _check_self_contained(html: str):
    assert "<script" not in html and "http://" not in html and "https://" not in html
    sources = re.findall(r'src="([^"]+)"', html)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html).group(1)
    assert "default-src 'none'" in csp and "script-src" not in csp  # the file runs no script at all


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
    assert "gradcam" in html and "lime" in html and "deletion AUC" in html  # the default evidence
    assert "The face is classified" in html and "Model card" in html
    assert "<title>fakelens report: astronaut.png</title>" in html
    assert '<svg class="gauge"' in html and "threshold 0.500" in html  # the score against the threshold
    card = html.split("<h2>Model card</h2>", 1)[1]
    assert "<h3>" in card and "<table>" in card and "<td>" in card and "| ---" not in card  # Markdown rendered


def test_report_names_the_upload_and_escapes_markup(tmp_path):
    from fakelens.records import Analysis
    from fakelens.report import render_report

    a = Analysis(path=str(tmp_path / "0123abcd.img"), kind="image", label="no_face", score=None, faces=[],
                 model="m", threshold=0.5)
    html = render_report(a, name="<b>holiday</b> photo.jpg", feedback_id=7)
    assert "<title>fakelens report: &lt;b&gt;holiday&lt;/b&gt; photo.jpg</title>" in html and "0123abcd" not in html
    assert '<script src="/static/report.js" defer></script>' in html and 'data-analysis="7"' in html


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
    svg = re.search(r'<svg class="timeline".*?</svg>', reports["astronaut"], re.S).group(0)  # inline, no script
    assert "<circle" in svg and "<polyline" in svg and "threshold" in svg and "<script" not in svg
    assert "Verdict: <b>error</b>" in reports["empty"] and "empty file" in reports["empty"]
