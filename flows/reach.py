"""Acting on a crisis: a supervisor writes to the person of an alert through the bot, and
the alert says, in one glance, who the person is and where their words were said.

A *case conversation* is like the mentor relay (flows/relay.py), with a supervisor on one
side: while it is open the supervisor's plain messages go to the person, headed "your
program's supervisor", and the person's plain messages go back to the supervisor (ahead of
their mentor: someone in crisis answering a supervisor must not land with their mentor by
accident). Either side ends it. Every message is kept, encrypted, as an event of the case.
Screening has already run on each of them, on both sides. No Telegram types here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from flows import alerts as alert_flow
from flows import crisis_plan
from flows import relay as relay_flow
from storage import alerts, cases, crisis_plans, matches, relays
from storage.models import Alert, AlertHit, AlertStatus, CaseConversation, Role, User

# ----- where words were said (alert_hits.said_in) -------------------------------------------

LOG = "log"  # in the middle of their daily log
PLAN = "plan"  # while writing their crisis plan
MENTOR_CHAT = "mentor_chat"  # to their mentor, through the relay: the mentor receives it
MENTEE_CHAT = "mentee_chat"  # a mentor, to their mentee, through the relay
SUPERVISOR_CHAT = "supervisor_chat"  # in their conversation with a supervisor
ONBOARDING = "onboarding"  # before they finished onboarding (or had even started)
GROUP = "group"  # in a group the bot is in
CHAT = "chat"  # to the bot, in no conversation with anyone
WHERE = (LOG, PLAN, MENTOR_CHAT, MENTEE_CHAT, SUPERVISOR_CHAT, ONBOARDING, GROUP, CHAT)

RECENT = dt.timedelta(days=30)  # "earlier alerts" looks back this far


async def where_said(
    session: AsyncSession,
    person: User | None,
    raw_state: str | None,
    *,
    private: bool,
    plain: bool,
) -> str:
    """Where a message was said, from the person's conversation state and their open
    conversations at the moment it was screened. ``plain`` is a new text or caption that is
    not a command: only such a message is passed on to a mentor or a supervisor, so only
    then was it said *to* them. The order follows the routers': a flow's step keeps its
    answers, then a supervisor's conversation comes before the mentor's."""
    if not private:  # whoever they are: the supervisor must know the group saw it
        return GROUP
    if person is None or not person.is_onboarded or (raw_state or "").startswith("Onboarding"):
        return ONBOARDING
    if raw_state:
        if raw_state.startswith("DailyLogging"):
            return LOG
        return PLAN if raw_state.startswith("CrisisPlanning") else CHAT
    if not plain:
        return CHAT
    if await cases.open_of_person(session, person.id) is not None:
        return SUPERVISOR_CHAT
    if person.role in (Role.MENTEE, Role.MENTOR):
        conversation = await relay_flow.current(session, person)
        if conversation is not None:
            return MENTEE_CHAT if conversation.i_am_mentor else MENTOR_CHAT
    return CHAT


def in_message_order(hits: list, text: str) -> list:
    """Hits of one message in the order they were written (screening ranks them by
    severity): the supervisor reads the quotes as the person wrote them."""
    folded = text.casefold()

    def position(hit: object) -> int:
        found = folded.find(getattr(hit, "sentence", "").casefold())
        return found if found >= 0 else len(folded)

    return sorted(hits, key=position)


# ----- the alert at a glance ------------------------------------------------------------------


@dataclass(frozen=True)
class Glance:
    """What a supervisor needs to know about the person of an alert, beyond the quotes."""

    person: User | None
    quote_languages: tuple[str, ...]  # languages of quotes other than the person's own
    country: str  # where their crisis lines are for (ISO code, or "INT")
    emergency: str
    lines: tuple[str, ...]  # the crisis lines they were shown, by name
    international_too: bool  # we were not sure where they are: the directories were shown too
    has_plan: bool
    said_in: tuple[str, ...]  # where the words were said, in the order of the case
    mentor: User | None
    mentor_conversation_open: bool
    earlier: tuple[int, ...]  # their other alerts in the last 30 days
    writing: User | None  # the supervisor writing to them through the bot now


async def glance(
    session: AsyncSession, alert: Alert, hits: list[AlertHit], now: dt.datetime
) -> Glance:
    # A person who erased their data leaves the case with no one behind it (user_id None).
    person = await session.get(User, alert.user_id) if alert.user_id is not None else None
    locale = person.locale if person else "en"
    where = crisis_plan.where_to_call(locale, person.timezone if person else None)
    mentor, talking = await _mentor_of(session, alert.user_id)
    worded = [hit for hit in hits if alert_flow.has_words(hit)]
    conversation = (
        await cases.open_of_person(session, alert.user_id) if person is not None else None
    )
    writing = await session.get(User, conversation.supervisor_id) if conversation else None
    return Glance(
        person=person,
        quote_languages=tuple(dict.fromkeys(h.language for h in worded if h.language != locale)),
        country=where.lines.country,
        emergency=where.lines.emergency,
        lines=tuple(line.name for line in where.lines.lines),
        international_too=where.elsewhere is not None,
        # Which sections exist, not what they say: nothing here needs decrypting.
        has_plan=person is not None and bool(await crisis_plans.filled(session, alert.user_id)),
        said_in=tuple(dict.fromkeys(h.said_in for h in hits if h.said_in)),
        mentor=mentor,
        mentor_conversation_open=talking,
        earlier=tuple(await cases.earlier_alerts(session, alert, now - RECENT)),
        writing=writing,
    )


async def _mentor_of(session: AsyncSession, user_id: int | None) -> tuple[User | None, bool]:
    """The person's mentor, and whether a conversation with them is open."""
    if user_id is None:
        return None, False
    match = await matches.active_of_mentee(session, user_id)
    if match is None:
        return None, False
    mentor = await session.get(User, match.mentor_id)
    return mentor, await relays.open_of_match(session, match.id) is not None


