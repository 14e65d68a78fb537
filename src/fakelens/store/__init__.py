"""Where fakelens keeps things between runs: the data directory and the history database."""

__all__ = ["HistoryStore", "data_dir"]


def __getattr__(name: str):
    # Lazy: the CLI imports fakelens.store.writer without paying for SQLAlchemy (0.4 s).
    if name in __all__:
        from fakelens.store import history

        return getattr(history, name)
    raise AttributeError(name)
