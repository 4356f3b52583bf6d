"""One exception type for every user-facing mistake.

Every message is a single line that names the fix, so the CLI and the notebooks can print it as is
and exit non-zero (the house rule for bad input).
"""

from __future__ import annotations


class DeepLeakError(ValueError):
    """Bad input, missing data or an invalid parameter; the message says how to fix it."""

    def __init__(self, message: str) -> None:
        # Keep messages to one line: they are printed verbatim by the CLI.
        super().__init__(" ".join(str(message).split()))


def unknown_name(kind: str, name: str, known: object) -> DeepLeakError:
    """Error for a registry lookup miss, listing the valid choices."""
    choices = ", ".join(sorted(known))  # type: ignore[arg-type]
    return DeepLeakError(f"unknown {kind} {name!r}; choose one of: {choices}")
