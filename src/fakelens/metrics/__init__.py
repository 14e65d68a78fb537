"""Classification metrics and plots."""

from fakelens.metrics.classification import binary_metrics, best_threshold, plot_roc

__all__ = ["best_threshold", "binary_metrics", "plot_roc"]
