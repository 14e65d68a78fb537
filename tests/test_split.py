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
