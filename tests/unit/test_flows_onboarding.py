"""A newcomer's /start: who they become, what their invite does, consent and check-in time."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows import onboarding
from flows.onboarding import InviteOnly, InviteProblem, arrive, parse_checkin_time
from storage import invites, users
from storage.models import Consent, Invite, Role, User, utcnow

# --- the check-in time people type ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "time"),
    [
        ("8", dt.time(8)),
        ("08:30", dt.time(8, 30)),
        ("8.30", dt.time(8, 30)),
        ("8pm", dt.time(20)),
        ("8 p.m.", dt.time(20)),
        ("8am", dt.time(8)),
        ("12am", dt.time(0)),
        ("12pm", dt.time(12)),
        ("20h", dt.time(20)),
        ("20h15", dt.time(20, 15)),
        ("0:00", dt.time(0)),
        (" 21:45 ", dt.time(21, 45)),
    ],
)
def test_a_check_in_time_typed_in_everyday_ways(text: str, time: dt.time) -> None:
    assert parse_checkin_time(text) == time


@pytest.mark.parametrize(
    "text",
    ["garbage", "", "25:00", "24:00", "8:60", "13pm", "0am", "8:5", "eight", "-1", "20:30:00"],
)
def test_what_is_not_a_time_of_day_is_refused(text: str) -> None:
    assert parse_checkin_time(text) is None


@pytest.mark.parametrize(
    ("text", "time"),
    [("20 Uhr", dt.time(20)), ("19:30 Uhr", dt.time(19, 30)), ("8 p. m.", dt.time(20))],
)
def test_a_check_in_time_as_german_and_spanish_speakers_write_it(text: str, time: dt.time) -> None:
    assert parse_checkin_time(text) == time


# --- arriving: who a person becomes ---------------------------------------------------------


async def count(session: AsyncSession, model: type) -> int:
    return await session.scalar(select(func.count()).select_from(model))


async def uses_left(sessionmaker: async_sessionmaker[AsyncSession], code: str) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(Invite.uses_left).where(Invite.code == code))


async def make_invite(
    sessionmaker: async_sessionmaker[AsyncSession], role: Role, uses: int = 1, **kwargs: float
) -> str:
    async with sessionmaker() as session, session.begin():
        invite = await invites.create(session, role, uses=uses, **kwargs)
        return invite.code


async def test_a_new_person_without_an_invite_becomes_a_mentee(session: AsyncSession) -> None:
    arrival = await arrive(session, telegram_id=7, locale="es", invite_code=None, invite_only=False)
    await session.commit()

    assert (arrival.is_new, arrival.role_changed) == (True, False)
    assert (arrival.user.role, arrival.user.locale, arrival.user.invite_id) == (
        "mentee",
        "es",
        None,
    )
    assert re.fullmatch(r"[A-Z][a-z]+-\d{3}", arrival.user.pseudonym)  # a name that says nothing
    assert onboarding.needs_consent(arrival.user)


async def test_a_person_who_comes_back_is_found_not_created_again(session: AsyncSession) -> None:
    first = await arrive(session, telegram_id=7, locale="en", invite_code=None, invite_only=False)
    await session.commit()
    again = await arrive(session, telegram_id=7, locale="de", invite_code=None, invite_only=False)

    assert again.user.id == first.user.id
    assert (again.is_new, again.role_changed) == (False, False)
    assert await count(session, User) == 1


async def test_an_invite_gives_its_role_and_spends_one_use(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    code = await make_invite(sessionmaker, Role.MENTOR, uses=3)

    arrival = await arrive(session, telegram_id=7, locale="en", invite_code=code, invite_only=True)
    await session.commit()

    assert arrival.is_new and arrival.user.invite_id is not None
    assert arrival.user.role == "mentee", "no role before consent"
    assert await uses_left(sessionmaker, code) == 3, "not spent before consent ('Not now' keeps it)"

    assert await onboarding.record_consent(session, arrival.user)
    await session.commit()
    assert arrival.user.role == "mentor"
    assert await uses_left(sessionmaker, code) == 2


async def test_an_invite_that_expires_before_consent_gives_nothing(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    code = await make_invite(sessionmaker, Role.SUPERVISOR, uses=3)
    arrival = await arrive(session, telegram_id=7, locale="en", invite_code=code, invite_only=False)
    await session.commit()
    await session.execute(
        Invite.__table__.update()
        .where(Invite.code == code)
        .values(expires_at=utcnow() - dt.timedelta(seconds=1))
    )

    assert not await onboarding.record_consent(session, arrival.user)
    await session.commit()
    assert (arrival.user.role, arrival.user.invite_id) == ("mentee", None)
    assert arrival.user.consent_version is not None, "they still joined, as a mentee"
    assert await uses_left(sessionmaker, code) == 3


async def test_a_second_link_opened_before_consent_is_only_held(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await arrive(session, telegram_id=7, locale="en", invite_code=None, invite_only=False)
    await session.commit()
    code = await make_invite(sessionmaker, Role.SUPERVISOR)

    arrival = await arrive(session, telegram_id=7, locale="en", invite_code=code, invite_only=False)
    await session.commit()

    assert (arrival.role_changed, arrival.user.role) == (False, "mentee")
    assert await uses_left(sessionmaker, code) == 1
    assert await onboarding.record_consent(session, arrival.user)
    assert arrival.user.role == "supervisor"


async def test_an_invite_changes_the_role_of_someone_already_here(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first = await arrive(session, telegram_id=7, locale="en", invite_code=None, invite_only=False)
    await onboarding.record_consent(session, first.user)
    await session.commit()
    code = await make_invite(sessionmaker, Role.SUPERVISOR)

    arrival = await arrive(session, telegram_id=7, locale="en", invite_code=code, invite_only=False)
    await session.commit()

    assert (arrival.is_new, arrival.role_changed) == (False, True)
    assert arrival.user.role == "supervisor"
    assert await uses_left(sessionmaker, code) == 0
    async with sessionmaker() as fresh:
        assert (await users.get_by_telegram_id(fresh, 7)).role == "supervisor"


async def test_an_invite_for_the_role_the_person_already_has_is_not_spent(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await arrive(session, telegram_id=7, locale="en", invite_code=None, invite_only=False)
    await session.commit()
    code = await make_invite(sessionmaker, Role.MENTEE)

    arrival = await arrive(session, telegram_id=7, locale="en", invite_code=code, invite_only=False)
    await session.commit()

    assert (arrival.role_changed, arrival.user.role) == (False, "mentee")
    assert await uses_left(sessionmaker, code) == 1  # still there for the person it was meant for


async def test_reopening_the_invite_link_one_joined_with_is_a_welcome_back_not_an_error(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    code = await make_invite(sessionmaker, Role.MENTOR, uses=1)
    async with sessionmaker() as session, session.begin():
        first = await arrive(
            session, telegram_id=7, locale="en", invite_code=code, invite_only=True
        )
        await onboarding.record_consent(session, first.user)

    # Weeks later the mentor opens the bot from the same t.me link in their chat history.
    async with sessionmaker() as session, session.begin():
        arrival = await arrive(
            session, telegram_id=7, locale="en", invite_code=code, invite_only=True
        )
    assert (arrival.is_new, arrival.role_changed, arrival.user.role) == (False, False, "mentor")


async def used_up(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    code = await make_invite(sessionmaker, Role.MENTOR)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            Invite.__table__.update().where(Invite.code == code).values(uses_left=0)
        )
    return code


async def expired(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    code = await make_invite(sessionmaker, Role.MENTOR, uses=5)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            Invite.__table__.update()
            .where(Invite.code == code)
            .values(expires_at=utcnow() - dt.timedelta(minutes=1))
        )
    return code


async def unknown(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    await make_invite(sessionmaker, Role.MENTOR)
    return "no-such-code"


@pytest.mark.parametrize("bad_invite", [used_up, expired, unknown])
@pytest.mark.parametrize("already_here", [False, True], ids=["newcomer", "known person"])
async def test_an_unusable_invite_is_refused_and_nothing_is_stored(
    sessionmaker: async_sessionmaker[AsyncSession], bad_invite, already_here: bool
) -> None:
    if already_here:
        async with sessionmaker() as session, session.begin():
            await arrive(session, telegram_id=7, locale="en", invite_code=None, invite_only=False)
    code = await bad_invite(sessionmaker)
    async with sessionmaker() as session:
        before = (await session.execute(select(Invite.code, Invite.uses_left))).all()

    async with sessionmaker() as session:
        with pytest.raises(InviteProblem):
            await arrive(session, telegram_id=7, locale="en", invite_code=code, invite_only=False)
        await session.commit()  # even if the caller commits, there is nothing to commit

    async with sessionmaker() as session:
        roles = (await session.execute(select(User.role))).scalars().all()
        assert roles == (["mentee"] if already_here else [])
        assert (await session.execute(select(Invite.code, Invite.uses_left))).all() == before


async def test_an_invite_that_expires_later_still_works(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    code = await make_invite(sessionmaker, Role.MENTOR, expires_in_days=1)
    arrival = await arrive(session, telegram_id=7, locale="en", invite_code=code, invite_only=True)
    assert await onboarding.record_consent(session, arrival.user)
    assert arrival.user.role == "mentor"


async def test_an_invite_only_program_turns_away_a_stranger_without_an_invite(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        with pytest.raises(InviteOnly):
            await arrive(session, telegram_id=7, locale="en", invite_code=None, invite_only=True)
        await session.commit()
    async with sessionmaker() as session:
        assert await count(session, User) == 0


async def test_an_invite_only_program_still_welcomes_back_people_it_knows(
    session: AsyncSession,
) -> None:
    await arrive(session, telegram_id=7, locale="en", invite_code=None, invite_only=False)
    await session.commit()
    arrival = await arrive(session, telegram_id=7, locale="en", invite_code=None, invite_only=True)
    assert not arrival.is_new


async def test_two_strangers_racing_for_the_last_use_of_an_invite_one_wins_one_is_told(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    code = await make_invite(sessionmaker, Role.MENTOR, uses=1)

    async def start_and_consent(telegram_id: int) -> str:
        async with sessionmaker() as session:
            arrival = await arrive(
                session, telegram_id=telegram_id, locale="en", invite_code=code, invite_only=True
            )
            await asyncio.sleep(0.05)  # the reply is sent while the transaction is open
            spent = await onboarding.record_consent(session, arrival.user)
            await session.commit()
            return arrival.user.role if spent else "told: used up, joins as mentee"

    outcomes = await asyncio.wait_for(
        asyncio.gather(start_and_consent(7), start_and_consent(8)), timeout=10
    )

    assert sorted(outcomes) == ["mentor", "told: used up, joins as mentee"]
    async with sessionmaker() as session:
        roles = sorted((await session.execute(select(User.role))).scalars())
    assert roles == ["mentee", "mentor"]
    assert await uses_left(sessionmaker, code) == 0


# --- consent and finishing ------------------------------------------------------------------


async def test_consent_is_asked_again_after_the_consent_text_changes(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = (
        await arrive(session, telegram_id=7, locale="en", invite_code=None, invite_only=False)
    ).user
    await onboarding.record_consent(session, user)
    await session.commit()
    assert not onboarding.needs_consent(user)

    monkeypatch.setattr(onboarding, "CONSENT_VERSION", onboarding.CONSENT_VERSION + 1)
    assert onboarding.needs_consent(user)

    await onboarding.record_consent(session, user)
    await session.commit()
    assert not onboarding.needs_consent(user)
    versions = (await session.execute(select(Consent.version).order_by(Consent.id))).scalars()
    assert list(versions) == [1, 2]  # the history of what was agreed to is kept


async def test_finishing_again_changes_zone_and_time_but_keeps_the_date_they_joined(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    user = (
        await arrive(session, telegram_id=7, locale="en", invite_code=None, invite_only=False)
    ).user
    assert not user.is_onboarded
    onboarding.finish(user, "Europe/Madrid", dt.time(20))
    await session.commit()
    joined = user.onboarded_at

    onboarding.finish(user, "America/Bogota", dt.time(8, 30))
    await session.commit()

    async with sessionmaker() as fresh:
        stored = await users.get_by_telegram_id(fresh, 7)
        assert (stored.timezone, stored.checkin_time) == ("America/Bogota", dt.time(8, 30))
        assert stored.onboarded_at == joined and stored.is_onboarded
