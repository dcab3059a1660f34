"""Where an error happened, for the log, without what it says.

An exception's message can quote what someone wrote: a database error carries its SQL
parameters (an invite code, a name), a validation error repeats its input. The log gets
the error's type and where it was raised; never its message, never its parameters.
"""

from __future__ import annotations

import traceback
from pathlib import Path

_OURS = frozenset({"bot", "flows", "handlers", "storage"})
_FRAMES = 3


def where(error: BaseException) -> str:
    """The innermost frame, then the innermost frames of our own code (where it came from),
    like ``base.py:1967 _exec < invites.py:31 find < onboarding.py:77 arrive``."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "?"
    ours = [frame for frame in frames if _is_ours(frame.filename)][-_FRAMES:]
    shown = ours if ours and ours[-1] is frames[-1] else [*ours, frames[-1]]
    return " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(shown))


def _is_ours(filename: str) -> bool:
    path = Path(filename)
    return "site-packages" not in path.parts and path.parent.name in _OURS
