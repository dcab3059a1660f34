"""Crisis alerts as people live them, through the real dispatcher (Telegram faked).

A mentee writes crisis words in the middle of their daily log: they are answered at once,
warmly, with their plan and the numbers to call, and told a supervisor knows; an alert
case opens and is queued for the supervisors' channel in the same transaction; the log
carries on. Supervisors answer on the alert's own messages, and nobody else can.
"""

from __future__ import annotations

import datetime as dt

import pytest
from aiogram.methods import EditMessageReplyMarkup, EditMessageText

from bot.escalation import escalate_due
from flows import alerts as alert_flow
from flows.screening import screen
from handlers.alerts import AlertAction
from storage import outbox
from storage.models import AlertStatus, Role
from tests.fakes import Sent
from tests.harness import Harness, make_harness
from tests.unit.alert_helpers import (
    BUTTONS,
    MOVED_ON,
    ONLY_SUPERVISORS,
    SUPERVISOR_CHAT,
    OutRow,
    age_case,
    alert_messages,
    alert_rows,
    alert_settings,
    audit_rows,
    deliver,
    deliver_all,
    hit_rows,
    labelled_rows,
    make_overdue,
    member,
    on_call,
    outbox_rows,
    set_role,
    shown_message,
    the_alert,
    unstaffed_hours,
    write_plan,
)
from tests.unit.chat_helpers import (
    Person,
    Watch,
    answer_all,
    button_data,
    conversation,
    edited_update,
    labels,
    logs_of,
    person,
    tap_data,
)

MENTEE, OTHER_MENTEE, MENTOR, SUPERVISOR, SUPERVISOR_2, ADMIN, STRANGER = (
    300,
    301,
    800,
    900,
    901,
    950,
    999,
)
PSEUDONYM, FIRST_NAME = "Heron-42", "Rosalind"
CRISIS = "I want to kill myself tonight"
THANKS = "Thank you. Everyone on the alert can see it."


@pytest.fixture
def settings(tmp_path, database_url):
    return alert_settings(tmp_path, database_url)


@pytest.fixture
def watch(harness: Harness) -> Watch:
    return Watch(harness)


async def staff(sessionmaker) -> None:
    """Two supervisors (Dana, Eve), a mentor and a program admin."""
    await member(sessionmaker, SUPERVISOR, role=Role.SUPERVISOR, display_name="Dana")
    await member(sessionmaker, SUPERVISOR_2, role=Role.SUPERVISOR, display_name="Eve")
    await member(sessionmaker, MENTOR, role=Role.MENTOR, display_name="Mo")
    await member(sessionmaker, ADMIN, role=Role.ADMIN, display_name="Ada")


async def mentee(sessionmaker, telegram_id: int = MENTEE, **kw) -> int:
    kw.setdefault("pseudonym", PSEUDONYM)
    kw.setdefault("display_name", FIRST_NAME)
    return await member(sessionmaker, telegram_id, **kw)


async def half_way(p: Person) -> None:
    """A daily log with four answers in; the rest-breaks question is asked."""
    await p.send("/log")
    for data in (
        "log:symptom_intensity:6",
        "log:symptoms:pain",
        "log:symptoms:done",
        "log:energy:3",
        "log:activity:less",
    ):
        await tap_data(p, data)


def texts_to(sent: list[Sent], chat_id: int) -> str:
    return "\n".join(s.text or "" for s in sent if s.chat_id == chat_id)


def channel_alert(rows: list[OutRow]) -> OutRow:
    [row] = alert_messages(rows, SUPERVISOR_CHAT)
    return row


async def raised(harness, watch, sessionmaker, text: str = CRISIS, telegram_id: int = MENTEE):
    """The mentee (created if new) writes ``text``; their alert and its delivered copies."""
    await person(harness, watch, telegram_id).say(text)
    alert = (await alert_rows(sessionmaker))[-1]
    copies = await deliver_all(sessionmaker, f"alert:{alert.id}:")
    return alert, copies


def edits(watch: Watch, since: int = 0) -> list[EditMessageText]:
    return [c for c in watch.calls[since:] if isinstance(c, EditMessageText)]


# --- a crisis in the middle of a daily log -------------------------------------------------

LANGUAGES = {
    # language: (zone, a line of that country, the message, the matched sentence, severity)
    "en": (
        "Europe/London",
        "Samaritans",
        "My knees ache today. I want to kill myself tonight. The dog is asleep.",
        "I want to kill myself tonight.",
        3,
    ),
    "es": (
        "Europe/Madrid",
        "024",
        "Hoy me duelen las rodillas. Quiero suicidarme esta noche. El perro duerme.",
        "Quiero suicidarme esta noche.",
        3,
    ),
    "de": (
        "Europe/Berlin",
        "TelefonSeelsorge",
        "Heute tun mir die Knie weh. Ich bringe mich heute Nacht um. Der Hund schläft.",
        "Ich bringe mich heute Nacht um.",
        3,
    ),
}
SEVERITY_WORDS = {1: "concern", 2: "high", 3: "imminent"}


