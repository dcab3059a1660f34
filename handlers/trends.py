"""/trends: a chart of the last four weeks of daily logs, with the same in words as its
caption (the alt text). A mentor also sees the chart of each mentee who shares trends:
symptoms and energy only, as /mentees shows them, re-checked on every tap."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from html import escape
from typing import Any

from aiogram import Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.dates import format_skeleton
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import timezones
from flows import trends as chart
from flows.mentee_summary import SHARE_TRENDS
from handlers import measures, render
from handlers.filters import PRIVATE, HasRole
from handlers.keyboards import button, rows
from handlers.menu import LOGGERS
from storage import daily_logs, matches, outbox
from storage.models import Match, Profile, Role, User

log = logging.getLogger(__name__)


class MenteeTrends(CallbackData, prefix="trends"):
    """A mentor's "Chart of …": re-checked on every tap (the match active, the presser its
    mentor, the mentee sharing trends)."""

    match_id: int


def router() -> Router:
    r = Router(name="trends")
    r.message.filter(PRIVATE)
    r.message.register(show_trends, Command("trends"), HasRole(*LOGGERS))
    r.callback_query.register(mentee_pressed, MenteeTrends.filter(), HasRole(Role.MENTOR))
    r.shutdown.register(_stop_drawing)
    return r


async def _stop_drawing() -> None:
    """The drawing process ends with the bot (charts in flight are dropped)."""
    chart.shutdown()


async def show_trends(
    message: Message, user: User, session: AsyncSession, settings: Settings
) -> None:
    await send_chart(message, user, user, session, settings, own=True)
    if user.role == Role.MENTOR:
        await offer_mentees(message, user, session)


async def offer_mentees(message: Message, user: User, session: AsyncSession) -> None:
    """A mentor's mentees who share trends, a button each; the others are not named."""
    buttons = []
    for match in await matches.active_of_mentor(session, user.id):
        mentee = await _shared_mentee(session, user, match)
        if mentee is not None:
            label = _("📈 {name}'s trends").format(name=mentee.known_as[:24])
            buttons.append(button(label, MenteeTrends(match_id=match.id)))
    if buttons:
        await message.answer(
            _("Mentees who share their trends with you:"), reply_markup=rows(buttons, 1)
        )


async def mentee_pressed(
    query: CallbackQuery,
    callback_data: MenteeTrends,
    user: User,
    session: AsyncSession,
    settings: Settings,
) -> None:
    match = await matches.get(session, callback_data.match_id)
    mentee = await _shared_mentee(session, user, match) if match is not None else None
    if mentee is None or not isinstance(query.message, Message):
        await query.answer(_("This chart isn't shared with you (any more)."), show_alert=True)
        return
    await query.answer()
    await send_chart(query.message, user, mentee, session, settings, own=False)


async def _shared_mentee(session: AsyncSession, mentor: User, match: Match) -> User | None:
    """The match's mentee, when the match is active, ``mentor`` is its mentor, and the
    mentee shares trends now (their /profile can change it at any time)."""
    if match.status != "active" or match.mentor_id != mentor.id:
        return None
    profile = await session.get(Profile, match.mentee_id)
    if profile is None or SHARE_TRENDS not in (profile.shares or []):
        return None
    return await session.get(User, match.mentee_id)


async def send_chart(
    message: Message,
    reader: User,
    person: User,
    session: AsyncSession,
    settings: Settings,
    *,
    own: bool,
) -> None:
    """The chart of ``person``'s last four weeks for ``reader`` (in the reader's language);
    with fewer than three logs, a kind word instead. Someone else's chart shows only what
    sharing trends covers: symptoms and energy."""
    today = timezones.today(person.timezone)
    days = chart.window(today)
    logs = await daily_logs.since(session, person.id, days[0])
    by_day = {row.local_date: daily_logs.answers_of(row) for row in logs if row.local_date <= today}
    # The weekly questions' scores, beneath the chart: one's own only (sharing trends with
    # a mentor covers symptoms and energy, not these).
    weekly = await measures.weekly_words(session, person, reader.locale) if own else None
    if len(by_day) < chart.MIN_LOGS:
        words = too_few_words(len(by_day), own, person)
        await message.answer(words + ("\n\n" + weekly if weekly else ""))
        return
    data = chart_data(by_day, days, reader.locale, own=own, name=person.known_as)
    started = time.perf_counter()
    caption = summary_words(data, len(by_day), settings, own=own, name=person.known_as)
    try:
        png = await chart.draw(data)
    except TimeoutError:
        log.error("trends chart not drawn within %.0f s: sent in words", chart.DRAW_TIMEOUT)
        await message.answer(
            _("I couldn't draw the chart just now, so here it is in words.")
            + "\n\n"
            + caption
            + ("\n\n" + weekly if weekly else "")
        )
        return
    log.info("trends chart drawn in %.0f ms", (time.perf_counter() - started) * 1000)
    beneath = weekly is not None and len(caption) + 2 + len(weekly) <= CAPTION_LIMIT
    if beneath:
        caption += "\n\n" + weekly  # type: ignore[operator]
    await message.answer_photo(
        BufferedInputFile(png, filename="trends.png"), caption=caption[:CAPTION_LIMIT]
    )
    if weekly is not None and not beneath:  # too long for a caption: the next message
        await message.answer(weekly)


