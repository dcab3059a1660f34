"""/crisisplan: the list of the plan's parts, each part, and writing them.

Writing is the plan's questionnaire (``flows.crisis_plan.PLAN``) asked by the engine
(handlers/questionnaire.py), with the plan's own rules here: each part is stored as soon as
it is sent; a part with crisis language is saved and "Is this how you feel right now?" is
asked before anyone is alerted; whatever the person was doing before (a daily log, another
questionnaire, onboarding) is put aside in the state's data and given back when they finish,
stop or cancel, and its buttons say so meanwhile. Buttons are hints: every press is checked
against the presser's own record (their plan, their conversation), never against an id
carried in the button. The 🆘 view and the crisis answer are handlers/crisis.py's.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import alerts as alert_flow
from flows import crisis_plan
from flows.crisis_plan import (
    FEELING_CHECK,
    FEELING_CHECK_KIND,
    PROMPTS,
    TITLES,
    FlaggedWords,
    Section,
    WhereToCall,
)
from flows.states import CrisisPlanning, Onboarding
from handlers import daily_log, questionnaire
from handlers.alerts import announce, staffed_now
from handlers.crisis import (
    BEGIN,
    CLEAR,
    CLEAR_YES,
    EDIT,
    FEELS_NOW,
    MENU,
    NOT_NOW,
    OPEN,
    SHOW,
    WALK,
    PlanAction,
    _where,
    chunks,
    crisis_reply,
    escape,
    lines_text,
    plan_parts,
)
from handlers.due import Tick, handles
from handlers.filters import NOT_TEXT, PRIVATE, TYPED, HasRole
from handlers.keyboards import (
    CancelFlow,
    CheckinChoice,
    ConsentChoice,
    ZoneChoice,
    button,
    button_label,
    crisis_keyboard,
    retire_buttons,
    rows,
)
from handlers.menu import LOGGERS
from handlers.questionnaire import Conversation
from storage import alerts as alert_records
from storage import crisis_plans, outbox, schedules
from storage.models import User, utcnow
from storage.schedules import Due

log = logging.getLogger(__name__)


# --- writing a part: the plan's questionnaire on the engine ------------------------------


class PlanAnswer(CallbackData, prefix="pw"):
    step: str
    value: str


class PlanWriting(Conversation):
    """The plan's parts, asked by the engine, with the plan's own rules: each part stored as
    it is sent, a part with crisis language asking first, the parts' own numbers heading
    them, and what was put aside given back at the end."""

    unreadable = __("I can only keep text in your plan. Send it as a message, or tap Cancel.")
    ask_after_unreadable = False  # the part's question is just above, and long

    def heading(self, name: str, number: int, total: int, context: Hashable) -> str:
        return _heading(Section(name))  # the part's own number: "4/7" names the part

    def question(
        self, draft: dict[str, Any], context: Hashable
    ) -> tuple[str, InlineKeyboardMarkup]:
        """The part's question (the engine's, cached), then what it says now: the person's
        own words are never cached."""
        text, markup = super().question(draft, context)
        limit = crisis_plan.TEXT_LIMIT
        if draft.get("current"):
            text += "\n\n" + _("Right now it says:") + "\n<i>" + escape(draft["current"]) + "</i>"
            text += "\n\n" + _(
                "Send the new text as one message (up to {limit} characters). It replaces what "
                "is there."
            ).format(limit=limit)
        else:
            text += "\n\n" + _("Send it as one message (up to {limit} characters).").format(
                limit=limit
            )
        return text, markup

    async def answered(
        self,
        message: Message,
        name: str,
        draft: dict[str, Any],
        user: User,
        session: AsyncSession,
        state: FSMContext,
        data: dict[str, Any],
    ) -> bool:
        """A part sent (or kept after it was too long) is stored now; crisis language in it
        asks "Is this how you feel right now?" before anyone is alerted."""
        text = draft["answers"].get(name)
        if not isinstance(text, str):  # skipped: nothing to store
            return False
        section = Section(name)
        await crisis_plans.save(session, user.id, section, text)
        draft["answers"] = {**draft["answers"], name: True}  # stored: the draft keeps no copy
        draft["saved"] = True
        plan_words = data.get("plan_words")
        if isinstance(plan_words, FlaggedWords):  # screening found crisis language in it
            plan_words.take()
            assert message.bot is not None
            await _ask_how_they_feel(Writer(user, session, state, message.bot), section, draft)
            return True
        draft["said"] = _saved(section)
        return False

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
        headline = draft.pop("said", "")
        if crisis_plan.is_walk(draft["answers"]):
            headline = (headline + " " if headline else "") + _("That was the last empty part.")
        await state.set_data(draft)
        assert message.bot is not None
        await _finish_writing(
            message, Writer(user, session, state, message.bot), headline, edit=edit
        )

    async def typed(
        self,
        message: Message,
        user: User,
        session: AsyncSession,
        state: FSMContext,
        settings: Settings,
        bot: Bot,
        crisis_answered: bool = False,
        **data: Any,
    ) -> None:
        draft = await state.get_data()
        if "step" not in draft:  # begun before the plan was on the engine (a deploy mid-part)
            await state.set_data(_upgraded(draft))
        await super().typed(message, user, session, state, settings, bot, crisis_answered, **data)


PLAN_WRITING = PlanWriting(crisis_plan.PLAN, PlanAnswer)


def _upgraded(draft: dict[str, Any]) -> dict[str, Any]:
    """A draft of the plan's earlier form ({"section", "walk", "prompt", "paused"})."""
    section = crisis_plan.parse_section(draft.get("section")) or crisis_plan.ORDER[0]
    walk = bool(draft.get("walk"))
    answers = crisis_plan.walking(set()) if walk else crisis_plan.changing(section)
    return {**draft, "step": section.value, "answers": answers}


