"""Reports for the program's administration: mentor hours per month, for stipends.

Hours come from session notes (each note's date and minutes). A month is a calendar
month of the session's date, as the mentor gave it. The CSV is meant for a spreadsheet,
so a cell that would start a formula is defused.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage import notes

COLUMNS = (
    "month",
    "mentor_pseudonym",
    "mentor_name",
    "telegram_id",
    "sessions",
    "minutes",
    "hours",
)


@dataclass(frozen=True)
class MentorHours:
    month: str  # YYYY-MM
    mentor_id: int
    pseudonym: str
    display_name: str | None
    telegram_id: int
    sessions: int
    minutes: int

    @property
    def hours(self) -> str:
        return f"{self.minutes / 60:.2f}"


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    """The first day of ``month``'s month and the first day of the next."""
    first = month.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following


def previous_month(today: dt.date) -> dt.date:
    """The first day of the last full month before ``today``."""
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def parse_month(text: str) -> dt.date:
    """YYYY-MM → the first day of that month."""
    return dt.datetime.strptime(text.strip(), "%Y-%m").date()


async def hours_by_month(session: AsyncSession, month: dt.date | None) -> list[MentorHours]:
    """Sessions and minutes per mentor in the month of ``month`` (any day of it), or in every
    month when None; by month, then mentor pseudonym."""
    start, end = month_bounds(month) if month is not None else (None, None)
    totals: dict[tuple[str, int], MentorHours] = {}
    for time in await notes.session_times(session, start, end):
        key = (time.session_date.strftime("%Y-%m"), time.mentor_id)
        before = totals.get(key)
        totals[key] = MentorHours(
            month=key[0],
            mentor_id=time.mentor_id,
            pseudonym=time.pseudonym,
            display_name=time.display_name,
            telegram_id=time.telegram_id,
            sessions=(before.sessions if before else 0) + 1,
            minutes=(before.minutes if before else 0) + time.minutes,
        )
    return sorted(totals.values(), key=lambda row: (row.month, row.pseudonym, row.mentor_id))


def to_csv(rows: list[MentorHours]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            (
                row.month,
                _cell(row.pseudonym),
                _cell(row.display_name or ""),
                row.telegram_id,
                row.sessions,
                row.minutes,
                row.hours,
            )
        )
    return out.getvalue()


def _cell(text: str) -> str:
    """A name a spreadsheet would run as a formula (=, +, -, @) is kept as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
