"""Typed errors with messages that tell the user what happened and what to do."""

from __future__ import annotations


class CoiError(Exception):
    """Base of every error the pipeline raises on purpose."""

    def __init__(self, message: str, *, stage: str = "") -> None:
        super().__init__(message)
        self.stage = stage

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class InputError(CoiError):
    """The document itself cannot be read (empty, corrupt, encrypted, not a certificate
    format).  Retrying will not help; the document is recorded as failed."""


class MissingDependencyError(CoiError):
    """An external program (tesseract, pdftoppm) is not installed or not runnable."""


class TransientError(CoiError):
    """A failure that may pass on retry: a tesseract crash or timeout, a busy machine."""


class OcrTimeout(TransientError):
    pass


class OcrFailed(TransientError):
    pass