# The callbacks of flows whose state is put aside while a part of the plan is written:
# every questionnaire on the engine but the plan (each adds itself to its registry), the
# Cancel of flows written by hand, onboarding's.
PAUSED_FLOW_BUTTONS = (CancelFlow, ConsentChoice, ZoneChoice, CheckinChoice)


def paused_prefixes() -> frozenset[str]:
    engine = (
        conversation.answer.__prefix__
        for conversation in questionnaire.REGISTRY.values()
        if conversation is not PLAN_WRITING
    )
    return frozenset((*engine, *(button.__prefix__ for button in PAUSED_FLOW_BUTTONS)))


def router() -> Router:
    r = Router(name="crisis_plan")
    r.message.filter(PRIVATE)
    # No state filter: the plan's list and parts open whatever the person is in the middle of.
    r.message.register(show_plan_menu, Command("crisisplan"))
    r.callback_query.register(plan_action, PlanAction.filter())
    writing = StateFilter(CrisisPlanning.writing)
    r.message.register(cancel_typed, Command("cancel"), writing)
    r.message.register(log_while_writing, Command("log"), writing, HasRole(*LOGGERS))
    r.callback_query.register(cancel_tapped, CancelFlow.filter(), writing, _on_the_prompt)
    PLAN_WRITING.register(r)
    feeling = StateFilter(CrisisPlanning.feeling)
    r.message.register(feeling_cancelled, Command("cancel"), feeling)
    r.message.register(feeling_typed, feeling, TYPED)
    r.message.register(feeling_typed, feeling, NOT_TEXT)
    # The state first: it is cheap, and rules out every log tap at once.
    r.callback_query.register(
        paused_flow_button,
        StateFilter(CrisisPlanning.writing, CrisisPlanning.feeling),
        _of_a_paused_flow,
    )
    return r


async def _of_a_paused_flow(query: CallbackQuery) -> bool:
    return (query.data or "").partition(":")[0] in paused_prefixes()


async def _on_the_prompt(query: CallbackQuery, state: FSMContext) -> bool:
    """The Cancel pressed is the one under the part being asked (a paused flow's is not)."""
    prompt = (await state.get_data()).get("prompt")
    return isinstance(query.message, Message) and prompt == query.message.message_id


# --- /crisisplan: the list of parts and each part ---------------------------------------


