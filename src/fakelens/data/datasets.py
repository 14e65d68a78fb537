"""Read labelled face images: `labels.csv` (path,label,group,...) or plain real/ and fake/ folders."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

from fakelens.errors import InputError
from fakelens.imageio import IMAGE_SUFFIXES
from fakelens.media import VIDEO_SUFFIXES

LABELS = {"real": 0, "fake": 1}
MANIPULATIONS = ("face_swap", "synthetic")  # what a fake is: a face put onto another head, or a face made whole

# Per shared source: the manipulation of its fakes and the family (generator or data set) of each
# sample, from labels.csv's `generator` or `method` column. FF++'s Face2Face and NeuralTextures
# re-render the face of a real video: counted as face_swap (a manipulated face on a real head).
_FAMILIES = {
    "faces-dfdc": ("face_swap", lambda row: "dfdc"),
    "videos-dfdc": ("face_swap", lambda row: "dfdc"),
    "videos-ffpp": ("face_swap", lambda row: "ffpp"),
    "faces-simswap": ("face_swap", lambda row: "simswap"),
    "faces-gan": ("synthetic", lambda row: "stylegan"),
    "faces-diffusion": ("synthetic", lambda row: "flux" if row.get("generator", "").startswith("flux") else
                        "sd" if row.get("generator", "").startswith("stable-diffusion") else "diffusion-real"),
    "faces-lfw": (None, lambda row: "lfw"),
}
# Groups that must share a side of any split across sources: the DFDC face crops and clips name the
# same source videos (videos-dfdc `dfdc-<id>` is faces-dfdc `<id>`).
_GROUP_NAMESPACE = {"faces-dfdc": ("dfdc", ""), "videos-dfdc": ("dfdc", "dfdc-")}


@dataclass(frozen=True)
class Sample:
    """One labelled image or video. `group` is namespaced (by source, or by data set where sources share
    videos) so groups never collide across sources. `manipulation` is `face_swap` or `synthetic` for a
    fake whose kind is known (None for reals and unknown fakes); `family` names its generator or data
    set (for leave-one-generator-out evaluation)."""

    path: str
    label: int  # 0 real, 1 fake
    group: str
    source: str
    manipulation: str | None = None
    family: str = ""
    origin: str = ""  # frames cut from a clip: "<clip path>#frame=<index>" (their path is a cached crop)

    @property
    def name(self) -> str:
        """What a report calls this sample: the clip and frame for a frame sample, else its path."""
        return self.origin or self.path


def _group(source: str, group: str) -> str:
    space, prefix = _GROUP_NAMESPACE.get(source, (source, ""))
    return f"{space}/{group[len(prefix):] if prefix and group.startswith(prefix) else group}"


def _kind_and_family(source: str, label: int, row: dict) -> tuple[str | None, str]:
    kind, family = _FAMILIES.get(source, (None, lambda r: source))
    if row.get("manipulation") in MANIPULATIONS:  # a user's labels.csv may say it
        kind = row["manipulation"]
    return (kind if label == 1 else None), family(row)


def _suffixes(kind: str) -> set[str]:
    return VIDEO_SUFFIXES if kind == "video" else IMAGE_SUFFIXES


def _labels_rows(csv_path: Path) -> list[tuple[int, dict]]:
    """(line number, row) of a labels.csv, or InputError with one line naming the file and the problem.
    A byte-order mark (Excel's "CSV UTF-8") is accepted."""
    try:
        raw = csv_path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read {csv_path}: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise InputError(f"{csv_path}:{line}: not UTF-8 text (byte 0x{raw[e.start]:02x}); save it as UTF-8") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as e:
        raise InputError(f"{csv_path}:{reader.line_num}: {e}") from None
    missing = [c for c in ("path", "label") if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"{csv_path}: no {' or '.join(missing)} column (the header has: "
                         f"{', '.join(reader.fieldnames or []) or 'nothing'})")
    return rows


def _read_labels_csv(folder: Path, kind: str) -> list[Sample]:
    """Every row is checked, whatever its kind, so one bad labels.csv fails the same way for any command."""
    source, csv_path = folder.name, folder / "labels.csv"
    out, seen, absent = [], {}, []
    for line, row in _labels_rows(csv_path):
        path, label = row["path"] or "", row["label"]
        if label not in LABELS:
            raise InputError(f"{csv_path}:{line}: label must be real or fake, got {label!r}")
        # A labels.csv names files of its own folder: anything else would be read (and written into
        # split.json) from wherever it points. Checked lexically, so folders linked in still work.
        norm = os.path.normpath(path)
        if os.path.isabs(path) or norm == ".." or norm.startswith(".." + os.sep):
            raise InputError(f"{csv_path}:{line}: path must be inside {folder}, got {path!r}")
        if norm in seen:
            raise InputError(f"{csv_path}:{line}: {path!r} is listed again (first on line {seen[norm]})")
        seen[norm] = line
        if not (folder / path).is_file():
            absent.append(f"{path} (line {line})")
        if Path(path).suffix.lower() not in _suffixes(kind):
            continue
        group = row.get("group") or Path(path).stem
        out.append(Sample(str(folder / path), LABELS[label], _group(source, group), source,
                          *_kind_and_family(source, LABELS[label], row)))
    if absent:
        raise InputError(f"{csv_path}: {len(absent)} listed file{'s' * (len(absent) > 1)} missing: "
                         f"{', '.join(absent[:3])}{', ...' if len(absent) > 3 else ''}")
    return out


def _read_class_folders(folder: Path, kind: str) -> list[Sample]:
    out = []
    for name, label in LABELS.items():
        for p in sorted((folder / name).rglob("*")):
            if p.suffix.lower() in _suffixes(kind):
                out.append(Sample(str(p), label, f"{folder.name}/{p.stem}", folder.name, family=folder.name))
    return out


def read_dataset(folder: str | Path, kind: str = "image") -> list[Sample]:
    """One source: a folder with labels.csv, or with real/ and fake/ subfolders.

    A folder holding several sources (like ../shared/data) yields all of them;
    only files of `kind` ('image' or 'video') are kept.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"not a dataset folder: {folder}")
    if (folder / "labels.csv").exists():
        return _read_labels_csv(folder, kind)
    if (folder / "real").is_dir() or (folder / "fake").is_dir():
        return _read_class_folders(folder, kind)
    samples = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        if (sub / "labels.csv").exists() or (sub / "real").is_dir() or (sub / "fake").is_dir():
            samples += read_dataset(sub, kind)
    if not samples:
        raise InputError(f"no labels.csv or real/ fake/ folders under {folder}")
    return samples


def read_datasets(folders: list[str | Path], sources: list[str] | None = None, kind: str = "image") -> list[Sample]:
    """All samples (images or videos) from several dataset folders, optionally only the named sources."""
    samples = [s for f in folders for s in read_dataset(f, kind)]
    if sources:
        samples = [s for s in samples if s.source in sources]
        if not samples:
            raise InputError(f"no samples from sources {sources}")
    return samples
