"""/trends as people live it: a chart of four weeks with the same in words as its caption,
a kind word instead while there are fewer than three logs, and a mentor's view of a
mentee only while the mentee shares trends (re-checked on every tap)."""

from __future__ import annotations

import datetime as dt

import pytest
from aiogram.methods import SendPhoto
from sqlalchemy import update

from flows import trends as chart
from storage.models import Match, Profile, Role
from tests.harness import Harness
from tests.unit.chat_helpers import Watch, local_today, make_person, person, save_log

ZONE = "Europe/London"


@pytest.fixture
def watch(harness: Harness) -> Watch:
    return Watch(harness)


def photos(watch: Watch, since: int = 0) -> list[SendPhoto]:
    return [c for c in watch.calls[since:] if isinstance(c, SendPhoto)]


async def logged_days(sessionmaker, user_id: int, count: int) -> None:
    today = local_today(ZONE)
    for offset in range(count):
        await save_log(
            sessionmaker,
            user_id,
            today - dt.timedelta(days=offset),
            symptom_intensity=5 + offset % 3,
            energy=3 + offset % 2,
            mood=1 if offset == 0 else 6,
        )


async def test_fewer_than_three_logs_get_a_kind_word_not_an_empty_chart(
    harness, watch, sessionmaker
) -> None:
    uid = await make_person(sessionmaker, 80)
    await logged_days(sessionmaker, uid, 2)
    p = person(harness, watch, 80)
    said = await p.send("/trends")
    assert "Days logged in the last four weeks: 2." in said.text
    assert photos(watch) == []


async def test_the_chart_comes_with_its_words_as_the_caption(harness, watch, sessionmaker) -> None:
    uid = await make_person(sessionmaker, 81)
    await logged_days(sessionmaker, uid, 10)
    p = person(harness, watch, 81)
    await p.say("/trends")
    [photo] = photos(watch)
    png = photo.photo.data
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    caption = photo.caption
    assert caption.startswith("Your last 4 weeks: 10 days logged.")
    assert "Symptoms mostly" in caption and "Energy mostly 3–4 of 10" in caption
    assert "Mood mostly 6 of 10 (lowest 1)" in caption
    assert "Hard days in the last 7 days: 1." in caption
    assert "Sleep about 5.5 hours" in caption
    assert "Activity: as planned on 0, more on 10, less on 0 days." in caption


async def test_a_stuck_drawing_process_still_gets_the_person_their_trends_in_words(
    harness, watch, sessionmaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def stuck(data: object) -> bytes:
        raise TimeoutError  # as flows.trends.draw raises after DRAW_TIMEOUT

    monkeypatch.setattr(chart, "draw", stuck)
    uid = await make_person(sessionmaker, 84)
    await logged_days(sessionmaker, uid, 10)
    p = person(harness, watch, 84)
    await p.say("/trends")
    said = p.last_text()
    assert photos(watch) == []
    assert "couldn't draw the chart just now" in said
    assert "Your last 4 weeks: 10 days logged." in said


async def test_the_chart_speaks_the_persons_language(harness, watch, sessionmaker) -> None:
    uid = await make_person(sessionmaker, 82, locale="de")
    await logged_days(sessionmaker, uid, 4)
    p = person(harness, watch, 82, language="de")
    await p.say("/trends")
    [photo] = photos(watch)
    assert photo.caption.startswith("Deine letzten 4 Wochen: 4 Tage eingetragen.")


async def test_a_mentor_sees_a_mentees_chart_only_while_the_mentee_shares_trends(
    harness, watch, sessionmaker
) -> None:
    mentee = await make_person(sessionmaker, 83)
    mentor = await make_person(sessionmaker, 84, role=Role.MENTOR)
    async with sessionmaker() as session:
        session.add(Profile(user_id=mentee, shares=["trends"]))
        match = Match(mentee_id=mentee, mentor_id=mentor, status="active")
        session.add(match)
        await session.commit()
        match_id = match.id
    await logged_days(sessionmaker, mentee, 5)
    ben = person(harness, watch, 84)
    offer = await ben.send("/trends")  # his own: too few; then his mentees who share
    assert "Mentees who share their trends with you" in offer.text
    before = len(watch.calls)
    assert await ben.press(f"trends:{match_id}") is None
    [photo] = photos(watch, before)
    assert "5 days logged" in photo.caption and "Energy mostly" in photo.caption
    assert "Mood" not in photo.caption and "Sleep" not in photo.caption  # not shared
    assert "hard day" not in photo.caption  # hard days are a share of their own

    # She stops sharing: the same button no longer shows anything.
    async with sessionmaker() as session:
        await session.execute(update(Profile).values(shares=[]))
        await session.commit()
    before = len(watch.calls)
    assert "isn't shared with you" in (await ben.press(f"trends:{match_id}"))
    assert photos(watch, before) == []
    again = await ben.send("/trends")
    assert "Mentees who share" not in again.text


async def test_another_mentor_cannot_open_the_chart(harness, watch, sessionmaker) -> None:
    mentee = await make_person(sessionmaker, 85)
    mentor = await make_person(sessionmaker, 86, role=Role.MENTOR)
    await make_person(sessionmaker, 87, role=Role.MENTOR)
    async with sessionmaker() as session:
        session.add(Profile(user_id=mentee, shares=["trends"]))
        match = Match(mentee_id=mentee, mentor_id=mentor, status="active")
        session.add(match)
        await session.commit()
        match_id = match.id
    await logged_days(sessionmaker, mentee, 5)
    dora = person(harness, watch, 87)
    await dora.send("/trends")
    before = len(watch.calls)
    assert "isn't shared with you" in (await dora.press(f"trends:{match_id}"))
    assert photos(watch, before) == []
