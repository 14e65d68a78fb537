"""Videos: decoding and sampling, damaged files, tracking, windows, the analyze contract, training."""

import json

import numpy as np
import pytest
import torch
from fuzz_corpus import write_audio_only
from typer.testing import CliRunner

from fakelens.cli import app
from fakelens.errors import InputError
from fakelens.video import is_video, link_tracks, read_video, window_starts
from fakelens.video.model import SequenceClassifier, save_sequence_model
from fakelens.video.analyze import VideoDetector
from fakelens.video.synth import face_clips, write_clip

runner = CliRunner()


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    """The demo's real and self-blended astronaut clips (3 s, 15 fps, 640x360) and a clip with no face."""
    from skimage import data

    d = tmp_path_factory.mktemp("clips")
    real, fake = face_clips(d)
    empty = write_clip(d / "no-face.mp4", [np.ascontiguousarray(data.coffee()[:360, :600])] * 10, fps=5)
    return {"real": real, "fake": fake, "no_face": empty}


def test_uniform_sampling_every_and_fps(clips):
    frames, info = read_video(clips["real"], num_frames=32)
    assert (info.width, info.height, info.fps, info.frames) == (640, 360, 15.0, 45)
    assert abs(info.duration - 3.0) < 0.1 and len(frames) == 32
    idx = [f.index for f in frames]
    assert idx[0] == 0 and idx[-1] == 44 and np.all(np.diff(idx) > 0)
    times = np.array([f.time for f in frames])
    assert np.allclose(times, np.array(idx) / 15.0, atol=1e-3)
    assert frames[0].rgb.shape == (360, 640, 3) and frames[0].rgb.dtype == np.uint8
    assert [f.index for f in read_video(clips["real"], every=10)[0]] == [0, 10, 20, 30, 40]
    assert len(read_video(clips["real"], fps=5)[0]) == 15
    small, _ = read_video(clips["real"], num_frames=2, max_side=320)
    assert small[0].rgb.shape == (180, 320, 3)


def test_sampling_is_capped_by_memory_and_says_so(clips, monkeypatch):
    """A dense request (every frame of a long clip, or a header claiming 10^8 frames) is thinned out evenly
    to what FRAME_MEMORY holds, with a warning, and no index array longer than the cap is made."""
    from fakelens.video import decode

    assert len(decode.sample_indices(10**8, every=1, max_frames=500)) == 500
    assert len(decode.sample_indices(10**8, fps=30.0, stream_fps=30.0, max_frames=500)) == 500
    assert decode.sample_indices(45, every=1, max_frames=10).tolist() == [0, 5, 10, 15, 20, 25, 30, 35, 40]
    assert decode.frames_asked(10**8, every=1) == 10**8
    monkeypatch.setattr(decode, "FRAME_MEMORY", 640 * 360 * 3 * 9)  # room for 9 frames of this clip
    frames, info = read_video(clips["real"], every=1)
    assert [f.index for f in frames] == [0, 5, 10, 15, 20, 25, 30, 35, 40]
    assert info.warnings == ["45 frames asked for; 9 sampled evenly instead, to keep this video's frames within 5 MiB of memory"]
    assert read_video(clips["real"], every=5)[1].warnings == []  # within the cap: as asked, nothing said


@pytest.mark.parametrize("name,codec", [("clip.webm", "libvpx-vp9"), ("clip.avi", "mpeg4"), ("clip.mov", "libx264"),
                                        ("clip.mkv", "libx264")])
