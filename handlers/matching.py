"""Matching in chat: /match (staff), the warm introductions, the week-later "how does the
match feel" question, and /rematch (either side, privately, without blame)."""

from __future__ import annotations

import datetime as dt
import logging
from html import escape
from typing import Any

from aiogram import Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import matching, team
from flows.matching import Reasons
from flows.states import Rematching
from handlers import render, texts
from handlers.due import Tick, handles
from handlers.filters import NOT_TEXT, PRIVATE, TYPED, HasRole
from handlers.intake import GOAL_NAMES
from handlers.keyboards import CancelFlow, button, retire_buttons, rows
from storage import matches, outbox, profiles, schedules
from storage.models import Match, MatchStatus, Role, User, utcnow
from storage.schedules import Due

log = logging.getLogger(__name__)

STAFF = (Role.ADMIN, Role.SUPERVISOR)
QUEUE_SHOWN = 10  # mentees listed by one /match

# Short phrases for the one-line explanation of a suggestion.
GOAL_PHRASES = {
    "symptoms": __("symptom management"),
    "pacing": __("pacing"),
    "sleep": __("sleep"),
    "social": __("social life"),
    "work": __("work or study"),
    "setbacks": __("setbacks"),
    "healthcare": __("health care"),
}
FREQUENCY_PHRASES = {
    "daily": __("daily"),
    "few_weekly": __("a few times a week"),
    "weekly": __("weekly"),
}
STYLE_PHRASES = {"short": __("short texts"), "long": __("longer talks")}
SUPPORT_PHRASES = {
    "practical": __("practical"),
    "emotional": __("emotional"),
    "both": __("practical and emotional"),
}
TIME_PHRASES = {"morning": __("mornings"), "afternoon": __("afternoons"), "evening": __("evenings")}
FEELINGS = ("good", "unsure", "not_fit")


class MatchConfirm(CallbackData, prefix="mconfirm"):
    mentee_id: int
    mentor_id: int


class MatchFeeling(CallbackData, prefix="mfeel"):
    match_id: int
    feeling: str  # "good" | "unsure" | "not_fit"


class RematchPick(CallbackData, prefix="rmpick"):
    match_id: int


class RematchStep(CallbackData, prefix="rmstep"):
    action: str  # "skip" | "confirm" | "keep"


def router() -> Router:
    r = Router(name="matching")
    r.message.register(show_queue, Command("match"), HasRole(*STAFF), PRIVATE)
    r.callback_query.register(confirm_pressed, MatchConfirm.filter())
    r.callback_query.register(feeling_pressed, MatchFeeling.filter())
    people = HasRole(Role.MENTEE, Role.MENTOR)
    r.message.register(start_rematch, Command("rematch"), people, PRIVATE)
    r.callback_query.register(rematch_picked, RematchPick.filter(), people)
    reason = StateFilter(Rematching.reason)
    r.callback_query.register(rematch_step, RematchStep.filter(), reason, people)
    r.message.register(reason_typed, reason, people, PRIVATE, TYPED)
    r.message.register(reason_not_text, reason, people, PRIVATE, NOT_TEXT)
    return r


# ----- the one-line explanation ------------------------------------------------------------


def explain(reasons: Reasons) -> str:
    """Why a pair fits, in one line: "both: Fatigue, pacing goals; both prefer short texts, daily"."""
    parts = []
    shared = [render.symptom_name(s) for s in reasons.symptoms]
    if reasons.goals:
        goals = ", ".join(str(GOAL_PHRASES.get(g, g)) for g in reasons.goals)
        shared.append(_("{goals} goals").format(goals=goals))
    if shared:
        parts.append(_("both: {things}").format(things=", ".join(shared)))
    preferred = [str(STYLE_PHRASES[reasons.style])] if reasons.style in STYLE_PHRASES else []
    if reasons.frequency in FREQUENCY_PHRASES:
        preferred.append(str(FREQUENCY_PHRASES[reasons.frequency]))
    if preferred:
        parts.append(_("both prefer {what}").format(what=", ".join(preferred)))
    if reasons.support in SUPPORT_PHRASES:
        parts.append(
            _("offers the {kind} support wanted").format(kind=SUPPORT_PHRASES[reasons.support])
        )
    if reasons.times:
        times = ", ".join(str(TIME_PHRASES.get(t, t)) for t in reasons.times)
        parts.append(_("both free: {times}").format(times=times))
    if not parts:
        return _("a shared language, little else in common yet")
    return "; ".join(parts)


