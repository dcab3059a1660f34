"""A person deletes (or exports) their data from the chat, end to end: the real bot process
against the local Bot API stand-in.

What a person's deletion must not do: free ids that the next person or alert then reuses
(their messages would collide with the deleted ones' and be dropped), or take an open
alert down with it (the supervisors must still see it, be re-paged and close it). What it
must do: leave none of the person's words anywhere in the database, and an export must
hold everything of theirs — alerts, relayed messages and flags among it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import sqlite3
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from flows.onboarding import CONSENT_VERSION
from storage import users
from storage.models import Match, Role
from tests.e2e.conftest import ENCRYPTION_KEY, StartBot
from tests.e2e.standin import Call, Reply, TelegramStandIn, TgUser
from tests.e2e.test_alerts_e2e import (
    BACKUP,
    SUPERVISOR_CHAT,
    answer_of,
    onboarded_mentee,
    session_of,
    supervisors_on_call,
    to_chat,
)

TIMEOUT = 15
SENTENCE = "I want to kill myself tonight"
# Telegram ids unlike any other number the bot stores, so a walk of the tables finds them.
ANA, BEN, CLEO = 7_350_001, 7_350_002, 7_350_003


def shown_to(chat_id: int, *words: str):
    """A successful message (or edit) to ``chat_id`` that reads, as shown, ``words``."""

    def matches(call: Call) -> bool:
        if not call.ok or str(call.params.get("chat_id")) != str(chat_id):
            return False
        shown = Reply(call).text if isinstance(call.result, dict) else ""
        return all(word in (shown or str(call.params.get("text", ""))) for word in words)

    return matches


async def onboarded_supervisor(data_dir: Path, telegram_id: int) -> None:
    """A supervisor from ``supervisors_on_call`` who has also been through onboarding."""
    async with session_of(data_dir) as session:
        person = await users.get_by_telegram_id(session, telegram_id)
        users.record_consent(session, person, CONSENT_VERSION)
        users.finish_onboarding(person, "Europe/London", dt.time(9))
        await session.commit()


def channel_alert_about(pseudonym: str):
    return shown_to(SUPERVISOR_CHAT, "Alert #", pseudonym)


async def delete_my_data(standin: TelegramStandIn, who: TgUser) -> None:
    """/privacy → Delete my data → Yes, delete everything, as the person taps it."""
    mark = standin.mark()
    await standin.send_text(who, "/privacy")
    offer = Reply(
        await standin.wait_for(
            "sendMessage",
            lambda c: shown_to(who.id)(c) and "privacy:delete" in str(c.params),
            timeout=TIMEOUT,
            after=mark,
        )
    )
    await standin.tap(who, offer, "Delete my data")
    asked = Reply(
        await standin.wait_for("sendMessage", shown_to(who.id, "Are you sure"), TIMEOUT, after=mark)
    )
    await standin.tap(who, asked, "Yes, delete everything")
    await standin.wait_for("editMessageText", shown_to(who.id, "deleted"), TIMEOUT, after=mark)


async def export_my_data(standin: TelegramStandIn, who: TgUser) -> dict:
    """/privacy → Export my data; the file the person receives, read as they would."""
    mark = standin.mark()
    await standin.send_text(who, "/privacy")
    offer = Reply(
        await standin.wait_for(
            "sendMessage",
            lambda c: shown_to(who.id)(c) and "privacy:export" in str(c.params),
            timeout=TIMEOUT,
            after=mark,
        )
    )
    await standin.tap(who, offer, "Export my data")
    sent = await standin.wait_for(
        "sendDocument",
        lambda c: c.ok and str(c.params.get("chat_id")) == str(who.id),
        timeout=TIMEOUT,
        after=mark,
    )
    return json.loads(sent.params["document"]["content"])


async def mentor_and_mentees(data_dir: Path, *mentees: tuple[int, str]) -> None:
    """Ben (a mentor, registered first) and each mentee, onboarded, each matched with Ben."""
    await supervisors_on_call(data_dir)
    async with session_of(data_dir) as session:
        ben = await users.create(
            session, telegram_id=BEN, locale="en", pseudonym="Ben-pseudo", role=Role.MENTOR
        )
        ben.display_name = "Ben"
        users.record_consent(session, ben, CONSENT_VERSION)
        users.finish_onboarding(ben, "Europe/London", dt.time(20))
        await session.commit()
    for telegram_id, name in mentees:
        await matched_mentee(data_dir, telegram_id, name)


async def matched_mentee(data_dir: Path, telegram_id: int, name: str) -> None:
    await onboarded_mentee(data_dir, telegram_id, "en", "Europe/London", f"{name}-pseudo")
    async with session_of(data_dir) as session:
        mentee = await users.get_by_telegram_id(session, telegram_id)
        mentor = await users.get_by_telegram_id(session, BEN)
        mentee.display_name = name
        session.add(Match(mentee_id=mentee.id, mentor_id=mentor.id, status="active"))
        await session.commit()


async def ben_writes_to(standin: TelegramStandIn, name: str) -> None:
    ben = standin.user(BEN, "Ben", language_code="en")
    mark = standin.mark()
    await standin.send_text(ben, "/reachout")
    await standin.wait_for(
        "sendMessage", shown_to(BEN, f"writing to {name}"), timeout=TIMEOUT, after=mark
    )


def walk(database: Path) -> list[tuple[str, str, str]]:
    """Every value of every table, decrypted where it is encrypted: (table, column, text)."""
    fernet = Fernet(ENCRYPTION_KEY.encode())
    found = []
    with sqlite3.connect(database) as connection:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    text = str(value)
                    if isinstance(value, str) and value.startswith("gAAAA"):
                        with contextlib.suppress(InvalidToken):
                            text = fernet.decrypt(value.encode()).decode()
                    found.append((table, column, text))
    return found


async def still_holding(database: Path, words: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """Where any of ``words`` is left, once the updates in flight are done (an update waits
    in the inbox, with what it carries, until its handler has finished)."""
    for _ in range(50):
        left = [hit for hit in walk(database) if any(w in hit[2] for w in words)]
        if not left:
            return []
        await asyncio.sleep(0.1)
    return [(table, column, text[:200]) for table, column, text in left]


# --- item 1: ids never repeat after a deletion -------------------------------------------------


async def test_an_alert_raised_after_someone_deleted_their_data_reaches_the_supervisors(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await supervisors_on_call(tmp_path)
    await onboarded_mentee(tmp_path, ANA, "en", "Europe/London", "Heron-61")
    await onboarded_mentee(tmp_path, CLEO, "en", "Europe/London", "Heron-62")
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    process = await bot_factory(SUPERVISOR_CHAT_ID=SUPERVISOR_CHAT, ESCALATION_ACK_MINUTES=60)
    ana = standin.user(ANA, "Ana", language_code="en")
    cleo = standin.user(CLEO, "Cleo", language_code="en")

    await standin.send_text(ana, SENTENCE)
    first = Reply(
        await standin.wait_for("sendMessage", channel_alert_about("Heron-61"), timeout=TIMEOUT)
    )
    await delete_my_data(standin, ana)

    mark = standin.mark()
    await standin.send_text(cleo, SENTENCE)
    await standin.wait_for("sendMessage", shown_to(CLEO, "supervisor"), TIMEOUT, after=mark)
    try:
        second = Reply(
            await standin.wait_for(
                "sendMessage", channel_alert_about("Heron-62"), timeout=TIMEOUT, after=mark
            )
        )
    except AssertionError as error:
        raise process.failure(f"Cleo's alert never reached the supervisors: {error}") from None
    number = second.text.split("Alert #")[1].split()[0]
    assert number != first.text.split("Alert #")[1].split()[0], second.text


async def test_a_new_mentee_after_a_deleted_one_is_heard_by_the_same_mentor(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    """Ana (the newest person) talks to Ben, then deletes her data; Cleo, registered after,
    is matched with Ben and writes to him. Her first message must reach him."""
    await mentor_and_mentees(tmp_path, (ANA, "Ana"))
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    process = await bot_factory(SUPERVISOR_CHAT_ID=SUPERVISOR_CHAT, ESCALATION_ACK_MINUTES=60)
    ana = standin.user(ANA, "Ana", language_code="en")
    cleo = standin.user(CLEO, "Cleo", language_code="en")

    await ben_writes_to(standin, "Ana")
    await standin.send_text(ana, "Hello Ben, a better day today")
    await standin.wait_for("sendMessage", shown_to(BEN, "Ana: Hello Ben"), timeout=TIMEOUT)
    await delete_my_data(standin, ana)

    await matched_mentee(tmp_path, CLEO, "Cleo")
    await ben_writes_to(standin, "Cleo")
    mark = standin.mark()
    await standin.send_text(cleo, "Hello Ben, this is Cleo")
    try:
        await standin.wait_for("sendMessage", shown_to(BEN, "Cleo: Hello Ben"), timeout=TIMEOUT)
    except AssertionError as error:
        raise process.failure(f"Cleo's first message never reached Ben: {error}") from None
    # A hello and a name is no crisis: no page, no crisis lines (the model once read it as a
    # goodbye). An alert would leave with the relayed message, so a moment is enough.
    await asyncio.sleep(2)
    later = standin.calls[mark:]
    assert not [c for c in later if shown_to(SUPERVISOR_CHAT, "Alert #")(c)]
    assert not [c for c in later if shown_to(CLEO, "Thank you for telling me")(c)]


# --- item 2: an open alert outlives the person's data ------------------------------------------


async def test_an_open_alert_outlives_the_persons_deletion_until_a_supervisor_closes_it(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await supervisors_on_call(tmp_path)
    await onboarded_supervisor(tmp_path, BACKUP)
    await onboarded_mentee(tmp_path, ANA, "en", "Europe/London", "Heron-61")
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    process = await bot_factory(
        SUPERVISOR_CHAT_ID=SUPERVISOR_CHAT,
        ESCALATION_ACK_MINUTES=0.15,  # nine seconds: time for the deletion first
        ESCALATION_TICK_SECONDS=1,
    )
    ana = standin.user(ANA, "Ana", language_code="en")
    supervisor = standin.user(BACKUP, "Eve", language_code="en")

    await standin.send_text(ana, SENTENCE)
    alert = Reply(
        await standin.wait_for("sendMessage", channel_alert_about("Heron-61"), timeout=TIMEOUT)
    )
    await delete_my_data(standin, ana)
    deleted = standin.mark()

    # /alerts still lists it, under her pseudonym.
    await standin.send_text(supervisor, "/alerts")
    listed = await standin.wait_for(
        "sendMessage", shown_to(BACKUP, "Open alerts"), TIMEOUT, after=deleted
    )
    assert "Heron-61" in Reply(listed).text, Reply(listed).text

    # Nobody acknowledged it: it escalates, as it would have.
    try:
        await standin.wait_for(
            "sendMessage", to_chat(BACKUP, "Alert #", "level 1"), timeout=TIMEOUT, after=deleted
        )
    except AssertionError as error:
        raise process.failure(f"the alert stopped escalating: {error}") from None

    # Its buttons still work for supervisors.
    mark = standin.mark()
    thanked = await answer_of(standin, await standin.tap(supervisor, alert, "Acknowledge"))
    assert "Thank you" in str(thanked.params.get("text")), thanked
    edited = await standin.wait_for(
        "editMessageText", shown_to(SUPERVISOR_CHAT, "Acknowledged by"), TIMEOUT, after=mark
    )
    assert "Heron-61" in Reply(edited).text and SENTENCE in Reply(edited).text

    # Closed: her words go, the case (pseudonym, times, outcome) stays.
    await standin.tap(supervisor, Reply(edited), "Resolve")
    outcomes = await standin.wait_for(
        "editMessageReplyMarkup", lambda c: c.ok, timeout=TIMEOUT, after=mark
    )
    mark = standin.mark()
    await standin.tap(supervisor, Reply(outcomes), "Spoke with them")
    closed = await standin.wait_for(
        "editMessageText", shown_to(SUPERVISOR_CHAT, "Resolved by"), TIMEOUT, after=mark
    )
    assert "Heron-61" in Reply(closed).text
    assert SENTENCE not in Reply(closed).text, Reply(closed).text
    assert not await still_holding(tmp_path / "peerbot.sqlite3", (SENTENCE,))


# --- also: one registry drives export and deletion ------------------------------------------


async def test_export_holds_alerts_relayed_messages_and_flags(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await mentor_and_mentees(tmp_path, (ANA, "Ana"))
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    await bot_factory(SUPERVISOR_CHAT_ID=SUPERVISOR_CHAT, ESCALATION_ACK_MINUTES=60)
    ana = standin.user(ANA, "Ana", language_code="en")
    ben = standin.user(BEN, "Ben", language_code="en")

    await ben_writes_to(standin, "Ana")
    await standin.send_text(ben, "Text me on +44 7700 900123 any time")
    await standin.wait_for("sendMessage", shown_to(ANA, "Ben: Text me"), timeout=TIMEOUT)
    await standin.send_text(ana, "A slow day, but I walked to the river")
    await standin.wait_for("sendMessage", shown_to(BEN, "Ana: A slow day"), timeout=TIMEOUT)
    await standin.send_text(ana, SENTENCE)
    await standin.wait_for("sendMessage", channel_alert_about("Ana-pseudo"), timeout=TIMEOUT)

    mine = json.dumps(await export_my_data(standin, ana), ensure_ascii=False)
    assert "A slow day, but I walked to the river" in mine  # a message she relayed
    assert "Text me on +44 7700 900123" in mine  # one relayed to her
    assert SENTENCE in mine  # her alert, with her words
    his = json.dumps(await export_my_data(standin, ben), ensure_ascii=False)
    assert "flags" in json.loads(his) and "Text me on +44 7700 900123" in his


async def test_after_deletion_none_of_the_persons_words_is_left_anywhere(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    """Ana's resolved alert (its words labelled for the lexicon), her relayed message, a
    flagged message to her, her answers: after /privacy delete no table holds any of it,
    nor her Telegram id."""
    await mentor_and_mentees(tmp_path, (ANA, "Ana"))
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    await bot_factory(SUPERVISOR_CHAT_ID=SUPERVISOR_CHAT, ESCALATION_ACK_MINUTES=60)
    ana = standin.user(ANA, "Ana", language_code="en")
    ben = standin.user(BEN, "Ben", language_code="en")
    supervisor = standin.user(BACKUP, "Eve", language_code="en")

    await ben_writes_to(standin, "Ana")
    await standin.send_text(ben, "Text me on +44 7700 900123, Ana")
    await standin.wait_for("sendMessage", shown_to(ANA, "Ben: Text me"), timeout=TIMEOUT)
    await standin.send_text(ana, "Marigold walks by the river")
    await standin.wait_for("sendMessage", shown_to(BEN, "Ana: Marigold"), timeout=TIMEOUT)
    await standin.send_text(ana, SENTENCE)
    alert = Reply(await standin.wait_for("sendMessage", channel_alert_about("Ana-pseudo"), TIMEOUT))
    await standin.tap(supervisor, alert, "Resolve")
    outcomes = await standin.wait_for("editMessageReplyMarkup", lambda c: c.ok, timeout=TIMEOUT)
    mark = standin.mark()
    await standin.tap(supervisor, Reply(outcomes), "Spoke with them")
    await standin.wait_for(
        "editMessageText", shown_to(SUPERVISOR_CHAT, "Resolved by"), TIMEOUT, after=mark
    )
    database = tmp_path / "peerbot.sqlite3"
    assert [hit for hit in walk(database) if "Marigold" in hit[2]], "the walk reads the outbox"

    await delete_my_data(standin, ana)
    words = ("Marigold", SENTENCE, "Text me on", str(ANA), "Rosalind")
    assert not await still_holding(database, words)
