"""Classification metrics and plots."""

from fakelens.metrics.classification import best_threshold, binary_metrics, bootstrap_auroc, plot_roc

__all__ = ["best_threshold", "binary_metrics", "bootstrap_auroc", "plot_roc"]
