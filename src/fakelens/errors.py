"""Errors that carry a one-line message meant for the person running fakelens."""


class FakelensError(Exception):
    """Base class: str(exc) is a complete one-line explanation."""


class InputError(FakelensError):
    """An input could not be read (missing, empty, corrupt, too large, not an image)."""


class ModelError(FakelensError):
    """A model or checkpoint could not be created or loaded."""


def one_line(e: BaseException) -> str:
    """An exception as '<Type>: <its first line>' (library errors span many lines)."""
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0][:300] if text else ''}"
