"""The supervisors' own case workflow: /alerts and /status (in private and in the
supervisors' group), a case's whole history, its notes, and "Resolve → Other".

Every press is re-checked: the presser's role as stored now, and the message pressed must
be in their own private chat or in the supervisors' group (a case is never shown anywhere
else). The conversation with the person is shown word for word only in a supervisor's
private chat; the group sees who wrote, how often and when.
"""

from __future__ import annotations

import contextlib
import logging
from html import escape
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject, Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, TelegramObject
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import alerts as alert_flow
from flows import cases as cases_flow
from flows import reach
from flows.cases import Entry
from flows.states import CaseNoting
from handlers.alerts import (
    CATEGORY_NAMES,
    HELP_NOW_LABEL,
    MISREAD_LABEL,
    OUTCOME_NAMES,
    SEVERITY_NAMES,
    STATUS_NAMES,
    AlertAction,
    CaseAction,
    authorised_press,
    case_closed,
    copy_view,
    language_name,
    refresh_copies,
    refuse_press,
    status_text,
)
from handlers.filters import IN_GROUP, NOT_TEXT, PRIVATE, TYPED, HasRole
from handlers.keyboards import CancelFlow, button, rows
from storage import alerts, users
from storage.models import Alert, AlertStatus, Role, User, utcnow

log = logging.getLogger(__name__)

STAFF = (Role.SUPERVISOR, Role.ADMIN)
LISTED = 30  # cases with a button in /alerts; the oldest beyond are counted
PART = 3800  # characters of a case view's message (Telegram takes 4,096)
QUOTE_SHOWN = 3000  # a longer message of the conversation is cut in the case view


class InSupervisorsGroup(Filter):
    """The message was sent in the supervisors' group (settings SUPERVISOR_CHAT_ID)."""

    async def __call__(self, event: TelegramObject, settings: Settings | None = None) -> bool:
        chat = getattr(event, "chat", None)
        return chat is not None and settings is not None and chat.id == settings.supervisor_chat_id


def router() -> Router:
    r = Router(name="cases")
    staff = HasRole(*STAFF, fresh=True)  # roles read fresh, as for every alert button
    theirs = InSupervisorsGroup()
    commands = Command("alerts", "status")
    r.message.register(case_command, commands, PRIVATE, staff)
    r.message.register(case_command, commands, theirs, staff)
    r.message.register(not_for_you, commands, theirs)
    r.message.register(not_in_this_group, commands, IN_GROUP)
    # "Resolve → Other" asks for a note first (this router comes before the alerts router).
    other = AlertAction.filter((F.action == "outcome") & (F.outcome == "other"))
    r.callback_query.register(other_pressed, other)
    r.callback_query.register(case_pressed, CaseAction.filter())
    noting = StateFilter(CaseNoting.writing)
    r.message.register(note_cancelled, Command("cancel"), PRIVATE, noting)
    r.message.register(note_typed, PRIVATE, noting, TYPED)
    r.message.register(note_not_text, PRIVATE, noting, NOT_TEXT)
    return r


# ----- /alerts and /status --------------------------------------------------------------------


async def case_command(
    message: Message, command: CommandObject, session: AsyncSession, settings: Settings
) -> None:
    if command.command == "status":
        await message.answer(await status_text(session, settings))
        return
    text, markup = await open_cases_view(session)
    await message.answer(text, reply_markup=markup)


async def not_for_you(message: Message) -> None:
    await message.reply(_("Only supervisors and admins can use this command."))


async def not_in_this_group(message: Message) -> None:
    await message.reply(
        _("This command works only in the supervisors' group, or in a private chat with me.")
    )


