"""Which keys open the stored text, and rotating it onto the newest key before the old one
is dropped: `peerbot keys check|rotate`, and the refusal to start on data no key opens."""

from __future__ import annotations

from cryptography.fernet import Fernet
from sqlalchemy import select

from storage import crypto, keys, users
from storage.models import CrisisPlanSection, User

OLD, NEW = Fernet.generate_key(), Fernet.generate_key()


async def _someone(sessionmaker) -> int:
    async with sessionmaker() as session:
        person = await users.create(session, telegram_id=42, locale="en", pseudonym="Wren-1")
        person.display_name = "Ada"
        session.add(CrisisPlanSection(user_id=person.id, section="reasons", text="my cat"))
        await session.commit()
        return person.id


async def test_a_rotation_moves_everything_onto_the_newest_key(sessionmaker) -> None:
    crypto.use_cipher(crypto.Cipher([OLD]))
    person_id = await _someone(sessionmaker)
    both, new_only = crypto.Cipher([NEW, OLD]), crypto.Cipher([NEW])
    async with sessionmaker() as session:
        closed = set(await keys.unreadable(session, new_only))
        assert closed >= {"users.display_name", "crisis_plan_sections.text"}
        assert await keys.rotate(session, both) >= 2
        await session.commit()
    crypto.use_cipher(new_only)  # the old key is dropped
    async with sessionmaker() as session:
        assert await keys.unreadable(session, new_only) == []
        person = await session.get(User, person_id)
        plan = await session.scalar(select(CrisisPlanSection.text))
    assert (person.display_name, plan) == ("Ada", "my cat")


async def test_a_lost_key_is_reported_and_the_row_still_loads(sessionmaker) -> None:
    crypto.use_cipher(crypto.Cipher([OLD]))
    person_id = await _someone(sessionmaker)
    crypto.use_cipher(crypto.Cipher([NEW]))  # the key file was lost: a new one was made
    async with sessionmaker() as session:
        closed = await keys.unreadable(session, crypto.cipher())
        person = await session.get(User, person_id)
    assert "users.display_name" in closed and "crisis_plan_sections.text" in closed
    # The safety path reads the person all the same: their name is simply unknown.
    assert person.pseudonym == "Wren-1" and person.display_name is None
