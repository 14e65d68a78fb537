"""Hard inputs: 500+ damaged and unusual files each get a correct analysis or a one-line error, with
no crash, no hang and nothing carried from one file to the next."""

import json
import os
import time

import pytest
from fuzz_corpus import build_corpus

from fakelens.pipeline import AnalysisOptions
from fakelens.scan import worker as scan_worker

BUDGET_S = 30.0  # per file; nothing in the corpus needs more than a second


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build_corpus(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def worker(tiny_checkpoint, tiny_video_model):
    """The scan worker's own state (models loaded once), in this process."""
    scan_worker.init(AnalysisOptions(model=str(tiny_checkpoint), video_model=str(tiny_video_model), budget_s=BUDGET_S))
    yield


def test_every_hard_input_gets_an_analysis_or_a_one_line_error(corpus, worker):
    assert len(corpus) >= 500
    reference = scan_worker.analyze_one(str(corpus[0].path))  # face.png, before anything else ran
    slowest, problems = 0.0, []
    for case in corpus:
        t0 = time.perf_counter()
        rec = scan_worker.analyze_one(str(case.path))
        slowest = max(slowest, time.perf_counter() - t0)
        json.dumps(rec)  # the record is plain JSON
        label, error = rec["label"], rec.get("error")
        ok = label in ("real", "fake", "no_face", "error") and rec["path"] == str(case.path)
        if label == "error":
            ok &= bool(error) and "\n" not in error and "budget" not in error and "unexpected" not in error
        else:
            ok &= error is None and (rec["score"] is None) == (label == "no_face")
            ok &= label == "no_face" or 0.0 <= rec["score"] <= 1.0
        ok &= {"face": label in ("real", "fake"), "ok": label != "error", "error": label == "error",
               "any": True}[case.expect]
        if not ok:
            problems.append(f"{case.path.name} ({case.kind}, expected {case.expect}): {label} {error}")
    assert not problems, "\n".join(problems)
    assert slowest < BUDGET_S
    again = scan_worker.analyze_one(str(corpus[0].path))  # no state carried across 600 files
    assert again["score"] == reference["score"] and again["faces"] == reference["faces"]


def test_a_chunk_of_files_scored_together_gives_each_file_its_own_record(corpus, worker):
    # The scan's chunks batch the faces of several files into one model call: the same records as one by
    # one, in order, hard inputs (errors, no face, videos) included.
    paths = [str(c.path) for c in corpus[:24]]
    together = scan_worker.analyze_chunk(paths)
    assert [r["path"] for r in together] == paths
    for rec in together:
        alone = scan_worker.analyze_one(rec["path"])
        assert (rec["label"], rec.get("error"), len(rec["faces"])) == (alone["label"], alone.get("error"), len(alone["faces"]))
        assert rec["sha256"] == alone["sha256"]
        if rec["score"] is not None:
            assert abs(rec["score"] - alone["score"]) < 1e-4, rec["path"]


def test_memory_stays_flat_across_repeated_hard_inputs(corpus, worker):
    sample = corpus[::4]
    for case in sample:  # warm-up: allocator pools, lazily loaded models
        scan_worker.analyze_one(str(case.path))
    before = _rss_mb()
    for _ in range(2):
        for case in sample:
            scan_worker.analyze_one(str(case.path))
    growth = _rss_mb() - before
    assert growth < 64, f"resident memory grew {growth:.0f} MB over {2 * len(sample)} files"


def test_a_file_over_its_time_budget_is_an_error_and_the_next_file_is_fine(corpus, tiny_checkpoint):
    from fakelens.detector import Detector

    det = Detector.load(tiny_checkpoint)
    face = next(c.path for c in corpus if c.path.name == "face.png")
    late = det.analyze(face, budget_s=1e-4)
    assert late.label == "error" and "time budget of 0.0001 s" in late.error
    assert det.analyze(face, budget_s=30).label in ("real", "fake")
