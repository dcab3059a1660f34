"""Graduation in chat: /graduate (a mentee, their mentor, or an admin), the other side's
confirmation, the milestones a graduate chooses to record, their journey summary, the
alumni group's invite link, the offer to train as a mentor, and the booster check-ins at
1, 3 and 6 months with "I'd like a refresher".

flows/graduation.py decides who may and when; this renders. What reaches someone other
than the presser goes through the outbox under an idempotency key (``grad:<mentee>:…``,
erased with the graduate), in the transaction that caused it. Every press re-reads the
graduation, the match and the presser's role: callback data is only a hint.

A graduate stays a mentee: 🆘, /crisis, their crisis plan, /log, /trends and /privacy work
as before; the graduation only ends the match (as a rematch would, without erasing it) and
keeps them out of the matching queue until they ask for a refresher.
"""

from __future__ import annotations

import datetime as dt
import logging
from html import escape
from typing import Any

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from babel.dates import format_skeleton
from babel.numbers import format_decimal
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import graduation as flow
from flows import matching, reminders, team, timezones
from flows import questionnaire as q
from flows.questionnaire import Kind
from flows.states import Graduating
from handlers import daily_log, group_tell
from handlers.crisis import help_now_button
from handlers.due import Tick, handles
from handlers.filters import PRIVATE, HasRole
from handlers.keyboards import CancelFlow, button, retire_buttons, rows
from handlers.questionnaire import Conversation
from storage import alerts as alert_records
from storage import graduations, groups, matches, outbox, schedules
from storage.models import Graduation, GraduationStatus, Match, MatchStatus, Role, User, utcnow
from storage.outbox import Claimed
from storage.schedules import Due

log = logging.getLogger(__name__)

PEOPLE = (Role.MENTEE, Role.MENTOR, Role.ADMIN)
LISTED = 20  # active matches an admin's /graduate lists
MILESTONE_LIMIT = 300  # characters: a milestone is a line or two
FEELINGS = ("well", "mixed", "hard")
WISHES = ("refresher", "log", "none")
INVITE_DAYS = 7  # an alumni invite link is personal (one use) and lasts a week
NEWS_UNREACHED = "graduation_unreached"  # the outbox's fallback: tell the admin who confirmed


class GradPick(CallbackData, prefix="gpick"):
    match_id: int


class GradAsk(CallbackData, prefix="gask"):
    action: str  # "yes" | "no": the confirm step of the one who starts it


class GradAnswer(CallbackData, prefix="gans"):
    graduation_id: int
    action: str  # "confirm" | "decline": the other side's answer to a proposal


class GradNext(CallbackData, prefix="gnext"):
    graduation_id: int
    action: str  # "milestone" | "summary"


class GradOffer(CallbackData, prefix="goffer"):
    graduation_id: int
    action: str  # "mentor" | "keep" | "pause" | "refresher"


class BoosterPress(CallbackData, prefix="boost"):
    number: int  # 1, 2, 3: the booster it belongs to
    step: str  # "feel" | "wish"
    value: str


class MilestoneAnswer(CallbackData, prefix="gmile"):
    step: str
    value: str


def _has_first(answers: Any, context: Any) -> bool:
    return bool(answers.get("first"))


MILESTONES = q.Questionnaire(
    name="milestones",
    state=Graduating.milestones,
    header=__("Your milestones · {number}/{total}"),
    steps=(
        q.Step(
            "first",
            Kind.TEXT,
            __(
                "What is a milestone of your time in the program you'd like to remember? "
                "A few words are enough: a walk you managed, a boundary you set, a good "
                "conversation. Only you will see it, in your summary."
            ),
            limit=MILESTONE_LIMIT,
            skip=True,
        ),
        q.Step(
            "second",
            Kind.TEXT,
            __("Is there another one? Or tap Skip, and I'll put your summary together."),
            limit=MILESTONE_LIMIT,
            skip=True,
            when=_has_first,
        ),
    ),
)


class RecordingMilestones(Conversation):
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
        await state.clear()
        graduation = await graduations.get(session, int(draft.get("graduation_id", 0)))
        if graduation is None or graduation.mentee_id != user.id:
            await message.answer(_("This has changed since. /help lists what you can do."))
            return
        answers = draft.get("answers") or {}
        found = [answers.get("first"), answers.get("second")]
        graduations.set_milestones(graduation, [m for m in found if m])
        if edit:
            await retire_buttons(message.bot, message.chat.id, message.message_id)
        await send_summary(message, user, session, settings, graduation)


MILESTONE_FLOW = RecordingMilestones(MILESTONES, MilestoneAnswer)


def router() -> Router:
    r = Router(name="graduation")
    r.message.filter(PRIVATE)
    people = HasRole(*PEOPLE)
    r.message.register(start, Command("graduate"), people)
    r.callback_query.register(picked, GradPick.filter())
    r.callback_query.register(asked, GradAsk.filter(), StateFilter(Graduating.confirming))
    r.callback_query.register(answered, GradAnswer.filter())
    r.callback_query.register(next_pressed, GradNext.filter())
    r.callback_query.register(offer_pressed, GradOffer.filter())
    r.callback_query.register(booster_pressed, BoosterPress.filter())
    MILESTONE_FLOW.register(r, HasRole(Role.MENTEE))
    return r


def _name(person: User | None) -> str:
    return escape(person.known_as) if person is not None else "?"


