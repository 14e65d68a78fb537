from collections import Counter

import numpy as np

from fakelens.data import Sample, group_kfold, group_split


def _samples(n_groups=120, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for g in range(n_groups):
        src = "a" if g % 3 else "b"
        for j in range(int(rng.integers(1, 5))):
            out.append(Sample(f"{src}/{g}_{j}.jpg", int((g + j) % 2), f"{src}/{g}", src))
    return out


def test_groups_never_straddle_splits_and_ratios_hold():
    samples = _samples()
    split = group_split(samples, (4, 1, 1), seed=3)
    assert sorted(i for v in split.values() for i in v) == list(range(len(samples)))
    groups = {k: {samples[i].group for i in v} for k, v in split.items()}
    assert not (groups["train"] & groups["val"]) and not (groups["train"] & groups["test"]) and not (groups["val"] & groups["test"])
    frac = {k: len(v) / len(samples) for k, v in split.items()}
    assert abs(frac["train"] - 4 / 6) < 0.08 and abs(frac["test"] - 1 / 6) < 0.06
    # every source appears in every split (stratified on source and label)
    for v in split.values():
        assert {samples[i].source for i in v} == {"a", "b"}


def test_split_is_deterministic_per_seed():
    s = _samples()
    assert group_split(s, seed=1) == group_split(s, seed=1)
    assert group_split(s, seed=1) != group_split(s, seed=2)


def test_kfold_test_parts_partition_the_data():
    samples = _samples()
    folds = group_kfold(samples, 5, seed=0)
    tests = Counter(i for f in folds for i in f["test"])
    assert set(tests) == set(range(len(samples))) and set(tests.values()) == {1}
    for f in folds:
        g = {k: {samples[i].group for i in v} for k, v in f.items()}
        assert not (g["train"] & g["val"]) and not (g["train"] & g["test"]) and not (g["val"] & g["test"])


def test_frames_of_a_clip_name_the_clip_and_frame_not_the_cache(tmp_path):
    """Frame samples are crops cached on disk; what reports show (Sample.name) is the clip and the
    frame, and that frame decodes to the picture the cached crop was cut from."""
    from fakelens.data.frames import clip_frame_samples
    from fakelens.video.decode import read_video
    from fakelens.video.synth import face_clips

    real, _ = face_clips(tmp_path / "clips", seconds=2)
    clip = Sample(str(real), 0, "g1", "videos-test")
    frames = clip_frame_samples([clip], per_clip=4, cache_dir=tmp_path / "cache", progress=False)
    assert frames, "the synthetic clip has a face track"
    decoded = {f.index: f.rgb for f in read_video(str(real), 4)[0]}
    for s in frames:
        assert s.path.startswith(str(tmp_path / "cache")) and s.group == "g1" and s.source == "videos-test-frames"
        clip_path, index = s.name.split("#frame=")
        assert clip_path == str(real) and int(index) in decoded
    assert Sample("a.jpg", 1, "g", "s").name == "a.jpg"
