"""The supervisors' own case workflow end to end: the real bot process, its outbox and its
escalation tick, against the local Bot API stand-in.

Lucía (Spanish, in Madrid) raises an alert. Dana, the supervisor on call, types /alerts in
the supervisors' group, opens the case, writes to Lucía through the bot, adds a note in
private and resolves the case as "Other" with the note it asks for; Lucía is told, in
Spanish, that the conversation has ended and where help is. Ben, her mentor, is in the
group too: /alerts there tells him it is not for him. An escalation nobody answers edits
the group's message of the case; if that message cannot be edited, it is posted anew.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from tests.e2e.conftest import StartBot
from tests.e2e.standin import Call, Reply, TelegramStandIn
from tests.e2e.test_alerts_e2e import (
    PRIMARY,
    channel_alert,
    onboarded_mentee,
    supervisors_on_call,
    to_chat,
)
from tests.e2e.test_reach_e2e import BEN, CRISIS_ES, DANA, LUCIA, the_program, to

SUPERVISOR_CHAT = -1001
TIMEOUT = 15
NOTE = "Spoke with her sister on the phone; she is not alone tonight. Her GP calls tomorrow."
RESOLUTION = "Handed over to her GP with her agreement."


def edit_of(chat_id: int, message_id: int, *words: str):
    def matches(call: Call) -> bool:
        shown = Reply(call).text
        return (
            call.ok
            and str(call.params.get("chat_id")) == str(chat_id)
            and call.params.get("message_id") == message_id
            and all(word in shown for word in words)
        )

    return matches


def show(title: str, reply: Reply) -> None:
    """What the bot said, for the transcript (run with -s)."""
    labels = [label for row in reply.buttons for label, _data in row]
    print(f"\n--- {title}\n{reply.text}" + (f"\n[{'] ['.join(labels)}]" if labels else ""))


async def test_alerts_in_the_group_a_case_view_a_note_and_resolve_other(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await the_program(tmp_path)
    group = standin.group(SUPERVISOR_CHAT, "Supervisors")
    await bot_factory(SUPERVISOR_CHAT_ID=SUPERVISOR_CHAT, ESCALATION_ACK_MINUTES=60)
    lucia = standin.user(LUCIA, "Lucía", language_code="es")
    ben = standin.user(BEN, "Ben", language_code="de")
    dana = standin.user(DANA, "Dana", language_code="en")

    await standin.send_text(lucia, CRISIS_ES)
    alert = Reply(await standin.wait_for("sendMessage", to(SUPERVISOR_CHAT, "Alert #1"), TIMEOUT))
    own = Reply(await standin.wait_for("sendMessage", to(DANA, "Alert #1"), TIMEOUT))

    # /alerts in the group: the open cases, each with a button; Ben is told it is not his.
    mark = standin.mark()
    await standin.send_text(dana, "/alerts", group)
    listing = Reply(
        await standin.wait_for("sendMessage", to(SUPERVISOR_CHAT, "Open alerts"), TIMEOUT, mark)
    )
    show("/alerts in the group", listing)
    assert "#1 · imminent · suicide · Heron-5 · open" in listing.text
    await standin.send_text(ben, "/alerts", group)
    refused = Reply(
        await standin.wait_for("sendMessage", to(SUPERVISOR_CHAT, "nur Supervisor"), TIMEOUT)
    )
    assert refused.text == "Diesen Befehl können nur Supervisor:innen und Admins verwenden."

    # Dana writes to Lucía through the bot; Lucía answers.
    await standin.press(dana, own, own.button("Write to them"))
    await standin.wait_for("sendMessage", to(DANA, "You're writing to Heron-5"), TIMEOUT)
    await standin.send_text(dana, "Hola Lucía, ¿estás a salvo ahora mismo?")
    await standin.wait_for("sendMessage", to(LUCIA, "¿estás a salvo ahora mismo?"), TIMEOUT)
    await standin.send_text(lucia, "Sí. Estoy con mi hermana.")
    await standin.wait_for("sendMessage", to(DANA, "Estoy con mi hermana."), TIMEOUT)

    # The case, opened from the list: its history in order, no words of the conversation.
    mark = standin.mark()
    await standin.press(dana, listing, listing.button("#1"))
    view = Reply(
        await standin.wait_for("sendMessage", to(SUPERVISOR_CHAT, "Case #1"), TIMEOUT, mark)
    )
    show("the case in the group", view)
    history = view.text.split("History", 1)[1]
    assert re.search(r"“Quiero suicidarme esta noche\.”", history)
    assert "Dana started writing to them through me" in history
    assert "Dana wrote to Heron-5 through me — messages: 1" in history
    assert "Heron-5 answered — messages: 1" in history
    assert "hermana" not in view.text and "Lucía" not in view.text

    # Add note, from the group: the prompt comes in private, the note is typed there.
    mark = standin.mark()
    await standin.press(dana, view, view.button("Add note"))
    prompt = Reply(
        await standin.wait_for("sendMessage", to(DANA, "Your note on case #1"), TIMEOUT, mark)
    )
    show("Add note (prompt, in private)", prompt)
    await standin.send_text(dana, NOTE)
    added = Reply(await standin.wait_for("sendMessage", to(DANA, "Note added"), TIMEOUT, mark))
    show("the note is kept", added)
    mark = standin.mark()
    await standin.press(dana, added, added.button("Case #1"))
    private = Reply(
        await standin.wait_for("sendMessage", to(DANA, "Case #1", "Note by Dana"), TIMEOUT, mark)
    )
    show("the case in private", private)
    assert NOTE in private.text and "Estoy con mi hermana." in private.text
    with sqlite3.connect(tmp_path / "peerbot.sqlite3") as raw:
        kinds = [k for (k,) in raw.execute("SELECT kind FROM case_events ORDER BY id")]
        notes = raw.execute("SELECT text FROM case_events WHERE kind = 'note'").fetchall()
        alerts = raw.execute("SELECT count(*) FROM alerts").fetchone()[0]
    assert kinds == ["opened", "to_person", "from_person", "note"]
    assert notes and "sister" not in notes[0][0], "kept encrypted"
    assert alerts == 1

    # Resolve → Other: a note first, then the case is resolved and Lucía is told.
    await standin.press(dana, alert, alert.button("Resolve"))
    outcomes = Reply(
        await standin.wait_for(
            "editMessageReplyMarkup", lambda c: c.ok and c.params.get("chat_id") == SUPERVISOR_CHAT
        )
    )
    mark = standin.mark()
    await standin.press(dana, outcomes, outcomes.button("Other"))
    asked = Reply(
        await standin.wait_for("sendMessage", to(DANA, "To resolve case #1"), TIMEOUT, mark)
    )
    show("Resolve → Other (prompt, in private)", asked)
    with sqlite3.connect(tmp_path / "peerbot.sqlite3") as raw:
        assert raw.execute("SELECT status FROM alerts").fetchone()[0] == "contacting"
    await standin.send_text(dana, RESOLUTION)
    done = Reply(await standin.wait_for("sendMessage", to(DANA, "is resolved"), TIMEOUT, mark))
    show("resolved", done)
    told = Reply(
        await standin.wait_for("sendMessage", to(LUCIA, "ha terminado", "🆘"), TIMEOUT, mark)
    )
    show("Lucía is told", told)
    final = Reply(
        await standin.wait_for(
            "editMessageText",
            edit_of(SUPERVISOR_CHAT, alert.message["message_id"], "Resolved by Dana: Other"),
            TIMEOUT,
            mark,
        )
    )
    assert final.buttons == []
    with sqlite3.connect(tmp_path / "peerbot.sqlite3") as raw:
        assert raw.execute("SELECT status, outcome FROM alerts").fetchone() == ("resolved", "other")
        assert raw.execute("SELECT closed_at IS NOT NULL FROM case_conversations").fetchone()[0]

    # Her next words no longer go to Dana.
    await standin.wait_confirmed(await standin.send_text(lucia, "Gracias."), TIMEOUT)
    assert not any("Gracias." in text for text in standin.messages_to(DANA))


ESCALATING = {
    "SUPERVISOR_CHAT_ID": SUPERVISOR_CHAT,
    "ESCALATION_ACK_MINUTES": 0.05,
    "ESCALATION_TICK_SECONDS": 1,
}


async def test_an_escalation_edits_the_groups_message_or_posts_anew_when_it_cannot(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await supervisors_on_call(tmp_path)
    await onboarded_mentee(tmp_path, 531, "en", "Europe/London", "Heron-61")
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    await bot_factory(**ESCALATING)
    mentee = standin.user(531, "Ada", language_code="en")

    await standin.send_text(mentee, "I want to kill myself tonight")
    posted = Reply(await standin.wait_for("sendMessage", channel_alert, TIMEOUT))
    edited = Reply(
        await standin.wait_for(
            "editMessageText",
            edit_of(SUPERVISOR_CHAT, posted.message["message_id"], "⏫", "escalated"),
            TIMEOUT,
        )
    )
    show("escalated, on the group's own message", edited)
    assert "Alert #1" in edited.text
    assert "Acknowledge" in [t for row in edited.buttons for t, _ in row]
    # The on-call's phone still buzzes: a new direct message at level 1.
    await standin.wait_for("sendMessage", to_chat(PRIMARY, "Alert #1", "level 1"), TIMEOUT)
    posts = [c for c in standin.calls if c.method == "sendMessage" and channel_alert(c)]
    assert posts == [posted.call], "no new group post"

    # The group's message can no longer be edited (deleted, too old): level 2 is posted anew.
    standin.fail_for(
        "editMessageText",
        400,
        30,
        chat_id=SUPERVISOR_CHAT,
        description="Bad Request: message to edit not found",
    )
    mark = standin.mark()
    anew = Reply(
        await standin.wait_for(
            "sendMessage", to_chat(SUPERVISOR_CHAT, "Alert #1 escalated"), TIMEOUT, mark
        )
    )
    show("escalated, posted anew (the message could not be edited)", anew)
    assert "nobody acknowledged it in 0.1 min" in anew.text  # level 2: twice 0.05
    assert "Acknowledge" in [t for row in anew.buttons for t, _ in row]
    assert any(c.method == "editMessageText" and c.status == 400 for c in standin.calls[mark:])
