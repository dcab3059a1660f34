"""A new questionnaire touches its declaration, its texts and its tests, nothing else.

The toy questionnaire here is declared in this file only: no state group in flows/states.py,
no button data in handlers/keyboards.py, no router in handlers/__init__.py, no line in the
command table of handlers/menu.py, no entry in the crisis plan's list of flows it may pause.
It is asked, answered, listed in /help, paused by the crisis plan and resumed, all the
same. And what cannot be wired by itself fails loudly: at start, not in someone's chat.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

import handlers
from bot.settings import Settings
from flows import questionnaire as q
from flows.questionnaire import Kind
from handlers import questionnaire
from handlers.menu import LOGGERS, Command, commands_for
from handlers.questionnaire import Conversation
from storage.models import Role, User
from tests.harness import Harness, make_harness
from tests.unit.chat_helpers import EXPIRED, Watch, conversation, make_person, person

TOY = q.Questionnaire(
    name="toy_mood",
    header="Toy · {number}/{total}",
    steps=(
        q.Step("mood", Kind.SCALE, "How is your mood?"),
        q.Step("words", Kind.TEXT, "A word on it?", limit=40, skip=True),
    ),
)
SAVED: list[tuple[int, dict[str, Any]]] = []  # what the toy's finish stored, by person


class ToyMood(Conversation):
    async def finish(
        self,
        message: Message,
        user: User,
        session: AsyncSession,
        state: FSMContext,
        draft: dict[str, Any],
        settings: Settings,
        *,
        edit: bool,
    ) -> None:
        SAVED.append((user.telegram_id, draft["answers"]))
        await state.clear()
        await message.answer("Toy saved.")


@pytest.fixture
def toy() -> Iterator[Conversation]:
    conversation = ToyMood(TOY, command=Command("toymood", "A toy mood check", LOGGERS))
    SAVED.clear()
    yield conversation
    questionnaire.forget(conversation)


@pytest.fixture
def toy_harness(toy: Conversation, settings: Settings, engine: Any) -> Harness:
    return make_harness(settings, engine)  # built with the toy declared


@pytest.fixture
def watch(toy_harness: Harness) -> Watch:
    return Watch(toy_harness)


async def test_a_questionnaire_declared_alone_is_asked_answered_and_stored(
    toy_harness, watch, sessionmaker
) -> None:
    await make_person(sessionmaker, 900)
    p = person(toy_harness, watch, 900)
    question = await p.send("/toymood")
    assert "Toy · 1/2" in question.text and "How is your mood?" in question.text
    assert p.labels()[:11] == [str(n) for n in range(11)]

    await p.tap("7")
    assert "Toy · 2/2" in p.shown().text  # the same message, edited into the next question
    state, draft = await conversation(sessionmaker, 900)
    assert state == "toy_mood:answering"  # its own state, in the SQL FSM
    assert draft["step"] == "words" and draft["answers"] == {"mood": 7}

    await p.send("steady today")
    assert SAVED == [(900, {"mood": 7, "words": "steady today"})]
    assert p.last_text() == "Toy saved."
    assert await conversation(sessionmaker, 900) == (None, {})


async def test_its_command_is_in_the_menu_and_help_for_its_roles_only(
    toy_harness, watch, sessionmaker
) -> None:
    assert "toymood" in {c.name for c in commands_for(Role.MENTEE)}
    assert "toymood" not in {c.name for c in commands_for(Role.SUPERVISOR)}
    await make_person(sessionmaker, 901)
    p = person(toy_harness, watch, 901)
    help_text = await p.send("/help")
    assert "/toymood — A toy mood check" in help_text.text

    await make_person(sessionmaker, 902, role=Role.SUPERVISOR)
    s = person(toy_harness, watch, 902)
    await s.send("/toymood")
    assert await conversation(sessionmaker, 902) == (None, {})  # not theirs to start


async def test_the_crisis_plan_pauses_it_and_gives_it_back(
    toy_harness, watch, sessionmaker
) -> None:
    await make_person(sessionmaker, 903)
    p = person(toy_harness, watch, 903)
    await p.send("/toymood")
    question = p.shown()
    before = await conversation(sessionmaker, 903)

    await p.send("/crisisplan")
    await p.tap("1. Warning signs")
    await p.tap("Write this part")
    toast = await p.press(f"toy_mood:mood:{5}", question)
    assert toast and "First send this part of your plan" in toast
    await p.send("Not sleeping")
    assert await conversation(sessionmaker, 903) == before  # given back as it was

    assert await p.press("toy_mood:mood:5", question) is None
    assert "Toy · 2/2" in p.shown().text


async def test_its_buttons_are_checked_like_every_questionnaires(
    toy_harness, watch, sessionmaker
) -> None:
    await make_person(sessionmaker, 904)
    p = person(toy_harness, watch, 904)
    await p.send("/toymood")
    assert await p.press("toy_mood:mood:11") == EXPIRED  # not on its scale
    assert await p.press("toy_mood:words:steady") == EXPIRED  # not the step asked
    said = [s.text for s in await p.say("eleven") if s.text]
    assert "whole number from 0 to 10" in said[0] and "Toy · 1/2" in said[-1]  # asked again
    assert SAVED == []


# --- what cannot register itself fails loudly ---------------------------------------------


def test_a_questionnaire_no_router_answers_stops_the_start() -> None:
    lost = Conversation(q.Questionnaire(name="toy_lost", steps=TOY.steps))
    try:
        with pytest.raises(RuntimeError, match="toy_lost"):
            handlers.get_routers()
    finally:
        questionnaire.forget(lost)
    assert handlers.get_routers()  # without it, the bot starts


def test_a_questionnaire_on_a_router_its_module_includes_counts_as_answered() -> None:
    from aiogram import Router

    nested = Conversation(q.Questionnaire(name="toy_nested", steps=TOY.steps))
    try:
        outer, private = Router(), Router()
        nested.register(private)
        outer.include_router(private)  # e.g. a group module's private-chat part
        assert nested.wired_on([outer])
        assert not nested.wired_on([Router()])
    finally:
        questionnaire.forget(nested)


def test_two_questionnaires_cannot_share_a_name_buttons_or_a_command(toy) -> None:
    with pytest.raises(ValueError, match="name"):
        ToyMood(TOY)
    with pytest.raises(ValueError, match="button prefix"):
        ToyMood(q.Questionnaire(name="toy_other", steps=TOY.steps), toy.answer)
    with pytest.raises(ValueError, match="/log"):
        ToyMood(
            q.Questionnaire(name="toy_log", steps=TOY.steps),
            command=Command("log", "Not the log", LOGGERS),
        )
    assert questionnaire.REGISTRY["toy_mood"] is toy


def test_a_declaration_that_cannot_work_is_refused() -> None:
    with pytest.raises(ValueError, match="no steps"):
        q.Questionnaire(name="toy_empty")
    with pytest.raises(ValueError, match="two steps"):
        q.Questionnaire(name="toy_twice", steps=(TOY.steps[0], TOY.steps[0]))
