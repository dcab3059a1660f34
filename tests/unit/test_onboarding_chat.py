"""A newcomer's first minutes, through the real dispatcher (Telegram faked)."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Consent, User
from tests.harness import Harness


async def onboard(harness: Harness, user_id: int = 7, language: str = "en") -> None:
    chat = harness.chat(user_id, language)
    await chat.send("/start")
    await chat.tap(chat.shown().reply_markup.inline_keyboard[0][0].text)  # keep the language
    await chat.tap("agree" if language == "en" else "")
    await chat.tap(chat.shown().reply_markup.inline_keyboard[0][0].text)  # first likely zone
    await chat.tap("20:00")


async def test_newcomer_consents_picks_zone_and_time(harness: Harness, sessionmaker) -> None:
    chat = harness.chat(7, "en")
    greeting = await chat.send("/start")
    assert "Hello, Sam" in greeting.text
    await chat.tap("English")
    assert "not</b> an emergency service" in chat.texts()[-2]
    await chat.tap("Yes, I agree")
    assert "time zone" in chat.shown().text
    await chat.tap("London")
    assert "daily check-in" in chat.shown().text
    sent = await chat.tap("20:00")
    assert "All set" in sent[-1].text and "20:00" in sent[-1].text
    async with sessionmaker() as session:
        user = (await session.execute(select(User))).scalar_one()
        assert (user.timezone, user.checkin_time.hour, user.role) == ("Europe/London", 20, "mentee")
        assert user.consent_version == 1
        assert await session.scalar(select(func.count()).select_from(Consent)) == 1


async def test_declining_consent_stores_nothing(harness: Harness, sessionmaker) -> None:
    chat = harness.chat(8, "de")
    await chat.send("/start")
    await chat.tap("Deutsch")
    await chat.press("consent:0")
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0