def _who(person: User) -> str:
    """Pseudonym and first name, for the program team."""
    name = f"<b>{escape(person.pseudonym)}</b>"
    return name + (f" ({escape(person.display_name)})" if person.display_name else "")


# ----- /match: the queue and its Confirm buttons ------------------------------------------------


async def show_queue(message: Message, session: AsyncSession) -> None:
    waiting = await matching.queue(session)
    if not waiting:
        await message.answer(_("Nobody is waiting for a mentor right now."))
        return
    await message.answer(
        _("<b>Waiting for a mentor: {count}</b>").format(count=len(waiting))
        + "\n"
        + _("Each with the best-fitting mentors. Confirming sends both a warm introduction.")
    )
    for entry in waiting[:QUEUE_SHOWN]:
        text, markup = queue_entry(entry)
        await message.answer(text, reply_markup=markup)
    if len(waiting) > QUEUE_SHOWN:
        await message.answer(
            _("…and {count} more. Confirm some, then send /match again.").format(
                count=len(waiting) - QUEUE_SHOWN
            )
        )


def queue_entry(entry: matching.Waiting) -> tuple[str, InlineKeyboardMarkup | None]:
    locale = get_i18n().current_locale
    lines = [
        _("{mentee} · waiting since {date}").format(
            mentee=_who(entry.mentee), date=render.day_name(entry.since.date(), locale)
        )
    ]
    if not entry.has_intake:
        lines.append(_("No intake yet (/profile): suggestions rest on language alone."))
    if entry.preferences:
        lines.append(
            _("Anything else: {value}").format(value=f"<i>{escape(entry.preferences)}</i>")
        )
    if not entry.suggestions:
        lines.append(_("No mentor fits yet: a shared language and a free place are needed."))
        return "\n".join(lines), None
    buttons = []
    for number, (mentor, suggestion) in enumerate(entry.suggestions, start=1):
        lines.append(
            f"{number}. {_who(mentor)} · "
            + _("score {score}").format(score=f"{suggestion.score:g}")
            + " — "
            + escape(explain(suggestion.reasons))
        )
        buttons.append(
            button(
                _("✓ {number}. Confirm {name}").format(number=number, name=mentor.known_as),
                MatchConfirm(mentee_id=entry.mentee.id, mentor_id=mentor.id),
            )
        )
    return "\n".join(lines), rows(buttons, 1)


REFUSALS = {
    matching.GONE: __("One of them is no longer in the program."),
    matching.ALREADY_MATCHED: __("They have a mentor already: a match was confirmed meanwhile."),
    matching.NOT_WAITING: __("They are not waiting for a mentor any more."),
    matching.NOT_A_MENTOR: __("That person is no longer a mentor."),
    matching.FULL: __("That mentor has no free place right now. Try another suggestion."),
    matching.NO_SHARED_LANGUAGE: __("They no longer share a language."),
}
STALE = frozenset({matching.GONE, matching.ALREADY_MATCHED, matching.NOT_WAITING})


async def confirm_pressed(
    query: CallbackQuery,
    callback_data: MatchConfirm,
    user: User | None,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    if user is None or not user.is_onboarded or user.role not in STAFF:
        log.warning("refused a match confirmation pressed by a person without the role")
        await query.answer(_("Only the program team can confirm matches."), show_alert=True)
        return
    try:
        done = await confirm_match(
            session,
            settings,
            i18n,
            mentee_id=callback_data.mentee_id,
            mentor_id=callback_data.mentor_id,
            confirmed_by=user.telegram_id,
        )
    except matching.Refused as refused:
        await query.answer(str(REFUSALS[refused.why]), show_alert=True)
        if refused.why in STALE and isinstance(query.message, Message):
            await retire_buttons(query.bot, query.message.chat.id, query.message.message_id)
        return
    await query.answer(_("Matched."))
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _("✓ Matched {mentee} with {mentor}. Both get an introduction now.").format(
                mentee=_who(done.mentee), mentor=_who(done.mentor)
            )
        )


