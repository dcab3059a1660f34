"""The supervisors' own case workflow, as they live it (real dispatcher, Telegram faked).

Lucía (a mentee who writes Spanish) raises an alert. In the supervisors' group Eve types
/alerts and opens the case; Dana writes to Lucía through the bot. The case view tells the
whole story in order: what Lucía said, who acknowledged, who wrote to her (in the group
only how often and when; word for word only in a private chat), the notes. A note is typed
in private; "Resolve → Other" needs one; resolving ends the conversation with Lucía and
tells both sides. An escalation edits the channel's message of the case.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.escalation import escalate_due
from flows.cases import NOTE
from handlers.alerts import AlertAction, CaseAction, repost_escalation
from storage import outbox
from storage.models import AlertStatus, CaseConversation, CaseEvent, Match, Role
from tests.fakes import Sent
from tests.unit.alert_helpers import (
    ONLY_SUPERVISORS,
    SUPERVISOR_CHAT,
    alert_rows,
    alert_settings,
    deliver_all,
    make_overdue,
    member,
    on_call,
    outbox_rows,
    shown_message,
    the_alert,
)
from tests.unit.chat_helpers import Watch, conversation, person

LUCIA, BEN, DANA, EVE, MENTOR_ONLY, OTHER_GROUP = 310, 810, 910, 911, 812, -2002
CRISIS_ES = "Hoy no puedo más. Quiero suicidarme esta noche."
SENTENCE_ES = "Quiero suicidarme esta noche."


@pytest.fixture
def settings(tmp_path, database_url):
    return alert_settings(tmp_path, database_url)


@pytest.fixture
def watch(harness) -> Watch:
    return Watch(harness)


async def program(sessionmaker) -> None:
    await member(sessionmaker, DANA, role=Role.SUPERVISOR, display_name="Dana")
    await member(sessionmaker, EVE, role=Role.SUPERVISOR, display_name="Eve")
    await on_call(sessionmaker, DANA)
    lucia = await member(
        sessionmaker, LUCIA, locale="es", zone="Europe/Madrid", pseudonym="Heron-5"
    )
    ben = await member(
        sessionmaker, BEN, role=Role.MENTOR, locale="de", pseudonym="Oak-8", display_name="Ben"
    )
    async with sessionmaker() as session:
        session.add(Match(mentee_id=lucia, mentor_id=ben, status="active"))
        await session.commit()


async def raised(harness, watch, sessionmaker, text: str = CRISIS_ES, who: int = LUCIA):
    await person(harness, watch, who, "es").say(text)
    alert = (await alert_rows(sessionmaker))[-1]
    return alert, await deliver_all(sessionmaker, f"alert:{alert.id}:")


async def in_group(harness, user_id: int, text: str, chat_id: int = SUPERVISOR_CHAT) -> list[Sent]:
    people = harness.people
    update = people.text(people.user(user_id), text, chat_type="supergroup", chat_id=chat_id)
    return await harness.feed(update)


def said_in(sent: list[Sent], chat_id: int) -> str:
    return "\n".join(s.text or "" for s in sent if s.chat_id == chat_id and s.text)


def sent_since(harness, mark: int, chat_id: int) -> list[Sent]:
    return [
        s
        for s in harness.telegram.sent[mark:]
        if s.chat_id == chat_id and s.method == "sendMessage"
    ]


# --- /alerts and /status in the supervisors' group --------------------------------------------


async def test_alerts_and_status_work_in_the_supervisors_group_and_nobody_else_is_left_silent(
    harness, watch, sessionmaker
) -> None:
    await program(sessionmaker)
    await member(sessionmaker, MENTOR_ONLY, role=Role.MENTOR, display_name="Mo")
    empty = await in_group(harness, EVE, "/alerts")
    assert said_in(empty, SUPERVISOR_CHAT) == (
        "No open cases right now. 🌿 New alerts will show up here."
    )

    first, _copies = await raised(harness, watch, sessionmaker)
    await member(sessionmaker, 320, pseudonym="Crane-7")
    second, _copies = await raised(harness, watch, sessionmaker, "I feel hopeless", 320)
    listing = await in_group(harness, EVE, "/alerts@peerbot_test_bot")
    [shown] = [s for s in listing if s.chat_id == SUPERVISOR_CHAT]
    lines = shown.text.splitlines()
    assert lines[0] == "<b>Open alerts</b> · newest first"
    assert lines[1].startswith(f"#{second.id} · concern · suicide · Crane-7 · open")
    assert lines[2].startswith(f"#{first.id} · imminent · suicide · Heron-5 · open")
    assert [b.text for row in shown.markup.inline_keyboard for b in row] == [
        f"📋 #{second.id} · Crane-7",
        f"📋 #{first.id} · Heron-5",
    ]
    assert CRISIS_ES not in shown.text

    status = said_in(await in_group(harness, DANA, "/status"), SUPERVISOR_CHAT)
    assert "<b>peerbot status</b>" in status and "Open alerts: 2" in status

    # Anyone else in the group is told, briefly; so is anyone in another group.
    for stranger in (MENTOR_ONLY, 4242):
        for command in ("/alerts", "/status"):
            answer = said_in(await in_group(harness, stranger, command), SUPERVISOR_CHAT)
            assert answer == "Only supervisors and admins can use this command."
    for who in (EVE, MENTOR_ONLY):
        answer = said_in(await in_group(harness, who, "/alerts", OTHER_GROUP), OTHER_GROUP)
        assert answer == (
            "This command works only in the supervisors' group, or in a private chat with me."
        )

    # In private it works as before; a mentee is told it is not for them.
    assert "Heron-5" in (await person(harness, watch, DANA).send("/alerts")).text
    said = "\n".join(s.text or "" for s in await person(harness, watch, LUCIA, "es").say("/alerts"))
    assert "Heron-5" not in said and said


# --- a case's whole history -----------------------------------------------------------------------


async def a_case_with_a_conversation(harness, watch, sessionmaker):
    """Lucía's alert; Eve acknowledges it in the group; Dana writes to Lucía through the bot
    from her own copy and Lucía answers."""
    alert, copies = await raised(harness, watch, sessionmaker)
    channel = copies[f"alert:{alert.id}:l0:channel"]
    eve, dana = person(harness, watch, EVE), person(harness, watch, DANA)
    await eve.tap("Acknowledge", channel)
    await dana.tap("Write to them", copies[f"alert:{alert.id}:l0:dm:{DANA}"])
    await dana.say("Hola Lucía, ¿estás a salvo ahora mismo?")
    await person(harness, watch, LUCIA, "es").say("Sí, estoy con mi hermana.")
    return alert, channel


async def test_a_case_view_tells_its_history_in_order_and_the_words_only_in_private(
    harness, watch, sessionmaker
) -> None:
    await program(sessionmaker)
    alert, channel = await a_case_with_a_conversation(harness, watch, sessionmaker)
    eve = person(harness, watch, EVE)

    mark = len(harness.telegram.sent)
    assert await eve.tap("📋 Case", channel) is None
    [view] = sent_since(harness, mark, SUPERVISOR_CHAT)
    lines = view.text.splitlines()
    assert (
        lines[0] == f"📋 <b>Case #{alert.id}</b> · imminent · suicide · Heron-5 · being contacted"
    )
    history = lines[lines.index("<b>History</b>") + 1 :]
    steps = [re.sub(r"\d\d:\d\d", "HH:MM", line) for line in history if line]
    assert steps[:7] == [
        "HH:MM · 💬 <i>“Hoy no puedo más.”</i>",
        f"HH:MM · 💬 <i>“{SENTENCE_ES}”</i>",
        "HH:MM · ✅ Acknowledged by Eve",
        "HH:MM · ✉️ Dana started writing to them through me",
        "HH:MM · ✉️ Dana wrote to Heron-5 through me — messages: 1 (HH:MM)",
        "HH:MM · 💬 Heron-5 answered — messages: 1 (HH:MM)",
        "<i>Messages and notes are shown word for word only in a private chat.</i>",
    ]
    assert "hermana" not in view.text and "a salvo" not in view.text, "no words in the group"
    assert "Lucía" not in view.text, "the pseudonym, as in alerts"
    assert [b.text for row in view.markup.inline_keyboard for b in row] == [
        "📝 Add note",
        "🔒 Whole conversation, in private",
    ]

    # In private, the conversation word for word.
    shown = view.message.model_copy(update={"chat": channel.chat})
    assert await eve.tap("in private", shown) == "Sent to our private chat."
    private = eve.last_text()
    assert "✉️ Dana → Heron-5: <i>“Hola Lucía, ¿estás a salvo ahora mismo?”</i>" in private
    assert "💬 Heron-5: <i>“Sí, estoy con mi hermana.”</i>" in private


async def test_case_buttons_are_refused_to_anyone_but_staff_and_anywhere_but_their_chats(
    harness, watch, sessionmaker
) -> None:
    await program(sessionmaker)
    alert, channel = await a_case_with_a_conversation(harness, watch, sessionmaker)
    await member(sessionmaker, MENTOR_ONLY, role=Role.MENTOR, display_name="Mo")
    view = CaseAction(action="view", alert_id=alert.id).pack()
    note = CaseAction(action="note", alert_id=alert.id).pack()
    mark = len(harness.telegram.sent)
    for forger in (MENTOR_ONLY, 4242):  # a mentor, a stranger
        assert await person(harness, watch, forger).press(view, channel) == ONLY_SUPERVISORS
        assert await person(harness, watch, forger).press(note, channel) == ONLY_SUPERVISORS
    refused = await person(harness, watch, LUCIA, "es").press(view, channel)
    assert refused == "Solo las personas supervisoras pueden usar estos botones."
    assert not sent_since(harness, mark, SUPERVISOR_CHAT)
    # A supervisor's press in another group: the case is never shown there.
    elsewhere = shown_message(OTHER_GROUP, 77, "x", None)
    mark = len(harness.telegram.sent)
    assert await person(harness, watch, EVE).press(view, elsewhere) == ONLY_SUPERVISORS
    assert not sent_since(harness, mark, OTHER_GROUP)
    # Forged ids and actions get a clear answer, never a crash.
    missing = CaseAction(action="view", alert_id=99999999999).pack()
    assert (
        await person(harness, watch, EVE).press(missing, channel) == "This case no longer exists."
    )
    odd = CaseAction(action="explode", alert_id=alert.id).pack()
    assert await person(harness, watch, EVE).press(odd, channel) == "This button has expired."
    other = AlertAction(action="outcome", alert_id=alert.id, outcome="other").pack()
    assert await person(harness, watch, MENTOR_ONLY).press(other, channel) == ONLY_SUPERVISORS
    assert (await the_alert(sessionmaker, alert.id)).status != AlertStatus.RESOLVED


# --- notes --------------------------------------------------------------------------------------------


async def test_a_note_from_the_group_is_typed_in_private_kept_encrypted_and_not_screened(
    harness, watch, sessionmaker
) -> None:
    await program(sessionmaker)
    alert, channel = await a_case_with_a_conversation(harness, watch, sessionmaker)
    eve = person(harness, watch, EVE)
    mark = len(harness.telegram.sent)
    await eve.tap("📋 Case", channel)
    [view] = sent_since(harness, mark, SUPERVISOR_CHAT)
    in_group = view.message.model_copy(update={"chat": channel.chat})

    toast = await eve.tap("Add note", in_group)
    assert toast == "I've written to you in our private chat: type the note there."
    assert eve.last_text().startswith(f"📝 Your note on case #{alert.id} (Heron-5): type it here")
    state, data = await conversation(sessionmaker, EVE)
    assert state == "CaseNoting:writing" and data["alert_id"] == alert.id

    # /cancel is a way back: nothing is kept.
    assert (await eve.send("/cancel")).text == f"Stopped. No note was added to case #{alert.id}."
    await eve.tap("Add note", in_group)
    note = "She says she wants to die tonight but her sister is with her. Calling back at 22:00."
    sent = await eve.say(note)
    assert said_in(sent, EVE) == f"📝 Note added to case #{alert.id}."
    assert len(await alert_rows(sessionmaker)) == 1, "a supervisor's note is not their crisis"
    assert (await conversation(sessionmaker, EVE))[0] is None
    async with sessionmaker() as session:
        notes = (await session.execute(select(CaseEvent).where(CaseEvent.kind == NOTE))).scalars()
        assert [n.text for n in notes] == [note]

    # The group sees that Eve added a note; her private view shows it.
    mark = len(harness.telegram.sent)
    await eve.tap("📋 Case", channel)
    [group_view] = sent_since(harness, mark, SUPERVISOR_CHAT)
    assert "📝 Eve added a note" in group_view.text and "sister" not in group_view.text
    await eve.tap("📋 Case")  # on the "Note added" answer, in private
    assert f"📝 Note by Eve: <i>“{note}”</i>" in eve.last_text()

    # Too long: asked again, nothing lost.
    await eve.tap("Add note", in_group)
    too_long = await eve.say("x" * 600)
    assert "notes can be up to 500" in said_in(too_long, EVE)
    assert (await conversation(sessionmaker, EVE))[0] == "CaseNoting:writing"


# --- Resolve → Other, and what resolving closes ---------------------------------------------------


async def test_resolve_other_asks_for_a_note_then_resolves_and_ends_the_conversation(
    harness, watch, sessionmaker
) -> None:
    await program(sessionmaker)
    alert, channel = await a_case_with_a_conversation(harness, watch, sessionmaker)
    eve = person(harness, watch, EVE)
    await eve.tap("Resolve", channel)
    other = AlertAction(action="outcome", alert_id=alert.id, outcome="other").pack()

    toast = await eve.press(other, channel)
    assert toast == "I've written to you in our private chat: type the note there."
    assert eve.last_text().startswith(f"✔️ To resolve case #{alert.id} (Heron-5) as “Other”")
    assert (await the_alert(sessionmaker, alert.id)).status == AlertStatus.CONTACTING
    assert (await eve.send("/cancel")).text == (
        f"Stopped. Case #{alert.id} stays open; nothing was saved."
    )
    assert (await the_alert(sessionmaker, alert.id)).status == AlertStatus.CONTACTING

    await eve.press(other, channel)
    sent = await eve.say("Her GP took over; agreed with her and her sister.")
    assert said_in(sent, EVE).startswith(f"✔️ Case #{alert.id} is resolved as “Other”")
    stored = await the_alert(sessionmaker, alert.id)
    assert (stored.status, stored.outcome, stored.resolved_by) == (
        AlertStatus.RESOLVED,
        "other",
        EVE,
    )
    async with sessionmaker() as session:
        [talk] = (await session.execute(select(CaseConversation))).scalars()
        assert talk.closed_at is not None
    rows = await outbox_rows(sessionmaker, "case:")
    [to_lucia] = [r for r in rows if r.chat_id == LUCIA and ":resolved:" in r.key]
    assert "ha terminado" in to_lucia.text and "🆘" in to_lucia.text
    [to_dana] = [r for r in rows if r.chat_id == DANA and ":resolved:" in r.key]
    assert to_dana.text == (
        f"Case #{alert.id} was resolved by Eve: your conversation with Heron-5 has ended. "
        "They were told how to reach help again."
    )
    edited = [
        r for r in await outbox_rows(sessionmaker, "alertedit:") if "Resolved by Eve" in r.text
    ]
    await eve.tap("📋 Case")  # on the "resolved" answer, in her private chat
    history = eve.last_text()
    assert "✔️ Resolved by Eve: Other" in history
    assert "📝 Note by Eve: <i>“Her GP took over; agreed with her and her sister.”</i>" in history
    assert "🔚 Eve ended the conversation" in history
    assert edited, "every copy of the alert says it"
    # Lucía's next message is no longer passed to Dana.
    before = len([r for r in await outbox_rows(sessionmaker, "case:") if r.chat_id == DANA])
    await person(harness, watch, LUCIA, "es").say("Gracias por todo.")
    after = len([r for r in await outbox_rows(sessionmaker, "case:") if r.chat_id == DANA])
    assert after == before

    # Resolved from the other outcomes, at once, as before: also ends a conversation.
    second, copies = await raised(harness, watch, sessionmaker)
    dana = person(harness, watch, DANA)
    await dana.tap("Write to them", copies[f"alert:{second.id}:l0:dm:{DANA}"])
    safe = AlertAction(action="outcome", alert_id=second.id, outcome="safe").pack()
    assert (await dana.press(safe, copies[f"alert:{second.id}:l0:channel"])).startswith("Thank")
    assert (await the_alert(sessionmaker, second.id)).outcome == "safe"
    async with sessionmaker() as session:
        open_talks = (
            await session.execute(
                select(CaseConversation).where(CaseConversation.closed_at.is_(None))
            )
        ).scalars()
        assert list(open_talks) == []


# --- "I'm contacting them" says who -----------------------------------------------------------------


async def test_im_contacting_them_names_the_supervisor_on_the_alert_and_in_the_case(
    harness, watch, sessionmaker
) -> None:
    await program(sessionmaker)
    alert, copies = await raised(harness, watch, sessionmaker)
    channel = copies[f"alert:{alert.id}:l0:channel"]
    eve = person(harness, watch, EVE)
    await eve.tap("contacting", channel)
    edits = [r for r in await outbox_rows(sessionmaker, "alertedit:") if r.chat_id == DANA]
    assert "📞 Eve is contacting them." in edits[-1].text
    mark = len(harness.telegram.sent)
    await eve.tap("📋 Case", channel)
    [view] = sent_since(harness, mark, SUPERVISOR_CHAT)
    assert "📞 Eve said they are contacting them" in view.text


# --- an escalation edits the case's channel message -------------------------------------------------


async def test_an_escalation_edits_the_channel_message_and_still_pages_directly(
    harness, watch, sessionmaker, settings
) -> None:
    await program(sessionmaker)
    alert, copies = await raised(harness, watch, sessionmaker)
    channel = copies[f"alert:{alert.id}:l0:channel"]
    await make_overdue(sessionmaker, alert.id)
    assert await escalate_due(sessionmaker, settings, harness.dispatcher["i18n"]) == 1

    rows = await outbox_rows(sessionmaker, f"alert:{alert.id}:l1:")
    assert [r.chat_id for r in rows] == [DANA], "the on-call's phone buzzes; no new group post"
    [edit] = await outbox_rows(sessionmaker, f"alertedit:{alert.id}:esc1:")
    assert edit.method == "editMessageText" and edit.chat_id == SUPERVISOR_CHAT
    assert edit.params["message_id"] == channel.message_id
    assert edit.text.startswith(
        f"⏫ <b>Alert #{alert.id} escalated</b>: nobody acknowledged it in 5 min."
    )
    assert SENTENCE_ES in edit.text and "Acknowledge" in edit.labels
    mark = len(harness.telegram.sent)
    await person(harness, watch, EVE).tap("📋 Case", channel)
    [view] = sent_since(harness, mark, SUPERVISOR_CHAT)
    assert "⏫ Nobody acknowledged in time: escalated (level 1)" in view.text

    # The message is gone (deleted, too old): the escalated alert is posted anew.
    claimed = outbox.Claimed(
        id=edit.id,
        key=edit.key,
        chat_id=edit.chat_id,
        method=edit.method,
        params=edit.params,
        attempts=1,
        on_undeliverable=edit.on_undeliverable,
    )
    assert edit.on_undeliverable == f"repost_alert:all_supervisors:{DANA}"
    async with sessionmaker() as session:
        await repost_escalation(session, claimed, edit.on_undeliverable.partition(":")[2])
        await session.commit()
    [anew] = await outbox_rows(sessionmaker, f"alert:{alert.id}:l1:channel")
    assert anew.method == "sendMessage" and anew.chat_id == SUPERVISOR_CHAT
    assert anew.text == edit.text and "message_id" not in anew.params
    assert anew.on_undeliverable == f"all_supervisors:{DANA}"
