"""Help that needs no words, as people live it (real dispatcher, Telegram faked).

Ana has had enough of explaining. In the 🆘 view, and under the daily log's question after
her lowest mood, one tap on "I need to talk to someone now" reaches the supervisor on call;
a second tap while her case is open does not page anyone again. Ben, her mentor, can say
"I'm worried about Ana" from /mentees, with a reason or without. Every alert tells the
supervisors how it was raised and, when words raised it, which detector matched them.
"""

from __future__ import annotations

import datetime as dt

import pytest
from aiogram.methods import EditMessageReplyMarkup
from sqlalchemy import text

from bot.i18n import create_i18n
from flows import alerts as alert_flow
from flows.screening import Hit
from handlers.alerts import alert_text
from handlers.relay import Worried
from storage import users
from storage.models import AlertStatus, Match, Role, utcnow
from tests.harness import make_harness
from tests.unit.alert_helpers import (
    SUPERVISOR_CHAT,
    alert_messages,
    alert_rows,
    alert_settings,
    audit_rows,
    deliver,
    hit_rows,
    labelled_rows,
    member,
    outbox_rows,
    shown_message,
    unstaffed_hours,
)
from tests.unit.chat_helpers import (
    EXPIRED,
    Person,
    Watch,
    conversation,
    header,
    logs_of,
    person,
    tap_data,
)

ANA, BEN, DORA, SUPERVISOR, STRANGER = 301, 801, 802, 900, 330
HELP_NOW = "I need to talk to someone now"
RAISED_BY_TAP = "Raised by: a tap on “I need to talk to someone now”"
SOS = "🆘 My crisis plan"
NOT_YOURS = "That's not one of your mentees."


@pytest.fixture
def settings(tmp_path, database_url):
    return alert_settings(tmp_path, database_url)


@pytest.fixture
def watch(harness) -> Watch:
    return Watch(harness)


async def program(sessionmaker) -> int:
    """Ana (mentee) matched with Ben (mentor); Dora mentors nobody; a supervisor. The match id."""
    await member(sessionmaker, ANA, display_name="Ana", pseudonym="Heron-1")
    await member(sessionmaker, BEN, role=Role.MENTOR, display_name="Ben", pseudonym="Oak-7")
    await member(sessionmaker, DORA, role=Role.MENTOR, display_name="Dora", pseudonym="Elm-9")
    await member(sessionmaker, SUPERVISOR, role=Role.SUPERVISOR, display_name="Sue")
    async with sessionmaker() as session:
        ana = await users.get_by_telegram_id(session, ANA)
        ben = await users.get_by_telegram_id(session, BEN)
        match = Match(mentee_id=ana.id, mentor_id=ben.id, status="active")
        session.add(match)
        await session.commit()
        return match.id


def channel_alerts(rows) -> list:
    return alert_messages(rows, SUPERVISOR_CHAT)


def said(sent) -> str:
    return "\n".join(s.text or "" for s in sent)


# --- the 🆘 view --------------------------------------------------------------------------


async def test_one_tap_in_the_sos_view_reaches_the_supervisor_and_a_second_joins(
    harness, watch, sessionmaker
) -> None:
    await program(sessionmaker)
    ana = person(harness, watch, ANA)
    view = await ana.send(SOS)
    assert "Samaritans" in view.text and "You don't have to explain anything." in view.text
    assert HELP_NOW in ana.labels()

    assert await ana.tap(HELP_NOW) is None  # answered at once, without a toast
    reply = ana.last_text()
    assert "Thank you for asking" in reply
    assert "I've let the program's on-call supervisor know" in reply
    assert "Someone will reach out to you." in reply

    [alert] = await alert_rows(sessionmaker)
    assert (alert.severity, alert.category, alert.raised_by) == (3, "help_now", "tap")
    [paged] = channel_alerts(await outbox_rows(sessionmaker))
    assert "imminent · asked for someone now" in paged.text
    assert RAISED_BY_TAP in paged.text
    assert "Mentor: Oak-7" in paged.text
    assert "Detected by" not in paged.text  # no words, no detector
    assert "“”" not in paged.text  # and no empty quote where words would be

    await ana.tap(HELP_NOW, view.message)  # again, while the case is open
    assert "already knows, and I've let them know you need someone now" in ana.last_text()
    assert len(await alert_rows(sessionmaker)) == 1
    rows = await outbox_rows(sessionmaker)
    assert len(channel_alerts(rows)) == 1, "nobody is paged again"
    [note] = [r for r in rows if r.key.startswith("alertnote:")]
    assert note.chat_id == SUPERVISOR_CHAT
    assert f"Alert #{alert.id}: they tapped “{HELP_NOW}”" in note.text
    ana.assert_no_apology()