@pytest.mark.parametrize("language", list(LANGUAGES))
async def test_crisis_mid_log_answers_alerts_and_the_log_goes_on(
    harness, watch, sessionmaker, language
) -> None:
    zone, line, message, sentence, severity = LANGUAGES[language]
    [hit] = screen(message, language)  # the lexicon catches it, in this very sentence
    assert (hit.sentence, hit.severity) == (sentence, severity)
    await staff(sessionmaker)
    uid = await mentee(sessionmaker, locale=language, zone=zone)
    await write_plan(sessionmaker, uid, reasons="My dog Pepper", warning_signs="Not sleeping")
    p = person(harness, watch, MENTEE, language)
    await p.say("The flare is back and my neighbour Brigitte visited")  # an earlier message
    await half_way(p)
    state, before = await conversation(sessionmaker, MENTEE)
    assert (state, before["step"]) == ("DailyLogging:answering", "rest_breaks")

    sent = await p.say(message)

    reply = texts_to(sent, MENTEE)
    assert "My dog Pepper" in reply and "Not sleeping" in reply  # their own plan
    assert line in reply  # and the crisis lines of where they live
    if language == "en":
        assert "Thank you for telling me" in reply
        assert "I've let the program's on-call supervisor know" in reply
    assert all(s.chat_id == MENTEE for s in sent), "nothing goes anywhere else directly"

    [alert] = await alert_rows(sessionmaker)
    assert (alert.user_id, alert.category, alert.severity) == (uid, "suicide", severity)
    assert alert.status == AlertStatus.OPEN and alert.escalation_level == 0
    assert alert.escalate_at is not None
    assert abs((alert.escalate_at - alert.opened_at) - dt.timedelta(minutes=5)) < dt.timedelta(
        seconds=1
    )
    [stored] = await hit_rows(sessionmaker, alert.id)
    assert (stored.sentence, stored.language, stored.rule) == (sentence, language, hit.rule)

    row = channel_alert(await outbox_rows(sessionmaker))
    # Nobody is on call: both supervisors are paged directly, so a channel that cannot be
    # reached has nobody left to send its copy to.
    assert row.status == outbox.PENDING
    assert row.on_undeliverable == f"all_supervisors:{SUPERVISOR},{SUPERVISOR_2}"
    assert f"Alert #{alert.id}" in row.text
    assert SEVERITY_WORDS[severity] in row.text and "suicide" in row.text
    assert PSEUDONYM in row.text
    assert FIRST_NAME not in row.text, "alerts carry a pseudonym, not the person's name"
    assert sentence in row.text
    for elsewhere in ("knees", "rodillas", "Knie", "perro", "Hund", "dog", "Brigitte", "flare"):
        assert elsewhere not in row.text, f"only the matched sentence: {elsewhere!r} leaked"
    assert row.labels == BUTTONS
    assert {d.split(":")[1] for d in row.datas if d.startswith("alert:")} == {
        "ack",
        "contact",
        "resolve",
    }
    assert f"write:{alert.id}" in row.datas
    assert all(f":{alert.id}:" in d or d.endswith(f":{alert.id}") for d in row.datas)

    # The log is where it was, with the same answers, and it goes on.
    state, after = await conversation(sessionmaker, MENTEE)
    assert state == "DailyLogging:answering"
    assert (after["step"], after["answers"]) == (before["step"], before["answers"])
    await tap_data(p, "log:rest_breaks:2")
    await answer_all(p, from_step=6)
    [log] = await logs_of(sessionmaker, MENTEE)
    assert (log["symptom_intensity"], log["symptoms"], log["energy"]) == (6, ["pain"], 3)
    assert (log["activity"], log["rest_breaks"]) == ("less", 2)
    p.assert_no_apology()


@pytest.mark.parametrize("language", ["es", "de"])
async def test_the_crisis_answer_is_in_the_persons_language(
    harness, watch, sessionmaker, language
) -> None:
    zone, _line, message, _sentence, _severity = LANGUAGES[language]
    await mentee(sessionmaker, locale=language, zone=zone)
    p = person(harness, watch, MENTEE, language)
    reply = texts_to(await p.say(message), MENTEE)
    for english in ("Thank you for telling me", "I've let", "Crisis lines", "Emergency ("):
        assert english not in reply, f"{language}: the crisis answer is in English: {english!r}"


async def test_no_plan_yet_gets_the_lines_and_an_offer_to_make_one(
    harness, watch, sessionmaker
) -> None:
    await mentee(sessionmaker)
    sent = await person(harness, watch, MENTEE).say(CRISIS)
    [answer] = [s for s in sent if s.text and "Thank you for telling me" in s.text]
    assert "Samaritans" in answer.text and "999" in answer.text
    assert "supervisor" in answer.text
    assert any("Make my plan" in label for label in labels(answer.message))


async def test_someone_who_never_started_the_bot_is_answered_and_alerted(
    harness, watch, sessionmaker
) -> None:
    p = person(harness, watch, 320)
    reply = texts_to(await p.say(CRISIS), 320)
    assert "Samaritans" in reply or "Crisis lines" in reply
    assert "I've let a supervisor of the program know" in reply
    [alert] = await alert_rows(sessionmaker)
    row = channel_alert(await outbox_rows(sessionmaker))
    assert f"Alert #{alert.id}" in row.text and "Sam" not in row.text


