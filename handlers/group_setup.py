"""``/group setup`` in a group: a mentor or an admin registers the chat as a program group,
in taps: its kind, languages, time zone, weekly check-in day and time, and facilitators.

The conversation belongs to the person who started it (the FSM keys it by chat and person)
and speaks their language; each tap re-reads their role (a mentor removed a minute ago can
no longer register a group) and is checked against the question asked now. Every step has
◂ Back and ✕ Cancel (or /cancel). The result is posted in the group's languages, naming who
is registered and who is not in the program yet, with the link that lets them join.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from flows import groups as rules
from flows import onboarding, timezones
from flows.languages import NATIVE_NAMES, SUPPORTED
from flows.states import GroupSetup
from handlers.filters import IN_GROUP, TYPED
from handlers.group_checkin import UNREACHABLE, schedule
from handlers.group_render import day_name, in_languages, label_in_languages, time_text
from storage import groups, outbox, users
from storage.models import GroupKind, User, utcnow

ORDER = ("kind", "languages", "zone", "day", "time", "facilitators")
TIME_CHOICES = (dt.time(10), dt.time(12), dt.time(17), dt.time(18), dt.time(19), dt.time(20))
BACK, DONE, CANCEL, NONE = "back", "done", "cancel", "none"
# Telegram's words for an edit of a message that was deleted (or cannot be edited any more).
GONE_MESSAGE = ("message to edit not found", "message can't be edited")


class SetupPress(CallbackData, prefix="gs"):
    step: str
    value: str
    who: int  # the Telegram id of the person setting up: nobody else's tap counts


def router() -> Router:
    r = Router(name="group_setup")
    r.message.filter(IN_GROUP)
    setting_up = StateFilter(*GroupSetup.__all_states__)
    r.message.register(cancel_typed, Command("cancel"), setting_up)
    r.callback_query.register(pressed, SetupPress.filter())
    r.message.register(zone_typed, StateFilter(GroupSetup.zone), TYPED)
    r.message.register(time_typed, StateFilter(GroupSetup.time), TYPED)
    return r


async def start(
    message: Message, user: User | None, session: AsyncSession, state: FSMContext, bot: Bot
) -> None:
    """``/group setup``: only a mentor or an admin of the program."""
    assert message.from_user is not None
    if not rules.is_program_member(user):
        await message.reply(not_a_member_line())
        return
    if not rules.may_set_up(user):
        await message.reply(
            _(
                "Only the program's mentors and admins can set up a group. You could ask one of them."
            )
        )
        return
    assert user is not None
    draft: dict[str, Any] = {"who": message.from_user.id, "languages": [user.locale]}
    found = await groups.by_chat(session, message.chat.id)
    if found is not None:  # set up again: start from what it has
        draft.update(kind=found.kind, languages=found.language_list)
    await state.set_state(GroupSetup.kind)
    text, markup = _question("kind", draft, message.from_user.id)
    sent = await message.answer(text, reply_markup=markup)
    await state.set_data({**draft, "prompt": sent.message_id})


def not_a_member_line() -> str:
    return _(
        "This is for members of the program. To join, open a private chat with me and send /start."
    )


async def cancel_typed(message: Message, state: FSMContext, bot: Bot) -> None:
    draft = await state.get_data()
    await state.clear()
    said = _("Group setup cancelled. Nothing was changed.")
    # The question says it, unless someone deleted it: then a reply, never silence.
    if not draft.get("prompt") or not await _edit(
        bot, message.chat.id, draft["prompt"], said, None
    ):
        await message.reply(said)


async def pressed(
    query: CallbackQuery,
    callback_data: SetupPress,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    if message is None or callback_data.who != query.from_user.id:
        await query.answer(
            _(
                "This setup belongs to whoever started it. To set up the group yourself, send /group setup."
            ),
            show_alert=True,
        )
        return
    if user is not None and user.is_onboarded:
        await users.refresh_role(session, user)  # a role taken away a minute ago counts now
    if not rules.may_set_up(user):
        await state.clear()
        await query.answer(
            _("Only the program's mentors and admins can set up a group."), show_alert=True
        )
        return
    assert user is not None
    draft = await state.get_data()
    current = (await state.get_state() or "").rpartition(":")[2]
    if draft.get("prompt") != message.message_id or current != callback_data.step:
        await query.answer(_("This button has expired."))
        return
    step, value = callback_data.step, callback_data.value
    if step == "languages" and value == DONE and not draft.get("languages"):
        await query.answer(_("Please pick at least one language."), show_alert=True)
        return
    if value == CANCEL:
        await state.clear()
        await query.answer()
        await _edit(
            bot,
            message.chat.id,
            message.message_id,
            _("Group setup cancelled. Nothing was changed."),
            None,
        )
        return
    if value == BACK:
        await query.answer()
        await _go(bot, state, message, draft, _previous(step, draft))
        return
    following = await _take(step, value, draft, user, session, bot, message)
    if following is None:
        await query.answer(_("This button has expired."))
        return
    await query.answer()
    if following == step:  # a toggle: the same question, updated
        await state.set_data(draft)
        text, markup = _question(step, draft, callback_data.who)
        await _edit(bot, message.chat.id, message.message_id, text, markup)
        return
    if following == DONE:
        await _finish(message, user, session, state, draft, bot, i18n)
        return
    await _go(bot, state, message, draft, following)


async def _take(
    step: str,
    value: str,
    draft: dict[str, Any],
    user: User,
    session: AsyncSession,
    bot: Bot,
    message: Message,
) -> str | None:
    """Take a tap into the draft; the next step's name, the same step (a toggle), DONE, or
    None for a value the step does not offer (a forged or stale button)."""
    if step == "kind" and value in (GroupKind.PEER, GroupKind.ALUMNI):
        draft["kind"] = value
        return "languages"
    if step == "languages":
        chosen = list(draft.get("languages") or [])
        if value == DONE:
            return "zone" if chosen else None
        if value not in SUPPORTED:
            return None
        chosen = [c for c in chosen if c != value] if value in chosen else [*chosen, value]
        draft["languages"] = chosen  # in the order chosen: the first is the group's first
        return step
    if step == "zone":
        zones = timezones.likely_zones(_first(draft))
        if not value.isdecimal() or int(value) >= len(zones):
            return None
        draft["zone"] = zones[int(value)]
        return "day"
    if step == "day":
        if value == NONE:
            draft["day"] = None
            draft.pop("time", None)
            return await _candidates_step(draft, user, session, bot, message)
        if not value.isdecimal() or not 0 <= int(value) <= 6:
            return None
        draft["day"] = int(value)
        return "time"
    if step == "time":
        chosen = (
            onboarding.parse_checkin_time(f"{value[:2]}:{value[2:]}") if len(value) == 4 else None
        )
        if chosen is None:
            return None
        draft["time"] = chosen.strftime("%H:%M")
        return await _candidates_step(draft, user, session, bot, message)
    if step == "facilitators":
        if value == DONE:
            return DONE
        people = draft.get("candidates") or {}
        if value not in people:
            return None
        chosen = set(draft.get("facilitators") or [])
        chosen ^= {value}
        draft["facilitators"] = [key for key in people if key in chosen]
        return step
    return None


async def _candidates_step(
    draft: dict[str, Any], user: User, session: AsyncSession, bot: Bot, message: Message
) -> str:
    """Who could facilitate: the person setting up, the chat's administrators who are in the
    program, and whoever the group already has. Administrators not in the program are
    remembered, to be named in the result."""
    candidates: dict[str, str] = {str(user.id): user.display_name or user.pseudonym}
    outsiders: list[str] = []
    try:
        admins = await bot.get_chat_administrators(message.chat.id)
    except TelegramAPIError:
        admins = []
    for admin in admins:
        if admin.user.is_bot:
            continue
        person = await users.get_by_telegram_id(session, admin.user.id)
        if rules.is_program_member(person):
            assert person is not None
            candidates.setdefault(str(person.id), person.display_name or admin.user.first_name)
        else:
            outsiders.append(admin.user.first_name)
    found = await groups.by_chat(session, message.chat.id)
    if found is not None:
        for person in await groups.members(session, found.id):
            candidates.setdefault(str(person.id), person.display_name or person.pseudonym)
        draft.setdefault(
            "facilitators",
            [str(p.id) for p in await groups.facilitators_of(session, found.id)],
        )
    draft["candidates"] = candidates
    draft["outsiders"] = outsiders
    draft.setdefault("facilitators", [str(user.id)])
    return "facilitators"


def _previous(step: str, draft: dict[str, Any]) -> str:
    index = ORDER.index(step)
    before = ORDER[max(0, index - 1)]
    if before == "time" and draft.get("day") is None:
        return "day"
    return before


async def _go(
    bot: Bot, state: FSMContext, message: Message, draft: dict[str, Any], step: str
) -> None:
    await state.set_state(getattr(GroupSetup, step))
    await state.set_data(draft)
    text, markup = _question(step, draft, draft["who"])
    await _edit(bot, message.chat.id, message.message_id, text, markup)


def _first(draft: dict[str, Any]) -> str:
    return (draft.get("languages") or [SUPPORTED[0]])[0]


def _question(step: str, draft: dict[str, Any], who: int) -> tuple[str, InlineKeyboardMarkup]:
    """The step's question and buttons, in the language of the person setting up."""
    number = ORDER.index(step) + 1
    header = _("Group setup · {number}/{total}").format(number=number, total=len(ORDER))
    press = lambda value: SetupPress(step=step, value=value, who=who).pack()  # noqa: E731
    buttons: list[list[tuple[str, str]]] = []
    if step == "kind":
        text = _(
            "Is this a peer group or an alumni group (for people who have finished the program)?"
        )
        buttons = [
            [(_("Peer group"), press(GroupKind.PEER)), (_("Alumni group"), press(GroupKind.ALUMNI))]
        ]
    elif step == "languages":
        text = _(
            "Which languages does the group speak? Tap each one, then Done. Group posts carry them all, briefly."
        )
        chosen = draft.get("languages") or []
        buttons = [[(NATIVE_NAMES[c] + (" ✓" if c in chosen else ""), press(c)) for c in SUPPORTED]]
        buttons.append([(_("Done ▸"), press(DONE))])
    elif step == "zone":
        language = _first(draft)
        zones = timezones.likely_zones(language)
        text = _("Which time zone does the group meet in? Tap one, or type a city.")
        names = [(timezones.city_name(z, language), press(str(i))) for i, z in enumerate(zones)]
        buttons = [names[i : i + 2] for i in range(0, len(names), 2)]
    elif step == "day":
        text = _("On which day should I invite everyone to the weekly check-in?")
        days = [(day_name(d, _locale()), press(str(d))) for d in range(7)]
        buttons = [days[0:4], days[4:7], [(_("No weekly check-in"), press(NONE))]]
    elif step == "time":
        text = _("At what time of day? Tap one, or type a time like 18:30.")
        times = [(t.strftime("%H:%M"), press(t.strftime("%H%M"))) for t in TIME_CHOICES]
        buttons = [times[0:3], times[3:6]]
    else:
        text = _(
            "Who facilitates the group? Tap to choose (✓), then Done. Facilitators can pin the rules, tidy my posts and see privately who has gone quiet."
        )
        chosen = set(draft.get("facilitators") or [])
        buttons = [
            [(name + (" ✓" if key in chosen else ""), press(key))]
            for key, name in (draft.get("candidates") or {}).items()
        ]
        buttons.append([(_("Done ▸"), press(DONE))])
    last = [(_("✕ Cancel"), press(CANCEL))]
    if step != ORDER[0]:
        last.insert(0, (_("◂ Back"), press(BACK)))
    buttons.append(last)
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=data) for label, data in row]
            for row in buttons
        ]
    )
    return f"<i>{header}</i>\n\n{text}", markup