async def test_someone_who_never_started_the_bot_can_tap_too(harness, watch, sessionmaker) -> None:
    stranger = person(harness, watch, STRANGER)
    await stranger.send("/crisis")
    assert stranger.labels() == [HELP_NOW]
    await stranger.tap(HELP_NOW)
    assert "I've let a supervisor of the program know" in stranger.last_text()
    [alert] = await alert_rows(sessionmaker)
    assert alert.raised_by == "tap"
    assert RAISED_BY_TAP in channel_alerts(await outbox_rows(sessionmaker))[0].text


async def test_out_of_hours_the_tap_says_the_reply_may_take_longer(
    tmp_path, database_url, engine, sessionmaker
) -> None:
    harness = make_harness(
        alert_settings(tmp_path, database_url, staffed_hours=unstaffed_hours()), engine
    )
    await program(sessionmaker)
    ana = person(harness, Watch(harness), ANA)
    await ana.send("/crisis")
    await ana.tap(HELP_NOW)
    assert "outside the program's staffed hours" in ana.last_text()


async def test_the_tap_is_for_the_presser_only(harness, watch, sessionmaker) -> None:
    """The button names nobody: whoever presses it (even on a copy of someone else's
    message) asks help for themselves, never for the person whose chat it came from."""
    await program(sessionmaker)
    ana, dora = person(harness, watch, ANA), person(harness, watch, DORA)
    await ana.send("/crisis")
    view = ana.shown()
    await dora.send("/crisis")
    await dora.tap(HELP_NOW)
    [alert] = await alert_rows(sessionmaker)
    async with sessionmaker() as session:
        assert (await users.get_by_telegram_id(session, DORA)).id == alert.user_id
    assert view.reply_markup is not None  # Ana's own view was not touched


# --- the daily log ------------------------------------------------------------------------


async def at_mood(p: Person) -> None:
    """A daily log up to the mood question."""
    await p.send("/log")
    for data in (
        "log:symptom_intensity:6",
        "log:symptoms:pain",
        "log:symptoms:done",
        "log:energy:2",
        "log:activity:less",
        "log:rest_breaks:1",
        "log:sleep_quality:3",
        "log:sleep_hours:5",
    ):
        await tap_data(p, data)
    assert header(8) in p.shown().text


async def test_the_lowest_mood_offers_someone_now_and_the_log_goes_on(
    harness, watch, sessionmaker
) -> None:
    await program(sessionmaker)
    ana = person(harness, watch, ANA)
    await at_mood(ana)
    await tap_data(ana, "log:mood:0")
    question = ana.shown()
    assert header(9) in question.text and "I'm sorry today is so hard" in question.text
    assert HELP_NOW in ana.labels() and "4" in ana.labels()  # beside the answers

    before, sent_before = len(watch.calls), len(harness.telegram.sent)
    await ana.tap(HELP_NOW)
    reply = said(harness.telegram.sent[sent_before:])
    assert "Samaritans" in reply  # from the log the numbers were not on screen: they come
    assert "I've let the program's on-call supervisor know" in reply
    [alert] = await alert_rows(sessionmaker)
    assert (alert.severity, alert.raised_by) == (3, "tap")

    # The question again, below the answer, without the offer; the copy above is retired.
    again = ana.shown()
    assert header(9) in again.text and again.message_id != question.message_id
    assert HELP_NOW not in ana.labels(again) and "I'm sorry" not in again.text
    assert retired(watch, question.message_id, since=before)
    assert await ana.press("log:interference:5", question) == EXPIRED

    await tap_data(ana, "log:interference:5")
    await tap_data(ana, "log:note:skip")
    [log] = await logs_of(sessionmaker, ANA)
    assert (log["mood"], log["interference"]) == (0, 5)
    ana.assert_no_apology()


@pytest.mark.parametrize(("mood", "offered"), [("1", True), ("2", False), ("7", False)])
async def test_only_the_lowest_moods_offer_it(harness, watch, sessionmaker, mood, offered) -> None:
    await program(sessionmaker)
    ana = person(harness, watch, ANA)
    await at_mood(ana)
    await tap_data(ana, f"log:mood:{mood}")
    assert (HELP_NOW in ana.labels()) is offered
    assert await alert_rows(sessionmaker) == [], "the offer alone raises nothing"


async def test_a_typed_lowest_mood_offers_it_too(harness, watch, sessionmaker) -> None:
    await program(sessionmaker)
    ana = person(harness, watch, ANA)
    await at_mood(ana)
    await ana.send("0")
    assert HELP_NOW in ana.labels()


def retired(watch: Watch, message_id: int, since: int = 0) -> bool:
    """The bot took every button off ``message_id``."""
    return any(
        isinstance(c, EditMessageReplyMarkup)
        and c.message_id == message_id
        and c.reply_markup is None
        for c in watch.calls[since:]
    )