async def test_names_are_shown_only_when_the_program_chooses_to(
    tmp_path, database_url, engine, sessionmaker
) -> None:
    harness = make_harness(alert_settings(tmp_path, database_url, alerts_show_names=True), engine)
    await mentee(sessionmaker)
    await person(harness, Watch(harness), MENTEE).say(CRISIS)
    row = channel_alert(await outbox_rows(sessionmaker))
    assert f"{PSEUDONYM} ({FIRST_NAME})" in row.text


async def test_the_persons_words_are_shown_as_written_never_as_markup(
    harness, watch, sessionmaker
) -> None:
    await mentee(sessionmaker)
    await person(harness, watch, MENTEE).say("I want to kill myself <3 & <b>more</b>")
    row = channel_alert(await outbox_rows(sessionmaker))
    assert "&lt;3 &amp; &lt;b&gt;more&lt;/b&gt;" in row.text


# --- every text, caption and edit; in groups too -----------------------------------------


def photo_update(harness: Harness, user_id: int, caption: str, chat_type="private", chat_id=None):
    from aiogram.types import Chat, Message, PhotoSize, Update

    user = harness.people.user(user_id)
    message = Message(
        message_id=880_000 + user_id,
        date=dt.datetime.now(dt.UTC),
        chat=Chat(id=chat_id or user_id, type=chat_type, title="Group" if chat_id else None),
        from_user=user,
        photo=[PhotoSize(file_id="ph", file_unique_id="ph1", width=90, height=90)],
        caption=caption,
    )
    return Update(update_id=880_000 + user_id, message=message)


async def test_a_photo_caption_is_screened(harness, watch, sessionmaker) -> None:
    await mentee(sessionmaker)
    sent = await harness.feed(photo_update(harness, MENTEE, "Look at this. " + CRISIS))
    assert "Samaritans" in texts_to(sent, MENTEE)
    [alert] = await alert_rows(sessionmaker)
    [stored] = await hit_rows(sessionmaker, alert.id)
    assert stored.sentence == CRISIS
    assert CRISIS in channel_alert(await outbox_rows(sessionmaker)).text


COLD = (
    "I'm not sure what to do with that",  # handlers/fallback.py
    "I can only read text messages",
    "I saw you edited a message",
    "I can't read that here",  # handlers/daily_log.py
)


@pytest.mark.parametrize("how", ["text", "edited text", "photo caption", "photo caption mid-log"])
async def test_nothing_cold_follows_a_crisis_answer(harness, watch, sessionmaker, how) -> None:
    """Typed crisis words mid-log are spared the "not an answer" correction; the same words
    anywhere else (no flow, an edit, a caption) must be spared the fallback's puzzled hints,
    which would land right under the crisis lines and the offer of help."""
    await mentee(sessionmaker)
    p = person(harness, watch, MENTEE)
    if how == "text":
        sent = await p.say(CRISIS)
    elif how == "edited text":
        await p.say("Rough day")
        sent = await p.feed(edited_update(p.chat.user, "Rough day. " + CRISIS))
    else:
        if how.endswith("mid-log"):
            await half_way(p)
        sent = await p.feed(photo_update(harness, MENTEE, CRISIS))
    reply = texts_to(sent, MENTEE)
    assert "Samaritans" in reply
    for cold in COLD:
        assert cold not in reply, f"after the crisis answer the bot said: {cold!r}…"
    if how.endswith("mid-log"):
        assert (await conversation(sessionmaker, MENTEE))[1]["step"] == "rest_breaks"


async def test_an_edited_message_is_screened(harness, watch, sessionmaker) -> None:
    await mentee(sessionmaker)
    p = person(harness, watch, MENTEE)
    await p.say("Rough day today")
    assert await alert_rows(sessionmaker) == []
    sent = await p.feed(edited_update(p.chat.user, "Rough day today. " + CRISIS))
    assert "Samaritans" in texts_to(sent, MENTEE)
    [alert] = await alert_rows(sessionmaker)
    assert CRISIS in channel_alert(await outbox_rows(sessionmaker)).text
    assert alert.severity == 3


async def test_in_a_group_the_answer_is_private_and_the_group_hears_nothing(
    harness, watch, sessionmaker
) -> None:
    await mentee(sessionmaker)
    user = harness.people.user(MENTEE)
    sent = await harness.feed(harness.people.text(user, CRISIS, "supergroup", -100500))
    assert sent, "the person is answered"
    assert all(s.chat_id == MENTEE for s in sent), [(s.chat_id, s.text) for s in sent]
    assert "Samaritans" in texts_to(sent, MENTEE)
    [alert] = await alert_rows(sessionmaker)
    assert channel_alert(await outbox_rows(sessionmaker))

    # An edit in the group is screened as well (it joins the open case).
    edit = harness.people.text(user, "Edited: I want to die", "supergroup", -100500)
    edit = edit.model_copy(update={"edited_message": edit.message, "message": None})
    sent = await harness.feed(edit)
    assert all(s.chat_id == MENTEE for s in sent)
    assert len(await hit_rows(sessionmaker, alert.id)) == 2


