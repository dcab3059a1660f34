"""Graduation without Telegram: booster dates across time zones and month ends, what the
journey summary says from the logs (gently when things got harder), and who may confirm."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.i18n import create_i18n
from flows import graduation as flow
from flows.graduation import Change, DayScores, Journey
from handlers.graduation import summary_words
from storage.models import Graduation, Match, Role, User


@pytest.fixture
def i18n():
    i18n = create_i18n("en")
    with i18n.context():
        yield i18n


# --- booster dates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2027, 1, 31), 1, dt.date(2027, 2, 28)),  # February has no 31st
        (dt.date(2028, 1, 31), 1, dt.date(2028, 2, 29)),  # a leap year's February
        (dt.date(2027, 8, 31), 3, dt.date(2027, 11, 30)),
        (dt.date(2027, 7, 31), 6, dt.date(2028, 1, 31)),  # into the next year
        (dt.date(2027, 12, 15), 1, dt.date(2028, 1, 15)),
        (dt.date(2027, 3, 30), 1, dt.date(2027, 4, 30)),
    ],
)
def test_months_later_is_the_same_day_or_the_months_last(day, months, expected) -> None:
    assert flow.add_months(day, months) == expected


def test_boosters_come_at_the_check_in_time_in_the_persons_zone() -> None:
    at_eight = dt.time(20, 0)
    graduated = dt.date(2027, 1, 31)
    # Madrid in winter is UTC+1: 1 month on is the last day of February, 19:00 UTC.
    assert flow.booster_due("Europe/Madrid", at_eight, graduated, 1) == dt.datetime(
        2027, 2, 28, 19, tzinfo=dt.UTC
    )
    # New York moved to summer time in between: 3 months on is 30 April, 20:00 EDT.
    assert flow.booster_due("America/New_York", at_eight, graduated, 2) == dt.datetime(
        2027, 5, 1, 0, tzinfo=dt.UTC
    )
    # Kolkata (UTC+05:30), 6 months on.
    assert flow.booster_due("Asia/Kolkata", at_eight, graduated, 3) == dt.datetime(
        2027, 7, 31, 14, 30, tzinfo=dt.UTC
    )
    # Auckland's 20:00 is the morning before in UTC.
    assert flow.booster_due("Pacific/Auckland", at_eight, graduated, 1) == dt.datetime(
        2027, 2, 28, 7, tzinfo=dt.UTC
    )


def test_the_boosters_are_three_and_then_none() -> None:
    assert [flow.months_after(n) for n in (1, 2, 3)] == [1, 3, 6]
    assert (flow.next_booster(1), flow.next_booster(2), flow.next_booster(3)) == (2, 3, None)


def test_someone_without_a_check_in_time_gets_boosters_at_ten_utc() -> None:
    assert flow.booster_due(None, None, dt.date(2027, 5, 31), 1) == dt.datetime(
        2027, 6, 30, 10, tzinfo=dt.UTC
    )


# --- what changed in the logs -------------------------------------------------------------


def days(start: dt.date, count: int, symptoms: int, energy: int, mood: int) -> list[DayScores]:
    return [DayScores(start + dt.timedelta(days=n), symptoms, energy, mood) for n in range(count)]


def test_the_first_two_weeks_are_set_against_the_last_two() -> None:
    start = dt.date(2027, 3, 1)
    logs = days(start, 14, 7, 3, 5) + days(start + dt.timedelta(days=21), 14, 4, 6, 5)
    symptoms, energy, mood = flow.log_changes(logs)
    assert (symptoms.first, symptoms.last, symptoms.easier) == (7, 4, True)
    assert (energy.first, energy.last, energy.easier) == (3, 6, True)
    assert (mood.moved, mood.easier) == (0, None)


def test_one_very_hard_day_does_not_make_a_fortnight() -> None:
    start = dt.date(2027, 3, 1)
    late = days(start + dt.timedelta(days=20), 14, 4, 5, 5)
    late[3] = DayScores(late[3].day, 10, 0, 0)
    symptoms, *_ = flow.log_changes(days(start, 14, 4, 5, 5) + late)
    assert symptoms.moved == 0  # medians: the same fortnight, one bad day in it


def test_too_few_logs_or_too_short_a_time_compare_nothing() -> None:
    start = dt.date(2027, 3, 1)
    assert flow.log_changes([]) == ()
    assert flow.log_changes(days(start, 20, 5, 5, 5)) == ()  # the fortnights would overlap
    sparse = days(start, 2, 5, 5, 5) + days(start + dt.timedelta(days=30), 14, 5, 5, 5)
    assert flow.log_changes(sparse) == ()  # two logs at the start say nothing


# --- the summary's words --------------------------------------------------------------------


def journey(changes=(), logs=35, milestones=(), days_in=70) -> Journey:
    until = dt.date(2027, 5, 10)
    return Journey(
        since=until - dt.timedelta(days=days_in),
        until=until,
        logs=logs,
        changes=tuple(changes),
        weekly=(),
        milestones=tuple(milestones),
    )


def test_a_summary_names_time_logs_changes_and_milestones(i18n) -> None:
    text = summary_words(
        journey(
            [Change("symptoms", 7, 4, lower_is_easier=True), Change("energy", 3, 6)],
            milestones=["Walked to the <lake>"],
        ),
        "en",
    )
    assert "You've been in the program for 10 weeks (since " in text
    assert "You kept 35 daily logs." in text
    assert "Symptoms: lower (about 7 then, 4 now, of 10)" in text
    assert "Energy: higher (about 3 then, 6 now, of 10)" in text
    assert "Something to be glad about" in text
    assert "Walked to the &lt;lake&gt;" in text  # their words, never read as markup
    assert "/crisis" in text and "/privacy" in text


def test_things_that_got_harder_are_said_gently_without_praise_or_blame(i18n) -> None:
    text = summary_words(journey([Change("symptoms", 3, 7, lower_is_easier=True)]), "en")
    assert "Symptoms: higher (about 3 then, 7 now, of 10)" in text
    assert "it takes nothing away from what you've done" in text
    assert "glad" not in text


def test_no_logs_and_too_few_logs_are_fine_too(i18n) -> None:
    assert "You didn't keep daily logs, and that's fine" in summary_words(journey(logs=0), "en")
    text = summary_words(journey(logs=5), "en")
    assert "There weren't enough logs at the start and the end to compare them" in text
    assert "You kept 1 daily log." in summary_words(journey(logs=1), "en")


def test_some_things_easier_and_some_harder_are_both_said(i18n) -> None:
    changes = [Change("symptoms", 7, 5.5, lower_is_easier=True), Change("energy", 4, 3)]
    text = summary_words(journey(changes), "en")
    assert "Symptoms: lower (about 7 then, 5.5 now, of 10)" in text
    assert "Something to be glad about" in text
    assert "it takes nothing away" in text
    with i18n.use_locale("de"):
        assert "jetzt 5,5, von 10" in summary_words(journey(changes), "de")  # a German comma


def test_a_long_journey_is_told_in_months(i18n) -> None:
    assert "for 6 months" in summary_words(journey(days_in=183), "en")
    assert "for 1 week" in summary_words(journey(days_in=3), "en")


def test_the_summary_is_in_the_graduates_language(i18n) -> None:
    changes = [Change("symptoms", 3, 7, lower_is_easier=True), Change("mood", 5, 5)]
    with i18n.use_locale("es"):
        spanish = summary_words(journey(changes), "es")
    assert "Tu camino" in spanish and "Hiciste 35 registros diarios." in spanish
    assert "Síntomas: más altos (unos 3 entonces, 7 ahora, de 10)" in spanish
    assert "Ánimo: más o menos igual" in spanish
    with i18n.use_locale("de"):
        german = summary_words(journey(changes), "de")
    assert "Dein Weg" in german and "Beschwerden: höher (damals etwa 3, jetzt 7, von 10)" in german


# --- who may confirm ------------------------------------------------------------------------


def person(user_id: int, role: Role) -> User:
    return User(id=user_id, role=role, onboarded_at=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))


def test_only_the_two_sides_and_an_admin_take_part_and_nobody_confirms_their_own() -> None:
    match = Match(id=1, mentee_id=1, mentor_id=2, status="active")
    mentee, mentor = person(1, Role.MENTEE), person(2, Role.MENTOR)
    stranger, admin = person(3, Role.MENTOR), person(4, Role.ADMIN)
    assert flow.side_of(match, mentee) == flow.MENTEE
    assert flow.side_of(match, mentor) == flow.MENTOR
    assert flow.side_of(match, admin) == flow.ADMIN
    assert flow.side_of(match, stranger) is None
    assert flow.side_of(Match(id=2, mentee_id=1, mentor_id=2, status="ended"), mentee) is None
    proposal = Graduation(proposed_by=1)
    assert not flow.confirms(proposal, flow.MENTEE, 1)
    assert flow.confirms(proposal, flow.MENTOR, 2)
    assert flow.confirms(proposal, flow.ADMIN, 4)


# --- weekly questionnaires in the summary ---------------------------------------------------


async def test_weekly_scores_join_the_summary_first_next_to_latest(session, i18n) -> None:
    from flows import measures
    from storage import measures as measure_scores
    from storage import users

    ana = await users.create(session, telegram_id=71, locale="en", pseudonym="Wren-71")
    for day, total in (
        (dt.date(2027, 1, 4), 14),
        (dt.date(2027, 3, 1), 12),
        (dt.date(2027, 4, 5), 9),
    ):
        items = (total - 8, 1, 1, 1, 1, 1, 1, 1) if total >= 8 else (total, 0, 0, 0, 0, 0, 0, 0)
        await measure_scores.save(
            session, ana.id, day, measures.Score(measures.SSS8, total, items, 0, 32, None)
        )
    # Loneliness answered once: nothing to compare yet.
    await measure_scores.save(
        session,
        ana.id,
        dt.date(2027, 1, 11),
        measures.Score(measures.UCLA3, 7, (3, 2, 2), 3, 9, None),
    )
    await session.flush()

    changes = await flow.weekly_score_changes(session, ana.id)
    assert [(c.name, c.first, c.last, c.high, c.easier) for c in changes] == [
        (measures.SSS8, 14, 9, 32, True)
    ]
    text = summary_words(
        Journey(dt.date(2027, 1, 1), dt.date(2027, 4, 10), 0, (), changes, ()), "en"
    )
    assert "Your weekly questions, the first time next to the latest:" in text
    assert "Somatic symptoms: lower (about 14 then, 9 now, of 32)" in text
    assert "Something to be glad about" in text
    assert "Loneliness" not in text