async def open_cases_view(session: AsyncSession) -> tuple[str, InlineKeyboardMarkup | None]:
    """Open cases, newest first, each with a button that opens it."""
    open_cases = await cases_flow.open_cases(session)
    if not open_cases:
        return _("No open cases right now. 🌿 New alerts will show up here."), None
    now = utcnow()
    lines = [_("<b>Open alerts</b> · newest first")]
    for alert in open_cases[:LISTED]:
        minutes = int((now - alert.opened_at).total_seconds() // 60)
        lines.append(
            _("#{id} · {severity} · {category} · {who} · {status} · {minutes} min ago").format(
                id=alert.id,
                severity=SEVERITY_NAMES.get(alert.severity, alert.severity),
                category=CATEGORY_NAMES.get(alert.category, alert.category),
                who=escape(alert.pseudonym or "?"),
                status=STATUS_NAMES.get(alert.status, alert.status),
                minutes=minutes,
            )
        )
    if len(open_cases) > LISTED:
        lines.append(_("+{count} older").format(count=len(open_cases) - LISTED))
    buttons = [
        button(
            _("📋 #{id} · {who}").format(id=alert.id, who=alert.pseudonym or "?"),
            CaseAction(action="view", alert_id=alert.id),
        )
        for alert in open_cases[:LISTED]
    ]
    return "\n".join(lines), rows(buttons, 1)


# ----- a case's view ----------------------------------------------------------------------------


async def case_pressed(
    query: CallbackQuery,
    callback_data: CaseAction,
    user: User | None,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    bot: Bot,
) -> None:
    checked = await _authorised(
        query, callback_data.alert_id, callback_data.action, user, session, settings
    )
    if checked is None or user is None:
        return
    alert, message = checked
    in_private = message.chat.id == user.telegram_id
    if callback_data.action == "view":
        await query.answer()
        # In a forum group, the view goes to the topic it was asked from.
        thread = message.message_thread_id if message.is_topic_message else None
        await _send_view(bot, message.chat.id, session, alert, in_private=in_private, thread=thread)
    elif callback_data.action == "private":
        if await _send_view(bot, user.telegram_id, session, alert, in_private=True):
            await query.answer(_("Sent to our private chat."))
        else:
            await query.answer(
                _("Open a private chat with me first (send /start), then tap again."),
                show_alert=True,
            )
    elif callback_data.action == "note":
        await _ask_for_note(query, user, alert, state, bot, settings, resolve=False)
    else:
        await query.answer(_("This button has expired."))


async def _authorised(
    query: CallbackQuery,
    alert_id: int,
    action: str,
    user: User | None,
    session: AsyncSession,
    settings: Settings,
) -> tuple[Alert, Message] | None:
    """The case and the pressed message, when a supervisor or admin (as stored now) pressed
    in their own private chat or in the supervisors' group; otherwise refused and audited."""
    if user is not None:
        await users.refresh_role(session, user)
    message = query.message if isinstance(query.message, Message) else None
    place_ok = message is not None and (
        message.chat.id == settings.supervisor_chat_id
        or (user is not None and message.chat.id == user.telegram_id)
    )
    allowed = user is not None and user.is_onboarded and user.role in STAFF
    alert = await alerts.get(session, alert_id) if 0 < alert_id < 2**31 else None
    if not (allowed and place_ok):
        await refuse_press(session, query, user, f"case {action}", f"in its place: {place_ok}")
        return None
    if alert is None:
        await query.answer(_("This case no longer exists."), show_alert=True)
        return None
    assert message is not None
    return alert, message


async def _send_view(
    bot: Bot,
    chat_id: int,
    session: AsyncSession,
    alert: Alert,
    *,
    in_private: bool,
    thread: int | None = None,
) -> bool:
    """The case's view, in as many messages as it takes; False if the chat refused it."""
    parts = await case_view(session, alert, in_private=in_private)
    markup = view_buttons(alert, in_private=in_private)
    try:
        for number, part in enumerate(parts):
            last = number == len(parts) - 1
            await bot.send_message(
                chat_id, part, reply_markup=markup if last else None, message_thread_id=thread
            )
    except TelegramAPIError:
        return False
    return True


def view_buttons(alert: Alert, *, in_private: bool) -> InlineKeyboardMarkup:
    buttons = [button(_("📝 Add note"), CaseAction(action="note", alert_id=alert.id))]
    if not in_private:
        buttons.append(
            button(
                _("🔒 Whole conversation, in private"),
                CaseAction(action="private", alert_id=alert.id),
            )
        )
    return rows(buttons, 1)


async def case_view(session: AsyncSession, alert: Alert, *, in_private: bool) -> list[str]:
    """The case at a glance, then its whole history in order, in message-sized parts."""
    lines = [
        _("📋 <b>Case #{id}</b> · {severity} · {category} · {who} · {status}").format(
            id=alert.id,
            severity=SEVERITY_NAMES.get(alert.severity, alert.severity),
            category=CATEGORY_NAMES.get(alert.category, alert.category),
            who=escape(alert.pseudonym or "?"),
            status=STATUS_NAMES.get(alert.status, alert.status),
        ),
        _("Opened: {time} UTC").format(time=f"{alert.opened_at:%Y-%m-%d %H:%M}"),
        "",
        _("<b>History</b>"),
    ]
    person = await session.get(User, alert.user_id) if alert.user_id is not None else None
    entries = await cases_flow.history(session, alert)
    lines += _history_lines(entries, alert, person, in_private=in_private)
    if not in_private and any(
        e.kind in (*cases_flow.CONVERSATION, cases_flow.NOTE) for e in entries
    ):
        lines += [
            "",
            _("<i>Messages and notes are shown word for word only in a private chat.</i>"),
        ]
    return _in_parts(lines)


def _history_lines(
    entries: list[Entry], alert: Alert, person: User | None, *, in_private: bool
) -> list[str]:
    who = escape(alert.pseudonym or "?")
    locale = person.locale if person else None
    lines: list[str] = []
    run: list[Entry] = []  # messages of the conversation in a row, told as a count in a group

    def flush() -> None:
        if run:
            lines.append(f"{_when(run[0], alert)} · {_conversation_run(run, who)}")
            run.clear()

    for entry in entries:
        if entry.kind in cases_flow.CONVERSATION and not in_private:
            if run and (run[-1].kind, _id(run[-1].actor)) != (entry.kind, _id(entry.actor)):
                flush()
            run.append(entry)
            continue
        flush()
        line = _entry_line(entry, who, locale, in_private=in_private)
        if line:
            lines.append(f"{_when(entry, alert)} · {line}")
    flush()
    if not lines:
        lines.append(_("Nothing yet."))
    return lines


def _when(entry: Entry, alert: Alert) -> str:
    """The time (UTC, as in alerts); the date too once the case runs past its first day."""
    return (
        f"{entry.at:%H:%M}"
        if entry.at.date() == alert.opened_at.date()
        else f"{entry.at:%m-%d %H:%M}"
    )


def _id(person: User | None) -> int | None:
    return person.id if person else None


def _name(person: User | None) -> str:
    return escape(person.known_as) if person else "?"


def _entry_line(entry: Entry, who: str, locale: str | None, *, in_private: bool) -> str | None:
    kind, name = entry.kind, _name(entry.actor)
    if kind == cases_flow.HIT:
        return _hit_line(entry, locale)
    if kind == cases_flow.ACKNOWLEDGED:
        return _("✅ Acknowledged by {name}").format(name=name)
    if kind == cases_flow.CONTACTING:
        return _("📞 {name} said they are contacting them").format(name=name)
    if kind == cases_flow.ESCALATED:
        return _("⏫ Nobody acknowledged in time: escalated (level {level})").format(
            level=entry.detail or "?"
        )
    if kind == cases_flow.RESOLVED:
        outcome = OUTCOME_NAMES.get(entry.detail or "", entry.detail or "?")
        return _("✔️ Resolved by {name}: {outcome}").format(name=name, outcome=outcome)
    if kind == reach.OPENED:
        return _("✉️ {name} started writing to them through me").format(name=name)
    if kind == reach.ENDED:
        return _("🔚 {name} ended the conversation").format(
            name=who if entry.actor and entry.actor.role not in STAFF else name
        )
    if kind == reach.TO_PERSON:
        return _("✉️ {name} → {who}: {text}").format(name=name, who=who, text=_said(entry.text))
    if kind == reach.FROM_PERSON:
        return _("💬 {who}: {text}").format(who=who, text=_said(entry.text))
    if kind == cases_flow.MISREAD:
        return _("🙂 {who} tapped “{button}”").format(who=who, button=MISREAD_LABEL)
    if kind == cases_flow.NOTE:
        if in_private:
            return _("📝 Note by {name}: {text}").format(name=name, text=_said(entry.text))
        return _("📝 {name} added a note").format(name=name)
    return None


def _said(text: str | None) -> str:
    text = text or ""
    if len(text) > QUOTE_SHOWN:
        text = text[: QUOTE_SHOWN - 1] + "…"
    return f"<i>“{escape(text)}”</i>"


def _hit_line(entry: Entry, locale: str | None) -> str:
    hit = entry.hit
    assert hit is not None
    if hit.detector == alert_flow.TAP:
        return _("🆘 They tapped “{button}”").format(button=HELP_NOW_LABEL)
    if hit.detector == alert_flow.MENTOR:
        if hit.sentence:
            return _("🧭 Their mentor is worried about them — reason: {reason}").format(
                reason=escape(hit.sentence)
            )
        return _("🧭 Their mentor is worried about them")
    quote = f"💬 <i>“{escape(hit.sentence)}”</i>"
    if locale and hit.language != locale:
        quote += " · " + _("in {language}").format(language=language_name(hit.language))
    return quote


def _conversation_run(run: list[Entry], who: str) -> str:
    """A group's view of messages in a row: who, how many, when; never what."""
    times = ", ".join(f"{entry.at:%H:%M}" for entry in run)
    first = run[0]
    if first.kind == reach.TO_PERSON:
        text = _("✉️ {name} wrote to {who} through me — messages: {count} ({times})").format(
            name=_name(first.actor), who=who, count=len(run), times=times
        )
    else:
        text = _("💬 {who} answered — messages: {count} ({times})").format(
            who=who, count=len(run), times=times
        )
    return text


def _in_parts(lines: list[str]) -> list[str]:
    parts, current = [], ""
    for line in lines:
        if current and len(current) + len(line) + 1 > PART:
            parts.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    parts.append(current)
    return parts


# ----- notes, and "Resolve → Other" -------------------------------------------------------------


async def other_pressed(
    query: CallbackQuery,
    callback_data: AlertAction,
    user: User | None,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    bot: Bot,
) -> None:
    """ "Resolve → Other" on an alert: the case is resolved once the supervisor's note says
    what happened. Until then it stays as it was."""
    pressed = await authorised_press(query, callback_data.alert_id, "other", user, session)
    if pressed is None or user is None:
        return
    alert, message, where = pressed
    if alert.status == AlertStatus.RESOLVED:
        await query.answer(_("Someone has already acted on this alert."))
        return
    if await _ask_for_note(query, user, alert, state, bot, settings, resolve=True):
        _text, markup = await copy_view(session, alert, settings, where)
        with contextlib.suppress(TelegramBadRequest):
            await message.edit_reply_markup(reply_markup=markup)


async def _ask_for_note(
    query: CallbackQuery,
    user: User,
    alert: Alert,
    state: FSMContext,
    bot: Bot,
    settings: Settings,
    *,
    resolve: bool,
) -> bool:
    """The prompt goes to the supervisor's private chat (from a group too: a note is typed
    there), and their next text there becomes the note."""
    who = escape(alert.pseudonym or "?")
    limit = settings.note_max_length
    if resolve:
        prompt = _(
            "✔️ To resolve case #{id} ({who}) as “Other”, type a short note on what happened "
            "(up to {limit} characters). The case stays open until you send it. /cancel to stop."
        ).format(id=alert.id, who=who, limit=limit)
    else:
        prompt = _(
            "📝 Your note on case #{id} ({who}): type it here (up to {limit} characters). It is "
            "kept encrypted in the case's history. /cancel to stop."
        ).format(id=alert.id, who=who, limit=limit)
    cancel = rows([button(_("✕ Cancel"), CancelFlow())])
    try:
        sent = await bot.send_message(user.telegram_id, prompt, reply_markup=cancel)
    except TelegramAPIError:
        await query.answer(
            _("Open a private chat with me first (send /start), then tap again."), show_alert=True
        )
        return False
    private = _private_state(state, bot, user)
    await private.set_state(CaseNoting.writing)
    await private.set_data({"alert_id": alert.id, "resolve": resolve, "prompt": sent.message_id})
    in_group = isinstance(query.message, Message) and query.message.chat.id != user.telegram_id
    await query.answer(
        _("I've written to you in our private chat: type the note there.") if in_group else None
    )
    return True


def _private_state(state: FSMContext, bot: Bot, user: User) -> FSMContext:
    """The supervisor's conversation state in their private chat with the bot."""
    key = StorageKey(bot_id=bot.id, chat_id=user.telegram_id, user_id=user.telegram_id)
    return state if state.key == key else FSMContext(storage=state.storage, key=key)


async def note_typed(
    message: Message,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    data = await state.get_data()
    await users.refresh_role(session, user)
    resolve = bool(data.get("resolve"))
    allowed = (Role.SUPERVISOR,) if resolve else STAFF  # as the buttons that asked
    if user.role not in allowed:
        await state.clear()
        await message.answer(_("Only supervisors can use these buttons."))
        return
    note = (message.text or "").strip()
    if len(note) > settings.note_max_length:
        await message.answer(
            _(
                "That note is {length} characters long; notes can be up to {limit}. Please "
                "shorten it and send it again, or /cancel."
            ).format(length=len(note), limit=settings.note_max_length)
        )
        return
    if not note:
        await message.answer(_("Please type the note as text, or /cancel."))
        return
    alert_id = data.get("alert_id")
    alert = await alerts.get(session, alert_id) if isinstance(alert_id, int) else None
    await state.clear()
    if alert is None:
        await message.answer(_("This case no longer exists."))
        return
    now = utcnow()
    see = rows(
        [
            button(
                _("📋 Case #{id}").format(id=alert.id), CaseAction(action="view", alert_id=alert.id)
            )
        ]
    )
    if resolve and alert.status != AlertStatus.RESOLVED:
        await cases_flow.resolve_with_note(session, alert, user, note, now)
        await case_closed(session, alert, user, i18n, now)
        await refresh_copies(session, alert, settings, i18n, skip=(0, 0))
        await message.answer(
            _(
                "✔️ Case #{id} is resolved as “Other”, with your note. Everyone on the alert can see it."
            ).format(id=alert.id),
            reply_markup=see,
        )
        return
    cases_flow.add_note(session, alert, user, note, now)
    if resolve:
        await message.answer(
            _("Case #{id} was already resolved meanwhile. Your note is in its history.").format(
                id=alert.id
            ),
            reply_markup=see,
        )
        return
    await message.answer(_("📝 Note added to case #{id}.").format(id=alert.id), reply_markup=see)


async def note_not_text(message: Message) -> None:
    await message.answer(_("Please type the note as text, or /cancel."))


async def note_cancelled(message: Message, state: FSMContext) -> None:
    data: dict[str, Any] = await state.get_data()
    await state.clear()
    alert_id = data.get("alert_id", "?")
    if data.get("resolve"):
        await message.answer(
            _("Stopped. Case #{id} stays open; nothing was saved.").format(id=alert_id)
        )
    else:
        await message.answer(_("Stopped. No note was added to case #{id}.").format(id=alert_id))