async def test_in_a_group_someone_not_onboarded_is_alerted_and_the_group_gets_a_gentle_word(
    harness, watch, sessionmaker
) -> None:
    user = harness.people.user(330)  # never started the bot: it may not write to them
    sent = await harness.feed(harness.people.text(user, CRISIS, "supergroup", -100500))
    assert not [s for s in sent if s.method == "sendMessage"]  # nothing to them privately
    # The gentle word is queued, urgent and durable like every crisis answer.
    [gentle] = await outbox_rows(sessionmaker, "gentle:-100500:")
    assert gentle.chat_id == -100500
    assert "A word for everyone here" in gentle.text and CRISIS not in gentle.text
    assert "reply_to_message_id" not in gentle.params  # not a reply: nobody exposed
    # A second message moments later: the same window, no second word.
    await harness.feed(harness.people.text(user, "I want to die", "supergroup", -100500))
    assert len(await outbox_rows(sessionmaker, "gentle:-100500:")) == 1
    [alert] = await alert_rows(sessionmaker)
    assert CRISIS in channel_alert(await outbox_rows(sessionmaker)).text
    assert alert.status == AlertStatus.OPEN


async def test_supervisors_discussing_a_case_in_their_channel_raise_no_alert(
    harness, watch, sessionmaker
) -> None:
    await staff(sessionmaker)
    user = harness.people.user(SUPERVISOR)
    words = 'Called her back, she said "I want to die" but she is safe now'
    assert screen(words, "en")
    await harness.feed(harness.people.text(user, words, "supergroup", SUPERVISOR_CHAT))
    assert await alert_rows(sessionmaker) == []


async def test_a_missed_message_report_is_kept_and_raises_no_alert(
    harness, watch, sessionmaker
) -> None:
    await staff(sessionmaker)
    sup = person(harness, watch, SUPERVISOR)
    reply = await sup.send("/missed es Ya no puedo con nada, quiero morirme")
    assert "stored for the lexicon review (es)" in reply.text
    assert await alert_rows(sessionmaker) == []
    assert await labelled_rows(sessionmaker) == [
        ("es", "missed", "Ya no puedo con nada, quiero morirme", None, None, SUPERVISOR)
    ]
    # The exemption is the supervisor's: a mentee's "/missed …" is screened like any text.
    await mentee(sessionmaker)
    await person(harness, watch, MENTEE).say("/missed I want to die")
    assert len(await alert_rows(sessionmaker)) == 1


# --- one case for several messages -----------------------------------------------------------


async def test_hits_within_the_window_join_one_case_and_later_ones_open_a_new_one(
    harness, watch, sessionmaker
) -> None:
    await mentee(sessionmaker)
    p = person(harness, watch, MENTEE)
    await p.say(CRISIS)
    second = await p.say("I have the pills ready and I want to die")
    assert "Samaritans" in texts_to(second, MENTEE), "the person is answered every time"

    [alert] = await alert_rows(sessionmaker)
    assert alert.severity == 3
    assert [h.sentence for h in await hit_rows(sessionmaker, alert.id)] == [
        CRISIS,
        "I have the pills ready and I want to die",
    ]
    rows = await outbox_rows(sessionmaker)
    assert len(alert_messages(rows, SUPERVISOR_CHAT)) == 1, "no second alert with buttons"
    [note] = [r for r in rows if r.key.startswith("alertnote:")]
    assert note.chat_id == SUPERVISOR_CHAT
    assert f"alert #{alert.id}" in note.text
    assert "I have the pills ready and I want to die" in note.text
    assert CRISIS not in note.text
    assert "reply_markup" not in note.params
    assert [a[0] for a in await audit_rows(sessionmaker)] == ["opened", "joined"]

    await age_case(sessionmaker, alert.id, minutes=31)  # the join window is 30 minutes
    await p.say("I'm going to jump off the bridge tonight")
    first, new = await alert_rows(sessionmaker)
    assert first.id == alert.id and new.id != alert.id
    assert len(await hit_rows(sessionmaker, alert.id)) == 2
    channel = alert_messages(await outbox_rows(sessionmaker), SUPERVISOR_CHAT)
    assert all(f"Alert #{a}" in r.text for a, r in zip((first.id, new.id), channel, strict=True))
    assert channel[1].labels == BUTTONS


async def test_a_resolved_case_is_not_joined(harness, watch, sessionmaker) -> None:
    await staff(sessionmaker)
    await mentee(sessionmaker)
    alert, copies = await raised(harness, watch, sessionmaker)
    sup = person(harness, watch, SUPERVISOR)
    channel = copies[f"alert:{alert.id}:l0:channel"]
    await sup.press(
        AlertAction(action="outcome", alert_id=alert.id, outcome="safe").pack(), channel
    )
    assert (await the_alert(sessionmaker, alert.id)).status == AlertStatus.RESOLVED

    await person(harness, watch, MENTEE).say("I want to die")
    first, second = await alert_rows(sessionmaker)
    assert second.status == AlertStatus.OPEN and second.id != first.id
    assert len(alert_messages(await outbox_rows(sessionmaker), SUPERVISOR_CHAT)) == 2