async def confirm_match(
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
    *,
    mentee_id: int,
    mentor_id: int,
    confirmed_by: int | None,
) -> matching.Confirmed:
    """Confirm a pair (chat or command line) and queue both introductions. Raises Refused."""
    done = await matching.confirm(
        session,
        mentee_id=mentee_id,
        mentor_id=mentor_id,
        confirmed_by=confirmed_by,
        now=utcnow(),
        checkin_after=dt.timedelta(days=settings.match_checkin_days),
        silence_after=dt.timedelta(days=settings.nudge_silent_days),
    )
    await queue_introductions(session, done, i18n)
    log.info("match %s confirmed", done.match.id)
    return done


async def queue_introductions(session: AsyncSession, done: matching.Confirmed, i18n: I18n) -> None:
    """A warm introduction to each side, in their own language, through the outbox."""
    mentee, mentor, match = done.mentee, done.mentor, done.match
    profile = await profiles.get(session, mentee.id)
    with i18n.use_locale(mentee.locale):
        to_mentee = _(
            "🌿 <b>Meet your mentor, {name}.</b>\n\n"
            "{name} lives with a long-term condition too, and knows from their own experience "
            "how the days can go up and down. They're here to listen, share what has helped "
            "them, and think things through with you, at your pace.\n\n"
            "Write to {name} any time with /mentor: I pass the messages on, so neither of you "
            "needs to share a phone number. {name} may also say hello first."
        ).format(name=escape(mentor.known_as))
    with i18n.use_locale(mentor.locale):
        goals = [str(GOAL_NAMES[g]) for g in (profile.goals if profile else []) if g in GOAL_NAMES]
        wishes = (
            _("What they'd like to work on: {goals}.").format(goals=escape(", ".join(goals)))
            if goals
            else _("They haven't said yet what they'd like to work on: asking is a good start.")
        )
        to_mentor = (
            _("🌿 <b>Meet your new mentee, {name}.</b>").format(name=escape(mentee.known_as))
            + "\n\n"
            + wishes
            + "\n\n"
            + _(
                "When you're ready, say hello with /reachout: I carry the messages both ways. "
                "/mentees shows how your mentees are doing, only as far as they chose to "
                "share. Thank you for doing this."
            )
        )
    for side, person, text in (("mentee", mentee, to_mentee), ("mentor", mentor, to_mentor)):
        await outbox.enqueue(
            session,
            key=f"match:{match.id}:intro:{side}",
            chat_id=person.telegram_id,
            method="sendMessage",
            params={"text": text, "parse_mode": "HTML"},
        )


# ----- a week later: how does the match feel? -------------------------------------------------


@handles(schedules.MATCH_CHECKIN)
async def ask_how_match_feels(session: AsyncSession, due: list[Due], tick: Tick) -> None:
    """The scheduler's "match_checkin": ask each side of each active match, once, privately."""
    for row in due:
        match = await matches.get(session, row.subject_id)
        if match is None or match.status != MatchStatus.ACTIVE:
            continue
        mentee = await session.get(User, match.mentee_id)
        mentor = await session.get(User, match.mentor_id)
        if mentee is None or mentor is None:
            continue
        for side, person, other in (("mentee", mentee, mentor), ("mentor", mentor, mentee)):
            with tick.i18n.use_locale(person.locale):
                text = _(
                    "How does your match with {name} feel so far? Only the program team sees "
                    "your answer."
                ).format(name=escape(other.known_as))
                markup = feeling_buttons(match.id)
            await outbox.enqueue(
                session,
                key=f"match_checkin:{match.id}:{side}",
                chat_id=person.telegram_id,
                method="sendMessage",
                params={
                    "text": text,
                    "parse_mode": "HTML",
                    "reply_markup": markup.model_dump(exclude_none=True),
                },
            )


def feeling_buttons(match_id: int) -> InlineKeyboardMarkup:
    labels = {"good": _("Good"), "unsure": _("Not sure yet"), "not_fit": _("Not a good fit")}
    return rows(
        (button(labels[f], MatchFeeling(match_id=match_id, feeling=f)) for f in FEELINGS), 1
    )