CAPTION_LIMIT = 1024  # Telegram's, for a photo's caption


async def queue_shared_chart(
    session: AsyncSession, mentor: User, mentee: User, settings: Settings, key: str
) -> bool:
    """A mentee's chart for their mentor's weekly digest, as /trends shows it to the mentor
    (symptoms and energy), in the mentor's language; queued in the outbox as the chart's
    data, drawn by the delivery worker as it sends it. The caller has checked the match and
    that the mentee shares trends. False when there are too few logs for a chart."""
    today = timezones.today(mentee.timezone)
    days = chart.window(today)
    logs = await daily_logs.since(session, mentee.id, days[0])
    by_day = {row.local_date: daily_logs.answers_of(row) for row in logs if row.local_date <= today}
    if len(by_day) < chart.MIN_LOGS:
        return False
    data = chart_data(by_day, days, mentor.locale, own=False, name=mentee.known_as)
    caption = summary_words(data, len(by_day), settings, own=False, name=mentee.known_as)
    await outbox.enqueue(
        session,
        key=key,
        chat_id=mentor.telegram_id,
        method="sendPhoto",
        params={
            "photo": {"chart": chart.to_plain(data)},
            "caption": caption[:CAPTION_LIMIT],
            "parse_mode": "HTML",
        },
    )
    return True


def too_few_words(count: int, own: bool, person: User) -> str:
    if not own:
        return _(
            "{name} has logged {count} of the last 28 days; a chart needs at least 3. "
            "It will show here once there are a few more."
        ).format(name=escape(person.known_as), count=count)
    return _(
        "Days logged in the last four weeks: {count}. A chart needs at least 3 to say "
        "anything, so for now just a kind word: every check-in counts, even a three-tap one "
        "on a bad day. /log when you're ready."
    ).format(count=count)


def chart_data(
    by_day: Mapping[dt.date, Mapping[str, Any]],
    days: list[dt.date],
    locale: str,
    *,
    own: bool,
    name: str,
) -> chart.ChartData:
    title = _("Your last 4 weeks") if own else _("{name}: last 4 weeks").format(name=name[:30])
    labels = chart.Labels(
        title=title,
        scores=_("Symptoms, energy and mood (0–10)") if own else _("Symptoms and energy (0–10)"),
        symptoms=_("Symptoms"),
        energy=_("Energy"),
        mood=_("Mood"),
        sleep=_("Sleep (hours)"),
        activity=_("Activity against plan"),
        activity_levels=(_("less"), _("as planned"), _("more")),
        dates=tuple(format_skeleton("MMMd", day, locale=locale) for day in days),
        no_log=_("Gaps: days without a log."),
    )
    return chart.ChartData(
        symptoms=chart.series(by_day, days, "symptom_intensity"),
        energy=chart.series(by_day, days, "energy"),
        mood=chart.series(by_day, days, "mood") if own else None,
        sleep_hours=chart.series(by_day, days, "sleep_hours") if own else None,
        activity=chart.series(by_day, days, "activity") if own else None,
        labels=labels,
    )


def summary_words(
    data: chart.ChartData, count: int, settings: Settings, *, own: bool, name: str
) -> str:
    """The chart in words, one paragraph: the caption, and so the alt text."""
    parts = [
        ngettext(
            "Your last 4 weeks: {count} day logged.",
            "Your last 4 weeks: {count} days logged.",
            count,
        ).format(count=count)
        if own
        else ngettext(
            "{name}'s last 4 weeks: {count} day logged.",
            "{name}'s last 4 weeks: {count} days logged.",
            count,
        ).format(name=escape(name), count=count)
    ]
    for values, sentence in (
        (data.symptoms, _("Symptoms mostly {range} of 10 (highest {highest}).")),
        (data.energy, _("Energy mostly {range} of 10 (lowest {lowest}).")),
        (data.mood, _("Mood mostly {range} of 10 (lowest {lowest}).")),
    ):
        spread = chart.spread(values) if values is not None else None
        if spread is not None:
            span = str(spread.low) if spread.low == spread.high else f"{spread.low}–{spread.high}"
            parts.append(sentence.format(range=span, highest=spread.highest, lowest=spread.lowest))
    if own:  # hard days are a share of their own, not part of a mentee's trends
        hard = chart.hard_days(
            data.symptoms,
            data.mood,
            symptoms_at=settings.hard_day_symptoms,
            mood_at=settings.hard_day_mood,
        )
        parts.append(
            _("Hard days in the last 7 days: {count}.").format(count=hard)
            if hard
            else _("No hard days in the last 7 days.")
        )
    if data.sleep_hours is not None and (sleep := chart.mean(data.sleep_hours)) is not None:
        hours = render.hours(sleep, _locale())
        parts.append(_("Sleep about {hours} hours a night on average.").format(hours=hours))
    if data.activity is not None:
        taken = [level for level in data.activity if level is not None]
        if taken:
            parts.append(
                _("Activity: as planned on {planned}, more on {more}, less on {less} days.").format(
                    planned=taken.count(0), more=taken.count(1), less=taken.count(-1)
                )
            )
    return " ".join(parts)


def _locale() -> str:
    from aiogram.utils.i18n import get_i18n

    return get_i18n().current_locale