def _locale() -> str:
    return I18n.get_current().current_locale


async def zone_typed(message: Message, state: FSMContext, bot: Bot, user: User | None) -> None:
    draft = await state.get_data()
    if message.from_user is None or draft.get("who") != message.from_user.id:
        return
    zone = timezones.find_zone(message.text or "", _first(draft))
    if zone is None:
        await message.reply(
            _(
                "I couldn't find that place. Try a large city near the group, or a zone such as Europe/Madrid."
            )
        )
        return
    draft["zone"] = zone
    await _ask_anew(bot, state, message, draft, "day")


async def time_typed(
    message: Message, state: FSMContext, bot: Bot, user: User | None, session: AsyncSession
) -> None:
    draft = await state.get_data()
    if message.from_user is None or draft.get("who") != message.from_user.id or user is None:
        return
    chosen = onboarding.parse_checkin_time(message.text or "")
    if chosen is None:
        await message.reply(
            _("Please send a time of day like 18:30, or tap one of the times above.")
        )
        return
    draft["time"] = chosen.strftime("%H:%M")
    following = await _candidates_step(draft, user, session, bot, message)
    await _ask_anew(bot, state, message, draft, following)


async def _ask_anew(
    bot: Bot, state: FSMContext, message: Message, draft: dict[str, Any], step: str
) -> None:
    """After a typed answer: the earlier question loses its buttons, the next is a new message."""
    if draft.get("prompt"):
        await _edit(bot, message.chat.id, draft["prompt"], None, None)
    text, markup = _question(step, draft, draft["who"])
    sent = await message.answer(text, reply_markup=markup)
    await state.set_state(getattr(GroupSetup, step))
    await state.set_data({**draft, "prompt": sent.message_id})


