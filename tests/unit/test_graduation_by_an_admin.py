"""An admin who marks a mentoring as done alone is told both people hear of it; if either
chat cannot be reached (they blocked the bot), the admin hears that, in their language."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.i18n import create_i18n
from bot.undeliverable import Undeliverable
from storage.models import Match, OutboxMessage, Role, User, utcnow
from storage.outbox import Claimed
from tests.harness import Harness
from tests.unit.chat_helpers import Watch, make_person, person

ADMIN, MENTEE, MENTOR = 81, 82, 83


async def test_an_admin_hears_when_a_graduation_cannot_reach_the_mentor(
    harness: Harness, sessionmaker
) -> None:
    await make_person(sessionmaker, ADMIN, locale="de", role=Role.ADMIN)
    mentee_id = await make_person(sessionmaker, MENTEE)
    mentor_id = await make_person(sessionmaker, MENTOR, locale="es", role=Role.MENTOR)
    async with sessionmaker() as session:
        (await session.get(User, mentor_id)).pseudonym = "Oak-7"
        session.add(Match(mentee_id=mentee_id, mentor_id=mentor_id, started_at=utcnow()))
        await session.commit()
    admin = person(harness, Watch(harness), ADMIN, "de")

    await admin.send("/graduate")
    await admin.tap("Fern-101")
    await admin.tap("🎓")
    done = admin.last_text()
    assert "Ich sage es beiden" in done and "gebe ich dir Bescheid" in done

    async with sessionmaker() as session:
        queued = {row.chat_id: row for row in (await session.scalars(select(OutboxMessage)))}
        thanks = json.loads(queued[MENTOR].payload)
        assert json.loads(queued[MENTEE].payload)["on_undeliverable"] == thanks["on_undeliverable"]
        # The mentor has blocked the bot: the outbox gives their message up.
        given_up = Claimed(
            id=queued[MENTOR].id, key=queued[MENTOR].key, chat_id=MENTOR,
            method=thanks["method"], params=thanks["params"], attempts=3,
            on_undeliverable=thanks["on_undeliverable"],
        )  # fmt: skip
        await Undeliverable(create_i18n("en")).given_up(session, given_up, "TelegramForbiddenError")
        await session.commit()
        told = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == ADMIN))
        ).all()
    [note] = [json.loads(row.payload)["params"]["text"] for row in told]
    assert "Ich konnte Oak-7 nicht sagen, dass die Begleitung abgeschlossen ist" in note