async def test_without_a_channel_a_joined_message_still_reaches_the_supervisor_on_call(
    tmp_path, database_url, engine, sessionmaker
) -> None:
    """No supervisor channel configured: alerts go to the on-call supervisor directly. A
    second, worse message joining the case must reach them too."""
    harness = make_harness(alert_settings(tmp_path, database_url, supervisor_chat_id=None), engine)
    await staff(sessionmaker)
    await on_call(sessionmaker, SUPERVISOR)
    await mentee(sessionmaker)
    p = person(harness, Watch(harness), MENTEE)
    await p.say("I feel hopeless")
    assert [r.chat_id for r in alert_messages(await outbox_rows(sessionmaker))] == [SUPERVISOR]
    await p.say("I have the pills ready and I want to die")
    to_supervisor = [r for r in await outbox_rows(sessionmaker) if r.chat_id == SUPERVISOR]
    assert any("I have the pills ready" in r.text for r in to_supervisor), (
        "the joined message reached nobody: "
        + repr([(r.key, r.chat_id) for r in await outbox_rows(sessionmaker)])
    )


# --- who is paged ----------------------------------------------------------------------------


async def test_nobody_on_call_pages_every_supervisor_directly(harness, watch, sessionmaker) -> None:
    await staff(sessionmaker)
    await mentee(sessionmaker)
    await person(harness, watch, MENTEE).say(CRISIS)
    rows = alert_messages(await outbox_rows(sessionmaker))
    assert sorted(r.chat_id for r in rows) == sorted([SUPERVISOR_CHAT, SUPERVISOR, SUPERVISOR_2])
    for row in rows:
        assert row.labels == BUTTONS and CRISIS in row.text and PSEUDONYM in row.text


async def test_the_supervisor_on_call_is_paged_and_backups_wait(
    harness, watch, sessionmaker
) -> None:
    await staff(sessionmaker)
    await on_call(sessionmaker, SUPERVISOR)
    await on_call(sessionmaker, SUPERVISOR_2, "backup")
    await mentee(sessionmaker)
    await person(harness, watch, MENTEE).say(CRISIS)
    rows = alert_messages(await outbox_rows(sessionmaker))
    assert sorted(r.chat_id for r in rows) == sorted([SUPERVISOR_CHAT, SUPERVISOR])


async def test_someone_no_longer_a_supervisor_is_not_paged(harness, watch, sessionmaker) -> None:
    """The on-call supervisor is made a mentee again (`peerbot roles remove`) without
    ending the shift: the crisis must not go to them alone, nor carry the case to them."""
    await staff(sessionmaker)
    await on_call(sessionmaker, SUPERVISOR)
    await set_role(sessionmaker, SUPERVISOR, Role.MENTEE)
    await mentee(sessionmaker)
    await person(harness, watch, MENTEE).say(CRISIS)
    paged = sorted(r.chat_id for r in alert_messages(await outbox_rows(sessionmaker)))
    assert SUPERVISOR not in paged, "a former supervisor got the alert (and cannot act on it)"
    assert paged == sorted([SUPERVISOR_CHAT, SUPERVISOR_2])


# --- the supervisors' buttons -----------------------------------------------------------------


async def test_acknowledge_shows_who_and_when_updates_every_copy_and_stops_escalation(
    harness, watch, sessionmaker, settings
) -> None:
    await staff(sessionmaker)
    await on_call(sessionmaker, SUPERVISOR_2)
    await mentee(sessionmaker)
    alert, copies = await raised(harness, watch, sessionmaker)
    channel = copies[f"alert:{alert.id}:l0:channel"]
    direct = copies[f"alert:{alert.id}:l0:dm:{SUPERVISOR_2}"]
    sup = person(harness, watch, SUPERVISOR)
    mark = len(watch.calls)

    toast = await sup.press(button_data(channel, "Acknowledge"), channel)

    assert toast == THANKS
    stored = await the_alert(sessionmaker, alert.id)
    assert stored.status == AlertStatus.ACKNOWLEDGED
    assert (stored.acknowledged_by, stored.escalate_at) == (SUPERVISOR, None)
    [edit] = edits(watch, mark)
    assert (edit.chat_id, edit.message_id) == (SUPERVISOR_CHAT, channel.message_id)
    assert f"Acknowledged by Dana at {stored.acknowledged_at:%H:%M} UTC" in edit.text
    assert CRISIS in edit.text and PSEUDONYM in edit.text
    assert "Acknowledge" not in labels_of(edit)
    # The other copy is queued for an edit; the pressed one is not edited twice.
    queued = await outbox_rows(sessionmaker, "alertedit:")
    assert [(r.chat_id, r.params["message_id"]) for r in queued] == [
        (SUPERVISOR_2, direct.message_id)
    ]
    assert "Acknowledged by Dana" in queued[0].text and queued[0].method == "editMessageText"
    assert ("acknowledged", alert.id, SUPERVISOR, None) in await audit_rows(sessionmaker)

    await make_overdue(sessionmaker, alert.id)
    assert await escalate_due(sessionmaker, settings, harness.dispatcher["i18n"]) == 0
    assert (await the_alert(sessionmaker, alert.id)).escalation_level == 0