async def _refuse(query: CallbackQuery, why: str) -> None:
    """A press that is stale, forged or not the presser's: said, logged (never its data)."""
    log.warning("refused a graduation press: %s", why)
    await query.answer(_("This button has expired."), show_alert=True)


# ----- /graduate and its confirm step --------------------------------------------------------


async def _match_gone(message: Message) -> None:
    """The step's match has ended (or its people are gone) since the question was asked."""
    await message.edit_text(_("This has changed since: that match is no longer active."))


async def start(message: Message, user: User, session: AsyncSession, state: FSMContext) -> None:
    if user.role == Role.ADMIN:
        mine = await _active_matches(session)
    else:
        mine = await matches.active_of(session, user)
    if not mine and user.role == Role.MENTEE and await _graduated_already(message, user, session):
        return
    if not mine:
        await message.answer(_no_match_words(user))
        return
    if len(mine) == 1 and user.role != Role.ADMIN:
        await _ask_confirm(message, user, session, state, mine[0])
        return
    buttons = []
    for match in mine[:LISTED]:
        buttons.append(button(await _pair_label(session, match, user), GradPick(match_id=match.id)))
    await message.answer(
        _("Whose mentoring would you like to mark as done?"), reply_markup=rows(buttons, 1)
    )


async def _graduated_already(message: Message, user: User, session: AsyncSession) -> bool:
    """/graduate from a graduate: the way back to what follows a graduation. Before their
    summary (milestones cancelled, the message lost): its start again; after: their journey."""
    graduation = await graduations.latest_of(session, user.id)
    if graduation is None:
        return False
    mentor = await session.get(User, graduation.mentor_id or 0)
    if graduation.summary_at is None:
        text, markup = graduated_words(graduation.id, mentor)
        await message.answer(text, reply_markup=markup)
        return True
    today = timezones.today(user.timezone)
    found = await flow.journey(session, user, graduation, today)
    # A refresher is not only the boosters' to offer: here it is whenever they want one.
    refresh = button(
        _("💬 I'd like a refresher with a mentor"),
        GradOffer(graduation_id=graduation.id, action="refresher"),
    )
    await message.answer(summary_words(found, user.locale), reply_markup=rows([refresh], 1))
    return True


def _no_match_words(user: User) -> str:
    if user.role == Role.MENTOR:
        return _("You have no mentees right now, so there's no mentoring to mark as done.")
    if user.role == Role.ADMIN:
        return _("There are no active matches right now.")
    return _(
        "You don't have a mentor right now, so there's no mentoring to mark as done. "
        "/log, /trends and /crisis are here for you as always."
    )


async def _active_matches(session: AsyncSession) -> list[Match]:
    found = await session.scalars(
        select(Match).where(Match.status == MatchStatus.ACTIVE).order_by(Match.started_at)
    )
    return list(found)


async def _pair_label(session: AsyncSession, match: Match, user: User) -> str:
    mentee = await session.get(User, match.mentee_id)
    if user.role != Role.ADMIN:
        return mentee.known_as if mentee else "?"
    mentor = await session.get(User, match.mentor_id)
    return f"{mentee.pseudonym if mentee else '?'} · {mentor.pseudonym if mentor else '?'}"


async def picked(
    query: CallbackQuery,
    callback_data: GradPick,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
) -> None:
    match = await matches.get(session, callback_data.match_id)
    if flow.side_of(match, user) is None or not isinstance(query.message, Message):
        await _refuse(query, "not a side of an active match")
        return
    assert match is not None and user is not None
    await query.answer()
    await retire_buttons(query.bot, query.message.chat.id, query.message.message_id)
    await _ask_confirm(query.message, user, session, state, match)


async def _ask_confirm(
    message: Message, user: User, session: AsyncSession, state: FSMContext, match: Match
) -> None:
    side = flow.side_of(match, user)
    waiting = await graduations.proposed_for(session, match.id)
    if waiting is not None and side != flow.ADMIN:
        text, markup = await _waiting_words(session, waiting, user)
        await message.answer(text, reply_markup=markup)
        return
    mentee = await session.get(User, match.mentee_id)
    mentor = await session.get(User, match.mentor_id)
    if side == flow.MENTEE:
        text = _(
            "🎓 Would you like to mark your mentoring with {name} as done?\n\n"
            "When you feel ready, this ends the formal mentoring, warmly: {name} is asked to "
            "confirm, you get a summary of your journey, and check-ins come in 1, 3 and 6 "
            "months. Your logs, your crisis plan and 🆘 stay with you."
        ).format(name=_name(mentor))
    elif side == flow.MENTOR:
        text = _(
            "🎓 Would you like to mark your mentoring of {name} as done?\n\n"
            "{name} is asked to confirm: it's their step to take too. Then they get a summary "
            "of their journey and check-ins in 1, 3 and 6 months."
        ).format(name=_name(mentee))
    else:
        text = _(
            "🎓 Mark the mentoring of {mentee} (mentor {mentor}) as done? As an admin you "
            "confirm it alone: both are told, and {mentee} gets their summary."
        ).format(mentee=_name(mentee), mentor=_name(mentor))
    sent = await message.answer(
        text,
        reply_markup=rows(
            [
                button(_("🎓 Yes, mark it as done"), GradAsk(action="yes")),
                button(_("Not yet"), GradAsk(action="no")),
                button(_("✕ Cancel"), CancelFlow()),
            ],
            1,
        ),
    )
    await state.set_state(Graduating.confirming)
    await state.set_data({"match_id": match.id, "prompt": sent.message_id})


