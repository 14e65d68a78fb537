"""Self-contained HTML reports of an analysis (images and charts inline, no external files)."""

from fakelens.report.html import render_report, write_report

__all__ = ["render_report", "write_report"]
