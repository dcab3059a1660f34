"""Crisis plans: /crisis and the 🆘 button show the plan at once; /crisisplan writes it.

/crisis (and the persistent 🆘 button) never touches the conversation state: someone in the
middle of a daily log or of onboarding gets their plan and the crisis lines, and their next
tap carries on exactly where they were.

Writing a part of the plan is a conversation of its own (CrisisPlanning.writing). Whatever
the person was doing before is put aside in that state's data, and given back when they
finish, stop or cancel. Buttons are hints: every press is checked against the presser's own
record (their plan, their conversation), never against an id carried in the button.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from html import escape as html_escape
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, Filter, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from aiogram.utils.i18n import I18n, get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import alerts as alert_flow
from flows import crisis_plan
from flows.crisis_lines import CrisisLine
from flows.crisis_plan import FEELING_CHECK, FEELING_CHECK_KIND, FlaggedWords, Section, WhereToCall
from flows.languages import match_language
from flows.states import CrisisPlanning, DailyLogging, Onboarding
from handlers import daily_log, questionnaire
from handlers.alerts import HELP_NOW_LABEL, announce, staffed_now
from handlers.due import Tick, handles
from handlers.filters import HasRole
from handlers.keyboards import (
    CancelFlow,
    CheckinChoice,
    ConsentChoice,
    HelpNow,
    HelpNowAfterLog,
    ZoneChoice,
    button,
    retire_buttons,
    rows,
)
from handlers.menu import LOGGERS
from storage import alerts as alert_records
from storage import crisis_plans, outbox, schedules
from storage.models import User, utcnow
from storage.schedules import Due

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 4000  # Telegram allows 4096 UTF-16 code units per message; keep some room


def escape(text: str) -> str:
    """Text shown as written (HTML mode): only <, > and & need escaping."""
    return html_escape(text, quote=False)


class PlanAction(CallbackData, prefix="plan"):
    action: str  # see the constants below
    section: str = ""


MENU = "menu"  # the list of parts, with ✓ for the written ones
OPEN = "open"  # one part: its text, Edit / Clear / Back
EDIT = "edit"  # write one part
WALK = "walk"  # write the empty parts one after another
BEGIN = "begin"  # the same, from /crisis: below the crisis lines, which stay in view
CLEAR = "clear"  # ask before clearing a part
CLEAR_YES = "clear_yes"
SHOW = "show"  # the whole plan, as /crisis shows it
SKIP = "skip"  # while walking: leave this part empty, go on to the next
CANCEL = "cancel"  # while writing: stop, change nothing
TRIM = "trim"  # while writing: keep the first TEXT_LIMIT characters of a too-long text
FEELS_NOW = "now_yes"  # a part with crisis language: "yes, it's how I feel right now"
NOT_NOW = "now_no"  # "no, not right now"

TITLES = {
    Section.WARNING_SIGNS: __("Warning signs"),
    Section.COPING_ALONE: __("Things I can do on my own to cope"),
    Section.DISTRACTIONS: __("People and places that take my mind off things"),
    Section.PEOPLE_TO_ASK: __("People I can ask for help"),
    Section.PROFESSIONALS: __("Professionals and services"),
    Section.SAFER_SURROUNDINGS: __("Making my surroundings safer"),
    Section.REASONS: __("What matters most to me"),
}

PROMPTS = {
    Section.WARNING_SIGNS: __(
        "What tells you that a hard time may be starting? Thoughts, feelings, situations, "
        "changes in your body or your pain. For example: not sleeping, pulling away from "
        "people, a flare that won't settle."
    ),
    Section.COPING_ALONE: __(
        "What helps you through a hard moment on your own, even a little? For example: a warm "
        "shower, a heat pad, slow breathing, a favourite song, lying down in a quiet room."
    ),
    Section.DISTRACTIONS: __(
        "Who or where helps you think about something else for a while? For example: a friend "
        "to chat with about anything, a café, a bench in the park, an online group."
    ),
    Section.PEOPLE_TO_ASK: __(
        "Who can you reach out to when things get hard? Write each person's name and how to "
        "reach them. For example: Maria, 0151 2345678, or a message on WhatsApp."
    ),
    Section.PROFESSIONALS: __(
        "Which professionals and services can you contact? For example: your GP, your "
        "therapist or pain clinic, with their numbers and when they can be reached."
    ),
    Section.SAFER_SURROUNDINGS: __(
        "What could make where you are safer when things are hard? For example: asking "
        "someone to look after your medicines for a while, putting some things away, going "
        "somewhere you're not alone."
    ),
    Section.REASONS: __(
        "What matters most to you, and keeps you going? People, pets, plans, small things you "
        "look forward to."
    ),
}

# The callbacks of flows whose state is put aside while a part of the plan is written:
# every questionnaire on the engine (each adds itself to its registry), Cancel, onboarding's.
PAUSED_FLOW_BUTTONS = (CancelFlow, ConsentChoice, ZoneChoice, CheckinChoice)


def paused_prefixes() -> frozenset[str]:
    engine = (conversation.answer.__prefix__ for conversation in questionnaire.REGISTRY.values())
    return frozenset((*engine, *(button.__prefix__ for button in PAUSED_FLOW_BUTTONS)))


def router() -> Router:
    r = Router(name="crisis")
    r.message.filter(F.chat.type == "private")
    # No state filter: these work whatever the person is in the middle of.
    r.message.register(show_crisis, Command("crisis"))
    r.message.register(show_crisis, CrisisButton())
    r.message.register(show_plan_menu, Command("crisisplan"))
    r.callback_query.register(plan_action, PlanAction.filter())
    r.callback_query.register(help_now_pressed, HelpNow.filter())  # any state, like /crisis
    r.callback_query.register(help_now_pressed, HelpNowAfterLog.filter())  # a saved 3-tap log
    writing = StateFilter(CrisisPlanning.writing)
    r.message.register(cancel_typed, Command("cancel"), writing)
    r.message.register(log_while_writing, Command("log"), writing, HasRole(*LOGGERS))
    r.message.register(part_typed, writing, F.text, ~F.text.startswith("/"))
    r.message.register(not_text, writing, ~F.text)
    feeling = StateFilter(CrisisPlanning.feeling)
    r.message.register(feeling_cancelled, Command("cancel"), feeling)
    r.message.register(feeling_typed, feeling, F.text, ~F.text.startswith("/"))
    r.message.register(feeling_typed, feeling, ~F.text)
    # The state first: it is cheap, and rules out every log tap at once.
    r.callback_query.register(
        paused_flow_button,
        StateFilter(CrisisPlanning.writing, CrisisPlanning.feeling),
        _of_a_paused_flow,
    )
    return r


def _of_a_paused_flow(query: CallbackQuery) -> bool:
    return (query.data or "").partition(":")[0] in paused_prefixes()


# --- the persistent button ----------------------------------------------------------------


def button_label() -> str:
    return _("🆘 My crisis plan")


def crisis_keyboard() -> ReplyKeyboardMarkup:
    """The 🆘 button that stays on the person's keyboard, in their language."""
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=button_label())]],
        is_persistent=True,
        resize_keyboard=True,
    )


