"""Help in a crisis: /crisis and the 🆘 button show the plan at once, with the numbers to
call; the answer to words screening flagged; "I need to talk to someone now".

/crisis (and the persistent 🆘 button) never touches the conversation state: someone in the
middle of a daily log, a questionnaire or onboarding gets their plan and the crisis lines,
and their next tap carries on exactly where they were. Writing the plan (/crisisplan) is
handlers/plan_writing.py's.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import cache
from html import escape as html_escape
from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Command, Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from aiogram.utils.i18n import I18n, get_i18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import alerts as alert_flow
from flows import crisis_plan
from flows.crisis_lines import CrisisLine
from flows.crisis_plan import TITLES, WhereToCall
from flows.languages import match_language
from handlers import daily_log
from handlers.alerts import HELP_NOW_LABEL, announce, staffed_now
from handlers.filters import PRIVATE
from handlers.keyboards import (
    HelpNow,
    HelpNowAfterLog,
    button,
    button_label,
    crisis_keyboard,
    rows,
)
from storage import crisis_plans
from storage.models import User, utcnow

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 4000  # Telegram allows 4096 UTF-16 code units per message; keep some room


def escape(text: str) -> str:
    """Text shown as written (HTML mode): only <, > and & need escaping."""
    return html_escape(text, quote=False)


class PlanAction(CallbackData, prefix="plan"):
    """The plan's list and parts (handlers/plan_writing.py answers them; /crisis offers
    BEGIN)."""

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
FEELS_NOW = "now_yes"  # a part with crisis language: "yes, it's how I feel right now"
NOT_NOW = "now_no"  # "no, not right now"


def router() -> Router:
    r = Router(name="crisis")
    r.message.filter(PRIVATE)
    # No state filter: these work whatever the person is in the middle of.
    r.message.register(show_crisis, Command("crisis"))
    r.message.register(show_crisis, CrisisButton())
    r.callback_query.register(help_now_pressed, HelpNow.filter())  # any state, like /crisis
    r.callback_query.register(help_now_pressed, HelpNowAfterLog.filter())  # a saved 3-tap log
    return r


# --- the persistent button ----------------------------------------------------------------


# (The button and its keyboard are handlers/keyboards.py's: the daily log sends them too.)


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