async def feeling_pressed(
    query: CallbackQuery,
    callback_data: MatchFeeling,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
) -> None:
    match = await matches.get(session, callback_data.match_id)
    side = matching.side_name(match, user.id) if match and user else None
    if (
        side is None
        or match.status != MatchStatus.ACTIVE
        or callback_data.feeling not in FEELINGS
        or not isinstance(query.message, Message)
    ):
        await query.answer(_("This button has expired."))
        return
    setattr(match, f"{side}_feeling", callback_data.feeling)
    await query.answer()
    thanks = {
        "good": _("Thank you. Glad it feels good. 🌿"),
        "unsure": _(
            "Thank you for telling me. It often takes a few conversations to settle in. If it "
            "still doesn't feel right later, /rematch asks for a different match, privately."
        ),
        "not_fit": _(
            "Thank you for telling me honestly. Not every match fits, and that's nobody's fault."
        ),
    }[callback_data.feeling]
    await query.message.edit_text(f"{query.message.html_text}\n\n{thanks}")
    if callback_data.feeling == "not_fit":
        other = await session.get(User, matches.other_side(match, user.id))
        await _ask_reason(query.message, state, match, other)


# ----- /rematch --------------------------------------------------------------------------------


async def start_rematch(
    message: Message, user: User, session: AsyncSession, state: FSMContext
) -> None:
    mine = await matches.active_of(session, user)
    if not mine:
        await message.answer(await _no_match(session, user))
        return
    if len(mine) == 1:
        other = await session.get(User, matches.other_side(mine[0], user.id))
        await _ask_reason(message, state, mine[0], other)
        return
    buttons = []
    for match in mine:
        other = await session.get(User, matches.other_side(match, user.id))
        buttons.append(button(other.known_as, RematchPick(match_id=match.id)))
    await message.answer(
        _("Which match would you like to end?"),
        reply_markup=rows(buttons, 1),
    )


async def _no_match(session: AsyncSession, user: User) -> str:
    if user.role == Role.MENTOR:
        return _("You have no mentees right now, so there's no match to change.")
    profile = await profiles.get(session, user.id)
    if profile is not None and profile.completed_at is not None:
        return _(
            "You don't have a mentor right now. You're in the queue, and the program team will "
            "introduce you to someone who fits."
        )
    return _(
        "You don't have a mentor right now. /profile tells us a little about you, so we can "
        "find someone who fits."
    )


async def rematch_picked(
    query: CallbackQuery,
    callback_data: RematchPick,
    user: User,
    session: AsyncSession,
    state: FSMContext,
) -> None:
    match = await matches.get(session, callback_data.match_id)
    if (
        match is None
        or match.status != MatchStatus.ACTIVE
        or matching.side_name(match, user.id) is None
        or not isinstance(query.message, Message)
    ):
        await query.answer(_("This button has expired."))
        return
    await query.answer()
    await retire_buttons(query.bot, query.message.chat.id, query.message.message_id)
    other = await session.get(User, matches.other_side(match, user.id))
    await _ask_reason(query.message, state, match, other)


async def _ask_reason(message: Message, state: FSMContext, match: Match, other: User) -> None:
    sent = await message.answer(
        _(
            "You'd like a different match instead of {name}. That's completely fine, and "
            "{name} won't be told why.\n\n"
            "If you like, tell me in a few words what didn't fit: it helps us find a better "
            "match. Only the program team can read it. Or tap Skip."
        ).format(name=escape(other.known_as)),
        reply_markup=rows(
            [
                button(_("Skip ▸"), RematchStep(action="skip")),
                button(_("✕ Cancel"), CancelFlow()),
            ],
            1,
        ),
    )
    await state.set_state(Rematching.reason)
    await state.set_data({"match_id": match.id, "prompt": sent.message_id})


async def reason_typed(
    message: Message,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
) -> None:
    data = await state.get_data()
    reason = (message.text or "").strip()
    if len(reason) > settings.note_max_length:
        await message.answer(
            _(
                "That's a little long for this: up to {limit} characters, please. Or tap Skip."
            ).format(limit=settings.note_max_length)
        )
        return
    await retire_buttons(message.bot, message.chat.id, data.get("prompt"))
    await _ask_confirm(message, user, session, state, {**data, "reason": reason or None})


async def reason_not_text(message: Message, state: FSMContext) -> None:
    await message.answer(
        _("I can only read typed words here. Type a few words, or tap Skip above.")
    )