def keyboard_hint() -> str:
    return _(
        "The “{button}” button below is always there: it shows your crisis plan and the numbers "
        "to call, whatever we are in the middle of. /crisisplan helps you write your plan, "
        "a part at a time."
    ).format(button=escape(button_label()))


class CrisisButton(Filter):
    """The 🆘 button's text in any language we speak (the keyboard stays as it was sent
    when the person changes language), or the 🆘 emoji alone."""

    async def __call__(self, message: Message, i18n: I18n) -> bool:
        text = message.text
        if not text or len(text) > 60:
            return False
        return text.strip() == "🆘" or _letters(text) in _labels(i18n)


@cache
def _labels(i18n: I18n) -> frozenset[str]:
    labels = {i18n.gettext("🆘 My crisis plan", locale=code) for code in i18n.available_locales}
    labels.add("🆘 My crisis plan")
    return frozenset(filter(None, map(_letters, labels)))


def _letters(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


# --- /crisis -----------------------------------------------------------------------------


async def show_crisis(
    message: Message, user: User | None, session: AsyncSession, settings: Settings
) -> None:
    """The whole plan and the crisis lines. The conversation state is left exactly as it was.
    The offer to reach a supervisor is made only when there is someone to reach."""
    where = _where(user, message)
    plan = await crisis_plans.sections(session, user.id) if user is not None else {}
    offer = _may_ask_for_help_now(user) and not await alert_flow.nobody_to_tell(
        session, settings.supervisor_chat_id
    )
    if plan:
        parts = plan_parts(plan, where)
        if offer:  # after the lines, before "/crisisplan changes it"
            parts.insert(-1, help_now_offer())
        messages = chunks(parts)
        # The last part carries the offer's button. (The 🆘 keyboard is already there: it
        # came with onboarding and with the plan's first part.)
        for number, text in enumerate(messages, 1):
            markup = _help_now_markup(user) if offer and number == len(messages) else None
            await message.answer(text, reply_markup=markup)
        return
    text = _("<b>🆘 Help, right now</b>") + "\n\n" + lines_text(where)
    if offer:
        text += "\n\n" + help_now_offer()
    if crisis_plan.may_keep_a_plan(user):
        text += "\n\n" + _(
            "You don't have a crisis plan yet. On a calmer day, it helps to write down what you "
            "notice when things get hard, what helps, and who you can turn to. Then it's all "
            "here, in one place, when you need it."
        )
        plan_button = button(_("✏️ Make my plan"), PlanAction(action=BEGIN))
        await message.answer(
            text, reply_markup=rows([help_now_button(), plan_button] if offer else [plan_button], 1)
        )
        return
    if user is None or (user.role in crisis_plan.PLANNERS and user.consent_version is None):
        text += "\n\n" + _(
            "Once we've set you up (send /start when you're ready), you can also write a "
            "personal crisis plan here."
        )
    await message.answer(text, reply_markup=_help_now_markup(user) if offer else None)


def plan_parts(plan: dict[str, str], where: WhereToCall) -> list[str]:
    """The whole plan as blocks of text: a heading, each written part, the crisis lines."""
    parts = [
        _("<b>🆘 Your crisis plan</b>")
        + "\n"
        + _("If you are in danger right now, call {number}.").format(
            number=escape(where.lines.emergency)
        )
    ]
    for section in crisis_plan.ORDER:
        if section in plan:
            parts.append(f"<b>{escape(str(TITLES[section]))}</b>\n{escape(plan[section])}")
    parts.append(lines_text(where))
    parts.append(_("You can change your plan with /crisisplan."))
    return parts


def lines_text(where: WhereToCall) -> str:
    """The emergency number and crisis lines of the person's country (and, when we are not
    sure where they are, the international directories)."""
    lines = where.lines
    text = _("<b>Emergency ({country}): {number}</b>").format(
        country=escape(lines.country_name), number=escape(lines.emergency)
    )
    text += "\n" + _("Crisis lines — you can reach out to any of them:")
    text += "".join("\n" + _line(line) for line in lines.lines)
    if where.elsewhere is not None:
        text += "\n\n" + _("<b>Somewhere else?</b>") + " " + escape(where.elsewhere.emergency)
        text += "".join("\n" + _line(line) for line in where.elsewhere.lines)
    return text


def _line(line: CrisisLine) -> str:
    contacts = " · ".join(escape(c) for c in (line.phone, line.text, line.chat) if c)
    text = f"• <b>{escape(line.name)}</b>: {contacts} ({escape(line.hours)})"
    if line.audience:
        text += " — <i>" + _("for {audience}").format(audience=escape(line.audience)) + "</i>"
    return text


def chunks(parts: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join blocks into as few messages as fit Telegram's limit, never splitting a block."""
    messages: list[str] = []
    for part in parts:
        if messages and _length(messages[-1]) + 2 + _length(part) <= limit:
            messages[-1] += "\n\n" + part
        else:
            messages.append(part)
    return messages


def _length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2  # what Telegram counts


def _where(user: User | None, event: Message | CallbackQuery) -> WhereToCall:
    tag = event.from_user.language_code if event.from_user else None
    return crisis_plan.where_to_call(
        get_i18n().current_locale, user.timezone if user is not None else None, tag
    )


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


async def _skip(press: Press) -> None:
    draft = await _current_prompt(press, CrisisPlanning.writing)
    if draft is None or not draft.get("walk"):
        await press.query.answer(_("This button has expired."))
        return
    await press.query.answer()
    filled = await crisis_plans.filled(press.session, press.user.id)
    following = crisis_plan.next_unfilled(Section(draft["section"]), filled)
    if following is None:
        await _finish_writing(press.query, press, _("That was the last empty part."))
        return
    text, markup = _prompt(following, None, True, _where(press.user, press.query))
    shown = await _show(press.query, text, markup)
    await press.state.set_data({**draft, "section": following.value, "kept": None, "prompt": shown})


async def _cancel(press: Press) -> None:
    draft = await _current_prompt(press, CrisisPlanning.writing)
    if draft is None:
        await press.query.answer(_("This button has expired."))
        return
    await press.query.answer()
    await _finish_writing(press.query, press, _stopped(draft))


async def _trim(press: Press) -> None:
    draft = await _current_prompt(press, CrisisPlanning.writing)
    if draft is None or not draft.get("kept"):
        await press.query.answer(_("This button has expired."))
        return
    await press.query.answer()
    text = crisis_plan.shortened(draft["kept"])
    await _save_and_go_on(press.query, press, Section(draft["section"]), text)


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
    await writer.state.set_data({**data, "prompt": sent.message_id, "kept": None, "saved": True})


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
    await press.state.set_data({**data, "prompt": None})
    await _go_on(press.query, press, section, said)


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
    SKIP: _skip,
    CANCEL: _cancel,
    TRIM: _trim,
    FEELS_NOW: _feels_now,
    NOT_NOW: _not_now,
}


async def paused_flow_button(query: CallbackQuery) -> None:
    """A daily-log or onboarding button while a part of the plan is being written."""
    await query.answer(
        _("First send this part of your plan, or tap Cancel; then this button works again."),
        show_alert=True,
    )


# --- writing a part -----------------------------------------------------------------------


async def _start_writing(press: Press, section: Section, *, walk: bool, in_place: bool) -> None:
    state = press.state
    current = await state.get_state()
    data = await state.get_data()
    if current == CrisisPlanning.writing.state:  # already writing: switch parts, keep the rest
        await retire_buttons(press.bot, press.user.telegram_id, data.get("prompt"))
        draft = {**data, "section": section.value, "walk": walk, "kept": None}
    else:  # put aside whatever they were doing, to give it back afterwards
        draft = {"section": section.value, "walk": walk, "paused": [current, data]}
    text = await crisis_plans.get(press.session, press.user.id, section)
    prompt_text, markup = _prompt(section, text, walk, _where(press.user, press.query))
    if in_place:
        shown = await _show(press.query, prompt_text, markup)
    else:
        sent = await press.bot.send_message(
            press.user.telegram_id, prompt_text, reply_markup=markup
        )
        shown = sent.message_id
    await state.set_state(CrisisPlanning.writing)
    await state.set_data({**draft, "prompt": shown})


def _prompt(
    section: Section, current: str | None, walk: bool, where: WhereToCall
) -> tuple[str, InlineKeyboardMarkup]:
    text = _heading(section) + "\n" + escape(str(PROMPTS[section]))
    if section in crisis_plan.PREFILLED:
        text += "\n\n" + _(
            "The crisis lines for where you live are already part of your plan; /crisis "
            "always shows them."
        )
    if current:
        text += "\n\n" + _("Right now it says:") + "\n<i>" + escape(current) + "</i>"
        text += "\n\n" + _(
            "Send the new text as one message (up to {limit} characters). It replaces what "
            "is there."
        ).format(limit=crisis_plan.TEXT_LIMIT)
    else:
        text += "\n\n" + _("Send it as one message (up to {limit} characters).").format(
            limit=crisis_plan.TEXT_LIMIT
        )
    buttons = [button(_("✕ Cancel"), PlanAction(action=CANCEL))]
    if walk:
        buttons.insert(0, button(_("Skip this part ▸"), PlanAction(action=SKIP)))
    return text, rows(buttons, 1)


async def part_typed(
    message: Message,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
    bot: Bot,
    plan_words: FlaggedWords | None = None,
) -> None:
    data = await state.get_data()
    section = crisis_plan.parse_section(data.get("section"))
    if not crisis_plan.may_keep_a_plan(user) or section is None:
        await give_back(state, data)
        await message.answer(
            _("Sorry, I lost track of which part we were writing. /crisisplan shows your plan.")
        )
        return
    assert user is not None
    writer = Writer(user, session, state, bot)
    try:
        text = crisis_plan.take_text(message.text or "")
    except crisis_plan.EmptyText:
        await message.answer(_("I didn't find any words in that. Send the text, or tap Cancel."))
        return
    except crisis_plan.TooLong as too_long:
        await retire_buttons(bot, message.chat.id, data.get("prompt"))
        sent = await message.answer(
            _(
                "That is {length} characters long; each part of your plan can hold up to "
                "{limit}. I've kept what you wrote: send a shorter version, or keep the first "
                "{limit} characters."
            ).format(length=too_long.length, limit=too_long.limit),
            reply_markup=rows(
                [
                    button(
                        _("Keep the first {limit}").format(limit=too_long.limit),
                        PlanAction(action=TRIM),
                    ),
                    button(_("✕ Cancel"), PlanAction(action=CANCEL)),
                ],
                1,
            ),
        )
        await state.set_data({**data, "kept": message.text, "prompt": sent.message_id})
        return
    if plan_words is not None:  # crisis language: saved, and the alert waits for the answer
        plan_words.take()
        await crisis_plans.save(session, user.id, section, text)
        await _ask_how_they_feel(writer, section, data)
        return
    await _save_and_go_on(message, writer, section, text)


async def not_text(message: Message) -> None:
    await message.answer(
        _("I can only keep text in your plan. Send it as a message, or tap Cancel.")
    )


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
    await _finish_writing(message, Writer(user, session, state, bot), _stopped(data))


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


async def _save_and_go_on(
    target: Message | CallbackQuery, writer: Writer, section: Section, text: str
) -> None:
    """Store the part; walking through the plan, ask the next empty part, else finish."""
    await crisis_plans.save(writer.session, writer.user.id, section, text)
    await _go_on(target, writer, section, _saved(section))


def _saved(section: Section) -> str:
    return _("✓ Saved: “{title}”.").format(title=escape(str(TITLES[section])))


async def _go_on(
    target: Message | CallbackQuery, writer: Writer, section: Section, saved: str
) -> None:
    """After a part is stored: walking through the plan, ask the next empty part, else
    finish (``saved`` heads what comes next)."""
    user, state, bot = writer.user, writer.state, writer.bot
    data = await state.get_data()
    if data.get("walk"):
        filled = await crisis_plans.filled(writer.session, user.id)
        following = crisis_plan.next_unfilled(section, filled)
        if following is not None:
            await retire_buttons(bot, user.telegram_id, data.get("prompt"))
            prompt_text, markup = _prompt(following, None, True, _where(user, target))
            sent = await bot.send_message(
                user.telegram_id, saved + "\n\n" + prompt_text, reply_markup=markup
            )
            await state.set_data(
                {
                    **data,
                    "section": following.value,
                    "kept": None,
                    "prompt": sent.message_id,
                    "saved": True,
                }
            )
            return
        saved += " " + _("That was the last empty part.")
    await state.update_data(saved=True)
    await _finish_writing(target, writer, saved)


async def _finish_writing(target: Message | CallbackQuery, writer: Writer, headline: str) -> None:
    """Leave the writing state: give back what was put aside, and show the plan's parts.

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
    elif isinstance(target, CallbackQuery):
        await _show(target, menu_text(filled, headline), menu_markup(filled))
    else:
        await retire_buttons(bot, user.telegram_id, data.get("prompt"))
        await bot.send_message(
            user.telegram_id, menu_text(filled, headline), reply_markup=menu_markup(filled)
        )


def _stopped(draft: dict[str, Any]) -> str:
    if draft.get("walk"):
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
    if previous == DailyLogging.answering.state:
        return _("Your daily log is waiting where you left it: /log picks it up.")
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
    if not isinstance(query.message, Message) or query.message.reply_markup is None:
        return False
    return any(
        b.callback_data == query.data
        for row in query.message.reply_markup.inline_keyboard
        for b in row
    )


async def _show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> int:
    """Replace the tapped message with ``text``; a new message if it can't be edited."""
    if isinstance(query.message, Message):
        try:
            await query.message.edit_text(text, reply_markup=markup)
            return query.message.message_id
        except TelegramBadRequest as error:
            if "not modified" in error.message:
                return query.message.message_id
    assert query.bot is not None
    sent = await query.bot.send_message(query.from_user.id, text, reply_markup=markup)
    return sent.message_id


# --- the answer to a message that screening flagged --------------------------------------


def what_happens_next(user: User, *, staffed: bool, reachable: bool = True) -> str:
    """Who was told, and when to expect them: only what is true (consent, staffed hours,
    whether anyone can be told at all). It comes below the crisis lines, which it points to."""
    if not reachable:
        return nobody_to_tell()
    told = (
        _(
            "As you agreed when you joined, I've let the program's on-call supervisor know. "
            "Someone will reach out to you."
        )
        if user.consent_version
        else _("I've let a supervisor of the program know, so that someone can reach out to you.")
    )
    return told + _unstaffed_note(staffed)


def nobody_to_tell() -> str:
    """No supervisor channel and no supervisor yet: the truth, and where help is now."""
    return _(
        "Right now nobody from the program can be told through me, so please don't wait for "
        "us: call one of the numbers above now. They are there for you at any hour."
    )


def _unstaffed_note(staffed: bool) -> str:
    if staffed:
        return ""
    return "\n" + _(
        "It's outside the program's staffed hours, so our reply may take longer. The "
        "numbers above are there for you right now."
    )


async def crisis_reply(
    session: AsyncSession,
    user: User,
    language_tag: str | None,
    *,
    staffed: bool,
    reachable: bool,
) -> list[tuple[str, ReplyKeyboardMarkup | InlineKeyboardMarkup | None]]:
    """Messages for someone whose words suggest they may be in danger: warmth first, then
    their own plan (or the crisis lines and an offer to make one), then what happens next."""
    where = crisis_plan.where_to_call(get_i18n().current_locale, user.timezone, language_tag)
    plan = await crisis_plans.sections(session, user.id) if user.consent_version else {}
    opener = _(
        "💛 Thank you for telling me. What you're going through matters, and you don't have "
        "to face it alone."
    )
    parts = [opener, *(plan_parts(plan, where) if plan else [lines_text(where)])]
    parts.append(what_happens_next(user, staffed=staffed, reachable=reachable))
    messages: list[tuple[str, ReplyKeyboardMarkup | InlineKeyboardMarkup | None]] = [
        (text, None) for text in chunks(parts)
    ]
    if not plan and crisis_plan.may_keep_a_plan(user):
        messages[-1] = (
            messages[-1][0],
            rows([button(_("✏️ Make my plan"), PlanAction(action=BEGIN))], 1),
        )
    elif crisis_plan.may_keep_a_plan(user):
        messages[-1] = (messages[-1][0], crisis_keyboard())
    return messages


def crisis_reply_from_memory(
    timezone: str | None, language_tag: str | None
) -> list[tuple[str, ReplyKeyboardMarkup | InlineKeyboardMarkup | None]]:
    """The crisis answer when the database is failing: the crisis lines come from memory, in
    the person's language, and nothing is promised that could not be done (no alert could be
    stored, so no supervisor was told)."""
    where = crisis_plan.where_to_call(get_i18n().current_locale, timezone, language_tag)
    opener = _(
        "💛 Thank you for telling me. What you're going through matters, and you don't have "
        "to face it alone."
    )
    honest = _(
        "Because of a problem on my side, I could not pass this on to a supervisor just now. "
        "Please reach out to one of the numbers above now: they are there for you."
    )
    return [(text, None) for text in chunks([opener, lines_text(where), honest])]


# --- "I need to talk to someone now": help that needs no words ----------------------------


def help_now_button() -> InlineKeyboardButton:
    return button(str(HELP_NOW_LABEL), HelpNow())


def _may_ask_for_help_now(user: User | None) -> bool:
    """Mentees and mentors, and anyone not registered yet; supervisors answer alerts."""
    return user is None or user.role in crisis_plan.PLANNERS


def _help_now_markup(user: User | None) -> InlineKeyboardMarkup | None:
    return rows([help_now_button()]) if _may_ask_for_help_now(user) else None


def help_now_offer() -> str:
    return _(
        "If you need to talk to someone now, tap the button: the program's on-call supervisor "
        "is told at once. You don't have to explain anything."
    )


async def help_now_pressed(
    query: CallbackQuery,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
    event_update: Update | None = None,
    callback_data: Any = None,
) -> None:
    """One tap raises a top-severity alert for the presser, always the presser: the button
    names nobody, so a forged one can only ask help for oneself. A second tap while the case
    is open joins it: the supervisors see it, nobody is paged again."""
    await query.answer()
    person = user or await alert_flow.someone_new(
        session,
        query.from_user.id,
        match_language(query.from_user.language_code, settings.default_locale),
    )
    case = await alert_flow.raise_by_tap(
        session,
        person,
        now=utcnow(),
        join_window=dt.timedelta(minutes=settings.alert_join_minutes),
        ack_within=dt.timedelta(minutes=settings.escalation_ack_minutes),
        update_id=event_update.update_id if event_update is not None else None,
    )
    await announce(session, case, settings, i18n)
    log.warning(
        "help tap: alert %s %s for user %s",
        case.alert.id,
        "opened" if case.is_new else "joined",
        person.id,
    )
    mid_log = await daily_log.is_current_question(query, state)
    after_log = isinstance(callback_data, HelpNowAfterLog)  # under a saved three-tap log
    where = _where(person, query)
    staffed = staffed_now(settings)
    reachable = not await alert_flow.nobody_to_tell(session, settings.supervisor_chat_id)
    await bot.send_message(
        person.telegram_id,
        help_now_reply(
            person, where, case.is_new, staffed, mid_log or after_log, reachable=reachable
        ),
    )
    if mid_log and isinstance(query.message, Message):
        # The question comes again below the answer, and its copy above loses its buttons.
        await daily_log.ask_again_after_help(query.message, state, settings)


def help_now_reply(
    person: User,
    where: WhereToCall,
    is_new: bool,
    staffed: bool,
    mid_log: bool,
    *,
    reachable: bool = True,
) -> str:
    """What happens next, honestly. From the 🆘 view the crisis lines are just above; from
    the daily log they are not, so they come here, above what points to them."""
    lines = [lines_text(where)] if mid_log else []
    if not reachable:
        return "\n\n".join([*lines, nobody_to_tell()])
    if not is_new:
        again = _(
            "💛 A supervisor already knows, and I've let them know you need someone now. "
            "Someone will reach out to you."
        )
        return "\n\n".join([*lines, again + _unstaffed_note(staffed)])
    opener = _("💛 Thank you for asking. You don't have to face this alone.")
    return "\n\n".join([opener, *lines, what_happens_next(person, staffed=staffed)])