def labels_of(edit: EditMessageText | EditMessageReplyMarkup) -> list[str]:
    markup = edit.reply_markup
    return [b.text for row in (markup.inline_keyboard if markup else []) for b in row]


@pytest.mark.parametrize(
    ("presser", "who"),
    [
        (MENTEE, "the person the alert is about"),
        (OTHER_MENTEE, "another mentee"),
        (MENTOR, "a mentor"),
        (ADMIN, "a program admin"),
        (STRANGER, "someone the bot has never seen"),
    ],
)
async def test_only_supervisors_can_press(harness, watch, sessionmaker, presser, who) -> None:
    await staff(sessionmaker)
    await mentee(sessionmaker)
    await member(sessionmaker, OTHER_MENTEE)
    alert, copies = await raised(harness, watch, sessionmaker)
    channel = copies[f"alert:{alert.id}:l0:channel"]
    someone = person(harness, watch, presser)
    mark = len(watch.calls)
    audit_before = len(await audit_rows(sessionmaker))

    for label in ("Acknowledge", "I'm contacting them", "Resolve"):
        assert await someone.press(button_data(channel, label), channel) == ONLY_SUPERVISORS, who
    outcome = AlertAction(action="outcome", alert_id=alert.id, outcome="false_alarm").pack()
    assert await someone.press(outcome, channel) == ONLY_SUPERVISORS

    stored = await the_alert(sessionmaker, alert.id)
    assert (stored.status, stored.acknowledged_by, stored.outcome) == (AlertStatus.OPEN, None, None)
    assert [
        c for c in watch.calls[mark:] if isinstance(c, EditMessageText | EditMessageReplyMarkup)
    ] == []
    assert await outbox_rows(sessionmaker, "alertedit:") == []
    assert await labelled_rows(sessionmaker) == []
    refused = (await audit_rows(sessionmaker))[audit_before:]
    assert [(a[0], a[2]) for a in refused] == [("refused_press", presser)] * 4


async def test_a_supervisor_cannot_act_through_a_message_that_is_not_the_alerts(
    harness, watch, sessionmaker
) -> None:
    await staff(sessionmaker)
    await mentee(sessionmaker)
    await member(sessionmaker, OTHER_MENTEE, pseudonym="Crane-7")
    alert, copies = await raised(harness, watch, sessionmaker)
    other, _ = await raised(
        harness, watch, sessionmaker, text="I want to die", telegram_id=OTHER_MENTEE
    )
    channel = copies[f"alert:{alert.id}:l0:channel"]
    sup = person(harness, watch, SUPERVISOR)
    ack = button_data(channel, "Acknowledge")

    # The alert's buttons on some other message in the channel (never recorded as its copy).
    elsewhere = shown_message(SUPERVISOR_CHAT, 4242, "hello", channel.reply_markup.model_dump())
    assert await sup.press(ack, elsewhere) == ONLY_SUPERVISORS
    # Forged ids on the alert's own message: one that does not exist, and another alert's.
    forged_missing = AlertAction(action="ack", alert_id=9999).pack()
    assert await sup.press(forged_missing, channel) == ONLY_SUPERVISORS
    forged_other = AlertAction(action="ack", alert_id=other.id).pack()
    assert await sup.press(forged_other, channel) == ONLY_SUPERVISORS

    for case in (alert.id, other.id):
        stored = await the_alert(sessionmaker, case)
        assert (stored.status, stored.acknowledged_by) == (AlertStatus.OPEN, None)
    refused = [a for a in await audit_rows(sessionmaker) if a[0] == "refused_press"]
    assert [a[2] for a in refused] == [SUPERVISOR] * 3

    # And the real thing still works.
    assert await sup.press(ack, channel) == THANKS
    assert (await the_alert(sessionmaker, alert.id)).acknowledged_by == SUPERVISOR
    assert (await the_alert(sessionmaker, other.id)).acknowledged_by is None


