"""What a mentor may see of a mentee (flows.mentee_summary), and which relayed mentor
messages share personal contact details (flows.relay.shares_contact_details)."""

from __future__ import annotations

import datetime as dt

import pytest
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import create_i18n
from flows import mentee_summary, relay
from handlers import render
from storage.models import Profile, Role, User
from tests.unit.alert_helpers import member
from tests.unit.chat_helpers import local_today, save_log

ZONE = "Europe/London"


async def mentee_sharing(sessionmaker: async_sessionmaker[AsyncSession], shares: list[str]) -> int:
    mentee_id = await member(sessionmaker, 501, role=Role.MENTEE, display_name="Ana")
    async with sessionmaker() as session:
        session.add(Profile(user_id=mentee_id, shares=shares))
        await session.commit()
    today = local_today(ZONE)
    # Three days this week: a hard day by symptoms, an easier one, a hard day by mood.
    await save_log(
        sessionmaker,
        mentee_id,
        today - dt.timedelta(days=4),
        symptom_intensity=8,
        energy=2,
        mood=5,
        note="private words",
    )
    await save_log(
        sessionmaker, mentee_id, today - dt.timedelta(days=2), symptom_intensity=5, energy=4, mood=6
    )
    await save_log(
        sessionmaker, mentee_id, today - dt.timedelta(days=1), symptom_intensity=4, energy=5, mood=2
    )
    # Older than the window: counts for nothing in the trend or the hard days.
    await save_log(
        sessionmaker,
        mentee_id,
        today - dt.timedelta(days=9),
        symptom_intensity=10,
        energy=0,
        mood=0,
    )
    return mentee_id


async def summary_lines(
    sessionmaker: async_sessionmaker[AsyncSession], mentee_id: int, i18n: I18n
) -> list[str]:
    async with sessionmaker() as session:
        mentee = await session.get(User, mentee_id)
        summary = await mentee_summary.summarize(session, mentee, hard_symptoms=8, hard_mood=2)
    with i18n.context(), i18n.use_locale("en"):
        return [render.last_checkin_words(summary), *render.shared_words(summary)]


@pytest.fixture
def i18n() -> I18n:
    return create_i18n("en")


async def test_a_mentee_who_shares_trends_and_hard_days_shows_both(sessionmaker, i18n) -> None:
    mentee_id = await mentee_sharing(sessionmaker, ["trends", "hard_days"])
    lines = await summary_lines(sessionmaker, mentee_id, i18n)
    assert lines == [
        "Last check-in: yesterday",
        "7 days: symptoms 8→4 · energy 2→5",
        "Hard days in the last 7 days: 2",
    ]


async def test_trends_only_when_shared(sessionmaker, i18n) -> None:
    mentee_id = await mentee_sharing(sessionmaker, ["trends"])
    lines = await summary_lines(sessionmaker, mentee_id, i18n)
    assert lines == ["Last check-in: yesterday", "7 days: symptoms 8→4 · energy 2→5"]


async def test_hard_days_only_when_shared(sessionmaker, i18n) -> None:
    mentee_id = await mentee_sharing(sessionmaker, ["hard_days"])
    lines = await summary_lines(sessionmaker, mentee_id, i18n)
    assert lines == ["Last check-in: yesterday", "Hard days in the last 7 days: 2"]


async def test_sharing_nothing_shows_only_the_last_check_in(sessionmaker, i18n) -> None:
    mentee_id = await mentee_sharing(sessionmaker, [])
    lines = await summary_lines(sessionmaker, mentee_id, i18n)
    assert lines == ["Last check-in: yesterday"]
    assert not any("private words" in line or "mood" in line.lower() for line in lines)


async def test_a_mentee_without_logs_or_profile(sessionmaker, i18n) -> None:
    mentee_id = await member(sessionmaker, 502, role=Role.MENTEE)
    assert await summary_lines(sessionmaker, mentee_id, i18n) == ["Last check-in: not yet"]
    async with sessionmaker() as session:
        session.add(Profile(user_id=mentee_id, shares=["trends", "hard_days"]))
        await session.commit()
    assert await summary_lines(sessionmaker, mentee_id, i18n) == [
        "Last check-in: not yet",
        "7 days: no check-ins",
        "Hard days in the last 7 days: 0",
    ]


def test_check_in_words() -> None:
    i18n = create_i18n("en")
    with i18n.context(), i18n.use_locale("en"):
        words = [render.checkin_words(days) for days in (None, 0, 1, 5)]
    assert words == ["not yet", "today", "yesterday", "5 days ago"]


# --- personal contact details in a mentor's message --------------------------------------

SHARES_CONTACT = [
    "Text me any time: 07700 900123",
    "my number is +44 7700 900123",
    "Call me on 0151 496 0000 if you like",
    "Here: (555) 123-4567",
    "+49 151 23456789",
    "0049 151 23456789",
    "write to anna.meyer@example.org",
    "I'm @sunny_walker on Telegram",
    "https://t.me/sunny_walker",
    "wa.me/447700900123",
    "Find me on WhatsApp, it's easier",
    "add me on Signal",
    "Llámame cuando quieras",
    "Mi número es 612 345 678",
    "Escríbeme por WhatsApp",
    "Ruf mich an, wenn es dir schlecht geht",
    "Meine Handynummer: 0151 2345 6789",
    "Schreib mir auf Signal",
]
DOES_NOT_SHARE = [
    "How did the appointment on 12.05.2024 go?",
    "The next one is 2024-05-12 at 10:30",
    "La cita es el 12/05/2024 a las 10:00",
    "Termin am 03.04.2025 um 14:30 Uhr",
    "I walked 12,000 steps and paid €1,250.00 for the course, ouch",
    "Ich habe 1.250.000 Schritte gezählt, haha",
    "That was between 2019-2023, the worst years",
    "Pain 8/10, energy 3/10 — take it slow",
    "500 mg twice a day, 3 x a week",
    "Call me crazy, but rest days are my favourite",
    "My body sends a signal when I overdo it",
    "I was on the phone with my doctor for 45 minutes",
    "Email is not my thing, I prefer talking here",
    "@ the clinic they said to pace",
    "Me llamo Ana y también tengo fibromialgia",
    "Mein Name ist Jonas",
    "",
]


@pytest.mark.parametrize("text", SHARES_CONTACT)
def test_contact_details_are_recognised(text: str) -> None:
    assert relay.shares_contact_details(text)


@pytest.mark.parametrize("text", DOES_NOT_SHARE)
def test_dates_times_amounts_and_idioms_are_not_contact_details(text: str) -> None:
    assert not relay.shares_contact_details(text)
