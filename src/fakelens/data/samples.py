"""What training splits: the images of the data folders plus the faces of sampled clip frames, and
the one way to get a model's own split back (evaluation, the explanation audit and the benchmarks
must score the very pictures training held out, not a split drawn over other samples)."""

from __future__ import annotations

from pathlib import Path

from fakelens.data.datasets import Sample, read_datasets
from fakelens.data.split import group_split
from fakelens.errors import InputError


def training_samples(data: list[str], sources: list[str] | None = None, video_frames: int = 24,
                     cache_dir: str | Path | None = None, face_detector: str = "blazeface", progress: bool = True
                     ) -> list[Sample]:
    """The images of the data folders (`sources` only, when given), plus the faces of `video_frames`
    frames per clip they hold (source `<clip source>-frames`, grouped as their clip; 0: none)."""
    samples = read_datasets(data, sources)
    if video_frames:
        from fakelens.data.frames import clip_frame_samples

        try:
            clips = read_datasets(data, None, kind="video")
        except InputError:
            clips = []
        wanted = {s[: -len("-frames")] if s.endswith("-frames") else s for s in sources or []}
        clips = [c for c in clips if not sources or c.source in wanted]
        samples += clip_frame_samples(clips, video_frames, Path(cache_dir) if cache_dir else None, face_detector,
                                      progress)
    return samples


def model_split(data: list[str], meta: dict, split: str = "test", seed: int | None = None,
                progress: bool = True) -> tuple[list[Sample], list[int]]:
    """The samples as the model's training run read them (its metadata: `data_sources`,
    `video_frames`, `split`, `seed`) and the indices of `split` ('train', 'val', 'test' or 'all')."""
    samples = training_samples(data, meta.get("data_sources"), int(meta.get("video_frames", 0)),  # absent: none
                               progress=progress)
    if split == "all":
        return samples, list(range(len(samples)))
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be train, val, test or all, not {split!r}")
    ratios = tuple(meta.get("split", (4, 1, 1)))
    return samples, group_split(samples, ratios, int(meta.get("seed", 0) if seed is None else seed))[split]
