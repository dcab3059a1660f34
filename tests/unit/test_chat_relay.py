"""Outreach through the bot as mentors and mentees live it (real dispatcher, Telegram faked).

Ben mentors Ana (and, in some stories, Cleo). He sees how they are doing — only what each
chose to share — and writes to them through the bot; they write back. Neither ever needs
the other's number. What goes to the other side leaves through the outbox: these tests
read it there, and deliver it (or fail to, with a 403) where the story needs it.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from aiogram.methods import SetMessageReaction
from aiogram.types import Chat as TelegramChat
from aiogram.types import Contact, Message, PhotoSize, Update
from sqlalchemy import select

from bot.delivery import DeliveryWorker
from bot.undeliverable import Undeliverable
from handlers.keyboards import ReachOut
from handlers.long_text import PART
from handlers.relay import MenteeChoice
from storage import users
from storage.models import Match, Profile, Relay, ReviewItem, Role
from tests.unit.alert_helpers import (
    SUPERVISOR_CHAT,
    alert_messages,
    alert_settings,
    deliver,
    member,
    outbox_rows,
)
from tests.unit.chat_helpers import (
    Watch,
    edited_update,
    local_today,
    person,
    save_log,
)
from tests.unit.scripted_telegram import scripted_bot

ANA, CLEO, BEN, DORA, ADMIN = 301, 302, 801, 802, 950
EXPIRED = "This button has expired."
NOT_YOURS = "That's not one of your mentees."
_message_ids = itertools.count(900_000)


@pytest.fixture
def settings(tmp_path, database_url):
    return alert_settings(tmp_path, database_url)


async def matched(sessionmaker, mentee: int, mentor: int) -> int:
    """An active match between two people already in the database; its id."""
    async with sessionmaker() as session:
        match = Match(
            mentee_id=await _user_id(session, mentee),
            mentor_id=await _user_id(session, mentor),
            status="active",
        )
        session.add(match)
        await session.commit()
        return match.id


async def _user_id(session, telegram_id: int) -> int:
    user = await users.get_by_telegram_id(session, telegram_id)
    assert user is not None
    return user.id


async def program(sessionmaker, *, cleo: bool = False) -> dict[str, int]:
    """Ana (mentee) matched with Ben (mentor); Cleo too when asked; Dora mentors nobody."""
    await member(sessionmaker, ANA, display_name="Ana", pseudonym="Heron-1")
    await member(sessionmaker, BEN, role=Role.MENTOR, display_name="Ben", pseudonym="Oak-7")
    await member(sessionmaker, DORA, role=Role.MENTOR, display_name="Dora", pseudonym="Elm-9")
    matches = {"ana": await matched(sessionmaker, ANA, BEN)}
    if cleo:
        await member(sessionmaker, CLEO, display_name="Cleo", pseudonym="Wren-3", locale="es")
        matches["cleo"] = await matched(sessionmaker, CLEO, BEN)
    return matches


def people(harness):
    watch = Watch(harness)
    return (
        watch,
        person(harness, watch, ANA),
        person(harness, watch, BEN),
        person(harness, watch, DORA),
    )


async def relayed(sessionmaker, chat_id: int):
    """Relayed messages (not notices) that went to ``chat_id``, in order."""
    return [
        row
        for row in await outbox_rows(sessionmaker, "relay:")
        if row.chat_id == chat_id and not row.key.endswith((":opened", ":closed", ":guidance"))
    ]


async def open_relays(sessionmaker) -> list[Relay]:
    async with sessionmaker() as session:
        return list(
            (await session.execute(select(Relay).where(Relay.closed_at.is_(None)))).scalars()
        )


def photo_update(chat_user, caption: str | None = None) -> Update:
    photo = [PhotoSize(file_id="ph", file_unique_id="ph1", width=90, height=90)]
    return message_update(chat_user, photo=photo, caption=caption)


def message_update(chat_user, message_id: int | None = None, **content) -> Update:
    message = Message(
        message_id=message_id or next(_message_ids),
        date=dt.datetime.now(dt.UTC),
        chat=TelegramChat(id=chat_user.id, type="private"),
        from_user=chat_user,
        **content,
    )
    return Update(update_id=next(_message_ids), message=message)


# --- /mentees -------------------------------------------------------------------------------


async def test_mentees_shows_each_mentee_with_only_what_they_chose_to_share(
    harness, sessionmaker
) -> None:
    await program(sessionmaker, cleo=True)
    async with sessionmaker() as session:
        ana_id, cleo_id = await _user_id(session, ANA), await _user_id(session, CLEO)
        session.add(Profile(user_id=ana_id, shares=["trends", "hard_days"]))
        session.add(Profile(user_id=cleo_id, shares=[]))
        await session.commit()
    today = local_today("Europe/London")
    await save_log(
        sessionmaker, ana_id, today - dt.timedelta(days=3), symptom_intensity=8, energy=2, mood=5
    )
    await save_log(sessionmaker, ana_id, today, symptom_intensity=4, energy=5, mood=6)
    await save_log(
        sessionmaker,
        cleo_id,
        today - dt.timedelta(days=2),
        symptom_intensity=9,
        energy=1,
        mood=1,
        note="Nobody should read this",
    )
    _, _, ben, _ = people(harness)

    await ben.send("/mentees")

    text = ben.last_text()
    ana_part, cleo_part = text.split("<b>Cleo</b>")
    assert "<b>Ana</b>\nLast check-in: today" in ana_part
    assert "7 days: symptoms 8→4 · energy 2→5" in ana_part
    assert "Hard days in the last 7 days: 1" in ana_part
    assert "Last check-in: 2 days ago" in cleo_part
    assert "7 days" not in cleo_part and "Hard days" not in cleo_part
    assert "Nobody should read this" not in text and "Mood" not in text
    assert ben.labels() == [
        "Reach out to Ana",
        "I'm worried about Ana",
        "Reach out to Cleo",
        "I'm worried about Cleo",
    ]


async def test_a_mentor_without_mentees_is_told_kindly(harness, sessionmaker) -> None:
    await program(sessionmaker)
    _, _, _, dora = people(harness)
    await dora.send("/mentees")
    assert "as soon as a match is confirmed" in dora.last_text()
    await dora.send("/reachout")
    assert "as soon as a match is confirmed" in dora.last_text()


async def test_wrong_roles_are_told_whose_command_it_is(harness, sessionmaker) -> None:
    await program(sessionmaker)
    _, ana, ben, _ = people(harness)
    await ana.send("/mentees")
    assert ana.last_text() == "That one is for mentors. /help lists what you can do."
    await ana.send("/reachout")
    assert ana.last_text() == "That one is for mentors. /help lists what you can do."
    await ben.send("/mentor")
    assert ben.last_text() == "That one is for mentees. /help lists what you can do."


# --- opening a conversation -----------------------------------------------------------------


async def test_reachout_with_one_mentee_opens_the_conversation_and_tells_her(
    harness, sessionmaker
) -> None:
    await program(sessionmaker)
    _, _, ben, _ = people(harness)

    await ben.send("/reachout")

    assert ben.last_text() == (
        "You're now writing to Ana through me. Everything you send is passed on until you "
        "send /end."
    )
    assert ben.labels() == ["Suggest an opener"]
    [notice] = await outbox_rows(sessionmaker, "relay:")
    assert notice.chat_id == ANA and notice.text.startswith("Ben opened a conversation with you")
    # Asking again reuses the open conversation: no second relay, no second notice.
    await ben.send("/reachout")
    assert len(await open_relays(sessionmaker)) == 1
    assert len(await outbox_rows(sessionmaker, "relay:")) == 1


async def test_reachout_with_several_mentees_asks_whom_and_opens_the_chosen_one(
    harness, sessionmaker
) -> None:
    await program(sessionmaker, cleo=True)
    _, _, ben, _ = people(harness)

    await ben.send("/reachout")
    assert ben.last_text() == "Who would you like to write to?"
    assert ben.labels() == ["Ana", "Cleo"]
    assert await ben.tap("Cleo") is None

    assert ben.last_text().startswith("You're now writing to Cleo through me.")
    [notice] = await outbox_rows(sessionmaker, "relay:")
    assert notice.chat_id == CLEO and notice.key == "relay:1:opened"


async def test_a_forged_reach_out_for_someone_elses_mentee_is_refused(
    harness, sessionmaker
) -> None:
    ids = await program(sessionmaker)
    _, ana, _, dora = people(harness)
    forged = ReachOut(match_id=ids["ana"]).pack()
    # Each presses on a message of their own chat, with callback data they made up.
    await dora.send("/mentees")
    assert await dora.press(forged) == NOT_YOURS
    await ana.send("/help")
    assert await ana.press(forged) == NOT_YOURS
    assert await dora.press(ReachOut(match_id=9999).pack()) == EXPIRED
    assert await open_relays(sessionmaker) == []
    assert await outbox_rows(sessionmaker) == []


async def test_an_ended_match_no_longer_opens(harness, sessionmaker) -> None:
    ids = await program(sessionmaker)
    _, _, ben, _ = people(harness)
    await ben.send("/mentees")
    shown = ben.shown()
    async with sessionmaker() as session:
        (await session.get(Match, ids["ana"])).status = "ended"
        await session.commit()
    assert await ben.tap("Reach out to Ana", shown) == EXPIRED
    assert await open_relays(sessionmaker) == []


# --- /mentor ----------------------------------------------------------------------------------


async def test_a_mentee_without_a_mentor_is_in_the_queue_and_admins_are_told_once_a_day(
    harness, sessionmaker
) -> None:
    await member(sessionmaker, CLEO, display_name="Cleo", pseudonym="Wren-3")
    await member(sessionmaker, ADMIN, role=Role.ADMIN, locale="de")
    watch = Watch(harness)
    cleo = person(harness, watch, CLEO)

    await cleo.send("/mentor")
    assert "You're in the queue for a mentor" in cleo.last_text()
    assert "/profile" in cleo.last_text()  # no intake yet: she is shown how to help the match
    await cleo.send("/mentor")
    assert "You're in the queue for a mentor" in cleo.last_text()

    [nudge] = await outbox_rows(sessionmaker, "nudge:queue:")
    assert nudge.chat_id == ADMIN
    assert "Wren-3" in nudge.text and "Cleo" not in nudge.text  # a pseudonym, not her name


async def test_without_admins_the_supervisor_chat_hears_of_a_waiting_mentee(
    harness, sessionmaker
) -> None:
    await member(sessionmaker, CLEO, display_name="Cleo", pseudonym="Wren-3")
    cleo = person(harness, Watch(harness), CLEO)
    await cleo.send("/mentor")
    [nudge] = await outbox_rows(sessionmaker, "nudge:queue:")
    assert nudge.chat_id == SUPERVISOR_CHAT and "Wren-3" in nudge.text


async def test_a_mentee_asks_her_mentor_to_reach_out_and_he_can_from_the_nudge(
    harness, sessionmaker
) -> None:
    ids = await program(sessionmaker)
    _, ana, ben, _ = people(harness)

    await ana.send("/mentor")
    assert ana.last_text().startswith("Your mentor is Ben.")
    assert ana.labels() == ["Write to my mentor now", "Ask my mentor to reach out"]
    await ana.tap("Ask my mentor to reach out")
    assert ana.last_text() == "I've let Ben know. They'll write to you here when they can."
    await ana.send("/mentor")
    await ana.tap("Ask my mentor to reach out")
    assert ana.last_text().startswith("I've already let Ben know today.")

    [nudge] = await outbox_rows(sessionmaker, "nudge:contact:")
    assert nudge.chat_id == BEN and nudge.text.startswith("Ana would like to hear from you.")
    assert nudge.datas == [ReachOut(match_id=ids["ana"]).pack()]
    delivered = await deliver(sessionmaker, nudge)
    assert await ben.tap("Reach out", delivered) is None
    assert ben.last_text().startswith("You're now writing to Ana through me.")


async def test_a_mentee_writes_to_her_mentor_now(harness, sessionmaker) -> None:
    await program(sessionmaker)
    _, ana, _, _ = people(harness)
    await ana.send("/mentor")
    await ana.tap("Write to my mentor now")
    assert ana.last_text().startswith("You're now writing to Ben through me.")
    assert ana.labels() == []  # openers are for mentors
    await ana.say("Hi Ben, rough week")
    [message] = await relayed(sessionmaker, BEN)
    assert message.text == "<b>Ana</b>: Hi Ben, rough week"


# --- the relay --------------------------------------------------------------------------------


async def test_messages_go_both_ways_with_the_senders_name_text_and_photo(
    harness, sessionmaker
) -> None:
    await program(sessionmaker)
    watch, ana, ben, _ = people(harness)
    await ben.send("/reachout")

    await ben.say("How are you <today>?")
    await ana.say("Tired & sore, but ok")
    await ana.feed(photo_update(ana.chat.user, caption="my pacing plan"))
    await ben.feed(photo_update(ben.chat.user))

    [to_ana_text, to_ana_photo] = await relayed(sessionmaker, ANA)
    assert to_ana_text.text == "<b>Ben</b>: How are you &lt;today&gt;?"
    assert to_ana_text.on_undeliverable.startswith("tell_sender:")
    assert to_ana_photo.method == "copyMessage" and to_ana_photo.params["caption"] == "<b>Ben</b>"
    to_ben = await relayed(sessionmaker, BEN)
    assert [r.method for r in to_ben] == ["sendMessage", "copyMessage"]
    assert to_ben[0].text == "<b>Ana</b>: Tired &amp; sore, but ok"
    assert to_ben[1].params["from_chat_id"] == ANA
    assert to_ben[1].params["caption"] == "<b>Ana</b>: my pacing plan"
    # The sender sees a quiet mark on each message, not a reply.
    marks = [c for c in watch.calls if isinstance(c, SetMessageReaction)]
    assert len(marks) == 4 and all(m.reaction[0].emoji == "✍" for m in marks)


async def test_a_sticker_is_copied_after_a_line_saying_who_sent_it(harness, sessionmaker) -> None:
    await program(sessionmaker)
    _, ana, _, _ = people(harness)
    await ana.send("/mentor")
    await ana.tap("Write to my mentor now")
    await ana.feed(harness.people.sticker(ana.chat.user))
    heading, copy = await relayed(sessionmaker, BEN)
    assert heading.text == "<b>Ana</b> sent:" and copy.method == "copyMessage"


async def test_commands_are_never_relayed(harness, sessionmaker) -> None:
    await program(sessionmaker)
    _, ana, ben, _ = people(harness)
    await ben.send("/reachout")
    await ana.send("/help")
    assert "Here is what you can do" in ana.last_text()
    await ana.send("/today")
    assert await relayed(sessionmaker, BEN) == []


async def test_a_daily_log_in_progress_keeps_its_answers(harness, sessionmaker) -> None:
    await program(sessionmaker)
    _, ana, ben, _ = people(harness)
    await ben.send("/reachout")
    await ana.send("/log")
    await ana.send("7")  # typed answer to the first question
    assert "Daily log · 2/10" in ana.last_text()
    assert await relayed(sessionmaker, BEN) == []
    await ana.send("/cancel")
    await ana.say("Back to you, Ben")
    assert [r.text for r in await relayed(sessionmaker, BEN)] == ["<b>Ana</b>: Back to you, Ben"]


async def test_an_edit_is_not_passed_on(harness, sessionmaker) -> None:
    await program(sessionmaker)
    _, ana, ben, _ = people(harness)
    await ben.send("/reachout")
    await ana.feed(edited_update(ana.chat.user, "fixed typo"))
    assert ana.last_text().startswith("Edits aren't passed on: Ben has the first version.")
    assert await relayed(sessionmaker, BEN) == []


async def test_a_crisis_phrase_in_the_relay_raises_the_alert_and_still_reaches_the_mentor(
    harness, sessionmaker
) -> None:
    await program(sessionmaker)
    _, ana, ben, _ = people(harness)
    await ben.send("/reachout")
    await ana.say("Honestly I want to kill myself tonight")

    assert alert_messages(await outbox_rows(sessionmaker), SUPERVISOR_CHAT)
    [message] = await relayed(sessionmaker, BEN)
    assert message.text == "<b>Ana</b>: Honestly I want to kill myself tonight"


async def test_a_re_handled_update_is_relayed_once(harness, sessionmaker) -> None:
    await program(sessionmaker)
    _, ana, ben, _ = people(harness)
    await ben.send("/reachout")
    update = harness.people.text(ana.chat.user, "Just once please")
    await ana.feed(update)
    await ana.feed(update)
    assert len(await relayed(sessionmaker, BEN)) == 1


async def test_both_sides_messages_with_the_same_id_are_both_relayed(harness, sessionmaker) -> None:
    """Telegram numbers messages per chat: Ana's 7th and Ben's 7th are different messages."""
    await program(sessionmaker)
    _, ana, ben, _ = people(harness)
    await ben.send("/reachout")
    await ben.feed(message_update(ben.chat.user, 7, text="Hello Ana"))
    await ana.feed(message_update(ana.chat.user, 7, text="Hello Ben"))
    assert [r.text for r in await relayed(sessionmaker, ANA)] == ["<b>Ben</b>: Hello Ana"]
    assert [r.text for r in await relayed(sessionmaker, BEN)] == ["<b>Ana</b>: Hello Ben"]


async def test_a_long_message_arrives_whole_in_parts(harness, sessionmaker) -> None:
    await program(sessionmaker)
    _, ana, ben, _ = people(harness)
    await ben.send("/reachout")
    long = "x" * (PART - 1) + "&" + "y" * 90  # the cut falls right after the "&"
    await ana.say(long)
    first, second = await relayed(sessionmaker, BEN)
    assert first.text == "<b>Ana</b>: " + "x" * (PART - 1) + "&amp;"
    assert second.text == "y" * 90
    assert first.on_undeliverable and not second.on_undeliverable  # one notice if blocked


async def test_end_closes_the_conversation_for_both(harness, sessionmaker) -> None:
    await program(sessionmaker)
    _, ana, ben, _ = people(harness)
    await ben.send("/reachout")
    await ana.send("/end")
    assert ana.last_text().startswith("Your conversation with Ben has ended.")
    [closed] = await outbox_rows(sessionmaker, "relay:1:closed")
    assert closed.chat_id == BEN and closed.text.startswith("Ana ended the conversation for now.")
    assert "/reachout" in closed.text
    await ana.say("Just for the bot")
    assert await relayed(sessionmaker, BEN) == []
    await ben.send("/end")
    assert ben.last_text() == "There's no conversation open right now."


async def test_a_mentor_with_two_conversations_writes_to_the_one_he_chose(
    harness, sessionmaker
) -> None:
    ids = await program(sessionmaker, cleo=True)
    _, ana, ben, _ = people(harness)
    cleo = person(harness, ana.watch, CLEO, language="es")
    await ana.send("/mentor")
    await ana.tap("Write to my mentor now")
    # Ben had no other conversation, so he answers Ana without choosing.
    await ben.say("Hi Ana")
    await cleo.send("/mentor")
    # Cleo opens a second conversation with Ben (her buttons are in Spanish: press by data).
    assert await cleo.press(MenteeChoice(action="write", match_id=ids["cleo"]).pack()) is None

    await ben.say("Still with you, Ana")
    assert [r.text for r in await relayed(sessionmaker, ANA)][-1].endswith("Still with you, Ana")
    await cleo.say("Hola Ben")
    from_cleo = (await relayed(sessionmaker, BEN))[-1]
    assert from_cleo.text == "<b>Cleo</b>: Hola Ben"
    assert from_cleo.labels == ["Answer Cleo"]  # his messages still go to Ana: one tap to switch
    await ben.tap("Answer Cleo", await deliver(sessionmaker, from_cleo))
    assert "/reachout switches between them" in ben.last_text()
    await ben.say("Hola Cleo")
    assert (await relayed(sessionmaker, CLEO))[-1].text == "<b>Ben</b>: Hola Cleo"
    await ben.send("/end")
    assert "Your conversation with Ana is still open" in ben.last_text()


# --- openers ------------------------------------------------------------------------------------


async def test_a_mentor_sends_a_suggested_opener(harness, sessionmaker) -> None:
    await program(sessionmaker)
    _, _, ben, _ = people(harness)
    await ben.send("/reachout")
    await ben.tap("Suggest an opener")
    suggestions = ben.shown()
    assert suggestions.text.startswith("Some ways to begin")
    assert "Hi Ana, I was thinking of you today." in suggestions.text
    assert ben.labels() == ["1", "2", "3", "4"]

    assert await ben.tap("1", suggestions) is None
    assert await ben.tap("2", suggestions) == EXPIRED
    [opener] = await relayed(sessionmaker, ANA)
    assert opener.text.startswith("<b>Ben</b>: Hi Ana, I was thinking of you today.")


# --- boundaries and undeliverable messages --------------------------------------------------


async def test_a_mentor_sharing_his_number_is_relayed_flagged_and_reminded(
    harness, sessionmaker
) -> None:
    await program(sessionmaker)
    _, ana, ben, _ = people(harness)
    await ben.send("/reachout")
    await ben.send("Easier by phone: 07700 900123")

    assert ben.last_text().startswith("A gentle reminder: the program keeps contact")
    [message] = await relayed(sessionmaker, ANA)
    assert message.text.endswith("07700 900123")  # still passed on
    async with sessionmaker() as session:
        [item] = (await session.execute(select(ReviewItem))).scalars().all()
    assert item.kind == "boundary" and item.detail == "Easier by phone: 07700 900123"
    [note] = await outbox_rows(sessionmaker, "boundary:")
    assert note.chat_id == SUPERVISOR_CHAT and "Oak-7" in note.text and "Heron-1" in note.text
    assert "07700" not in note.text and "Ben" not in note.text
    # A mentee's own number is hers to share: no flag.
    await ana.say("Mine is 07700 900456")
    async with sessionmaker() as session:
        assert len((await session.execute(select(ReviewItem))).scalars().all()) == 1


async def test_a_mentor_sharing_a_contact_card_is_flagged_without_words(
    harness, sessionmaker
) -> None:
    await program(sessionmaker)
    _, _, ben, _ = people(harness)
    await ben.send("/reachout")
    card = Contact(phone_number="+44 7700 900123", first_name="Ben")
    await ben.feed(message_update(ben.chat.user, contact=card))

    assert ben.last_text().startswith("A gentle reminder: the program keeps contact")
    async with sessionmaker() as session:
        [item] = (await session.execute(select(ReviewItem))).scalars().all()
    assert item.kind == "boundary" and item.detail is None  # the review card says what it was


async def test_a_message_to_someone_who_blocked_the_bot_is_reported_to_the_sender(
    harness, sessionmaker
) -> None:
    await program(sessionmaker)
    _, _, ben, _ = people(harness)
    await ben.send("/reachout")
    await ben.say("Thinking of you")
    bot, telegram = scripted_bot()
    telegram.fail(403, chat_id=ANA, times=2)  # Ana blocked the bot
    hooks = Undeliverable(harness.dispatcher["i18n"])
    worker = DeliveryWorker(
        bot, sessionmaker, on_undeliverable=hooks.given_up, backoff_base=0.05, poll_interval=0.02
    )

    await worker.drain_once()
    await worker.drain_once()
    told = [call.text for call in telegram.sends(BEN)]
    assert told == [
        "I couldn't deliver your message to Ana — they may have blocked the bot or left."
    ]