async def test_resolve_asks_for_an_outcome_and_a_false_alarm_teaches_the_lexicon(
    harness, watch, sessionmaker
) -> None:
    await staff(sessionmaker)
    await mentee(sessionmaker)
    p = person(harness, watch, MENTEE)
    await p.say(CRISIS)
    await p.say("My knees hurt. I want to die.")
    [alert] = await alert_rows(sessionmaker)
    copies = await deliver_all(sessionmaker, f"alert:{alert.id}:")
    channel = copies[f"alert:{alert.id}:l0:channel"]
    sup = person(harness, watch, SUPERVISOR)

    mark = len(watch.calls)
    assert await sup.press(button_data(channel, "Resolve"), channel) is None
    [asked] = [c for c in watch.calls[mark:] if isinstance(c, EditMessageReplyMarkup)]
    assert labels_of(asked) == [
        "False alarm",
        "Spoke with them — safe for now",
        "Emergency services involved",
        "Other",
        "◂ Back",
    ]
    assert (await the_alert(sessionmaker, alert.id)).status == AlertStatus.OPEN
    outcomes = shown_message(
        SUPERVISOR_CHAT, channel.message_id, channel.text, asked.reply_markup.model_dump()
    )
    mark = len(watch.calls)
    await sup.press(button_data(outcomes, "Back"), outcomes)
    [back] = [c for c in watch.calls[mark:] if isinstance(c, EditMessageReplyMarkup)]
    assert labels_of(back) == BUTTONS

    assert await sup.press(button_data(outcomes, "False alarm"), outcomes) == THANKS
    stored = await the_alert(sessionmaker, alert.id)
    assert (stored.status, stored.outcome, stored.resolved_by) == (
        AlertStatus.RESOLVED,
        "false_alarm",
        SUPERVISOR,
    )
    assert stored.escalate_at is None
    examples = await labelled_rows(sessionmaker)
    assert [(e[0], e[1], e[2], e[4], e[5]) for e in examples] == [
        ("en", "false_alarm", CRISIS, alert.id, SUPERVISOR),
        ("en", "false_alarm", "I want to die.", alert.id, SUPERVISOR),
    ]
    assert all(e[3] and e[3].startswith("en:") for e in examples)
    [final] = edits(watch, mark)
    assert "Resolved by Dana: False alarm" in final.text and final.reply_markup is None
    assert ("resolved", alert.id, SUPERVISOR, "false_alarm") in await audit_rows(sessionmaker)

    # A resolved alert cannot be acknowledged, nor resolved again, from a stale button.
    eve = person(harness, watch, SUPERVISOR_2)
    assert await eve.press(button_data(channel, "Acknowledge"), channel) == MOVED_ON
    safe = AlertAction(action="outcome", alert_id=alert.id, outcome="safe").pack()
    assert await eve.press(safe, channel) == MOVED_ON
    stored = await the_alert(sessionmaker, alert.id)
    assert (stored.status, stored.outcome, stored.acknowledged_by) == (
        AlertStatus.RESOLVED,
        "false_alarm",
        SUPERVISOR,
    )
    assert len(await labelled_rows(sessionmaker)) == 2
    assert [a for a in await audit_rows(sessionmaker) if a[0] == "acknowledged"] == []


async def test_a_confirmed_case_is_labelled_confirmed(harness, watch, sessionmaker) -> None:
    await staff(sessionmaker)
    await mentee(sessionmaker)
    alert, copies = await raised(harness, watch, sessionmaker)
    channel = copies[f"alert:{alert.id}:l0:channel"]
    safe = AlertAction(action="outcome", alert_id=alert.id, outcome="safe").pack()
    assert await person(harness, watch, SUPERVISOR).press(safe, channel) == THANKS
    [example] = await labelled_rows(sessionmaker)
    assert example[:3] == ("en", "confirmed", CRISIS)
    # An outcome the program does not know is not taken.
    await member(sessionmaker, MENTEE + 50)
    second, copies = await raised(harness, watch, sessionmaker, "I want to die", MENTEE + 50)
    channel = copies[f"alert:{second.id}:l0:channel"]
    bogus = AlertAction(action="outcome", alert_id=second.id, outcome="whatever").pack()
    assert await person(harness, watch, SUPERVISOR).press(bogus, channel) == MOVED_ON
    assert (await the_alert(sessionmaker, second.id)).status == AlertStatus.OPEN


async def test_im_contacting_them_stops_escalation(harness, watch, sessionmaker, settings) -> None:
    await staff(sessionmaker)
    await mentee(sessionmaker)
    alert, copies = await raised(harness, watch, sessionmaker)
    channel = copies[f"alert:{alert.id}:l0:channel"]
    eve = person(harness, watch, SUPERVISOR_2)
    mark = len(watch.calls)
    assert await eve.press(button_data(channel, "contacting"), channel) == THANKS
    stored = await the_alert(sessionmaker, alert.id)
    assert stored.status == AlertStatus.CONTACTING
    assert (stored.acknowledged_by, stored.escalate_at) == (SUPERVISOR_2, None)
    [edit] = edits(watch, mark)
    assert "Eve is contacting them." in edit.text and "Acknowledged by Eve" in edit.text
    assert labels_of(edit) == ["✉️ Write to them through me", "Resolve…", "📋 Case"]
    await make_overdue(sessionmaker, alert.id)
    assert await escalate_due(sessionmaker, settings, harness.dispatcher["i18n"]) == 0


async def test_a_direct_copy_can_be_pressed_by_its_own_supervisor(
    harness, watch, sessionmaker
) -> None:
    await staff(sessionmaker)
    await mentee(sessionmaker)
    alert, copies = await raised(harness, watch, sessionmaker)  # nobody on call: DMs to all
    direct = copies[f"alert:{alert.id}:l0:dm:{SUPERVISOR_2}"]
    assert (
        await person(harness, watch, SUPERVISOR_2).press(button_data(direct, "Acknowledge"), direct)
        == THANKS
    )
    queued = await outbox_rows(sessionmaker, "alertedit:")
    assert sorted(r.chat_id for r in queued) == sorted([SUPERVISOR_CHAT, SUPERVISOR])


# --- the channel cannot be reached ---------------------------------------------------------------