async def _edit(
    bot: Bot, chat_id: int, message_id: int, text: str | None, markup: InlineKeyboardMarkup | None
) -> bool:
    """Change a question; False when it is gone (someone in the group deleted it), so the
    setup carries on instead of stopping at a message nobody can see."""
    try:
        if text is None:
            await bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=message_id, reply_markup=None
            )
        else:
            await bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
    except TelegramBadRequest as error:
        if "not modified" in str(error):
            return True
        if any(gone in str(error) for gone in GONE_MESSAGE):
            return False
        raise
    return True


async def _finish(
    message: Message,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    draft: dict[str, Any],
    bot: Bot,
    i18n: I18n,
) -> None:
    chat = message.chat
    at = dt.time.fromisoformat(draft["time"]) if draft.get("time") else None
    group = await groups.register(
        session,
        chat_id=chat.id,
        kind=draft["kind"],
        title=chat.title,
        languages=draft["languages"],
        timezone=draft["zone"],
        is_forum=bool(chat.is_forum),
        checkin_weekday=draft.get("day") if at is not None else None,
        checkin_time=at,
        registered_by=user.id,
    )
    chosen = set(draft.get("facilitators") or [])
    names = draft.get("candidates") or {}
    for key in names:
        role = groups.FACILITATOR if key in chosen else groups.MEMBER
        await groups.add_member(session, group.id, int(key), role)
    await schedule(session, group, utcnow())
    await state.clear()
    await _edit(bot, chat.id, message.message_id, _("✅ Group setup done."), None)
    username = (await bot.me()).username
    outsiders = draft.get("outsiders") or []
    text = in_languages(
        i18n, group.language_list, lambda: result_text(group, names, chosen, outsiders)
    )
    markup = None
    if outsiders:
        join = label_in_languages(i18n, group.language_list, lambda: _("Join the program"))
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=join, url=f"https://t.me/{username}?start={rules.join_link(group.id)}"
                    )
                ]
            ]
        )
    params: dict[str, Any] = {"text": text, "parse_mode": "HTML"}
    if markup is not None:
        params["reply_markup"] = markup.model_dump(exclude_none=True)
    if message.is_topic_message:
        params["message_thread_id"] = message.message_thread_id
    # Through the outbox, as the check-in's invitation: the group is registered already, so
    # a flood limit or an outage delays the post that names who is in and how to join, and
    # never loses it. Under the group's keys, a facilitator's tidy-up can remove it later.
    await outbox.enqueue(
        session,
        key=f"group:{group.id}:setup:{utcnow():%Y%m%d%H%M%S}",
        chat_id=chat.id,
        method="sendMessage",
        on_undeliverable=f"{UNREACHABLE}:{group.id}",
        params=params,
    )


