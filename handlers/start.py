"""Onboarding: /start (with an optional invite code), language, consent, time zone, check-in time."""

from __future__ import annotations

import datetime as dt
from html import escape

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import crisis_plan, onboarding, timezones
from flows import groups as group_rules
from flows.languages import NATIVE_NAMES, SUPPORTED, match_language
from flows.states import Onboarding
from handlers import crisis, group_checkin, reminders, texts
from handlers.filters import NOT_COMMAND, PRIVATE, TYPED
from handlers.keyboards import (
    CheckinChoice,
    ConsentChoice,
    LanguageChoice,
    ZoneChoice,
    button,
    crisis_keyboard,
    retire_buttons,
    rows,
)
from handlers.menu import LOGGERS, set_person_menu
from storage.models import User


def router() -> Router:
    r = Router(name="start")
    r.message.filter(PRIVATE)
    r.message.register(start, CommandStart())
    r.message.register(choose_language_command, Command("language"))
    r.callback_query.register(language_chosen, LanguageChoice.filter())
    r.callback_query.register(
        consent_given, ConsentChoice.filter(), StateFilter(Onboarding.consent)
    )
    r.callback_query.register(zone_tapped, ZoneChoice.filter(), StateFilter(Onboarding.timezone))
    r.message.register(zone_typed, StateFilter(Onboarding.timezone), TYPED)
    r.callback_query.register(
        checkin_tapped, CheckinChoice.filter(), StateFilter(Onboarding.checkin_time)
    )
    r.message.register(checkin_typed, StateFilter(Onboarding.checkin_time), TYPED)
    r.message.register(ask_again, StateFilter(*Onboarding.__all_states__), NOT_COMMAND)
    return r


async def start(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
    user: User | None = None,
) -> None:
    assert message.from_user is not None
    # A group's deep link (t.me/<bot>?start=...): 🆘 answers at once, whoever taps it; a
    # check-in or a join is carried through onboarding and followed at its end.
    link = group_rules.read_link(command.args)
    if link is not None and link.kind == group_rules.HELP_LINK:
        await crisis.show_crisis(message, user, session, settings)
        return
    invite = command.args.strip() if command.args and link is None else None
    chosen = (await state.get_data()).get("locale")  # picked with /language before /start
    locale = chosen or match_language(message.from_user.language_code, settings.default_locale)
    try:
        arrival = await onboarding.arrive(
            session,
            telegram_id=message.from_user.id,
            locale=locale,
            invite_code=invite,
            invite_only=settings.invite_only,
        )
    except onboarding.InviteOnly:
        await message.answer(
            _(
                "Hello, and thank you for reaching out. People join this program by invitation: "
                "please open the invite link someone from the program sent you, or ask the "
                "program team for one. I haven't stored anything about you."
            )
        )
        return
    except onboarding.InviteProblem:
        text = _("This invite link has expired or has already been used. Please ask for a new one.")
        if not settings.invite_only:
            text += "\n\n" + _("If you'd like to join as a mentee, send /start without a link.")
        await message.answer(text)
        return

    user = arrival.user
    await state.clear()
    if user.is_onboarded and not onboarding.needs_consent(user):
        with i18n.use_locale(user.locale):
            if arrival.role_changed:
                await set_person_menu(bot, i18n, user)
                await message.answer(
                    _("Welcome! You are now a {role} in the program.").format(
                        role=texts.role_name(user.role)
                    )
                    + "\n\n"
                    + _("/help lists what you can do.")
                )
            elif link is None:
                await message.answer(_("Welcome back! /help lists what you can do."))
            if link is not None:
                await group_checkin.follow_link(message, state, user, link, session, settings)
        return
    if not user.is_onboarded:
        user.locale = locale  # their app's language until they pick one
    user.display_name = message.from_user.first_name
    await state.set_state(Onboarding.language)
    if link is not None:
        await state.update_data(after=command.args.strip())  # followed when onboarding ends
    with i18n.use_locale(user.locale):
        await message.answer(
            _("Hello, {name}! 🌿").format(name=escape(message.from_user.first_name))
            + "\n\n"
            + _(
                "I'll talk with you in English. You can pick another language here, now or later with /language."
            ),
            reply_markup=language_keyboard(user.locale),
        )


def language_keyboard(current: str):
    ordered = [current, *[code for code in SUPPORTED if code != current]]
    return rows(
        (
            button(
                NATIVE_NAMES[code] + (" ✓" if code == current else ""), LanguageChoice(code=code)
            )
            for code in ordered
        ),
        1,
    )


async def choose_language_command(message: Message, user: User | None) -> None:
    await message.answer(
        _("Which language would you like me to use?"),
        reply_markup=language_keyboard(user.locale if user else _current_locale()),
    )


def _current_locale() -> str:
    return I18n.get_current().current_locale