def test_other_containers_and_codecs(name, codec, tmp_path):
    from skimage import data

    frames = [np.ascontiguousarray(np.roll(data.astronaut()[:256, :320], 8 * t, axis=1)) for t in range(12)]
    path = write_clip(tmp_path / name, frames, fps=12, codec=codec)
    decoded, info = read_video(path, num_frames=6)
    assert is_video(path) and len(decoded) == 6 and (info.width, info.height) == (320, 256)
    assert float(np.abs(decoded[0].rgb.astype(int) - frames[0]).mean()) < 12  # the picture survives the codec


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_display_rotation_is_honoured(rotation, tmp_path):
    """Phones store portrait video as landscape frames plus a display matrix: frames come back upright."""
    from skimage import data

    frame = np.ascontiguousarray(data.astronaut()[:256, :320])
    path = write_clip(tmp_path / "phone.mp4", [frame] * 6, fps=6, rotation=rotation)
    decoded, info = read_video(path, num_frames=2)
    upright = np.rot90(frame, rotation // 90)  # the display matrix turns counter-clockwise, as np.rot90
    assert decoded[0].rgb.shape == upright.shape and (info.width, info.height) == upright.shape[1::-1]
    assert float(np.abs(decoded[0].rgb.astype(int) - upright).mean()) < 6


def test_sniffing_by_content(clips, astronaut_path, tmp_path):
    renamed = tmp_path / "clip.jpg"
    renamed.write_bytes(clips["real"].read_bytes())
    assert is_video(renamed) and is_video(clips["real"]) and not is_video(astronaut_path)


def test_damaged_videos_give_one_line_errors(clips, tmp_path):
    raw = clips["real"].read_bytes()
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "truncated.mp4").write_bytes(raw[: len(raw) // 3])
    (tmp_path / "text.mp4").write_text("not a video\n")
    write_audio_only(tmp_path / "audio.m4a")
    expected = {"empty.mp4": "empty file", "truncated.mp4": "not a readable video", "text.mp4": "not a readable video",
                "audio.m4a": "no video stream (audio only)"}
    for name, message in expected.items():
        with pytest.raises(InputError) as e:
            read_video(tmp_path / name)
        assert message in str(e.value) and "\n" not in str(e.value), (name, e.value)


def test_partly_corrupt_video_is_analyzed_on_what_decodes(clips, tmp_path):
    raw = bytearray(clips["real"].read_bytes())
    rng = np.random.default_rng(0)
    for j in rng.integers(len(raw) // 3, len(raw) * 2 // 3, 40):  # zero runs in the middle of the stream
        raw[j:j + 64] = bytes(64)
    p = tmp_path / "corrupt.mp4"
    p.write_bytes(bytes(raw))
    frames, info = read_video(p)
    assert 0 < len(frames) < 32 and info.damaged_packets > 0
    assert any("damaged" in w for w in info.warnings)


def test_tracks_follow_faces_across_gaps():
    a = [(10 + 5 * t, 10, 60 + 5 * t, 60) for t in range(6)]
    b = [(200, 100 + 3 * t, 260, 160 + 3 * t) for t in range(6)]
    frames = [[a[t], b[t]] if t != 2 else [b[t]] for t in range(6)]  # face a missed in frame 2
    tracks = link_tracks(frames)
    assert len(tracks) == 2
    by_first_box = {tr.boxes[0]: tr for tr in tracks}
    assert [m[0] for m in by_first_box[a[0]].members] == [0, 1, 3, 4, 5]
    assert [m[0] for m in by_first_box[b[0]].members] == [0, 1, 2, 3, 4, 5]
    assert len(link_tracks([[a[0]], [(400, 400, 450, 450)]])) == 2  # no overlap: a new track


@pytest.mark.parametrize("n,w,s", [(32, 4, 2), (31, 4, 2), (10, 4, 3), (3, 4, 2), (1, 1, 1)])
def test_windows_are_means_of_frame_features(n, w, s):
    model = SequenceClassifier(feature_dim=3, hidden=4, window=w, stride=s)
    x = torch.randn(2, n, 3)
    a = model.windows(x)
    starts = window_starts(n, min(w, n), s)
    expected = torch.stack([x[:, i:i + min(w, n)].mean(1) for i in starts], dim=1)
    assert torch.allclose(a, expected) and int(starts[-1]) + min(w, n) == n


def test_analyze_video_contract(clips, tiny_checkpoint, tiny_video_model):
    r = runner.invoke(app, ["analyze", str(clips["real"]), str(clips["no_face"]), "--format", "json",
                            "--model", str(tiny_checkpoint), "--video-model", str(tiny_video_model)])
    assert r.exit_code == 0, r.output
    rec, empty = [json.loads(line) for line in r.stdout.splitlines()]
    assert rec["kind"] == "video" and rec["label"] in ("real", "fake") and 0 <= rec["score"] <= 1
    assert (rec["width"], rec["height"], rec["fps"]) == (640, 360, 15.0) and abs(rec["duration"] - 3) < 0.1
    assert len(rec["frames"]) >= 28 and len(rec["tracks"]) == 1  # one face, followed through the clip
    track = rec["tracks"][0]
    assert track["frames"] == len(rec["frames"]) and rec["score"] == track["score"] == rec["faces"][0]["score"]
    times = [f["time"] for f in rec["frames"]]
    assert times == sorted(times) and 0 <= times[0] < times[-1] <= rec["duration"]
    for f in rec["frames"]:
        x0, y0, x1, y1 = f["box"]
        assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 360 and 0 <= f["score"] <= 1
    assert len(rec["windows"]) == len(window_starts(track["frames"], 4, 2))
    assert all(w["start"] <= w["end"] for w in rec["windows"])
    assert empty["label"] == "no_face" and empty["score"] is None and empty["frames"] == []


def test_bad_videos_do_not_stop_the_run(clips, tiny_checkpoint, tiny_video_model, astronaut_path, tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    write_audio_only(tmp_path / "audio.mp4")
    r = runner.invoke(app, ["analyze", str(tmp_path / "empty.mp4"), str(tmp_path / "audio.mp4"), str(astronaut_path),
                            str(clips["real"]), "--format", "json", "--model", str(tiny_checkpoint),
                            "--video-model", str(tiny_video_model)])
    assert r.exit_code == 1 and "Traceback" not in r.output
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [x["label"] for x in recs[:2]] == ["error", "error"] and all(x["kind"] == "video" for x in recs[:2])
    assert recs[2]["kind"] == "image" and recs[3]["kind"] == "video"
    assert recs[2]["label"] != "error" and recs[3]["label"] != "error"


def test_read_ahead_gives_the_same_records_and_decodes_once(clips, tiny_checkpoint, tiny_video_model, tmp_path,
                                                          monkeypatch):
    """A cold CLI decodes its first video while the models load: the same record as decoding after them,
    the file decoded once, and a damaged file the same one-line error."""
    import fakelens.video.analyze as video_analyze
    import fakelens.video.decode as decode
    from fakelens.pipeline import AnalysisOptions, Analyzer

    calls = []

    def counted(*args, **kwargs):
        calls.append(str(args[0]))
        return read_video(*args, **kwargs)

    monkeypatch.setattr(decode, "read_video", counted)
    monkeypatch.setattr(video_analyze, "read_video", counted)
    (tmp_path / "empty.mp4").write_bytes(b"")
    options = AnalysisOptions(model=str(tiny_checkpoint), video_model=str(tiny_video_model), frames=12)

    def records(read_ahead: bool) -> list[dict]:
        out = []
        for path in (clips["fake"], tmp_path / "empty.mp4"):
            analyzer = Analyzer(options)
            if read_ahead:
                analyzer.read_ahead(path)
                assert list(analyzer._ahead) == [str(path)]  # decoding before any model is loaded
            out.append({k: v for k, v in analyzer.analyze(path).record.to_dict().items() if k != "seconds"})
            analyzer.read_ahead(clips["real"])  # loaded models: nothing is read ahead
            assert not analyzer._ahead
        return out

    plain = records(read_ahead=False)
    assert calls == [str(clips["fake"]), str(tmp_path / "empty.mp4")]
    calls.clear()
    ahead = records(read_ahead=True)
    assert calls == [str(clips["fake"]), str(tmp_path / "empty.mp4")]  # each file once, ahead of the models
    assert ahead == plain and plain[0]["label"] in ("real", "fake") and len(plain[0]["frames"]) >= 10
    assert plain[1]["label"] == "error" and "empty file" in plain[1]["error"]


def test_video_model_refuses_another_frame_model(tiny_video_model, tmp_path):
    from fakelens.detector import Detector
    from fakelens.errors import ModelError
    from fakelens.models import create_model, save_checkpoint

    from fakelens.models.export import export

    other = tmp_path / "other.safetensors"
    save_checkpoint(create_model("tiny-cnn", input_size=64), other, {"crop_scale": 1.3})
    export(other)
    vd = VideoDetector.load(tiny_video_model, frames=Detector.load(other))
    assert vd.frames.path.name == "tiny.safetensors"  # it loads its own frame model instead
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"junk")
    with pytest.raises(ModelError):
        VideoDetector.load(bad)


def test_temporal_shap_finds_the_planted_flicker_frame(tmp_path):
    """A sequence model trained to flag one flickering frame, exported and run on ONNX Runtime as
    analysis runs it: shap-frames must put the most mass on that frame, shap-windows on a window that
    holds it, and both must sum to f(track) - f(all reference)."""
    from fakelens.explain import create_explainer
    from fakelens.models.export import export
    from fakelens.runtime import VideoModel

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = SequenceClassifier(feature_dim=4, hidden=16, window=2, stride=2, dropout=0.0, frame_head=4)
    head = model.frame_head  # an identity frame head: the frame features are the pooled features
    with torch.no_grad():
        head.fc1.weight.copy_(torch.eye(4))
        head.fc1.bias.zero_()
    head.eval()
    opt = torch.optim.Adam([p for n, p in model.named_parameters() if not n.startswith("frame_head")], lr=1e-2)

    def batch(n=64):
        x = np.clip(rng.normal(1.0, 0.3, (n, 8, 4)), 0.05, None).astype(np.float32)  # positive: through the ReLU
        y = rng.integers(0, 2, n)
        for i in np.flatnonzero(y):
            x[i, rng.integers(0, 8), 0] += 3.0  # the flicker
        return torch.from_numpy(x), torch.from_numpy(y).float()

    for _ in range(300):
        x, y = batch()
        feats = torch.stack([head.relu(head.bn(head.fc1(v))) for v in x])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(feats), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():  # "removed" means the mean frame of real tracks
        model.reference.copy_(head.relu(head.bn(head.fc1(batch(256)[0][:, :, :].reshape(-1, 4)))).mean(0))
    path = tmp_path / "flicker.safetensors"
    save_sequence_model(model, path, {"threshold": 0.5})
    export(path)
    video = VideoModel(path)
    x = np.clip(rng.normal(1.0, 0.3, (8, 4)), 0.05, None).astype(np.float32)
    x[5, 0] += 3.0
    frames = create_explainer("shap-frames", video, samples=400).attribute(x[None], target="fake")[0]
    windows = create_explainer("shap-windows", video, samples=200).attribute(x[None], target="fake")[0]
    assert frames.map.shape == (8,) and windows.map.shape == (4,)
    assert int(np.argmax(frames.map)) == 5 and int(np.argmax(windows.map)) == 2  # window 2 = frames 4-5
    gap = video.clip_probs(x)[0] - video.clip_probs(x, keep=np.zeros((1, 8), np.float32))[0]
    assert frames.score > 0.6 and abs(frames.map.sum() - gap) < 1e-4 and abs(windows.map.sum() - gap) < 1e-4


def test_explain_video_writes_key_frames_and_timelines(clips, tiny_checkpoint, tiny_video_model, tmp_path):
    r = runner.invoke(app, ["explain", str(clips["fake"]), "--method", "gradcam,shap-frames,shap-windows",
                            "--out", str(tmp_path), "--format", "json", "--model", str(tiny_checkpoint),
                            "--video-model", str(tiny_video_model), "--key-frames", "2"])
    assert r.exit_code == 0, r.output
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    assert sorted(x["method"] for x in recs) == ["gradcam", "gradcam", "shap-frames", "shap-windows"]
    assert len({x["map"] for x in recs}) == 4  # key frames never overwrite each other's files
    for rec in recs:
        assert rec["track"] == 0 and (tmp_path / rec["overlay"]).exists() and rec["error"] is None
        m = np.load(rec["map"])
        if rec["method"] == "gradcam":
            assert m.shape == (64, 64) and 0 <= rec["time"] <= 3
            assert f"-t{rec['time']:07.2f}s".replace(".", "_") in rec["map"]  # the full time, never cut at its dot
        else:
            assert m.shape == (len(rec["times"]),) and rec["signed"]
    frames_rec = next(x for x in recs if x["method"] == "shap-frames")
    assert len(frames_rec["times"]) >= 28


def test_shap_over_frames_runs_without_torch(clips, tiny_checkpoint, tiny_video_model, tmp_path):
    """SHAP over frames and windows run on the video model's ONNX graph: no torch in the process."""
    import subprocess
    import sys

    from test_explain import NO_TORCH_CLI

    r = subprocess.run([sys.executable, "-c", NO_TORCH_CLI, "explain", str(clips["fake"]), "--method",
                        "shap-frames,shap-windows", "--out", str(tmp_path), "--format", "json", "--model",
                        str(tiny_checkpoint), "--video-model", str(tiny_video_model)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    assert sorted(x["method"] for x in recs) == ["shap-frames", "shap-windows"]
    assert all(x["error"] is None and np.load(x["map"]).shape == (len(x["times"]),) for x in recs)


def test_shipped_models_rank_the_self_blended_clip_above_the_real_one(clips):
    """The demo's pair through the shipped image + video models: the blend must raise the frame
    scores (every frame carries it) and the sequence score."""
    vd = VideoDetector.load()
    real, fake = vd.analyze(clips["real"]), vd.analyze(clips["fake"])
    assert real.label != "error" and fake.label != "error"
    assert fake.tracks[0].frame_mean > real.tracks[0].frame_mean + 0.2
    assert fake.score > real.score


def test_sparse_samples_are_reached_by_seeking_with_the_same_frames(tmp_path):
    """A long clip sampled sparsely: seeking must return the very frames reading in order returns."""
    base = np.zeros((96, 160, 3), np.uint8)
    frames = []
    for t in range(900):  # 60 s at 15 fps; frame t carries its number as a bar position and a grey level
        f = base.copy()
        f[:, (t * 7) % 150:(t * 7) % 150 + 10] = 255
        f[..., 1] = t % 200
        frames.append(f)
    path = write_clip(tmp_path / "long.mp4", frames, fps=15)
    seeked, info = read_video(path, num_frames=3)  # 450 frames apart: above SEEK_GAP
    ordered, _ = read_video(path, num_frames=3, seek=False)
    assert [f.index for f in seeked] == [f.index for f in ordered] == [0, 450, 899]
    assert info.decoded == 3  # reached by seeking, not by decoding all 900
    for a, b in zip(seeked, ordered):
        assert a.time == pytest.approx(b.time, abs=1e-3) and np.array_equal(a.rgb, b.rgb)


def test_unreferenced_frames_are_skipped_and_the_sampled_frames_are_the_same(tmp_path, monkeypatch):
    """x264 with B-frames: frames neither sampled nor referenced are not decoded, and every sampled frame
    is the very frame (its number drawn in it) that decoding everything gives."""
    import fakelens.video.decode as decode

    frames = []
    for t in range(150):
        f = np.zeros((96, 160, 3), np.uint8)
        f[:, t % 150:t % 150 + 10] = 255  # the frame's number as a bar position
        frames.append(f)
    path = write_clip(tmp_path / "numbered.mp4", frames, fps=15)
    skipped, info = read_video(path, every=10)
    monkeypatch.setattr(decode, "_unreferenced_h264", lambda stream: None)
    full, full_info = read_video(path, every=10)
    assert [f.index for f in skipped] == [f.index for f in full] == list(range(0, 150, 10))
    assert info.decoded < 0.8 * full_info.decoded  # a fifth or more never decoded (98 of 141 here)
    for a, b in zip(skipped, full):
        assert a.time == b.time and np.array_equal(a.rgb, b.rgb)
        assert abs(int(np.argmax(a.rgb[48, :, 0] > 128)) - a.index % 150) <= 1  # the bar says which frame it is


def test_tuning_the_frame_head_learns_a_trace_only_video_frames_carry():
    """Known answer: fake clips' pooled features carry a planted direction the image head ignores;
    the tuned head must separate their frames, while still scoring image features as before."""
    from fakelens.models.head import ClassifierHead
    from fakelens.video.train import ClipFeatures, VideoTrainConfig, tune_frame_head, with_head

    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    base = ClassifierHead(64, 16).eval()
    trace = np.zeros(64, np.float32)
    trace[7] = 3.0

    def clip(label, k):
        pooled = np.abs(rng.normal(1, 0.5, (20, 64))).astype(np.float32) + label * trace
        return ClipFeatures(f"c{k}", label, f"g{k}", "toy", np.arange(20.0), np.zeros(20), np.zeros((20, 16)),
                            pooled=pooled)

    clips = [clip(k % 2, k) for k in range(12)]
    images = (np.abs(rng.normal(1, 0.5, (200, 64))).astype(np.float32), rng.integers(0, 2, 200).astype(np.float32))
    head = tune_frame_head(base, clips, images, VideoTrainConfig(data=[], head_steps=300, head_lr=3e-3))
    tuned = with_head(head, clips)
    from sklearn.metrics import roc_auc_score

    y = np.concatenate([np.full(20, c.label) for c in clips])
    before = roc_auc_score(y, np.concatenate([c.logits for c in with_head(base, clips)]))
    after = roc_auc_score(y, np.concatenate([c.logits for c in tuned]))
    assert after > 0.99 and before < 0.9, (before, after)
    assert tuned[0].feats.shape == (20, 16) and base.fc1.weight.requires_grad  # the base head is left as it was


def test_train_video_end_to_end_with_a_tuned_frame_head(tmp_path, tiny_checkpoint, monkeypatch):
    from PIL import Image
    from skimage import data

    from fakelens.detector import Detector
    from fakelens.video.model import head_outputs

    monkeypatch.setenv("FAKELENS_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "data"
    rows = ["path,label,group"]
    for k in range(2):  # two groups, each a real clip and its self-blended fake
        real, fake = face_clips(root / "clips", seconds=1.0, fps=10, size=(320, 180), seed=k)
        real = real.rename(real.with_name(f"real{k}.mp4"))
        fake = fake.rename(fake.with_name(f"fake{k}.mp4"))
        rows += [f"{real.name},real,g{k}", f"{fake.name},fake,g{k}"]
    (root / "clips" / "labels.csv").write_text("\n".join(rows) + "\n")
    for label in ("real", "fake"):
        (root / "faces" / label).mkdir(parents=True)
        for k in range(6):
            Image.fromarray(np.roll(data.astronaut(), 7 * k, axis=1)).save(root / "faces" / label / f"{k}.jpg")
    out = tmp_path / "run"
    r = runner.invoke(app, ["train-video", str(root), "--out", str(out), "--frame-model", str(tiny_checkpoint),
                            "--steps", "20", "--sbi-copies", "1"])
    assert r.exit_code == 0, r.output
    report = json.loads((out / "report.json").read_text())
    assert report["clips_with_faces"] == 4 and report["synthetic_fakes"] == 2
    assert report["image_faces_for_frame_head"] > 0 and len(report["cross_validation"]["models"]) == 4
    frames = Detector.load(tiny_checkpoint)
    vd = VideoDetector.load(out / "video.safetensors", frames=frames)
    assert vd.sequence.frame_head is not None and vd.frame_threshold == 0.5
    crops = np.stack([np.full((64, 64, 3), v, np.uint8) for v in (40, 120, 200)])
    x = torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 255
    logits = vd.frame_scorer.fake_logit(x.numpy())  # the ONNX graphs analysis runs
    with torch.no_grad():
        pooled = frames.model.features(x).mean((2, 3))
        want = head_outputs(vd.sequence.frame_head, pooled)[:, 0].numpy()
        image_logits = frames.model(x).numpy()
    assert np.allclose(logits, want, atol=1e-3) and not np.allclose(logits, image_logits, atol=1e-3)
    with torch.no_grad():  # key frames are explained on the classifier whose logits the frame scores are
        assert np.allclose(vd.frame_classifier(x).numpy(), want, atol=1e-3)
    with torch.no_grad():  # the image model itself is left as it was
        assert vd.frame_classifier.backbone is frames.model.backbone and np.allclose(frames.model(x).numpy(), image_logits)
    a = vd.analyze(root / "clips" / "fake0.mp4")
    assert a.label in ("real", "fake") and a.frames and a.windows