async def asked(
    query: CallbackQuery,
    callback_data: GradAsk,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    data = await state.get_data()
    message = query.message if isinstance(query.message, Message) else None
    if message is None or data.get("prompt") != message.message_id or user is None:
        await _refuse(query, "not the confirm step asked now")
        return
    await state.clear()
    match = await matches.get(session, int(data.get("match_id", 0)))
    side = flow.side_of(match, user)
    if side is None or callback_data.action not in ("yes", "no"):
        await query.answer()
        await _match_gone(message)
        return
    assert match is not None
    await query.answer()
    if callback_data.action == "no":
        await message.edit_text(_("Nothing changed. Take all the time you need."))
        return
    if side == flow.ADMIN:
        proposal = await graduations.proposed_for(session, match.id)
        if proposal is None:
            proposal = await graduations.propose(session, match, user.id, utcnow())
        if proposal is None:
            await _match_gone(message)
            return
        await complete(session, settings, i18n, proposal, match, user, message)
        return
    proposal = await graduations.propose(session, match, user.id, utcnow())
    if proposal is None:  # one is open already: theirs, or the other side's asked meanwhile
        waiting = await graduations.proposed_for(session, match.id)
        if waiting is None:
            await _match_gone(message)
            return
        text, markup = await _waiting_words(session, waiting, user)
        await message.edit_text(text, reply_markup=markup)
        return
    other = await session.get(User, matches.other_side(match, user.id))
    if other is None:
        await _match_gone(message)
        return
    await _queue_proposal(session, i18n, proposal, user, other, side)
    await message.edit_text(
        _(
            "Done: I've asked {name} to confirm. You'll hear from me as soon as they do. "
            "Until then, nothing changes."
        ).format(name=_name(other))
    )


async def _queue_proposal(
    session: AsyncSession, i18n: I18n, proposal: Graduation, by: User, to: User, side: str
) -> None:
    with i18n.use_locale(to.locale):
        text, markup = proposal_words(proposal.id, by, side)
    # The proposer was told they'd hear back: if the question cannot reach the other side
    # (a blocked bot), the relay's fallback tells them so rather than leaving them waiting.
    await _queue_to(
        session,
        to,
        f"grad:{proposal.mentee_id}:proposal:{proposal.id}",
        text,
        markup,
        on_undeliverable=f"tell_sender:{by.id}",
    )


def proposal_words(
    graduation_id: int, by: User | None, side: str
) -> tuple[str, InlineKeyboardMarkup]:
    """The question to the other side of a proposal ``by`` its ``side``, with its answers."""
    if side == flow.MENTEE:
        text = _(
            "🎓 {name} feels ready to mark your mentoring as done. Do you agree? Then "
            "they get a summary of their journey and check-ins later on."
        )
    else:
        text = _(
            "🎓 {name} thinks you may be ready to mark your mentoring as done. Only if "
            "it feels right to you: if you agree, you get a summary of your journey, and "
            "I'll check in with you in 1, 3 and 6 months. 🆘, your logs and your crisis "
            "plan stay with you."
        )
    markup = rows(
        [
            button(
                _("🎓 Yes, I agree"),
                GradAnswer(graduation_id=graduation_id, action="confirm"),
            ),
            button(_("Not yet"), GradAnswer(graduation_id=graduation_id, action="decline")),
        ],
        1,
    )
    return text.format(name=_name(by)), markup


async def _waiting_words(
    session: AsyncSession, proposal: Graduation, user: User
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A proposal is open. Its proposer waits; the other side gets its question again, with
    its buttons, since the message it came in may be long gone (else: a dead end)."""
    if proposal.proposed_by == user.id:
        return (
            _("You've asked already: I'm waiting for the other side's answer. Nothing else to do."),
            None,
        )
    proposer = await session.get(User, proposal.proposed_by or 0)
    side = flow.MENTEE if proposal.proposed_by == proposal.mentee_id else flow.MENTOR
    return proposal_words(proposal.id, proposer, side)


def _params(text: str, markup: InlineKeyboardMarkup | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"text": text, "parse_mode": "HTML"}
    if markup is not None:
        params["reply_markup"] = markup.model_dump(exclude_none=True)
    return params


async def _queue_to(
    session: AsyncSession,
    person: User,
    key: str,
    text: str,
    markup: InlineKeyboardMarkup,
    *,
    on_undeliverable: str | None = None,
) -> None:
    """A message with buttons for someone other than the presser, through the outbox (one
    without buttons goes through ``group_tell.tell``, in the person's language)."""
    await outbox.enqueue(
        session,
        key=key,
        chat_id=person.telegram_id,
        method="sendMessage",
        params=_params(text, markup),
        on_undeliverable=on_undeliverable,
    )


async def answered(
    query: CallbackQuery,
    callback_data: GradAnswer,
    user: User | None,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    """The other side's answer to a proposal: re-checked against the graduation, the match
    and the presser (an admin may confirm too; the proposer never confirms their own)."""
    proposal = await graduations.get(session, callback_data.graduation_id)
    message = query.message if isinstance(query.message, Message) else None
    if proposal is None or message is None or user is None:
        await _refuse(query, "no such proposal")
        return
    match = await matches.get(session, proposal.match_id or 0)
    side = flow.side_of(match, user)
    if side is None or not flow.confirms(proposal, side, user.id):
        await _refuse(query, "not the other side of the match")
        return
    assert match is not None
    if proposal.status != GraduationStatus.PROPOSED or callback_data.action not in (
        "confirm",
        "decline",
    ):
        await query.answer(_("This has been answered already."))
        await retire_buttons(query.bot, message.chat.id, message.message_id)
        return
    await query.answer()
    if callback_data.action == "decline":
        proposal.status = GraduationStatus.WITHDRAWN
        await _tell_declined(session, i18n, proposal, user)
        await message.edit_text(
            _("That's fine: nothing changes, and the mentoring goes on. Thank you for saying so.")
        )
        return
    await complete(session, settings, i18n, proposal, match, user, message)


async def _tell_declined(session: AsyncSession, i18n: I18n, proposal: Graduation, by: User) -> None:
    proposer = await session.get(User, proposal.proposed_by or 0)
    if proposer is None:
        return
    await group_tell.tell(
        session,
        i18n,
        [proposer],
        f"grad:{proposal.mentee_id}:declined:{proposal.id}",
        lambda: _(
            "{name} would like to keep going a while longer. That's good to know, and nobody's "
            "fault: nothing changes, and you can ask again with /graduate whenever it feels right."
        ).format(name=_name(by)),
    )


# ----- graduating ----------------------------------------------------------------------------


async def complete(
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
    graduation: Graduation,
    match: Match,
    by: User,
    message: Message,
) -> None:
    """The mentoring is done: the match ends (as matches end, nothing erased), the first
    booster is scheduled, and everyone is told — the presser directly, the others through
    the outbox."""
    now = utcnow()
    mentee = await session.get(User, match.mentee_id)
    mentor = await session.get(User, match.mentor_id)
    if mentee is None or mentor is None:
        await _match_gone(message)
        return
    graduation.status = GraduationStatus.GRADUATED
    graduation.graduated_at = now
    graduation.confirmed_by = by.id
    await matching.end(session, match, by, None, now)
    await schedules.forget(session, schedules.SILENCE, [mentee.id])
    await schedule_booster(session, mentee, graduation, 1)
    log.info("graduation %s: match %s done", graduation.id, match.id)
    # An admin confirms alone and is told both hear of it: a chat that cannot be reached
    # (a blocked bot) comes back to them (news_unreached).
    unreached = f"{NEWS_UNREACHED}:{by.id}" if by.role == Role.ADMIN else None
    # The mentee: the start of what follows (milestones, then the summary).
    if by.id == mentee.id:
        text, markup = graduated_words(graduation.id, mentor)
        await message.edit_text(text, reply_markup=markup)
    else:
        with i18n.use_locale(mentee.locale):
            text, markup = graduated_words(graduation.id, mentor)
        key = f"grad:{mentee.id}:done:{graduation.id}"
        await _queue_to(session, mentee, key, text, markup, on_undeliverable=unreached)

    # The mentor: thanks.
    def thanks() -> str:
        return _(
            "🎓 Your mentoring of {name} is complete. Thank you for the time, care and "
            "experience you gave. {name} gets a summary of their journey, and I'll check in "
            "with them in 1, 3 and 6 months; if they'd like a refresher, you may hear from "
            "them again."
        ).format(name=_name(mentee))

    if by.id == mentor.id:
        await message.edit_text(thanks())
    else:
        key = f"grad:{mentee.id}:thanks:{graduation.id}"
        await group_tell.tell(session, i18n, [mentor], key, thanks, on_undeliverable=unreached)
    if by.role == Role.ADMIN:
        await message.edit_text(
            _(
                "✓ Done: {mentee} has graduated. I'm telling them both; if either can't be "
                "reached, I'll let you know."
            ).format(mentee=_name(mentee))
        )
    await _tell_admins(
        session,
        settings,
        i18n,
        f"grad:{mentee.id}:admins:{graduation.id}",
        lambda: _(
            "🎓 {mentee} has graduated (mentor: {mentor}). Booster check-ins follow in 1, 3 "
            "and 6 months."
        ).format(mentee=escape(mentee.pseudonym), mentor=escape(mentor.pseudonym)),
        besides=by.telegram_id if by.role == Role.ADMIN else None,
    )


def graduated_words(graduation_id: int, mentor: User | None) -> tuple[str, InlineKeyboardMarkup]:
    text = _(
        "🎓 <b>Congratulations: your mentoring with {name} is complete.</b>\n\n"
        "Before I put your journey together: would you like to record a milestone or two, "
        "in your own words? Only you will see them."
    ).format(name=_name(mentor))
    markup = rows(
        [
            button(
                _("✍️ Write a milestone"), GradNext(graduation_id=graduation_id, action="milestone")
            ),
            button(
                _("Skip: show my summary"),
                GradNext(graduation_id=graduation_id, action="summary"),
            ),
        ],
        1,
    )
    return text, markup


async def _tell_admins(
    session: AsyncSession,
    settings: Settings | None,
    i18n: I18n,
    key: str,
    words: Any,
    *,
    besides: int | None = None,
) -> None:
    """Something for the program team, in each one's language (``words`` renders it);
    ``besides``: an admin's chat that has just been told directly."""
    chat, language = (
        (settings.supervisor_chat_id, settings.default_locale) if settings else (None, "en")
    )
    targets = await team.admins(session, chat, language)
    if not targets:
        log.warning("graduation notice with no admin and no supervisor chat to tell")
    targets = [(chat, locale) for chat, locale in targets if chat != besides]
    for chat_id, locale in targets:
        with i18n.context(), i18n.use_locale(locale):  # the outbox's hooks run outside one
            text = words()
        await outbox.enqueue(
            session,
            key=f"{key}:{chat_id}",
            chat_id=chat_id,
            method="sendMessage",
            params=_params(text),
        )


# ----- milestones, the summary and what follows -------------------------------------------------


def _is_graduate(user: User) -> bool:
    """A graduate stays a mentee; one whose role has changed since (trained as a mentor,
    joined the team) has no milestones, offers or boosters of a mentee's to answer."""
    return user.role == Role.MENTEE and user.is_onboarded


async def _own_graduation(
    query: CallbackQuery, user: User | None, session: AsyncSession, graduation_id: int
) -> Graduation | None:
    """The graduation the press names, if the presser is its graduate and still a mentee (a
    graduate who has become a mentor or staff is no longer offered a mentee's steps); else
    refused."""
    graduation = await graduations.get(session, graduation_id)
    if (
        graduation is None
        or user is None
        or not _is_graduate(user)
        or graduation.mentee_id != user.id
        or graduation.status != GraduationStatus.GRADUATED
        or not isinstance(query.message, Message)
    ):
        await _refuse(query, "not the presser's graduation")
        return None
    return graduation


async def next_pressed(
    query: CallbackQuery,
    callback_data: GradNext,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
) -> None:
    graduation = await _own_graduation(query, user, session, callback_data.graduation_id)
    if graduation is None:
        return
    assert user is not None and isinstance(query.message, Message)
    if graduation.summary_at is not None or callback_data.action not in ("milestone", "summary"):
        await query.answer(_("Your summary is above already."))
        await retire_buttons(query.bot, query.message.chat.id, query.message.message_id)
        return
    await query.answer()
    await retire_buttons(query.bot, query.message.chat.id, query.message.message_id)
    if callback_data.action == "milestone":
        context = await MILESTONE_FLOW.context(user, settings, session)
        await MILESTONE_FLOW.begin(
            query.message, state, {"answers": {}, "graduation_id": graduation.id}, context
        )
        return
    await send_summary(query.message, user, session, settings, graduation)


async def send_summary(
    message: Message, user: User, session: AsyncSession, settings: Settings, graduation: Graduation
) -> None:
    """The journey summary, then the alumni group's invite and the offers — in the
    graduate's own update, so each goes to them directly."""
    now = utcnow()
    today = timezones.today(user.timezone, now)
    found = await flow.journey(session, user, graduation, today)
    graduation.summary_at = now
    await message.answer(summary_words(found, user.locale))
    await _invite_to_alumni(message, user, session, settings, graduation)
    await message.answer(
        offers_words(),
        reply_markup=offers_markup(graduation.id, reminders.is_reminded(user)),
    )


def summary_words(journey: flow.Journey, locale: str) -> str:
    """The journey in plain, gentle words: how long, how many logs, what changed (never a
    judgement when things got harder), the milestones they chose. ``journey.weekly``: the
    weekly questionnaires' first scores next to their latest."""
    lines = ["🎓 <b>" + _("Your journey") + "</b>"]
    unit, count = flow.time_in_program(journey.days)
    since = format_skeleton("yMMMd", journey.since, locale=locale)  # with its year
    if unit == "weeks":
        how_long = (
            _("You've been in the program for 1 week")
            if count == 1
            else _("You've been in the program for {count} weeks").format(count=count)
        )
    else:
        how_long = (
            _("You've been in the program for 1 month")
            if count == 1
            else _("You've been in the program for {count} months").format(count=count)
        )
    lines.append(how_long + " " + _("(since {day}).").format(day=since))
    if journey.logs == 0:
        lines.append(_("You didn't keep daily logs, and that's fine: everyone finds their way."))
    elif journey.logs == 1:
        lines.append(_("You kept 1 daily log."))
    else:
        lines.append(_("You kept {count} daily logs.").format(count=journey.logs))
    if journey.changes:
        lines.append("")
        lines.append(_("Your first two weeks of logs next to your last two:"))
        lines += [change_words(c) for c in journey.changes]
    elif journey.logs:
        lines.append(
            _(
                "There weren't enough logs at the start and the end to compare them, and that's fine."
            )
        )
    if journey.weekly:
        lines.append("")
        lines.append(_("Your weekly questions, the first time next to the latest:"))
        lines += [change_words(c) for c in journey.weekly]
    changes = journey.changes + journey.weekly
    if any(c.easier for c in changes):
        lines.append(_("Something to be glad about. Your own steps helped to get here."))
    if any(c.easier is False for c in changes):
        lines.append(
            _(
                "Some things are harder now than at the start. That happens: symptoms "
                "come and go, and it takes nothing away from what you've done and learned."
            )
        )
    if journey.milestones:
        lines.append("")
        lines.append(_("Milestones you chose to remember:"))
        lines += [f"• <i>{escape(m)}</i>" for m in journey.milestones]
    lines.append("")
    lines.append(
        _(
            "🆘 and /crisis stay here for you, and so does your crisis plan (/crisisplan). "
            "/log and /trends work as before, and /privacy shows what I keep."
        )
    )
    return "\n".join(lines)


def change_words(change: flow.Change) -> str:
    name = str(flow.CHANGE_NAMES.get(change.name, change.name))
    values = _("about {first} then, {last} now, of {high}").format(
        first=_number(change.first), last=_number(change.last), high=change.high
    )
    if change.moved == 0:
        said = _("{name}: about the same ({values})")
    elif change.moved < 0:
        said = _("{name}: lower ({values})")
    else:
        said = _("{name}: higher ({values})")
    return "• " + said.format(name=name, values=values)


def _number(value: float) -> str:
    """5, or 5.5 in the reader's way of writing it (5,5 in es and de)."""
    return format_decimal(round(value, 1), format="#,##0.#", locale=get_i18n().current_locale)


async def _invite_to_alumni(
    message: Message, user: User, session: AsyncSession, settings: Settings, graduation: Graduation
) -> None:
    """A personal invite link to the alumni group (one use, a week); when there is no
    group, or the bot may not make links there, a facilitator will share it: admins hear."""
    i18n = get_i18n()
    group = await groups.alumni_group(session)
    if group is None:
        await message.answer(
            _(
                "Graduates stay in touch in an alumni group. There isn't one yet: a "
                "facilitator will share it with you when there is."
            )
        )
        await _tell_admins(
            session,
            settings,
            i18n,
            f"grad:{user.id}:no_alumni:{graduation.id}",
            lambda: _(
                "🎓 {name} has graduated and would be invited to the alumni group, but there "
                "is none yet. Register one with /group setup, then share it with them."
            ).format(name=escape(user.pseudonym)),
        )
        return
    bot = message.bot
    assert bot is not None
    try:
        link = await bot.create_chat_invite_link(
            group.chat_id,
            name=f"graduate {user.pseudonym}"[:32],
            expire_date=utcnow() + dt.timedelta(days=INVITE_DAYS),
            member_limit=1,
        )
    except TelegramAPIError as error:
        log.warning("no alumni invite link for group %s: %s", group.id, type(error).__name__)
        await message.answer(
            _(
                "Graduates stay in touch in an alumni group. I couldn't make an invite link "
                "just now, so I've asked the program team: a facilitator will share it with you."
            )
        )
        await _tell_admins(
            session,
            settings,
            i18n,
            f"grad:{user.id}:no_link:{graduation.id}",
            lambda: _(
                "🎓 {name} has graduated, but I couldn't make an invite link to the alumni "
                "group: I may not be an admin there with the right to invite. Please make me "
                "one, or share the group with them yourselves."
            ).format(name=escape(user.pseudonym)),
        )
        return
    await message.answer(
        _(
            "Graduates stay in touch in an alumni group: people who know the way you've come, "
            "some of them mentors now. Here is your own invite (it works once, for a week)."
        ),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=_("🎓 Join the alumni group"), url=link.invite_link)]
            ]
        ),
    )


