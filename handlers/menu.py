"""The commands of each role: one table for the Telegram command menu and for /help."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n.lazy_proxy import LazyProxy

from flows.languages import SUPPORTED
from storage.models import Role, User

log = logging.getLogger(__name__)

EVERYONE = frozenset(Role)
LOGGERS = frozenset({Role.MENTEE, Role.MENTOR})
STAFF = frozenset({Role.SUPERVISOR, Role.ADMIN})


@dataclass(frozen=True)
class Command:
    name: str
    description: LazyProxy
    roles: frozenset[Role]


MENTEES = frozenset({Role.MENTEE})
MENTORS = frozenset({Role.MENTOR})

COMMANDS = (
    Command("crisis", __("Help in a crisis: who to call, and your plan"), EVERYONE),
    Command("crisisplan", __("Write or change your crisis plan"), LOGGERS),
    Command("log", __("Log today's symptoms and pacing"), LOGGERS),
    Command("today", __("Show today's log"), LOGGERS),
    Command("history", __("Your last 7 days"), LOGGERS),
    Command("trends", __("A chart of your last 4 weeks"), LOGGERS),
    Command("measures", __("Your weekly questions: on or off"), MENTEES),
    Command("mentor", __("Talk to your mentor through me"), MENTEES),
    Command("mentees", __("Your mentees and how they are doing"), MENTORS),
    Command("reachout", __("Write to a mentee through me"), MENTORS),
    Command("end", __("End the conversation you are in"), LOGGERS),
    Command("note", __("Write a note about a session"), MENTORS),
    Command("reminders", __("Your check-in reminder: time, pause, resume"), LOGGERS),
    Command("profile", __("Your goals and preferences, for matching"), LOGGERS),
    Command("rematch", __("Ask for a different match, privately"), LOGGERS),
    Command(
        "graduate",
        __("Mark the mentoring as done, when you're ready"),
        frozenset({Role.MENTEE, Role.MENTOR, Role.ADMIN}),
    ),
    Command("match", __("Mentees waiting, and suggested mentors"), STAFF),
    Command("review", __("Flagged notes and boundary flags to review"), STAFF),
    Command("alerts", __("Open crisis alerts"), STAFF),
    Command(
        "oncall", __("Who is on call; take or hand over the shift"), frozenset({Role.SUPERVISOR})
    ),
    Command("status", __("Alerts, on-call and delivery at a glance"), STAFF),
    Command(
        "missed", __("Report a message that should have alerted"), frozenset({Role.SUPERVISOR})
    ),
    Command("resources", __("Support near you: associations, helplines, forums"), EVERYONE),
    Command(
        "event",
        __("Plan a walk, workshop or meet-up for your group"),
        frozenset({Role.MENTOR, Role.ADMIN}),
    ),
    Command("events", __("Your groups' coming events"), EVERYONE),
    Command("language", __("Change the language"), EVERYONE),
    Command("privacy", __("What is stored, and how to export or delete it"), EVERYONE),
    Command("help", __("What I can do for you"), EVERYONE),
    Command("cancel", __("Stop what we are doing"), EVERYONE),
)


def declare(command: Command) -> None:
    """A command a feature brings (a questionnaire's, handlers/questionnaire.py): added to
    the menu and /help. A name already taken is refused: one of the two would never run."""
    global COMMANDS
    if any(c is command for c in COMMANDS):  # (lazy descriptions do not compare)
        return
    if command_named(command.name) is not None or command.name in NEWCOMER_COMMANDS:
        raise ValueError(f"the command /{command.name} is declared twice")
    COMMANDS = (*COMMANDS, command)


def forget(command: Command) -> None:
    """Take a declared command out again (a test's own, when the test ends)."""
    global COMMANDS
    COMMANDS = tuple(c for c in COMMANDS if c is not command)


def role_bound() -> tuple[str, ...]:
    """The commands a role is needed for, declared ones included."""
    return tuple(c.name for c in COMMANDS if c.roles != EVERYONE)


NEWCOMER_COMMANDS = ("start", "crisis", "help", "resources", "language")


def command_named(name: str) -> Command | None:
    return next((command for command in COMMANDS if command.name == name), None)


def commands_for(role: Role | str) -> list[Command]:
    return [command for command in COMMANDS if role in command.roles]


def _menu(i18n: I18n, locale: str, role: Role | str) -> list[BotCommand]:
    with i18n.context(), i18n.use_locale(locale):
        return [
            BotCommand(command=c.name, description=str(c.description)) for c in commands_for(role)
        ]


async def set_default_menus(bot: Bot, i18n: I18n) -> None:
    """What people see before their first /start, per Telegram app language."""
    for language_code, locale in [(code, code) for code in SUPPORTED] + [
        (None, i18n.default_locale)
    ]:
        with i18n.context(), i18n.use_locale(locale):
            commands = [BotCommand(command="start", description=str(__("Begin, or start over")))]
            commands += [
                BotCommand(command=c.name, description=str(c.description))
                for c in COMMANDS
                if c.name in NEWCOMER_COMMANDS
            ]
        await bot.set_my_commands(commands, BotCommandScopeDefault(), language_code=language_code)


async def set_person_menu(bot: Bot, i18n: I18n, user: User) -> None:
    """The person's own menu: their role's commands in the language they chose."""
    try:
        await bot.set_my_commands(
            _menu(i18n, user.locale, user.role), BotCommandScopeChat(chat_id=user.telegram_id)
        )
    except TelegramAPIError as error:  # a menu is a convenience; never fail the update for it
        log.warning("could not set the command menu for user %s: %s", user.id, type(error).__name__)