async def show_plan_menu(message: Message, user: User | None, session: AsyncSession) -> None:
    if not crisis_plan.may_keep_a_plan(user):
        await message.answer(_not_yet(user))
        return
    assert user is not None
    filled = await crisis_plans.filled(session, user.id)
    await message.answer(menu_text(filled), reply_markup=menu_markup(filled))


def menu_text(filled: set[str], headline: str = "") -> str:
    text = (headline + "\n\n" if headline else "") + _("<b>Your crisis plan</b>")
    text += "\n" + _(
        "A plan you write on a calmer day, for the moments when things get hard. Fill in the "
        "parts in any order, and skip any that don't fit you. It is stored encrypted. "
        "/crisis or the “{button}” button shows it whole, at any time."
    ).format(button=escape(button_label()))
    text += "\n\n" + _("Tap a part to see or change it.")
    return text


def menu_markup(filled: set[str]) -> InlineKeyboardMarkup:
    buttons = [
        button(
            ("✓ " if section in filled else "") + f"{crisis_plan.number(section)}. "
            f"{TITLES[section]}",
            PlanAction(action=OPEN, section=section),
        )
        for section in crisis_plan.ORDER
    ]
    if crisis_plan.first_unfilled(filled) is not None:
        label = _("▸ Write them one by one") if not filled else _("▸ Fill in the empty parts")
        buttons.append(button(label, PlanAction(action=WALK)))
    if filled:
        buttons.append(button(_("🆘 Show my whole plan"), PlanAction(action=SHOW)))
    return rows(buttons, 1)


def part_text(section: Section, text: str | None, where: WhereToCall) -> str:
    out = _heading(section) + "\n<i>" + escape(str(PROMPTS[section])) + "</i>\n\n"
    if text:
        out += escape(text)
    elif section in crisis_plan.PREFILLED:
        out += _("Nothing of your own here yet.")
    else:
        out += _("Nothing here yet.")
    if section in crisis_plan.PREFILLED:
        out += "\n\n" + _("Always part of your plan:") + "\n" + lines_text(where)
    return out


def part_markup(section: Section, filled: bool) -> InlineKeyboardMarkup:
    back = button(_("◂ Back"), PlanAction(action=MENU))
    if not filled:
        return rows(
            [button(_("✏️ Write this part"), PlanAction(action=EDIT, section=section)), back], 1
        )
    return rows(
        [
            button(_("✏️ Edit"), PlanAction(action=EDIT, section=section)),
            button(_("🗑 Clear"), PlanAction(action=CLEAR, section=section)),
            back,
        ],
        2,
    )


def _heading(section: Section) -> str:
    number, total = crisis_plan.number(section), len(crisis_plan.ORDER)
    return f"<b>{number}/{total} · {escape(str(TITLES[section]))}</b>"


def _not_yet(user: User | None) -> str:
    if user is None or (user.role in crisis_plan.PLANNERS and user.consent_version is None):
        return _(
            "Let's get you set up first — send /start. Then you can write your crisis plan here. "
            "If you need help right now, /crisis shows the numbers to call."
        )
    return _(
        "Crisis plans are for mentees and mentors. If you need help right now, /crisis shows "
        "the numbers to call."
    )


# --- buttons ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Writer:
    """Who is writing, and where their plan and conversation are kept."""

    user: User
    session: AsyncSession
    state: FSMContext
    bot: Bot


@dataclass(frozen=True)
class Press(Writer):
    """A press of a plan button, by a person who may keep a plan, in their own chat."""

    query: CallbackQuery
    section: Section | None
    settings: Settings

    @property
    def part(self) -> Section:
        assert self.section is not None
        return self.section


async def plan_action(
    query: CallbackQuery,
    callback_data: PlanAction,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
    bot: Bot,
    settings: Settings,
) -> None:
    """Every button of the plan. The plan is always the presser's own (from their record)."""
    action = HANDLERS.get(callback_data.action)
    section = crisis_plan.parse_section(callback_data.section)
    needs_section = callback_data.action in (OPEN, EDIT, CLEAR, CLEAR_YES)
    if (
        action is None
        or not crisis_plan.may_keep_a_plan(user)
        or not _in_own_chat(query)
        or (needs_section and section is None)
    ):
        await query.answer(_("This button has expired."))
        return
    assert user is not None
    await action(Press(user, session, state, bot, query, section, settings))


