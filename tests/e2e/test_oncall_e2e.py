"""On call end to end: how many direct messages the on-call supervisor gets per alert,
/oncall's buttons, and the weekly rota handing over the shift, against the stand-in."""

from __future__ import annotations

import asyncio
import datetime as dt
import zoneinfo
from pathlib import Path

import pytest

from flows.onboarding import CONSENT_VERSION
from storage import oncall, users
from tests.e2e.conftest import StartBot
from tests.e2e.standin import Call, Reply, TelegramStandIn
from tests.e2e.test_alerts_e2e import (
    BACKUP,
    NO_ESCALATION_YET,
    OFF_DUTY,
    PRIMARY,
    SUPERVISOR_CHAT,
    TIMEOUT,
    onboarded_mentee,
    peerbot,
    session_of,
    supervisors_on_call,
)

SUPERVISORS = (PRIMARY, BACKUP, OFF_DUTY)
CHANNEL_FAULTS = {
    "ok": None,
    "400": (400, "Bad Request: chat not found"),
    "403": (403, "Forbidden: bot was kicked from the supergroup chat"),
}


def direct_messages(standin: TelegramStandIn, chat_id: int, case: str) -> list[Call]:
    """What reached ``chat_id`` directly about ``case`` ("#1"): alerts and their notes."""
    return [
        call
        for call in standin.calls
        if call.ok
        and call.method == "sendMessage"
        and str(call.params.get("chat_id")) == str(chat_id)
        and case in Reply(call).text
    ]


@pytest.mark.parametrize("channel", list(CHANNEL_FAULTS))
@pytest.mark.parametrize("someone_on_call", [True, False], ids=["on_call", "nobody_on_call"])
async def test_each_supervisor_gets_one_direct_message_per_alert(
    standin: TelegramStandIn,
    bot_factory: StartBot,
    tmp_path: Path,
    channel: str,
    someone_on_call: bool,
) -> None:
    """Issue 11: the on-call got an alert once as their page and again as the channel's
    fallback copy, and a worsening message twice more (the page anew and the note's
    fallback). One direct message per supervisor per event, whatever the channel does."""
    await supervisors_on_call(tmp_path, shifts=someone_on_call)
    await onboarded_mentee(tmp_path, 611, "en", "Europe/London", "Heron-61")
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    if CHANNEL_FAULTS[channel]:
        status, description = CHANNEL_FAULTS[channel]
        standin.fail_for(
            "sendMessage", status, 120, chat_id=SUPERVISOR_CHAT, description=description
        )
    await bot_factory(**NO_ESCALATION_YET)
    mentee = standin.user(611, "Rosalind", language_code="en")
    paged_first = (PRIMARY,) if someone_on_call else SUPERVISORS

    await standin.send_text(mentee, "I don't want to be here anymore")  # severity 2
    for supervisor in paged_first:
        await standin.wait_for("sendMessage", lambda c, s=supervisor: _to(c, s), timeout=TIMEOUT)
    await asyncio.sleep(2.5)  # a second copy would be on its way by now (1 s per chat)
    first = {s: len(direct_messages(standin, s, "#1")) for s in SUPERVISORS}

    # Worse words join the case: the on-call (everyone, with nobody on call) hears it once.
    mark = standin.mark()
    await standin.send_text(mentee, "I have the pills ready and I want to die")
    await standin.wait_for(
        "sendMessage", lambda c: _to(c, paged_first[0]), timeout=TIMEOUT, after=mark
    )
    await asyncio.sleep(2.5)
    both = {s: len(direct_messages(standin, s, "#1")) for s in SUPERVISORS}
    worse = {s: both[s] - first[s] for s in SUPERVISORS}
    print(f"channel {channel}, on call {someone_on_call}: first alert {first}, worse {worse}")

    channel_down = CHANNEL_FAULTS[channel] is not None
    for supervisor in SUPERVISORS:
        # Without a channel everyone must have it directly; with one, only those paged.
        expected = 1 if (supervisor in paged_first or channel_down) else 0
        assert first[supervisor] == expected, (supervisor, first)
        assert worse[supervisor] == expected, (supervisor, worse)
    assert "Alert #1" in Reply(direct_messages(standin, paged_first[0], "#1")[0]).text


def _to(call: Call, chat_id: int) -> bool:
    return call.ok and str(call.params.get("chat_id")) == str(chat_id) and "#1" in Reply(call).text


# --- /oncall and the rota --------------------------------------------------------------------

CHANGED = "This has changed since. Here is how it stands now."


async def onboarded_supervisors(data_dir: Path, languages: dict[int, str]) -> None:
    """PRIMARY on call (by hand), BACKUP and OFF_DUTY not; all onboarded, in ``languages``."""
    await supervisors_on_call(data_dir)
    async with session_of(data_dir) as session:
        for telegram_id in SUPERVISORS:
            person = await users.get_by_telegram_id(session, telegram_id)
            person.locale = languages.get(telegram_id, "en")
            person.display_name = {PRIMARY: "Dana", BACKUP: "Eve", OFF_DUTY: "Lucía"}[telegram_id]
            users.record_consent(session, person, CONSENT_VERSION)
            users.finish_onboarding(person, "Europe/Madrid", None)
        backup = await users.get_by_telegram_id(session, BACKUP)
        await oncall.end(session, backup)  # only Dana is on call
        await session.commit()


def labels(reply: Reply) -> list[str]:
    return [text for row in reply.buttons for text, _data in row]