async def language_chosen(
    query: CallbackQuery,
    callback_data: LanguageChoice,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
    i18n: I18n,
    bot: Bot,
) -> None:
    if callback_data.code not in SUPPORTED:
        await query.answer(_("This button has expired."))
        return
    if user is None:  # before /start: keep the choice for it
        await state.update_data(locale=callback_data.code)
        with i18n.use_locale(callback_data.code):
            await query.answer(_("Language changed."))
            await _remove_buttons(query)
            await query.message.answer(
                _("Done — I'll speak English with you from now on.")
                + "\n\n"
                + texts.not_onboarded()
            )
        return
    changed = callback_data.code != user.locale
    user.locale = callback_data.code
    with i18n.use_locale(user.locale):
        onboarding_now = await state.get_state() == Onboarding.language.state
        if changed:
            await query.answer(_("Language changed."))
        elif onboarding_now:
            await query.answer()  # confirming the language offered: nothing to announce
        else:
            await query.answer(_("That's already the language we use — nothing changed."))
        await _remove_buttons(query)
        if onboarding_now:
            await state.set_state(Onboarding.consent)
            role = await onboarding.joining_as(session, user)
            await query.message.answer(texts.about(role))
            await query.message.answer(texts.consent(role), reply_markup=consent_keyboard())
            return
        if not changed:
            return
        if user.is_onboarded:
            await set_person_menu(bot, i18n, user)
        # The 🆘 button's label is in the keyboard sent earlier: send it again in this language.
        planner = user.is_onboarded and crisis_plan.may_keep_a_plan(user)
        await query.message.answer(
            _("Done — I'll speak English with you from now on."),
            reply_markup=crisis_keyboard() if planner else None,
        )


def consent_keyboard():
    return rows(
        [
            button(_("Yes, I agree"), ConsentChoice(agree=True)),
            button(_("Not now"), ConsentChoice(agree=False)),
        ],
        2,
    )


async def consent_given(
    query: CallbackQuery,
    callback_data: ConsentChoice,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
) -> None:
    if user is None:
        await query.answer(_("This button has expired."))
        return
    await query.answer()
    await _remove_buttons(query)
    if not callback_data.agree:
        await state.clear()
        if not user.is_onboarded:
            await session.delete(user)  # nothing of theirs stays without consent
        await query.message.answer(
            _(
                "That's completely fine. I haven't stored anything about your health. "
                "If you change your mind, send /start."
            )
        )
        return
    if not await onboarding.record_consent(session, user):
        await query.message.answer(
            _(
                "The invite link expired or was used up in the meantime, so you join as a "
                "mentee for now. Ask the program team for a new link if you were meant to "
                "have another role."
            )
        )
    if user.is_onboarded:  # agreeing again to a new consent text
        await state.clear()
        await query.message.answer(
            _("Thank you. You can carry on where you were: /help lists what you can do.")
        )
        return
    await state.set_state(Onboarding.timezone)
    await ask_zone(query.message, user)


async def ask_zone(message: Message, user: User) -> None:
    zones = timezones.likely_zones(user.locale)
    await message.answer(
        _(
            "Thank you. Which time zone are you in? Tap one, or type your city (for example: {example})."
        ).format(example=timezones.city_name(zones[0], user.locale)),
        reply_markup=rows(
            (
                button(timezones.city_name(zone, user.locale), ZoneChoice(zone=zone))
                for zone in zones
            ),
            2,
        ),
    )


async def zone_tapped(
    query: CallbackQuery,
    callback_data: ZoneChoice,
    user: User | None,
    state: FSMContext,
    i18n: I18n,
    bot: Bot,
    session: AsyncSession,
    settings: Settings,
) -> None:
    if user is None or not timezones.is_valid_zone(callback_data.zone):
        await query.answer(_("This button has expired."))
        return
    await query.answer()
    await _remove_buttons(query)
    await _zone_chosen(query.message, user, state, callback_data.zone, i18n, bot, session, settings)


async def zone_typed(
    message: Message,
    user: User | None,
    state: FSMContext,
    i18n: I18n,
    bot: Bot,
    session: AsyncSession,
    settings: Settings,
) -> None:
    if user is None:
        return
    zone = timezones.find_zone(message.text or "", user.locale)
    if zone is None:
        await message.answer(
            _(
                "I couldn't find that place. Try the largest city near you in your time zone, "
                "or a zone name such as Europe/Berlin."
            )
        )
        return
    await _zone_chosen(message, user, state, zone, i18n, bot, session, settings)


async def _zone_chosen(
    message: Message,
    user: User,
    state: FSMContext,
    zone: str,
    i18n: I18n,
    bot: Bot,
    session: AsyncSession,
    settings: Settings,
) -> None:
    if user.role not in LOGGERS:  # staff keep no log: no check-in time to ask, none promised
        await _finish_staff(message, user, state, zone, i18n, bot, session, settings)
        return
    await state.update_data(zone=zone)
    await state.set_state(Onboarding.checkin_time)
    await message.answer(
        _("Time zone: {zone} (it's {time} there now).").format(
            zone=timezones.city_name(zone, user.locale),
            time=timezones.local_now(zone).strftime("%H:%M"),
        )
        + "\n\n"
        + _(
            "When would you like your daily check-in reminder? Tap a time, or type one like 19:30."
        ),
        reply_markup=rows(
            (
                button(choice.strftime("%H:%M"), CheckinChoice(hhmm=choice.strftime("%H%M")))
                for choice in onboarding.CHECKIN_CHOICES
            ),
            3,
        ),
    )