async def test_an_unreachable_channel_sends_the_alert_to_every_supervisor_and_says_so(
    harness, watch, sessionmaker
) -> None:
    await staff(sessionmaker)
    await on_call(sessionmaker, SUPERVISOR)
    await mentee(sessionmaker)
    await person(harness, watch, MENTEE).say(CRISIS)
    [alert] = await alert_rows(sessionmaker)
    row = channel_alert(await outbox_rows(sessionmaker))

    # What the delivery worker does when Telegram answers 403 for the channel.
    claimed = outbox.Claimed(
        id=row.id,
        key=row.key,
        chat_id=row.chat_id,
        method=row.method,
        params=row.params,
        attempts=1,
        on_undeliverable=row.on_undeliverable,
    )
    async with sessionmaker() as session:
        await outbox.give_up(session, row.id, "TelegramForbiddenError: bot was kicked")
        await alert_flow.reach_supervisors_directly(
            session, claimed, "TelegramForbiddenError: bot was kicked from the supergroup chat"
        )
        await session.commit()

    direct = [r for r in await outbox_rows(sessionmaker) if ":direct:" in r.key]
    assert sorted(r.chat_id for r in direct) == sorted([SUPERVISOR, SUPERVISOR_2])
    for copy in direct:
        assert copy.params["chat_id"] == copy.chat_id
        assert copy.text == row.text and copy.labels == BUTTONS and copy.method == "sendMessage"

    sup = person(harness, watch, SUPERVISOR)
    status = await sup.send("/status")
    assert "supervisor_channel: unreachable: TelegramForbiddenError" in status.text
    assert "failed: 1" in status.text

    # The direct copy is one of the alert's messages: it can be acknowledged.
    eve_copy = next(r for r in direct if r.chat_id == SUPERVISOR_2)
    message = await deliver(sessionmaker, eve_copy)
    eve = person(harness, watch, SUPERVISOR_2)
    assert await eve.press(button_data(message, "Acknowledge"), message) == THANKS
    assert (await the_alert(sessionmaker, alert.id)).acknowledged_by == SUPERVISOR_2


# --- /alerts, /status (/oncall: test_oncall.py) ----------------------------------------------


async def test_alerts_lists_the_open_alerts(harness, watch, sessionmaker) -> None:
    await staff(sessionmaker)
    sup = person(harness, watch, SUPERVISOR)
    assert (await sup.send("/alerts")).text.startswith("No open cases right now.")
    await mentee(sessionmaker)
    await member(sessionmaker, OTHER_MENTEE, pseudonym="Crane-7")
    first, copies = await raised(harness, watch, sessionmaker)
    second, _ = await raised(harness, watch, sessionmaker, "I feel hopeless", OTHER_MENTEE)

    listing = (await sup.send("/alerts")).text
    assert f"#{first.id} · imminent · suicide · {PSEUDONYM} · open" in listing
    assert f"#{second.id} · concern · suicide · Crane-7 · open" in listing
    assert FIRST_NAME not in listing and CRISIS not in listing

    done = AlertAction(action="outcome", alert_id=first.id, outcome="safe").pack()
    await sup.press(done, copies[f"alert:{first.id}:l0:channel"])
    listing = (await sup.send("/alerts")).text
    assert f"#{first.id}" not in listing and f"#{second.id}" in listing

    for other in (MENTEE, MENTOR):
        said = "\n".join(s.text or "" for s in await person(harness, watch, other).say("/alerts"))
        assert "Open alerts" not in said and "Crane-7" not in said


async def test_status_shows_the_channel_on_call_and_counts(harness, watch, sessionmaker) -> None:
    await staff(sessionmaker)
    await on_call(sessionmaker, SUPERVISOR)
    await on_call(sessionmaker, SUPERVISOR_2, "backup")
    await mentee(sessionmaker)
    await person(harness, watch, MENTEE).say(CRISIS)
    pending = len([r for r in await outbox_rows(sessionmaker) if r.status == "pending"])
    assert pending == 2  # the channel and the supervisor on call

    status = (await person(harness, watch, ADMIN).send("/status")).text
    assert f"Supervisor channel: {SUPERVISOR_CHAT}" in status
    assert "On call: Dana · backups: 1" in status
    assert "Open alerts: 1" in status
    assert "Messages waiting to be sent: 2; failed: 0" in status
    said = "\n".join(s.text or "" for s in await person(harness, watch, MENTEE).say("/status"))
    assert "Open alerts" not in said


# --- outside staffed hours ------------------------------------------------------------------------


async def test_outside_staffed_hours_the_lines_come_first_and_the_wait_is_said(
    tmp_path, database_url, engine, sessionmaker
) -> None:
    settings = alert_settings(tmp_path, database_url, staffed_hours=unstaffed_hours())
    harness = make_harness(settings, engine)
    await mentee(sessionmaker)
    reply = texts_to(await person(harness, Watch(harness), MENTEE).say(CRISIS), MENTEE)
    later = reply.find("our reply may take longer")
    assert later != -1, reply
    assert -1 < reply.find("Samaritans") < later and -1 < reply.find("999") < later
    assert alert_messages(await outbox_rows(sessionmaker), SUPERVISOR_CHAT)


async def test_within_staffed_hours_no_wait_is_announced(harness, watch, sessionmaker) -> None:
    await mentee(sessionmaker)
    reply = texts_to(await person(harness, watch, MENTEE).say(CRISIS), MENTEE)
    assert "Samaritans" in reply and "may take longer" not in reply