def offers_words() -> str:
    return _(
        "Two more things, whenever you like:\n\n"
        "🌱 Would you like to train as a mentor one day? Your experience could help someone "
        "who is where you were.\n\n"
        "⏰ Your daily check-in reminder stays as it is, unless you'd rather pause it. /log "
        "works any time, and /reminders changes it later."
    )


def offers_markup(graduation_id: int, reminded: bool) -> InlineKeyboardMarkup:
    choices = [
        button(
            _("🌱 I'd like to train as a mentor"),
            GradOffer(graduation_id=graduation_id, action="mentor"),
        )
    ]
    if reminded:
        choices += [
            button(
                _("⏰ Keep my daily reminder"),
                GradOffer(graduation_id=graduation_id, action="keep"),
            ),
            button(
                _("⏸ Pause my reminders"), GradOffer(graduation_id=graduation_id, action="pause")
            ),
        ]
    return rows(choices, 1)


async def offer_pressed(
    query: CallbackQuery,
    callback_data: GradOffer,
    user: User | None,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    graduation = await _own_graduation(query, user, session, callback_data.graduation_id)
    if graduation is None:
        return
    assert user is not None and isinstance(query.message, Message)
    action, now = callback_data.action, utcnow()
    if action == "mentor":
        first = graduation.mentor_interest_at is None
        graduation.mentor_interest_at = graduation.mentor_interest_at or now
        await query.answer()
        await query.message.answer(
            _(
                "🌱 Thank you! I've told the program team: someone will get in touch about "
                "mentor training. No rush, and no commitment yet."
            )
        )
        if first:
            await _tell_admins(
                session,
                settings,
                i18n,
                f"grad:{user.id}:mentor_interest:{graduation.id}",
                lambda: _(
                    "🌱 {name}, who graduated, would like to train as a mentor. Please get in "
                    "touch with them about training."
                ).format(name=escape(user.pseudonym)),
            )
        return
    if action == "refresher":
        await query.answer()
        await retire_buttons(query.bot, query.message.chat.id, query.message.message_id)
        await refresher(query.message, user, session, settings, i18n, graduation)
        return
    if action not in ("keep", "pause") or not reminders.is_reminded(user):
        await _refuse(query, "no such offer")
        return
    assert user.timezone is not None and user.checkin_time is not None
    graduation.reminders = action
    await query.answer()
    if action == "pause":
        current = await reminders.state_of(session, user)
        plan = reminders.paused(user.timezone, user.checkin_time, current, now, "indefinite")
        await reminders.store(session, user, plan)
        said = _("⏸ Your reminders are paused. /log works any time; /reminders turns them back on.")
    else:
        said = _("⏰ Your daily reminder stays as it is. /reminders changes it any time.")
    await query.message.answer(said)


# ----- boosters ----------------------------------------------------------------------------------


async def schedule_booster(
    session: AsyncSession, user: User, graduation: Graduation, number: int
) -> None:
    """Booster ``number`` at the person's check-in time, 1, 3 or 6 months after the local
    day they graduated (their zone, DST-safe; the end of a shorter month when needed)."""
    assert graduation.graduated_at is not None
    zone = user.timezone or flow.FALLBACK_ZONE
    graduated_on = timezones.local_date(zone, graduation.graduated_at)
    due = flow.booster_due(user.timezone, user.checkin_time, graduated_on, number)
    state = {"n": number, "graduation": graduation.id, "on": graduated_on.isoformat()}
    await schedules.set_due(session, schedules.BOOSTER, user.id, due, state)


@handles(schedules.BOOSTER)
async def booster_due(session: AsyncSession, due: list[Due], tick: Tick) -> None:
    """The scheduler's "booster": a warm check-in through the outbox, then the next one
    (none after the third). A chat that cannot be reached is reported to the admins
    (``booster_unreached``); the next booster stays planned. While a supervisor has the
    person's crisis case open, the booster waits a day at a time, as reminders pause."""
    cared_for = await alert_records.with_open_cases(session, [row.subject_id for row in due])
    for row in due:
        if row.subject_id in cared_for:
            await _booster_tomorrow(session, row, tick.now)
            continue
        user = await session.get(User, row.subject_id)
        graduation = await graduations.get(session, int(row.state.get("graduation", 0)))
        number = int(row.state.get("n", 0))
        if user is None or graduation is None or graduation.mentee_id != user.id:
            continue  # erased, or a stray row: nothing is due
        if not _is_graduate(user):
            continue  # now a mentor or staff: its buttons would be refused, so none is sent
        if number not in range(1, len(flow.BOOSTER_MONTHS) + 1):
            continue
        with tick.i18n.use_locale(user.locale):
            text, markup = booster_question(number)
        await _queue_to(
            session,
            user,
            f"grad:{user.id}:booster:{graduation.id}:{number}",
            text,
            markup,
            on_undeliverable=f"booster_unreached:{user.id}:{number}",
        )
        graduations.record_booster(graduation, number, sent=tick.now.isoformat())
        following = flow.next_booster(number)
        if following is not None:
            await schedule_booster(session, user, graduation, following)


async def _booster_tomorrow(session: AsyncSession, row: Due, now: dt.datetime) -> None:
    user = await session.get(User, row.subject_id)
    if user is None:
        return
    zone, time = user.timezone or flow.FALLBACK_ZONE, user.checkin_time or flow.FALLBACK_TIME
    later = reminders.next_at(zone, time, now + dt.timedelta(hours=12))
    await schedules.set_due(session, schedules.BOOSTER, user.id, later, row.state)


def booster_question(number: int) -> tuple[str, InlineKeyboardMarkup]:
    months = flow.months_after(number)
    if months == 1:
        opening = _("🌿 It's been a month since you graduated.")
    else:
        opening = _("🌿 It's been {count} months since you graduated.").format(count=months)
    text = opening + " " + _("How are things these days? One tap is plenty.")
    labels = {
        "well": _("🙂 Going fairly well"),
        "mixed": _("😐 Up and down"),
        "hard": _("😔 Hard lately"),
    }
    markup = rows(
        (button(labels[f], BoosterPress(number=number, step="feel", value=f)) for f in FEELINGS),
        1,
    )
    return text, markup


def wish_question(number: int, feeling: str) -> tuple[str, InlineKeyboardMarkup]:
    said = {
        "well": _("That's good to hear."),
        "mixed": _("Thank you for telling me. Up and down is how it goes for many of us."),
        "hard": _("I'm sorry it's been hard. You don't have to manage it alone."),
    }[feeling]
    labels = {
        "refresher": _("💬 I'd like a refresher with a mentor"),
        "log": _("📝 Log today"),
        "none": _("Nothing for now, thanks"),
    }
    markup = rows(
        (button(labels[w], BoosterPress(number=number, step="wish", value=w)) for w in WISHES), 1
    )
    if feeling == "hard":  # hard may be more than hard: help now is one tap away, as in 🆘
        said += "\n" + _(
            "If it's more than that right now, the last button lets the program's on-call "
            "supervisor know at once; 🆘 and /crisis show your crisis plan and who to call."
        )
        markup.inline_keyboard.append([help_now_button()])
    return said + "\n\n" + _("Would anything help right now?"), markup


async def booster_pressed(
    query: CallbackQuery,
    callback_data: BoosterPress,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    """A booster's taps, re-checked: the presser's own latest graduation, a booster that was
    sent, a step not answered yet, a value that exists."""
    graduation = (
        await graduations.latest_of(session, user.id)
        if user is not None and _is_graduate(user)
        else None
    )
    number, step, value = callback_data.number, callback_data.step, callback_data.value
    message = query.message if isinstance(query.message, Message) else None
    record = (graduation.boosters or {}).get(str(number), {}) if graduation else {}
    valid = (step == "feel" and value in FEELINGS) or (step == "wish" and value in WISHES)
    if graduation is None or message is None or not record.get("sent") or not valid:
        await _refuse(query, "not the presser's booster")
        return
    assert user is not None
    if step in record:
        await query.answer(_("This has been answered already."))
        return
    if step == "wish" and "feel" not in record:
        await _refuse(query, "a wish before the feeling")
        return
    graduations.record_booster(
        graduation, number, **{step: value, f"{step}_at": utcnow().isoformat()}
    )
    await query.answer()
    if step == "feel":
        text, markup = wish_question(number, value)
        await message.edit_text(text, reply_markup=markup)
        return
    await retire_buttons(query.bot, message.chat.id, message.message_id)
    if value == "none":
        await message.answer(
            _("Alright. I'll check in again later. 🆘 and /crisis are here any time.")
        )
    elif value == "log":
        await daily_log.start_log(message, user, session, state, settings)
    else:
        await refresher(message, user, session, settings, i18n, graduation)


async def refresher(
    message: Message,
    user: User,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
    graduation: Graduation,
) -> None:
    """Contact with a mentor again, without starting over: their former mentor when they
    are still a mentor with room and a shared language, else the admins are asked to match
    (the intake they gave is kept, so nothing is asked again)."""
    now = utcnow()
    current = await matches.active_of_mentee(session, user.id)
    if current is not None:
        mentor = await session.get(User, current.mentor_id)
        await message.answer(
            _("You're in touch with {name} already: /mentor writes to them.").format(
                name=_name(mentor)
            )
        )
        return
    await graduations.ask_refresher(session, user.id, now)
    former = graduation.mentor_id
    if former is not None:
        try:
            done = await matching.confirm(
                session,
                mentee_id=user.id,
                mentor_id=former,
                confirmed_by=None,
                now=now,
                checkin_after=dt.timedelta(days=settings.match_checkin_days),
                silence_after=dt.timedelta(days=settings.nudge_silent_days),
            )
        except matching.Refused as refused:
            log.info("refresher: former mentor not available (%s)", refused.why)
        else:
            await _queue_refresher_intro(session, i18n, done.match, user, done.mentor)
            await message.answer(
                _(
                    "💬 Done: {name}, your mentor before, is there for you again. Write to them "
                    "with /mentor whenever you like: no need to start over."
                ).format(name=_name(done.mentor))
            )
            await _tell_admins(
                session,
                settings,
                i18n,
                f"grad:{user.id}:refresher:{graduation.id}:{done.match.id}",
                lambda: _(
                    "💬 {mentee}, a graduate, asked for a refresher and is matched again with "
                    "their former mentor {mentor}."
                ).format(mentee=escape(user.pseudonym), mentor=escape(done.mentor.pseudonym)),
            )
            return
    await message.answer(
        _(
            "💬 Thank you for asking. I've asked the program team to introduce you to a mentor "
            "again. Your profile is kept, so there's nothing to fill in."
        )
    )
    await _tell_admins(
        session,
        settings,
        i18n,
        f"grad:{user.id}:refresher:{graduation.id}:{now:%Y%m%d%H%M}",
        lambda: _(
            "💬 {mentee}, a graduate, asked for a refresher. Their former mentor isn't "
            "available, so they are back in the matching queue: /match"
        ).format(mentee=escape(user.pseudonym)),
    )


async def _queue_refresher_intro(
    session: AsyncSession, i18n: I18n, match: Match, mentee: User, mentor: User
) -> None:
    await group_tell.tell(
        session,
        i18n,
        [mentor],
        f"match:{match.id}:intro:refresher",
        lambda: _(
            "💬 {name}, who graduated from your mentoring, asked for a refresher, and you're "
            "matched again. Say hello with /reachout when you can: no need to start over. If "
            "it doesn't suit you now, /rematch says so, without blame."
        ).format(name=_name(mentee)),
    )


def news_unreached(name: str) -> str:
    """To the admin who confirmed a graduation alone, when the news could not reach the mentee
    or the mentor (they blocked the bot, or left): the relay's fallback says it with this."""
    return _(
        "📭 I couldn't tell {name} that the mentoring is done: they may have blocked the "
        "bot or left. The graduation itself stands."
    ).format(name=name)


async def booster_unreached(
    session: AsyncSession, i18n: I18n, settings: Settings | None, row: Claimed, argument: str
) -> None:
    """A booster could not reach its graduate (they blocked the bot, or left Telegram):
    the admins hear, the booster says so, and the next one stays planned."""
    person, _sep, number = argument.partition(":")
    user = await session.get(User, int(person)) if person.isdigit() else None
    if user is None:
        return
    graduation = await graduations.latest_of(session, user.id)
    if graduation is not None and number.isdigit():
        graduations.record_booster(graduation, int(number), unreached=utcnow().isoformat())
    months = flow.months_after(int(number)) if number.isdigit() and 0 < int(number) <= 3 else 0
    await _tell_admins(
        session,
        settings,
        i18n,
        f"grad:{user.id}:unreached:{row.id}",
        lambda: _(
            "📭 The {months}-month check-in could not reach {name}, a graduate: they may have "
            "blocked the bot. Nothing is lost; the next check-in stays planned."
        ).format(months=months, name=escape(user.pseudonym)),
    )
