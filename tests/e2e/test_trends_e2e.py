"""Low-spoon mode and /trends end to end, in English, Spanish and German: the real bot
process against the stand-in. A person on a bad day logs in three taps from the reminder's
first question; with a few more days logged, /trends sends a chart (sendPhoto, a PNG) whose
caption says the same in words, in the person's language."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.conftest import StartBot
from tests.e2e.standin import TelegramStandIn
from tests.e2e.test_daily_log_e2e import ENGLISH, SPANISH, TIMEOUT, onboard, reply_containing

GERMAN = {
    "hello": "Hallo",
    "language": "Deutsch",
    "consent": "Bevor wir anfangen",
    "agree": "Ja, einverstanden",
    "zone_question": "Zeitzone",
    "zone": "Berlin",
    "all_set": "Alles bereit",
}

CASES = {
    "en": (
        ENGLISH,
        "Low on energy? 3 taps only",
        "Three taps on a hard day is a real check-in",
        "Days logged in the last four weeks: 1.",
        "Your last 4 weeks: 4 days logged.",
        "Energy mostly",
    ),
    "es": (
        SPANISH,
        "¿Poca energía? Solo 3 toques",
        "Tres toques en un día difícil son un registro de verdad",
        "Días registrados en las últimas cuatro semanas: 1.",
        "Tus últimas 4 semanas: 4 días registrados.",
        "Energía casi siempre",
    ),
    "de": (
        GERMAN,
        "Wenig Energie? Nur dreimal tippen",
        "Dreimal tippen an einem schweren Tag ist ein echter Eintrag",
        "Tage mit Eintrag in den letzten vier Wochen: 1.",
        "Deine letzten 4 Wochen: 4 Tage eingetragen.",
        "Energie meist",
    ),
}


def earlier_days(database: Path, telegram_id: int, today: dt.date, days: int) -> None:
    """Full logs on the days before today, as the bot would have stored them."""
    with sqlite3.connect(database) as connection:
        [(user_id,)] = connection.execute(
            "SELECT id FROM users WHERE telegram_id = ?", (telegram_id,)
        ).fetchall()
        for offset in range(1, days + 1):
            connection.execute(
                "INSERT INTO daily_logs (user_id, local_date, symptom_intensity, symptoms,"
                " energy, activity, rest_breaks, sleep_quality, sleep_hours, mood, interference,"
                " created_at, updated_at) VALUES (?, ?, 5, '[]', 4, 'as_planned', 2, 6, 7.0, 6,"
                " 4, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
                (user_id, (today - dt.timedelta(days=offset)).isoformat()),
            )


def stored(database: Path) -> list[tuple]:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT local_date, symptom_intensity, energy, mood, activity, sleep_hours"
            " FROM daily_logs ORDER BY local_date"
        ).fetchall()


@pytest.mark.parametrize("language", ["en", "es", "de"])
async def test_three_taps_on_a_bad_day_then_trends(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path, language: str
) -> None:
    words, quick, saved, too_few, caption_start, energy = CASES[language]
    await bot_factory()
    person = standin.user(610 + list(CASES).index(language), "Kim", language_code=language)
    await onboard(standin, person, words)

    await standin.send_text(person, "/log")
    question = await reply_containing(standin, person.id, "1/10")
    await standin.tap(person, question, quick)
    question = await reply_containing(standin, person.id, "1/3")
    for label, counter in (("8", "2/3"), ("2", "3/3")):
        await standin.tap(person, question, label)
        question = await reply_containing(standin, person.id, counter)
    await standin.tap(person, question, "4")
    await reply_containing(standin, person.id, saved)
    [(day, *answers)] = stored(tmp_path / "peerbot.sqlite3")
    assert answers == [8, 2, 4, None, None]

    await standin.send_text(person, "/trends")
    await reply_containing(standin, person.id, too_few)  # one log: words, no chart

    earlier_days(tmp_path / "peerbot.sqlite3", person.id, dt.date.fromisoformat(day), 3)
    mark = len(standin.calls)
    await standin.send_text(person, "/trends")
    call = await standin.wait_for("sendPhoto", timeout=TIMEOUT, after=mark)
    assert call.ok
    photo = call.params["photo"]
    assert photo["content_type"] == "image/png" or photo["filename"].endswith(".png")
    assert photo["content"][:8] == b"\x89PNG\r\n\x1a\n"
    [size] = call.result["photo"]
    assert size["width"] >= 800 and size["height"] >= 900  # full width on a phone
    caption = call.result["caption"]
    assert caption.startswith(caption_start) and energy in caption
    menu = standin.commands_for(scope={"type": "chat", "chat_id": person.id})
    assert {"trends", "log"} <= {c["command"] for c in menu}