async def _menu(press: Press, headline: str = "") -> None:
    await press.query.answer()
    filled = await crisis_plans.filled(press.session, press.user.id)
    await _show(press.query, menu_text(filled, headline), menu_markup(filled))


async def _open(press: Press) -> None:
    await press.query.answer()
    text = await crisis_plans.get(press.session, press.user.id, press.part)
    await _show(
        press.query,
        part_text(press.part, text, _where(press.user, press.query)),
        part_markup(press.part, bool(text)),
    )


async def _ask_clear(press: Press) -> None:
    if await crisis_plans.get(press.session, press.user.id, press.part) is None:
        await _open(press)  # nothing to clear (any more): show the part as it is
        return
    await press.query.answer()
    await _show(
        press.query,
        _("Clear “{title}”? What you wrote there will be deleted.").format(
            title=escape(str(TITLES[press.part]))
        ),
        rows(
            [
                button(_("Yes, clear it"), PlanAction(action=CLEAR_YES, section=press.part)),
                button(_("No, keep it"), PlanAction(action=OPEN, section=press.part)),
            ],
            2,
        ),
    )


async def _clear(press: Press) -> None:
    # Only from the question that asked: a forged or replayed "yes" elsewhere clears nothing.
    if not _button_on_message(press.query):
        await press.query.answer(_("This button has expired."))
        return
    await crisis_plans.clear(press.session, press.user.id, press.part)
    title = escape(str(TITLES[press.part]))
    await _menu(press, _("✓ “{title}” is cleared.").format(title=title))


async def _show_whole(press: Press) -> None:
    await press.query.answer()
    plan = await crisis_plans.sections(press.session, press.user.id)
    where = _where(press.user, press.query)
    for text in chunks(plan_parts(plan, where) if plan else [lines_text(where)]):
        await press.bot.send_message(press.user.telegram_id, text)


async def _edit(press: Press) -> None:
    await press.query.answer()
    await _start_writing(press, press.part, walk=False, in_place=True)


async def _walk(press: Press, *, in_place: bool = True) -> None:
    filled = await crisis_plans.filled(press.session, press.user.id)
    first = crisis_plan.first_unfilled(filled)
    if first is None:  # every part is written: show them
        await _menu(press)
        return
    await press.query.answer()
    await _start_writing(press, first, walk=True, in_place=in_place)


async def _begin(press: Press) -> None:
    # From /crisis: the message with the crisis lines stays; the plan starts below it.
    await _walk(press, in_place=False)


# --- "Is this how you feel right now?" -------------------------------------------------
# A part of the plan with crisis language is saved, then the person is asked. Yes raises
# the alert at once; no raises nothing. No answer within FEELING_CHECK, or /cancel, raises
# it too (flows.crisis_plan says why): the question says so, so nothing comes as a surprise.


