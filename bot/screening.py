"""Crisis screening of every text, caption and edit a person sends, before any handler.

A hit opens (or joins) an alert case, queues it for the supervisors in the same
transaction, and answers the person at once with their plan and crisis lines. Then
the update goes on to its handler: a crisis sentence typed into a flow's free-text
step is never swallowed by that step, and the flow is not broken either.

One step asks first: a part of one's crisis plan (warning signs are written in exactly
this language). There the hits go to the step as ``plan_words``; it saves the part and
asks "Is this how you feel right now?", and the alert waits for the answer, or for
``FEELING_CHECK`` to pass (handlers/crisis.py). If the step did not take them, for
whatever reason, they alert at once as anywhere else.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import Message, TelegramObject
from aiogram.utils.i18n import I18n
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import crisis_answer
from bot.settings import Settings
from flows import alerts as alert_flow
from flows import onboarding, questionnaire, reach
from flows.crisis_plan import FlaggedWords
from flows.languages import match_language
from flows.screening import available_languages, load_lexicon, screen, use_model
from flows.states import CaseNoting, CrisisPlanning, Worrying
from handlers import group_crisis, misread
from handlers.alerts import announce, staffed_now
from handlers.crisis import crisis_reply, crisis_reply_from_memory
from storage import cases, users
from storage.models import Role, User, utcnow

log = logging.getLogger(__name__)

# Steps where a mentor writes about their mentee, whose words reach supervisors anyway, or
# a supervisor writes a note on a case ("she said she has the pills" is not their crisis).
# Questionnaires declared ``about_someone_else`` (session notes) add their own state.
ABOUT_SOMEONE_ELSE = questionnaire.ABOUT_SOMEONE_ELSE
ABOUT_SOMEONE_ELSE.update({Worrying.reason.state, CaseNoting.writing.state})

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

# Screening time grows with the square of a message's length: under 5 ms below 1,000
# characters, up to about 40 ms at Telegram's 4,096, and a few of those in a row held
# every other update (someone else's crisis included) for 86 ms. Longer texts are screened
# in a worker thread, where the interpreter hands the event loop a turn every few
# milliseconds (benchmarks/long_message_lag.py).
LONG_TEXT = 1_000


async def screened(text: str, language: str) -> list[Any]:
    """``screen``, off the event loop for a long text."""
    if len(text) < LONG_TEXT:
        return screen(text, language)
    return await asyncio.to_thread(screen, text, language)


class CrisisScreening(BaseMiddleware):
    def __init__(self, settings: Settings, i18n: I18n) -> None:
        self._settings = settings
        self._i18n = i18n
        # Compile every lexicon and load the model now (about a second): not while
        # someone in crisis waits. Without the model, the lexicon screens alone (logged).
        for language in available_languages():
            load_lexicon(language)
        use_model(settings.screening_model)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        message = _said(event)
        if message is not None and self._concerns_a_person(message, data):
            text = message.text or message.caption
            if text:
                user: User | None = data.get("user")
                language = (
                    user.locale
                    if user
                    else match_language(
                        message.from_user.language_code, self._settings.default_locale
                    )
                )
                hits = reach.in_message_order(await screened(text, language), text)
                if hits and await _writing_to_someone_in_crisis(data):
                    hits = []
                if hits and _a_part_of_their_plan(message, data):
                    return await self._ask_first(handler, event, data, hits, language)
                if hits:
                    data["user"] = await self._raise(message, hits, data, language)
                    data["crisis_answered"] = True  # flows can spare their "not an answer" hint
        return await handler(event, data)

    async def _ask_first(
        self,
        handler: Handler,
        message: Message,
        data: dict[str, Any],
        hits: list[Any],
        language: str,
    ) -> Any:
        """The plan's step asks before alerting; if it does not take the words, they alert
        now, after it (and even when it failed: the safety path comes first)."""
        words = data["plan_words"] = FlaggedWords(hits)
        try:
            result = await handler(message, data)
        except Exception:
            if not words.taken:
                await data["session"].rollback()
                await self._raise(message, hits, data, language)
            raise
        if not words.taken:
            await self._raise(message, hits, data, language)
        return result

    def _concerns_a_person(self, message: Message, data: dict[str, Any]) -> bool:
        """Everyone's words are screened, except the supervisors' own group (they discuss
        cases there), a supervisor's report of a missed message (/missed …), and what a
        mentor writes about their mentee: the reason for "I'm worried about them" (it goes
        to the supervisors in the mentee's alert) and a session note (its concern goes to
        the supervisors' review). "She feels hopeless" there is not the mentor's crisis."""
        if message.from_user is None or message.from_user.is_bot:
            return False
        if message.chat.id == self._settings.supervisor_chat_id:
            return False
        if data.get("raw_state") in ABOUT_SOMEONE_ELSE:
            return False
        user: User | None = data.get("user")
        reporting = (message.text or "").startswith("/missed")
        return not (reporting and user is not None and user.role == Role.SUPERVISOR)

    async def _raise(
        self, message: Message, hits: list[Any], data: dict[str, Any], language: str
    ) -> User | None:
        """Record the case, queue it for the supervisors, answer the person; with a failing
        database, answer the person from memory all the same."""
        session: AsyncSession = data["session"]
        person: User | None = data.get("user")
        update = data.get("event_update")
        update_id = update.update_id if update is not None else None
        # Read now: after a failed write the session's objects cannot be read any more.
        zone = person.timezone if person is not None else None
        try:
            person, case = await self._record(session, message, data, hits, language, update_id)
            if message.chat.type != "private" and not person.is_onboarded:
                # In a group, someone the bot cannot write to (never started it): a gentle
                # word to the whole group, never a reply to them or their words.
                await group_crisis.gentle_post(data["bot"], session, message, self._i18n, language)
                return person
            # Never "a supervisor knows" when nobody can be told (no channel, no supervisor).
            supervisors = self._settings.supervisor_chat_id
            reachable = not await alert_flow.nobody_to_tell(session, supervisors)
            replies = await crisis_reply(
                session,
                person,
                message.from_user.language_code,
                staffed=staffed_now(self._settings),
                reachable=reachable,
            )
            if case.is_new and reachable and misread.may_offer(hits):
                replies.append(misread.offer(case.alert.id))
        except SQLAlchemyError as error:
            await crisis_answer.database_failed(session, error, f"an alert (update {update_id})")
            if message.chat.type == "private":
                answer = crisis_reply_from_memory(zone, message.from_user.language_code)
                await crisis_answer.send_from_memory(data["bot"], message.chat.id, answer)
            return person
        bot: Bot = data["bot"]
        key = update_id if update_id is not None else f"m{message.chat.id}.{message.message_id}"
        delivered = await crisis_answer.send(bot, session, person.telegram_id, replies, key)
        if not delivered and message.chat.type != "private":  # they blocked the bot
            await group_crisis.gentle_post(bot, session, message, self._i18n, language)
        return person

    async def _record(
        self,
        session: AsyncSession,
        message: Message,
        data: dict[str, Any],
        hits: list[Any],
        language: str,
        update_id: int | None,
    ) -> tuple[User, alert_flow.Case]:
        person: User | None = data.get("user")
        if person is None:
            # Safety comes before paperwork: someone not yet registered still reaches a supervisor.
            person = await users.create(
                session,
                telegram_id=message.from_user.id,
                locale=language,
                pseudonym=onboarding.new_pseudonym(),
            )
        settings = self._settings
        said_in = await reach.where_said(
            session,
            data.get("user"),  # None: they had not started the bot
            data.get("raw_state"),
            private=message.chat.type == "private",
            plain=message.edit_date is None and not (message.text or "").startswith("/"),
        )
        data["crisis_said_in"] = said_in  # handlers: where this message was said, when screened
        case = await alert_flow.record_hits(
            session,
            person,
            hits,
            now=utcnow(),
            join_window=dt.timedelta(minutes=settings.alert_join_minutes),
            ack_within=dt.timedelta(minutes=settings.escalation_ack_minutes),
            said_in=said_in,
            update_id=update_id,
        )
        await announce(session, case, settings, self._i18n)
        log.warning(
            "crisis screening: alert %s %s for user %s (severity %s, rules %s)",
            case.alert.id,
            "seen again" if case.replayed else "opened" if case.is_new else "joined",
            person.id,
            case.alert.severity,
            ",".join(hit.rule for hit in hits),
        )
        return person, case


def _a_part_of_their_plan(message: Message, data: dict[str, Any]) -> bool:
    """A new message (not an edit, not a command) while a part of the plan is written."""
    update = data.get("event_update")
    if update is None or update.message is not message:
        return False
    text = message.text or ""
    return data.get("raw_state") == CrisisPlanning.writing.state and not text.startswith("/")


async def _writing_to_someone_in_crisis(data: dict[str, Any]) -> bool:
    """A supervisor in a case's conversation asks what staff should ask ("are you thinking
    about suicide?"): their words are about the person, not a crisis of their own."""
    user: User | None = data.get("user")
    if user is None or user.role != Role.SUPERVISOR:
        return False
    return await cases.open_of_supervisor(data["session"], user.id) is not None


def _said(event: TelegramObject) -> Message | None:
    return event if isinstance(event, Message) else None