async def checkin_tapped(
    query: CallbackQuery,
    callback_data: CheckinChoice,
    user: User | None,
    state: FSMContext,
    i18n: I18n,
    bot: Bot,
    session: AsyncSession,
    settings: Settings,
) -> None:
    chosen = onboarding.parse_checkin_time(f"{callback_data.hhmm[:2]}:{callback_data.hhmm[2:]}")
    if user is None or chosen is None:
        await query.answer(_("This button has expired."))
        return
    await query.answer()
    await _remove_buttons(query)
    await _finish(query.message, user, state, chosen, i18n, bot, session, settings)


async def checkin_typed(
    message: Message,
    user: User | None,
    state: FSMContext,
    i18n: I18n,
    bot: Bot,
    session: AsyncSession,
    settings: Settings,
) -> None:
    chosen = onboarding.parse_checkin_time(message.text or "")
    if user is None:
        return
    if chosen is None:
        await message.answer(
            _("Please send a time of day like 08:00 or 19:30, or tap one of the times above.")
        )
        return
    await _finish(message, user, state, chosen, i18n, bot, session, settings)


async def _finish(
    message: Message,
    user: User,
    state: FSMContext,
    chosen: dt.time,
    i18n: I18n,
    bot: Bot,
    session: AsyncSession,
    settings: Settings,
) -> None:
    zone = (await state.get_data()).get("zone")
    if not zone:  # the state lost its zone: ask again rather than guess
        await state.set_state(Onboarding.timezone)
        await ask_zone(message, user)
        return
    onboarding.finish(user, zone, chosen)
    await reminders.schedule_new_person(session, user, settings)  # the promised daily check-in
    after = (await state.get_data()).get("after")
    await state.clear()
    await set_person_menu(bot, i18n, user)
    planner = user.role in crisis_plan.PLANNERS
    await message.answer(
        _("All set! I'll check in with you every day at {time} ({zone}).").format(
            time=chosen.strftime("%H:%M"), zone=timezones.city_name(zone, user.locale)
        )
        + "\n\n"
        + welcome_for_role(user)
        + ("\n\n" + crisis.keyboard_hint() if planner else ""),
        reply_markup=crisis_keyboard() if planner else None,  # the 🆘 button stays
    )
    await _follow(message, state, user, after, session, settings)


async def _follow(
    message: Message,
    state: FSMContext,
    user: User,
    after: str | None,
    session: AsyncSession,
    settings: Settings,
) -> None:
    """The group link they came with, now that they are set up."""
    link = group_rules.read_link(after)
    if link is not None:
        await group_checkin.follow_link(message, state, user, link, session, settings)


async def _finish_staff(
    message: Message,
    user: User,
    state: FSMContext,
    zone: str,
    i18n: I18n,
    bot: Bot,
    session: AsyncSession,
    settings: Settings,
) -> None:
    """Supervisors and admins: their zone is enough (alert times, staffed hours)."""
    onboarding.finish(user, zone, onboarding.DEFAULT_CHECKIN)  # never used: no reminders
    after = (await state.get_data()).get("after")
    await state.clear()
    await set_person_menu(bot, i18n, user)
    await message.answer(
        _("All set! Your time zone: {zone}.").format(zone=timezones.city_name(zone, user.locale))
        + "\n\n"
        + welcome_for_role(user)
    )
    await _follow(message, state, user, after, session, settings)


def welcome_for_role(user: User) -> str:
    if user.role == "mentee":
        return _(
            "Next, /profile: a few taps about your goals and how you like to talk, so we can "
            "introduce you to a mentor who is a good fit. Meanwhile, /log records your day in "
            "under a minute. /help lists everything."
        )
    joined = _("You joined as a {role}. /help lists what you can do.").format(
        role=texts.role_name(user.role)
    )
    if user.role == "mentor":
        offer = _(
            "Next, /profile: a few taps about what you can offer and how you like to talk, so "
            "we can introduce you to mentees you'd be a good fit for."
        )
        return joined + "\n\n" + offer
    if user.role == "supervisor":
        return (
            joined
            + "\n\n"
            + _(
                "Next, /oncall takes a shift: while you are on call, alerts come to you here as "
                "well as to the supervisors' group."
            )
        )
    return joined


async def ask_again(message: Message, state: FSMContext, user: User | None) -> None:
    """Anything but the expected answer during onboarding: say so and ask the same question."""
    current = await state.get_state()
    if current == Onboarding.timezone.state and user is not None:
        await message.answer(_("I can only read a typed place name here."))
        await ask_zone(message, user)
    elif current == Onboarding.checkin_time.state:
        await message.answer(
            _("Please send a time of day like 08:00 or 19:30, or tap one of the times above.")
        )
    else:
        await message.answer(
            _("Please tap one of the buttons above to continue, or send /cancel to stop.")
        )


async def _remove_buttons(query: CallbackQuery) -> None:
    if isinstance(query.message, Message):
        await retire_buttons(query.bot, query.message.chat.id, query.message.message_id)