async def test_oncall_offers_what_fits_and_a_stale_button_shows_how_it_stands(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await onboarded_supervisors(tmp_path, {})
    await bot_factory(**NO_ESCALATION_YET)
    dana = standin.user(PRIMARY, "Dana", language_code="en")
    lucia = standin.user(OFF_DUTY, "Lucía", language_code="en")

    await standin.send_text(dana, "/oncall")
    on_duty = await standin.next_reply(PRIMARY, timeout=TIMEOUT)
    await standin.send_text(lucia, "/oncall")
    off_duty = await standin.next_reply(OFF_DUTY, timeout=TIMEOUT)
    print(f"--- /oncall, on call:\n{on_duty.text}\n{labels(on_duty)}")
    print(f"--- /oncall, not on call:\n{off_duty.text}\n{labels(off_duty)}")
    assert "On call now: Dana" in on_duty.text and "You are on call" in on_duty.text
    assert labels(on_duty) == ["End my shift", "Switch to backup"]
    assert "On call now: Dana" in off_duty.text and "You are not on call." in off_duty.text
    assert labels(off_duty) == ["Take primary", "Take backup"]

    # Lucía takes primary: Dana is told, in a message of its own.
    query = await standin.press(lucia, off_duty, off_duty.button("Take primary"))
    answer = await standin.wait_for(
        "answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query
    )
    assert answer.params.get("text") == "You are on call now."
    told = await standin.wait_for(
        "sendMessage", lambda c: _to_text(c, PRIMARY, "Lucía has taken over"), timeout=TIMEOUT
    )
    assert "your on-call shift has ended" in Reply(told).text

    # Dana's "End my shift" was offered while she was on call: it now shows how it stands.
    mark = standin.mark()
    query = await standin.press(dana, on_duty, on_duty.button("End my shift"))
    answer = await standin.wait_for(
        "answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query, after=mark
    )
    assert answer.params.get("text") == CHANGED
    shown = Reply(
        await standin.wait_for(
            "editMessageText", lambda c: _to_text(c, PRIMARY, "On call now"), after=mark
        )
    )
    assert "On call now: Lucía" in shown.text and "You are not on call." in shown.text
    assert labels(shown) == ["Take primary", "Take backup"]


def _to_text(call: Call, chat_id: int, words: str) -> bool:
    return call.ok and str(call.params.get("chat_id")) == str(chat_id) and words in Reply(call).text


def hhmm(moment: dt.datetime) -> str:
    return f"{moment:%H:%M}"


async def test_rota_set_hands_over_now_and_reminds_the_next_supervisor_in_their_language(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    """Eve's shift is under way: it becomes hers at once and Dana (on call by hand) is told
    it ended. Lucía's starts in about ten minutes: she is reminded now, in Spanish, with the
    open cases (one)."""
    await onboarded_supervisors(tmp_path, {OFF_DUTY: "es"})
    await onboarded_mentee(tmp_path, 612, "en", "Europe/London", "Heron-62")
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    await bot_factory(**NO_ESCALATION_YET, SCHEDULER_TICK_SECONDS=1)
    mentee = standin.user(612, "Rosalind", language_code="en")
    await standin.send_text(mentee, "I want to kill myself tonight")
    await standin.wait_for("sendMessage", lambda c: _to_text(c, PRIMARY, "Alert #1"))

    madrid = zoneinfo.ZoneInfo("Europe/Madrid")
    now = dt.datetime.now(madrid).replace(second=0, microsecond=0)
    hand_over = now + dt.timedelta(minutes=10)
    started = now - dt.timedelta(hours=1)
    rota = (
        "# the test's rota\n"
        "timezone: Europe/Madrid\n"
        f"{started:%a} {hhmm(started)} {hhmm(hand_over)} {BACKUP}\n"
        f"{hand_over:%a}, {hhmm(hand_over)}, {hhmm(hand_over + dt.timedelta(hours=2))}, "
        f"{OFF_DUTY}, {PRIMARY}\n"
    )
    (tmp_path / "rota.txt").write_text(rota, encoding="utf-8")
    out = await peerbot(tmp_path, "oncall", "rota", "set", str(tmp_path / "rota.txt"))
    print(f"--- rota file:\n{rota}--- peerbot oncall rota set:\n{out}")
    assert f"On call now, by the rota: {BACKUP}" in out

    started_msg = await standin.wait_for(
        "sendMessage", lambda c: _to_text(c, BACKUP, "You are on call now"), timeout=TIMEOUT
    )
    ended = await standin.wait_for(
        "sendMessage", lambda c: _to_text(c, PRIMARY, "on-call shift has ended"), timeout=TIMEOUT
    )
    reminder = await standin.wait_for(
        "sendMessage", lambda c: _to_text(c, OFF_DUTY, "🔔"), timeout=TIMEOUT
    )
    backup_reminder = await standin.wait_for(
        "sendMessage", lambda c: _to_text(c, PRIMARY, "🔔"), timeout=TIMEOUT
    )
    for name, call in (
        ("start", started_msg),
        ("ended", ended),
        ("reminder (es)", reminder),
        ("reminder as backup (en)", backup_reminder),
    ):
        print(f"--- {name}:\n{Reply(call).text}")
    text = Reply(reminder).text
    assert "Tu guardia empieza a las " + hhmm(hand_over) in text, text
    assert "Casos abiertos ahora: 1" in text
    assert "On call now: Eve" in Reply(ended).text

    shown = await peerbot(tmp_path, "oncall", "rota", "show")
    print(f"--- peerbot oncall rota show:\n{shown}")
    assert f"On call now: {BACKUP}" in shown and "<- now" in shown
    assert f"Next hand-over: {hand_over:%a %Y-%m-%d %H:%M} to {OFF_DUTY}" in shown
