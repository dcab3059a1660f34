"""Steps the bot process's wall clock, as an NTP step would, for end-to-end tests.

Put this folder first on the bot's PYTHONPATH and name a file in
PEERBOT_TEST_WALL_CLOCK_FILE; the file holds the step in seconds (``-3600`` sets the
clock an hour back, ``0`` or no file corrects it). Python imports ``sitecustomize`` at
start-up, before anything else, so every ``datetime.now()``, ``datetime.utcnow()`` and
``time.time()`` in the process sees the step. The monotonic clock (asyncio's) is left
alone, as a real step leaves it.
"""

from __future__ import annotations

import datetime as _datetime
import os
import time as _time

_FILE = os.environ.get("PEERBOT_TEST_WALL_CLOCK_FILE")


def _step() -> float:
    try:
        with open(_FILE) as file:  # type: ignore[arg-type]
            return float(file.read().strip() or 0)
    except (OSError, ValueError):
        return 0.0


if _FILE:
    _real_datetime = _datetime.datetime
    _real_time = _time.time
    _real_time_ns = _time.time_ns

    class _LooksReal(type):
        # datetimes made by C code (drivers, pydantic) are the real class: still datetimes.
        def __instancecheck__(cls, instance: object) -> bool:
            return isinstance(instance, _real_datetime)

        def __subclasscheck__(cls, subclass: type) -> bool:
            return issubclass(subclass, _real_datetime)

    class _SteppedDatetime(_real_datetime, metaclass=_LooksReal):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def,override]
            return _real_datetime.now(tz) + _datetime.timedelta(seconds=_step())

        @classmethod
        def utcnow(cls):  # type: ignore[no-untyped-def,override]
            return _real_datetime.utcnow() + _datetime.timedelta(seconds=_step())

        @classmethod
        def today(cls):  # type: ignore[no-untyped-def,override]
            return cls.now()

    _datetime.datetime = _SteppedDatetime  # type: ignore[misc]
    _time.time = lambda: _real_time() + _step()
    _time.time_ns = lambda: _real_time_ns() + int(_step() * 1e9)
