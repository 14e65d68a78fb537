"""Batch scans: every image and video under a folder, resumable, one JSON line per file."""

from fakelens.scan.local import find_inputs, scan

__all__ = ["find_inputs", "scan"]