async def _ask_confirm(
    message: Message, user: User, session: AsyncSession, state: FSMContext, data: dict[str, Any]
) -> None:
    match = await matches.get(session, data["match_id"])
    if match is None or match.status != MatchStatus.ACTIVE:
        await state.clear()
        await message.answer(_("That match has already ended."))
        return
    other = await session.get(User, matches.other_side(match, user.id))
    sent = await message.answer(
        _("End your match with {name} and ask for a new one?").format(name=escape(other.known_as)),
        reply_markup=rows(
            [
                button(_("Yes, end it"), RematchStep(action="confirm")),
                button(_("No, keep it"), RematchStep(action="keep")),
            ],
            1,
        ),
    )
    await state.set_data({**data, "prompt": sent.message_id, "asked": True})


async def rematch_step(
    query: CallbackQuery,
    callback_data: RematchStep,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    data = await state.get_data()
    message = query.message if isinstance(query.message, Message) else None
    expected = ("confirm", "keep") if data.get("asked") else ("skip",)
    if (
        message is None
        or data.get("prompt") != message.message_id
        or (callback_data.action not in expected)
    ):
        await query.answer(_("This button has expired."))
        return
    await query.answer()
    if callback_data.action == "skip":
        await retire_buttons(query.bot, message.chat.id, message.message_id)
        await _ask_confirm(message, user, session, state, {**data, "reason": None})
        return
    match = await matches.get(session, data["match_id"])
    await state.clear()
    if match is None or match.status != MatchStatus.ACTIVE:
        await message.edit_text(_("That match has already ended."))
        return
    other = await session.get(User, matches.other_side(match, user.id))
    if matching.side_name(match, user.id) is None or other is None:
        await message.edit_text(_("That match has already ended."))
        return
    if callback_data.action == "keep":
        await message.edit_text(
            _("Nothing changed: your match with {name} goes on.").format(
                name=escape(other.known_as)
            )
        )
        return
    await end_match(session, settings, i18n, match, user, other, data.get("reason"))
    if user.id == match.mentee_id:
        done = _(
            "Done. Your match with {name} has ended, and you're back in the queue: the program "
            "team will introduce you to a new mentor. Thank you for saying so."
        )
    else:
        done = _(
            "Done. Your match with {name} has ended, and they'll be introduced to a new mentor. "
            "Thank you for saying so."
        )
    await message.edit_text(done.format(name=escape(other.known_as)))


async def end_match(
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
    match: Match,
    by: User,
    other: User,
    reason: str | None,
) -> None:
    """End the match; tell the other side kindly (never why), and the program's admins."""
    await matching.end(session, match, by, reason, utcnow())
    with i18n.use_locale(other.locale):
        if other.id == match.mentee_id:
            text = _(
                "Your match with {name} has come to an end. This happens, and it's nobody's "
                "fault. You're back in the queue, and the program team will introduce you to a "
                "new mentor. Until then, /log and /crisis are here as always."
            )
        else:
            text = _(
                "Your match with {name} has come to an end. Matches sometimes don't fit, and "
                "it's nobody's fault. Thank you for the time you gave."
            )
        text = text.format(name=escape(by.known_as))
    await outbox.enqueue(
        session,
        key=f"match:{match.id}:ended:other",
        chat_id=other.telegram_id,
        method="sendMessage",
        params={"text": text, "parse_mode": "HTML"},
    )
    await _tell_admins(session, settings, i18n, match, by)


async def _tell_admins(
    session: AsyncSession, settings: Settings, i18n: I18n, match: Match, by: User
) -> None:
    """Pseudonyms and who asked; not the reason, which stays encrypted with the match."""
    mentee = await session.get(User, match.mentee_id)
    mentor = await session.get(User, match.mentor_id)
    targets = await team.admins(session, settings.supervisor_chat_id, settings.default_locale)
    if not targets:
        log.warning("match %s ended: no admin and no supervisor chat to tell", match.id)
    for chat_id, locale in targets:
        with i18n.use_locale(locale):
            text = _(
                "🔄 A rematch was asked: {mentee} (mentee) and {mentor} (mentor), by the {side}. "
                "Nobody is to blame; {mentee} is back in the matching queue: /match"
            ).format(
                mentee=escape(mentee.pseudonym if mentee else "?"),
                mentor=escape(mentor.pseudonym if mentor else "?"),
                side=texts.role_name(Role.MENTEE if by.id == match.mentee_id else Role.MENTOR),
            )
        await outbox.enqueue(
            session,
            key=f"match:{match.id}:ended:admin:{chat_id}",
            chat_id=chat_id,
            method="sendMessage",
            params={"text": text, "parse_mode": "HTML"},
        )