def result_text(group: Any, names: dict[str, str], chosen: set[str], outsiders: list[str]) -> str:
    """In the current locale: what the group now is, who is in it, who is not yet."""
    kind = _("a peer group") if group.kind == GroupKind.PEER else _("an alumni group")
    lines = [_("🌿 This chat is now {kind} of the program.").format(kind=kind)]
    if group.checkin_weekday is not None and group.checkin_time is not None:
        lines.append(
            _("Weekly check-in: {day} at {time} ({zone}).").format(
                day=day_name(group.checkin_weekday, _locale()),
                time=time_text(group.checkin_time, _locale()),
                zone=timezones.city_name(group.timezone, _locale()),
            )
        )
    facilitators = [escape(names[k]) for k in names if k in chosen]
    if facilitators:
        lines.append(_("Facilitators: {names}.").format(names=", ".join(facilitators)))
    members = [escape(names[k]) for k in names if k not in chosen]
    if members:
        lines.append(_("Members: {names}.").format(names=", ".join(members)))
    if outsiders:
        lines.append(
            _(
                "Not in the program yet: {names}. To take part in check-ins, tap “Join the program” below."
            ).format(names=", ".join(escape(n) for n in outsiders))
        )
    lines.append(
        _(
            "Everyone else who is in the program joins by writing here, or by tapping the weekly check-in."
        )
    )
    return "\n".join(lines)
