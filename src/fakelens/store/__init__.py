"""Where fakelens keeps things between runs: the data directory and the history database."""

from fakelens.store.history import HistoryStore, data_dir

__all__ = ["HistoryStore", "data_dir"]
