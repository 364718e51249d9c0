"""The one error type the tool reports: one line on stderr, no traceback."""

from __future__ import annotations


class BgctlError(Exception):
    """A failure the operator can act on; its message is one line that says what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))