# --- a question asked again after a crisis reply (issue 9, item 8) ------------------------


async def test_a_question_asked_again_after_a_crisis_reply_retires_its_earlier_copy(
    harness, watch, sessionmaker
) -> None:
    await program(sessionmaker)
    ana = person(harness, watch, ANA)
    await ana.send("/log")
    await tap_data(ana, "log:symptom_intensity:6")
    earlier = ana.shown()
    before = len(watch.calls)

    await ana.say("I want to kill myself tonight")

    again = ana.shown()
    assert header(2) in again.text and again.message_id != earlier.message_id
    assert ana.labels(again), "the new copy is the one to answer"
    assert retired(watch, earlier.message_id, since=before), "the earlier copy kept its buttons"
    await tap_data(ana, "log:symptoms:pain")  # the log goes on from the new copy
    assert "✓" in ana.labels()[0]


# --- a worried mentor ---------------------------------------------------------------------


async def test_a_mentor_says_why_they_are_worried_and_the_supervisor_reads_it(
    harness, watch, sessionmaker, engine
) -> None:
    await program(sessionmaker)
    ben = person(harness, watch, BEN)
    await ben.send("/mentees")
    assert ben.labels() == ["Reach out to Ana", "I'm worried about Ana"]
    await ben.tap("I'm worried about Ana")
    assert "What worries you about Ana?" in ben.last_text()
    assert ben.labels() == ["Skip ▸", "✕ Cancel"]

    reason = "She said she wants to kill herself and gave her cat away"
    sent = await ben.say(reason)

    confirmation = said(sent)
    assert "I've let the program's on-call supervisor know you're worried about Ana" in confirmation
    assert "call 999 (or 112)." in confirmation
    assert "Thank you for telling me. You don't" not in confirmation  # no crisis answer to Ben
    [alert] = await alert_rows(sessionmaker)
    async with sessionmaker() as session:
        ana_id = (await users.get_by_telegram_id(session, ANA)).id
    assert (alert.user_id, alert.severity, alert.category) == (ana_id, 2, "mentor_concern")
    assert alert.raised_by == "mentor"
    [paged] = channel_alerts(await outbox_rows(sessionmaker))
    assert f"Raised by: their mentor — reason: {reason}" in paged.text
    assert "Heron-1" in paged.text and "Detected by" not in paged.text
    assert ("mentor_worried", alert.id, BEN, None) in await audit_rows(sessionmaker)
    assert await conversation(sessionmaker, BEN) == (None, {})

    async with engine.connect() as connection:  # the reason is encrypted at rest
        stored = (await connection.execute(text("SELECT sentence FROM alert_hits"))).scalar_one()
    assert "cat" not in stored and "kill" not in stored


async def test_skip_raises_it_without_a_reason(harness, watch, sessionmaker) -> None:
    await program(sessionmaker)
    ben = person(harness, watch, BEN)
    await ben.send("/mentees")
    await ben.tap("I'm worried about Ana")
    await ben.tap("Skip")
    assert "worried about Ana" in ben.last_text()
    [paged] = channel_alerts(await outbox_rows(sessionmaker))
    assert "Raised by: their mentor (no reason given)" in paged.text


@pytest.mark.parametrize("how", ["/cancel", "button"])
async def test_cancel_raises_nothing_and_gives_back_the_log(
    harness, watch, sessionmaker, how
) -> None:
    await program(sessionmaker)
    ben = person(harness, watch, BEN)
    await ben.send("/log")
    await tap_data(ben, "log:symptom_intensity:4")
    logging = await conversation(sessionmaker, BEN)
    await ben.send("/mentees")
    await ben.tap("I'm worried about Ana")
    if how == "/cancel":
        await ben.send("/cancel")
    else:
        await ben.tap("Cancel")
    assert "Nothing was sent to the supervisors." in ben.last_text()
    assert "Your daily log is waiting where you left it" in ben.last_text()
    assert await alert_rows(sessionmaker) == []
    assert await conversation(sessionmaker, BEN) == logging


async def test_a_second_concern_joins_the_open_case(harness, watch, sessionmaker) -> None:
    await program(sessionmaker)
    await person(harness, watch, ANA).say("I want to kill myself tonight")
    ben = person(harness, watch, BEN)
    await ben.send("/mentees")
    await ben.tap("I'm worried about Ana")
    await ben.send("She has stopped answering")
    assert "already have an open case about Ana" in ben.last_text()
    [alert] = await alert_rows(sessionmaker)
    assert (alert.raised_by, alert.severity) == ("words", 3)
    [note] = [r for r in await outbox_rows(sessionmaker) if r.key.startswith("alertnote:")]
    assert "their mentor is worried about them — reason: She has stopped answering" in note.text