def feeling_question(section: Section) -> str:
    return (
        _saved(section)
        + "\n\n"
        + _(
            "Some of what you wrote sounds like a very hard time. <b>Is this how you feel "
            "right now?</b>"
        )
        + "\n\n"
        + _(
            "If I don't hear back within {minutes} minutes, I'll let the program's on-call "
            "supervisor know, just in case."
        ).format(minutes=int(FEELING_CHECK.total_seconds() // 60))
    )


def feeling_buttons() -> InlineKeyboardMarkup:
    return rows(
        [
            button(_("Yes, right now"), PlanAction(action=FEELS_NOW)),
            button(_("No, not right now"), PlanAction(action=NOT_NOW)),
        ],
        2,
    )


async def _ask_how_they_feel(writer: Writer, section: Section, data: dict[str, Any]) -> None:
    """Ask below what they wrote; the alert is raised by the answer, or by the clock."""
    user, bot = writer.user, writer.bot
    await retire_buttons(bot, user.telegram_id, data.get("prompt"))
    sent = await bot.send_message(
        user.telegram_id, feeling_question(section), reply_markup=feeling_buttons()
    )
    await schedules.set_due(
        writer.session,
        FEELING_CHECK_KIND,
        user.id,
        crisis_plan.feeling_check_due(utcnow()),
        {"section": section.value},
    )
    await writer.state.set_state(CrisisPlanning.feeling)
    await writer.state.set_data(
        {**data, "section": section.value, "prompt": sent.message_id, "saved": True}
    )


async def _feels_now(press: Press) -> None:
    data = await _current_prompt(press, CrisisPlanning.feeling)
    section = crisis_plan.parse_section(data.get("section")) if data else None
    if data is None or section is None:
        await press.query.answer(_("This button has expired."))
        return
    await press.query.answer()
    await _show(press.query, feeling_question(section) + "\n\n" + _("You said: yes."), None)
    await schedules.take_pending(press.session, FEELING_CHECK_KIND, press.user.id)
    settings = press.settings
    case = await _raise_from_plan(press, section, settings, feels_it_now=True)
    await give_back(press.state, data)
    # Never "a supervisor knows" when nobody can be told (no channel, no supervisor).
    reachable = not await alert_flow.nobody_to_tell(press.session, settings.supervisor_chat_id)
    if case.is_new or not reachable:
        for text, markup in await crisis_reply(
            press.session,
            press.user,
            press.query.from_user.language_code,
            staffed=staffed_now(settings),
            reachable=reachable,
        ):
            await press.bot.send_message(press.user.telegram_id, text, reply_markup=markup)
        return
    await press.bot.send_message(
        press.user.telegram_id,
        _("💛 A supervisor already knows. Someone will reach out to you.")
        + _slower_reply_note(staffed_now(settings))
        + "\n\n"
        + _("If you need help right now, /crisis shows the numbers to call."),
        reply_markup=crisis_keyboard(),
    )


async def _not_now(press: Press) -> None:
    data = await _current_prompt(press, CrisisPlanning.feeling)
    section = crisis_plan.parse_section(data.get("section")) if data else None
    if data is None or section is None:
        await press.query.answer(_("This button has expired."))
        return
    await press.query.answer()
    if await schedules.take_pending(press.session, FEELING_CHECK_KIND, press.user.id):
        said = _("Thank you for telling me. Nobody has been alerted.")
    elif await alert_records.any_open_case(press.session, press.user.id) is not None:
        # The clock ran out first: say so, rather than pretend nobody was told.
        said = _(
            "Thank you for telling me. I didn't hear back in time, so a supervisor already "
            "knows; they may check in with you."
        )
    else:
        said = _("Thank you for telling me.")
    await _show(press.query, feeling_question(section) + "\n\n" + _("You said: no."), None)
    assert isinstance(press.query.message, Message)  # _current_prompt saw to it
    await _carry_on(press.query.message, press, {**data, "prompt": None}, section, said)


async def _raise_from_plan(
    who: Writer, section: Section, settings: Settings, *, feels_it_now: bool
) -> alert_flow.Case:
    """The alert for the words of ``section`` as the plan holds them now, announced."""
    text = await crisis_plans.get(who.session, who.user.id, section)
    hits = crisis_plan.words_to_check(text, who.user.locale) if text else []
    case = await alert_flow.raise_from_plan(
        who.session,
        who.user,
        hits,
        feels_it_now=feels_it_now,
        now=utcnow(),
        join_window=dt.timedelta(minutes=settings.alert_join_minutes),
        ack_within=dt.timedelta(minutes=settings.escalation_ack_minutes),
    )
    await announce(who.session, case, settings, get_i18n())
    log.warning(
        "crisis plan: alert %s %s for user %s (%s)",
        case.alert.id,
        "opened" if case.is_new else "joined",
        who.user.id,
        "feels it now" if feels_it_now else "no answer",
    )
    return case


def unanswered_text(*, staffed: bool, reachable: bool) -> str:
    """When the question was left unanswered (the clock ran out, or /cancel)."""
    if not reachable:
        return _(
            "Your crisis plan is saved. Right now nobody from the program can be told through "
            "me, so please don't wait for us: /crisis shows the numbers to call, now."
        )
    return (
        _(
            "Your crisis plan is saved. I didn't hear whether it's how you feel right now, so "
            "I've let the program's on-call supervisor know, just in case. Someone will reach "
            "out to you."
        )
        + _slower_reply_note(staffed)
        + "\n\n"
        + _("If you need help right now, /crisis shows the numbers to call.")
    )


def _slower_reply_note(staffed: bool) -> str:
    """Outside staffed hours, where no crisis lines are shown just above (they are one
    command away, and the text says so next)."""
    if staffed:
        return ""
    return "\n" + _(
        "It's outside the program's staffed hours, so the supervisors' reply may take longer."
    )


async def feeling_cancelled(
    message: Message,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
    bot: Bot,
    settings: Settings,
) -> None:
    """/cancel instead of an answer: leaving the question is not a "no" (see FEELING_CHECK)."""
    data = await state.get_data()
    await retire_buttons(bot, message.chat.id, data.get("prompt"))
    await give_back(state, data)
    section = crisis_plan.parse_section(data.get("section"))
    if user is None or section is None:
        await message.answer(_("Nothing was changed."))
        return
    if await schedules.take_pending(session, FEELING_CHECK_KIND, user.id):
        await _raise_from_plan(
            Writer(user, session, state, bot), section, settings, feels_it_now=False
        )
    reachable = not await alert_flow.nobody_to_tell(session, settings.supervisor_chat_id)
    await message.answer(
        unanswered_text(staffed=staffed_now(settings), reachable=reachable),
        reply_markup=crisis_keyboard(),
    )


async def feeling_typed(
    message: Message,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
    bot: Bot,
    crisis_answered: bool = False,
) -> None:
    """Anything but a tap while the question waits. Words that raised an alert of their own
    settle it (the supervisor knows); anything else gets the question again, below."""
    data = await state.get_data()
    section = crisis_plan.parse_section(data.get("section"))
    if user is None or section is None or crisis_answered:
        if user is not None:
            await schedules.take_pending(session, FEELING_CHECK_KIND, user.id)
        await retire_buttons(bot, message.chat.id, data.get("prompt"))
        await give_back(state, data)
        return
    await retire_buttons(bot, message.chat.id, data.get("prompt"))
    sent = await message.answer(
        _("Before we go on, please tap one of the buttons: is this how you feel right now?"),
        reply_markup=feeling_buttons(),
    )
    await state.update_data(prompt=sent.message_id)


@handles(schedules.PLAN_CHECK)
async def feeling_unanswered_due(session: AsyncSession, due: list[Due], tick: Tick) -> None:
    """Questions nobody answered in time: the alert is raised, and the person told so.
    (A part whose words have since left the plan raises nothing.)"""
    settings, i18n = tick.settings, tick.i18n
    staffed = staffed_now(settings, tick.now)
    for row in due:
        person = await session.get(User, row.subject_id)
        section = crisis_plan.parse_section(row.state.get("section"))
        if person is None or section is None:
            continue
        text = await crisis_plans.get(session, person.id, section)
        hits = crisis_plan.words_to_check(text, person.locale) if text else []
        if not hits:
            continue
        case = await alert_flow.raise_from_plan(
            session,
            person,
            hits,
            feels_it_now=False,
            now=tick.now,
            join_window=dt.timedelta(minutes=settings.alert_join_minutes),
            ack_within=dt.timedelta(minutes=settings.escalation_ack_minutes),
        )
        await announce(session, case, settings, i18n)
        log.warning(
            "crisis plan: no answer in time, alert %s for user %s", case.alert.id, person.id
        )
        reachable = not await alert_flow.nobody_to_tell(session, settings.supervisor_chat_id)
        with i18n.use_locale(person.locale):
            text = unanswered_text(staffed=staffed, reachable=reachable)
            params = {"text": text, "parse_mode": "HTML"}
        await outbox.enqueue(
            session,
            key=f"plancheck:{person.id}:{case.alert.id}",
            chat_id=person.telegram_id,
            method="sendMessage",
            params=params,
            urgent=True,
        )
    await schedules.forget(session, FEELING_CHECK_KIND, [row.subject_id for row in due])


HANDLERS: dict[str, Callable[[Press], Awaitable[None]]] = {
    MENU: _menu,
    OPEN: _open,
    EDIT: _edit,
    WALK: _walk,
    BEGIN: _begin,
    CLEAR: _ask_clear,
    CLEAR_YES: _clear,
    SHOW: _show_whole,
    FEELS_NOW: _feels_now,
    NOT_NOW: _not_now,
}


async def paused_flow_button(query: CallbackQuery) -> None:
    """A questionnaire's or onboarding's button while a part of the plan is being written."""
    await query.answer(
        _("First send this part of your plan, or tap Cancel; then this button works again."),
        show_alert=True,
    )


# --- writing a part: starting, stopping, going on -----------------------------------------


async def _start_writing(press: Press, section: Section, *, walk: bool, in_place: bool) -> None:
    state = press.state
    current = await state.get_state()
    data = await state.get_data()
    if current == CrisisPlanning.writing.state:  # already writing: switch parts, keep the rest
        draft = {key: data[key] for key in ("paused", "saved", "prompt") if key in data}
    else:  # put aside whatever they were doing, to give it back afterwards
        draft = {"paused": [current, data]}
    if walk:
        filled = await crisis_plans.filled(press.session, press.user.id)
        draft["answers"] = crisis_plan.walking(filled)
    else:
        draft["answers"] = crisis_plan.changing(section)
        draft["current"] = await crisis_plans.get(press.session, press.user.id, section)
    draft["step"] = section.value
    message = press.query.message
    if isinstance(message, Message):
        await PLAN_WRITING.begin(message, state, draft, None, edit=in_place)
        return
    # The list is too old to edit: the part is asked below.
    text, markup = PLAN_WRITING.question(draft, None)
    sent = await press.bot.send_message(press.user.telegram_id, text, reply_markup=markup)
    await state.set_state(CrisisPlanning.writing)
    await state.set_data({**draft, "prompt": sent.message_id})


async def cancel_tapped(
    query: CallbackQuery, user: User | None, session: AsyncSession, state: FSMContext, bot: Bot
) -> None:
    """The part's ✕ Cancel: nothing more is stored; what was written so far stays."""
    await query.answer()
    data = await state.get_data()
    assert isinstance(query.message, Message)  # _on_the_prompt saw to it
    if not crisis_plan.may_keep_a_plan(user):
        await retire_buttons(bot, query.message.chat.id, data.get("prompt"))
        await give_back(state, data)
        return
    assert user is not None
    writer = Writer(user, session, state, bot)
    await _finish_writing(query.message, writer, _stopped(data), edit=True)


async def cancel_typed(
    message: Message, user: User | None, session: AsyncSession, state: FSMContext, bot: Bot
) -> None:
    data = await state.get_data()
    if not crisis_plan.may_keep_a_plan(user):
        await retire_buttons(bot, message.chat.id, data.get("prompt"))
        await give_back(state, data)
        await message.answer(_("Nothing was changed."))
        return
    assert user is not None
    await _finish_writing(message, Writer(user, session, state, bot), _stopped(data), edit=False)


async def log_while_writing(
    message: Message,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    bot: Bot,
) -> None:
    """/log while writing: the part stays as it was, and the daily log goes on."""
    data = await state.get_data()
    await retire_buttons(bot, message.chat.id, data.get("prompt"))
    await give_back(state, data)
    await message.answer(_("I've left your crisis plan as it was."))
    await daily_log.start_log(message, user, session, state, settings)


def _saved(section: Section) -> str:
    return _("✓ Saved: “{title}”.").format(title=escape(str(TITLES[section])))


async def _carry_on(
    message: Message, writer: Writer, draft: dict[str, Any], section: Section, said: str
) -> None:
    """After the question on a part's words: the walk's next part, with ``said`` above it,
    else the end."""
    answers = draft.get("answers") or {}
    following = crisis_plan.PLAN.next(section.value, answers, None)
    if following is not None:
        await PLAN_WRITING.begin(
            message, writer.state, {**draft, "step": following, "said": said}, None
        )
        return
    if crisis_plan.is_walk(answers):
        said += " " + _("That was the last empty part.")
    await writer.state.set_data(draft)
    await _finish_writing(message, writer, said, edit=False)


async def _finish_writing(message: Message, writer: Writer, headline: str, *, edit: bool) -> None:
    """Leave the writing state: give back what was put aside, and show the plan's parts
    (in place of ``message`` when ``edit`` and nothing was written).

    When something was written, the 🆘 button comes with the first message, so it is on the
    keyboard the next time it is needed (people onboarded before it existed get it here).
    """
    user, state, bot = writer.user, writer.state, writer.bot
    data = await state.get_data()
    resumed = await give_back(state, data)
    if resumed:
        headline += "\n\n" + resumed
    filled = await crisis_plans.filled(writer.session, user.id)
    if data.get("saved"):
        await retire_buttons(bot, user.telegram_id, data.get("prompt"))
        await bot.send_message(user.telegram_id, headline, reply_markup=crisis_keyboard())
        await bot.send_message(
            user.telegram_id, menu_text(filled), reply_markup=menu_markup(filled)
        )
    elif edit:
        await _replace(
            bot, user.telegram_id, message, menu_text(filled, headline), menu_markup(filled)
        )
    else:
        await retire_buttons(bot, user.telegram_id, data.get("prompt"))
        await bot.send_message(
            user.telegram_id, menu_text(filled, headline), reply_markup=menu_markup(filled)
        )


def _stopped(draft: dict[str, Any]) -> str:
    if crisis_plan.is_walk(draft.get("answers") or {}):
        return _("Stopped here. What you wrote so far is kept.")
    return _("Nothing was changed.")


async def give_back(state: FSMContext, data: dict[str, Any]) -> str:
    """Restore what was put aside in ``data["paused"]`` when a side step began (writing a
    part of the plan, a mentor's concern); a word on how to carry on with it."""
    paused = data.get("paused") or [None, {}]
    previous, previous_data = paused[0], paused[1] or {}
    if previous is None:
        await state.clear()
    else:
        await state.set_state(previous)
        await state.set_data(previous_data)
    for conversation in questionnaire.REGISTRY.values():
        if previous == conversation.flow.state_name and conversation.waiting is not None:
            return str(conversation.waiting)
    if previous in {s.state for s in Onboarding.__all_states__}:
        return _("Whenever you're ready, we'll carry on setting you up where we left off.")
    return ""


async def _current_prompt(press: Press, step: State) -> dict[str, Any] | None:
    """The state's data, when the plan waits at ``step`` and the pressed button is on the
    prompt it is waiting with (an older copy's buttons do nothing)."""
    if await press.state.get_state() != step.state:
        return None
    data = await press.state.get_data()
    message = press.query.message
    if not isinstance(message, Message) or data.get("prompt") != message.message_id:
        return None
    return data


# --- small helpers -------------------------------------------------------------------------


def _in_own_chat(query: CallbackQuery) -> bool:
    # Plan buttons are only ever sent in the person's private chat with the bot.
    return query.message is None or query.message.chat.id == query.from_user.id


def _button_on_message(query: CallbackQuery) -> bool:
    """The pressed data is a button we put on this very message (Telegram fills the message)."""
    return isinstance(query.message, Message) and questionnaire.is_on(query.message, query.data)


async def _show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> int:
    """Replace the tapped message with ``text``; a new message if it can't be edited."""
    assert query.bot is not None
    message = query.message if isinstance(query.message, Message) else None
    return await _replace(query.bot, query.from_user.id, message, text, markup)


async def _replace(
    bot: Bot, chat_id: int, message: Message | None, text: str, markup: InlineKeyboardMarkup | None
) -> int:
    """``message`` shows ``text`` now; a new message if it can't be edited."""
    if message is not None:
        try:
            await message.edit_text(text, reply_markup=markup)
            return message.message_id
        except TelegramBadRequest as error:
            if "not modified" in error.message:
                return message.message_id
    sent = await bot.send_message(chat_id, text, reply_markup=markup)
    return sent.message_id
