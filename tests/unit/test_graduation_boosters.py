"""Boosters in the database: planned from the graduate's *local* graduation day, sent
through the outbox in their language, the next one planned after each, a blocked chat told
to the admins; a graduate waits in the matching queue only once they ask for a refresher."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from bot.i18n import create_i18n
from bot.undeliverable import Undeliverable
from flows.onboarding import CONSENT_VERSION
from handlers.due import Tick
from handlers.graduation import booster_due, schedule_booster
from storage import graduations, profiles, schedules, users
from storage.models import Alert, Graduation, OutboxMessage, Role
from storage.outbox import Claimed


async def graduate(session, telegram_id: int, zone: str, locale: str, at: dt.datetime):
    person = await users.create(
        session, telegram_id=telegram_id, locale=locale, pseudonym=f"P-{telegram_id}"
    )
    users.record_consent(session, person, CONSENT_VERSION)
    users.finish_onboarding(person, zone, dt.time(9, 30))
    await session.flush()
    graduation = Graduation(mentee_id=person.id, status="graduated", graduated_at=at, boosters={})
    session.add(graduation)
    await session.flush()
    return person, graduation


async def test_the_first_booster_counts_from_the_local_day_of_graduation(session) -> None:
    # 23:30 UTC on 31 January is already 1 February in Tokyo, still 31 January in Lisbon.
    late = dt.datetime(2027, 1, 31, 23, 30, tzinfo=dt.UTC)
    tokyo, in_tokyo = await graduate(session, 1, "Asia/Tokyo", "en", late)
    lisbon, in_lisbon = await graduate(session, 2, "Europe/Lisbon", "en", late)
    await schedule_booster(session, tokyo, in_tokyo, 1)
    await schedule_booster(session, lisbon, in_lisbon, 1)
    row = await schedules.get(session, schedules.BOOSTER, tokyo.id)
    assert row.due_at == dt.datetime(2027, 3, 1, 0, 30, tzinfo=dt.UTC)  # 1 March, 09:30 JST
    assert row.state == {"n": 1, "graduation": in_tokyo.id, "on": "2027-02-01"}
    row = await schedules.get(session, schedules.BOOSTER, lisbon.id)
    assert row.due_at == dt.datetime(2027, 2, 28, 9, 30, tzinfo=dt.UTC)  # the month's end


async def test_a_due_booster_is_queued_in_their_language_and_the_next_one_planned(
    session, settings
) -> None:
    now = dt.datetime(2027, 2, 28, 9, 30, tzinfo=dt.UTC)
    person, graduation = await graduate(
        session, 3, "Europe/Berlin", "de", dt.datetime(2027, 1, 28, 12, tzinfo=dt.UTC)
    )
    state = {"n": 1, "graduation": graduation.id, "on": "2027-01-28"}
    due = [schedules.Due(person.id, state)]
    i18n = create_i18n("en")
    with i18n.context():
        await booster_due(session, due, Tick(settings, i18n, now))
    [sent] = (await session.scalars(select(OutboxMessage))).all()
    payload = json.loads(sent.payload)
    assert "einen Monat her" in payload["params"]["text"]
    assert payload["on_undeliverable"] == f"booster_unreached:{person.id}:1"
    row = await schedules.get(session, schedules.BOOSTER, person.id)
    assert row.state["n"] == 2
    assert row.due_at == dt.datetime(2027, 4, 28, 7, 30, tzinfo=dt.UTC)  # CEST by April
    assert "sent" in graduation.boosters["1"]
    # The third is the last: nothing planned after it.
    with i18n.context():
        await booster_due(
            session, [schedules.Due(person.id, {**state, "n": 3})], Tick(settings, i18n, now)
        )
    row = await schedules.get(session, schedules.BOOSTER, person.id)
    assert row.state["n"] == 2  # unchanged: no fourth booster


async def test_a_graduate_waits_for_nobody_until_they_ask_for_a_refresher(session) -> None:
    person, _graduation = await graduate(
        session, 4, "Europe/London", "en", dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    )
    assert person.role == Role.MENTEE
    assert person.id not in [
        p.id for p, _profile, _since in await profiles.waiting_mentees(session)
    ]
    await graduations.ask_refresher(session, person.id, dt.datetime(2027, 2, 1, tzinfo=dt.UTC))
    assert person.id in [p.id for p, _profile, _since in await profiles.waiting_mentees(session)]


async def test_a_booster_that_cannot_reach_them_is_told_to_the_admins(session) -> None:
    person, graduation = await graduate(
        session, 5, "Europe/London", "en", dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    )
    admin = await users.create(
        session, telegram_id=99, locale="es", pseudonym="Admin", role=Role.ADMIN
    )
    users.record_consent(session, admin, CONSENT_VERSION)
    users.finish_onboarding(admin, "Europe/Madrid", dt.time(9))
    await session.flush()
    row = Claimed(
        id=7, key=f"grad:{person.id}:booster:{graduation.id}:2", chat_id=5, method="sendMessage",
        params={}, attempts=3, on_undeliverable=f"booster_unreached:{person.id}:2",
    )  # fmt: skip
    await Undeliverable(create_i18n("en")).given_up(session, row, "TelegramForbiddenError")
    [told] = (await session.scalars(select(OutboxMessage))).all()
    assert told.chat_id == 99
    text = json.loads(told.payload)["params"]["text"]
    assert "El seguimiento de los 3 meses no ha llegado a P-5" in text  # the admin's language
    assert "unreached" in graduation.boosters["2"]


async def test_while_their_crisis_case_is_open_the_booster_waits_a_day(session, settings) -> None:
    now = dt.datetime(2027, 2, 28, 9, 30, tzinfo=dt.UTC)
    person, graduation = await graduate(
        session, 6, "Europe/London", "en", dt.datetime(2027, 1, 28, 12, tzinfo=dt.UTC)
    )
    session.add(Alert(user_id=person.id, category="suicide", severity=3, status="acknowledged"))
    await session.flush()
    state = {"n": 1, "graduation": graduation.id, "on": "2027-01-28"}
    i18n = create_i18n("en")
    with i18n.context():
        await booster_due(session, [schedules.Due(person.id, state)], Tick(settings, i18n, now))
    assert (await session.scalars(select(OutboxMessage))).all() == []
    row = await schedules.get(session, schedules.BOOSTER, person.id)
    assert (row.due_at, row.state) == (dt.datetime(2027, 3, 1, 9, 30, tzinfo=dt.UTC), state)


async def test_a_graduate_who_has_become_a_mentor_gets_no_more_boosters(session, settings) -> None:
    # Trained as a mentor since (the admin changed their role): a mentee's check-in, with
    # buttons a mentor may not press, is not sent, and no later one is planned.
    now = dt.datetime(2027, 2, 28, 9, 30, tzinfo=dt.UTC)
    person, graduation = await graduate(
        session, 7, "Europe/London", "en", dt.datetime(2027, 1, 28, 12, tzinfo=dt.UTC)
    )
    person.role = Role.MENTOR
    await session.flush()
    state = {"n": 1, "graduation": graduation.id, "on": "2027-01-28"}
    i18n = create_i18n("en")
    with i18n.context():
        await booster_due(session, [schedules.Due(person.id, state)], Tick(settings, i18n, now))
    assert (await session.scalars(select(OutboxMessage))).all() == []
    assert await schedules.get(session, schedules.BOOSTER, person.id) is None
    assert "1" not in (graduation.boosters or {})


def test_a_hard_month_offers_help_now_and_says_where_the_crisis_plan_is() -> None:
    from handlers.crisis import help_now_button
    from handlers.graduation import wish_question

    with create_i18n("en").context():
        text, markup = wish_question(1, "hard")
        fine, calm = wish_question(1, "well")
        now = help_now_button()
    assert [[b.callback_data for b in row] for row in markup.inline_keyboard][-1] == [
        now.callback_data
    ]
    assert "/crisis" in text and "on-call supervisor" in text
    assert now.callback_data not in str(calm.inline_keyboard) and "/crisis" not in fine