# ----- a supervisor's conversation with the person ------------------------------------------

OPENED, TO_PERSON, FROM_PERSON, ENDED = "opened", "to_person", "from_person", "ended"


@dataclass(frozen=True)
class Talk:
    """An open case conversation, with its people and its alert."""

    conversation: CaseConversation
    alert: Alert
    supervisor: User
    person: User

    def other_side(self, me: User) -> User:
        return self.person if me.id == self.supervisor.id else self.supervisor


@dataclass(frozen=True)
class Opened:
    talk: Talk
    is_new: bool


@dataclass(frozen=True)
class Taken:
    """Another supervisor is writing to the person already."""

    by: User


class CannotWrite(Exception):
    """The alert is resolved, or its person is gone."""


async def open_talk(
    session: AsyncSession, alert: Alert, supervisor: User, now: dt.datetime
) -> Opened | Taken:
    """Open the conversation with the alert's person (or come back to one's own open one).
    Writing to them is contacting them: every copy of the alert will say who."""
    person = await session.get(User, alert.user_id)
    if person is None or alert.status == AlertStatus.RESOLVED:
        raise CannotWrite(alert.id)
    conversation, is_new = await cases.open_conversation(
        session, alert.id, supervisor.id, person.id, now
    )
    if conversation.supervisor_id != supervisor.id:
        other = await session.get(User, conversation.supervisor_id)
        assert other is not None  # conversations cascade with their people
        return Taken(other)
    if is_new:
        cases.add_event(session, alert.id, OPENED, actor_id=supervisor.id, at=now)
        alerts.audit(session, "writing_to_person", alert_id=alert.id, actor=supervisor.telegram_id)
    await alert_flow.contacting(session, alert, supervisor, now)
    owning = (
        alert
        if conversation.alert_id == alert.id
        else await alerts.get(session, conversation.alert_id)
    )
    return Opened(Talk(conversation, owning or alert, supervisor, person), is_new)


async def talk_of(session: AsyncSession, user: User) -> Talk | None:
    """The open case conversation the person's plain messages go to: theirs as the person
    of an alert first; else, for a supervisor, the one they opened last."""
    conversation = await cases.open_of_person(session, user.id)
    if conversation is None and user.role == Role.SUPERVISOR:
        conversation = await cases.open_of_supervisor(session, user.id)
    if conversation is None:
        return None
    return await _talk(session, conversation)


async def talk_on_alert(session: AsyncSession, alert_id: int) -> Talk | None:
    conversation = await cases.open_of_alert(session, alert_id)
    return await _talk(session, conversation) if conversation is not None else None


async def _talk(session: AsyncSession, conversation: CaseConversation) -> Talk | None:
    alert = await alerts.get(session, conversation.alert_id)
    supervisor = await session.get(User, conversation.supervisor_id)
    person = await session.get(User, conversation.person_id)
    if alert is None or supervisor is None or person is None:
        return None
    return Talk(conversation, alert, supervisor, person)


def record(session: AsyncSession, talk: Talk, sender: User, text: str, now: dt.datetime) -> None:
    """Keep a message of the conversation in the case's history (encrypted at rest)."""
    kind = TO_PERSON if sender.id == talk.supervisor.id else FROM_PERSON
    cases.add_event(session, talk.alert.id, kind, actor_id=sender.id, text=text, at=now)


async def has_written(session: AsyncSession, alert_id: int) -> bool:
    """Whether a supervisor has written to the person of this case before."""
    return any(event.kind == TO_PERSON for event in await cases.events_of(session, alert_id))


def end_talk(session: AsyncSession, talk: Talk, by: User, now: dt.datetime) -> None:
    cases.close(talk.conversation, by.id, now)
    cases.add_event(session, talk.alert.id, ENDED, actor_id=by.id, at=now)
    alerts.audit(session, "conversation_ended", alert_id=talk.alert.id, actor=by.telegram_id)
