"""Where fakelens finds its files: the shipped weights, the default model names, the data and cache
directories. The bottom layer: imports nothing else of fakelens."""

from __future__ import annotations

import os
from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_IMAGE_MODEL = "fakelens-lite0-v6"
DEFAULT_VIDEO_MODEL = "fakelens-video-lstm-v5"


def default_model_path() -> Path:
    """The shipped image model, unless FAKELENS_MODEL names another checkpoint."""
    return Path(os.environ.get("FAKELENS_MODEL", WEIGHTS_DIR / f"{DEFAULT_IMAGE_MODEL}.safetensors"))


def default_video_model_path() -> Path:
    """The shipped video model, unless FAKELENS_VIDEO_MODEL names another."""
    return Path(os.environ.get("FAKELENS_VIDEO_MODEL", WEIGHTS_DIR / f"{DEFAULT_VIDEO_MODEL}.safetensors"))


def data_dir() -> Path:
    """Where fakelens keeps its history, uploads and reports: FAKELENS_DATA_DIR or the user data directory."""
    from platformdirs import user_data_dir

    return Path(os.environ.get("FAKELENS_DATA_DIR") or user_data_dir("fakelens"))


def cache_root() -> Path:
    """Where fakelens keeps rebuildable files (crops, clip features): FAKELENS_CACHE_DIR or the user cache."""
    from platformdirs import user_cache_dir

    return Path(os.environ.get("FAKELENS_CACHE_DIR") or user_cache_dir("fakelens"))