async def test_only_the_mentees_active_mentor_can_press(harness, watch, sessionmaker) -> None:
    match_id = await program(sessionmaker)
    forged = Worried(match_id=match_id).pack()
    dora, ana = person(harness, watch, DORA), person(harness, watch, ANA)
    await dora.send("/help")
    assert await dora.press(forged) == NOT_YOURS
    await ana.send("/help")
    assert await ana.press(forged) == NOT_YOURS  # not even the mentee herself
    assert await conversation(sessionmaker, DORA) == (None, {})
    assert await alert_rows(sessionmaker) == []


async def test_a_match_ended_meanwhile_raises_nothing(harness, watch, sessionmaker) -> None:
    match_id = await program(sessionmaker)
    ben = person(harness, watch, BEN)
    await ben.send("/mentees")
    await ben.tap("I'm worried about Ana")
    async with sessionmaker() as session:
        (await session.get(Match, match_id)).status = "ended"
        await session.commit()
    await ben.send("She seems low")
    assert "no longer matched" in ben.last_text()
    assert await alert_rows(sessionmaker) == []


# --- which detector fired -----------------------------------------------------------------


async def test_a_words_alert_says_which_detector_matched(harness, watch, sessionmaker) -> None:
    await program(sessionmaker)
    await person(harness, watch, ANA).say("I want to kill myself tonight")
    [alert] = await alert_rows(sessionmaker)
    [hit] = await hit_rows(sessionmaker, alert.id)
    [paged] = channel_alerts(await outbox_rows(sessionmaker))
    assert "Raised by: their words" in paged.text
    assert f"Detected by: lexicon {hit.why or hit.rule}" in paged.text
    assert paged.text.count("Detected by") == 1


async def test_a_model_hit_keeps_its_why_encrypted_and_shows_it_once(
    sessionmaker, settings, engine
) -> None:
    i18n = create_i18n("en")
    await member(sessionmaker, ANA, pseudonym="Heron-1", locale="es")
    why = "model 0.91: quitarme, del medio"
    hits = [
        Hit(
            "suicide", 2, "es", "Quiero quitarme del medio.", "es:model", detector="model", why=why
        ),
        Hit("suicide", 2, "es", "Ya no aguanto.", "es:model", detector="model", why=why),
    ]
    async with sessionmaker() as session:
        ana = await users.get_by_telegram_id(session, ANA)
        case = await alert_flow.record_hits(
            session,
            ana,
            hits,
            now=utcnow(),
            join_window=dt.timedelta(minutes=30),
            ack_within=dt.timedelta(minutes=5),
        )
        await session.commit()
        with i18n.context(), i18n.use_locale("en"):
            shown = await alert_text(session, case.alert, settings)
    assert "Detected by: model (0.91: quitarme, del medio)" in shown
    assert shown.count("Detected by") == 1
    [first, _second] = await hit_rows(sessionmaker, case.alert.id)
    assert (first.detector, first.why) == ("model", why)
    async with engine.connect() as connection:
        stored = (await connection.execute(text("SELECT why FROM alert_hits"))).scalars().all()
    assert all("quitarme" not in value for value in stored)


async def test_a_tap_alert_teaches_the_lexicon_nothing(harness, watch, sessionmaker) -> None:
    await program(sessionmaker)
    ana = person(harness, watch, ANA)
    await ana.send("/crisis")
    await ana.tap(HELP_NOW)
    [row] = channel_alerts(await outbox_rows(sessionmaker))
    channel = await deliver(sessionmaker, row)
    sue = person(harness, watch, SUPERVISOR)
    mark = len(watch.calls)
    await sue.tap("Resolve", channel)
    [asked] = [c for c in watch.calls[mark:] if isinstance(c, EditMessageReplyMarkup)]
    outcomes = shown_message(
        SUPERVISOR_CHAT, channel.message_id, channel.text, asked.reply_markup.model_dump()
    )
    await sue.tap("False alarm", outcomes)
    assert (await alert_rows(sessionmaker))[0].status == AlertStatus.RESOLVED
    assert await labelled_rows(sessionmaker) == []


async def test_with_nobody_to_tell_a_worried_mentor_is_not_told_a_supervisor_knows(
    harness, watch, sessionmaker, settings
) -> None:
    """No supervisor channel and no supervisor yet: the mentor hears the truth and the
    number to call, never "I've let the on-call supervisor know"."""
    await program(sessionmaker)
    async with sessionmaker() as session:
        sue = await users.get_by_telegram_id(session, SUPERVISOR)
        sue.role = Role.MENTEE
        await session.commit()
    settings.supervisor_chat_id = None
    ben = person(harness, watch, BEN)
    await ben.send("/mentees")
    await ben.tap("I'm worried about Ana")
    await ben.tap("Skip")
    told = ben.last_text()
    assert "nobody from the program can be told" in told and "call" in told
    assert "supervisor know" not in told
