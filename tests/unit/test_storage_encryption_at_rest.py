"""Free text is encrypted in the database: a raw read sees a token, the models see the text."""

from __future__ import annotations

import datetime as dt

import pytest
from aiogram.fsm.storage.base import StorageKey
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import crypto, daily_logs, keys, users
from storage.crypto import Cipher
from storage.fsm import SqlStorage

NOTE = "Cried after the neurologist appointment; pain 8/10."
NAME = "Ana García"
DAY = dt.date(2026, 5, 1)


def answers(note: str | None) -> dict[str, object]:
    return {
        "symptom_intensity": 8,
        "symptoms": ["pain"],
        "energy": 2,
        "activity": "less",
        "rest_breaks": 3,
        "sleep_quality": 3,
        "sleep_hours": 5.0,
        "mood": 3,
        "interference": 8,
        "note": note,
    }


async def ana_with_a_note(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session, session.begin():
        user = await users.create(session, telegram_id=7, locale="es", pseudonym="Iris-101")
        user.display_name = NAME
        await session.flush()
        await daily_logs.save(session, user.id, DAY, answers(NOTE))
        return user.id


async def raw(sessionmaker: async_sessionmaker[AsyncSession], sql: str) -> str:
    async with sessionmaker() as session:
        return await session.scalar(text(sql))


async def test_a_log_note_is_a_token_on_disk_and_text_in_the_app(
    sessionmaker: async_sessionmaker[AsyncSession], cipher: Cipher
) -> None:
    ana = await ana_with_a_note(sessionmaker)

    on_disk = await raw(sessionmaker, "SELECT note FROM daily_logs")
    assert "neurologist" not in on_disk and "pain" not in on_disk
    assert cipher.decrypt(on_disk) == NOTE  # our key's token, not a lost note

    async with sessionmaker() as session:
        assert (await daily_logs.get(session, ana, DAY)).note == NOTE


async def test_a_display_name_is_a_token_on_disk_and_text_in_the_app(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await ana_with_a_note(sessionmaker)

    on_disk = await raw(sessionmaker, "SELECT display_name FROM users")
    assert "Ana" not in on_disk and "García" not in on_disk
    async with sessionmaker() as session:
        assert (await users.get_by_telegram_id(session, 7)).display_name == NAME


async def test_answers_kept_in_conversation_state_are_a_token_on_disk(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    storage = SqlStorage(sessionmaker)
    key = StorageKey(bot_id=42, chat_id=7, user_id=7)
    await storage.set_state(key, "DailyLogging:answering")
    await storage.set_data(key, {"step": "note", "note_draft": NOTE, "answers": {"mood": 3}})

    on_disk = await raw(sessionmaker, "SELECT data FROM fsm_states")
    assert "neurologist" not in on_disk and "note_draft" not in on_disk and "mood" not in on_disk
    assert (await SqlStorage(sessionmaker).get_data(key))["note_draft"] == NOTE


async def test_an_empty_note_stays_empty_rather_than_an_encrypted_nothing(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session, session.begin():
        user = await users.create(session, telegram_id=8, locale="en", pseudonym="Moss-102")
        await daily_logs.save(session, user.id, DAY, answers(None))
    assert await raw(sessionmaker, "SELECT note FROM daily_logs") is None


async def test_reading_with_a_different_key_is_loud_and_never_shows_garbage(
    sessionmaker: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    """The note reads as nothing, loudly; `peerbot run` refuses to start on such data
    (storage/keys.py), and the safety path still loads the person (test_keys_e2e)."""
    ana = await ana_with_a_note(sessionmaker)
    crypto.use_cipher(Cipher([Fernet.generate_key()]))  # the operator lost or changed the key
    async with sessionmaker() as session:
        log = await daily_logs.get(session, ana, DAY)
        assert await keys.unreadable(session, crypto.cipher()) != []
    assert log is not None and log.note is None
    assert "UNREADABLE" in caplog.text


async def test_after_a_key_rotation_old_notes_still_read_and_new_ones_use_the_new_key(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    old_key, new_key = Fernet.generate_key(), Fernet.generate_key()
    crypto.use_cipher(Cipher([old_key]))
    ana = await ana_with_a_note(sessionmaker)

    crypto.use_cipher(Cipher([new_key, old_key]))  # ENCRYPTION_KEY="new,old"
    async with sessionmaker() as session, session.begin():
        assert (await daily_logs.get(session, ana, DAY)).note == NOTE
        await daily_logs.save(session, ana, DAY + dt.timedelta(days=1), answers("Better today."))

    tokens = (
        await raw(sessionmaker, "SELECT note FROM daily_logs ORDER BY local_date"),
        await raw(sessionmaker, "SELECT note FROM daily_logs ORDER BY local_date DESC"),
    )
    assert Cipher([old_key]).decrypt(tokens[0]) == NOTE
    assert Cipher([new_key]).decrypt(tokens[1]) == "Better today."
