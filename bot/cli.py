"""The `peerbot` command line: run the bot, migrate, invite people, bootstrap roles."""

from __future__ import annotations

import argparse
import asyncio
import html
import logging
import os
import re
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import resources_cli, rota_cli, screening_cli
from bot.settings import Settings
from flows.screening import use_model
from storage import alerts, crypto, invites, keys, oncall, users
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade
from storage.models import Role

NO_TOKEN = """\
peerbot needs a Telegram bot token to run, and BOT_TOKEN is not set.

  1. In Telegram, open a chat with @BotFather (https://t.me/BotFather).
  2. Send /newbot and follow the two questions (a name, then a username ending in "bot").
  3. BotFather answers with a token like 123456789:AAE...; put it in the environment
     (export BOT_TOKEN=...) or in a file named .env beside where you run peerbot
     (a line BOT_TOKEN=...), then run `peerbot run` again.
"""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = Settings()
    try:
        return int(args.handler(settings, args) or 0)
    except BrokenPipeError:
        # The reader went away (`peerbot screening eval … | head`): stop quietly, and
        # point stdout at nothing so the interpreter's own flush at exit cannot fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="peerbot", description="Peer-mentorship programs on Telegram."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run", help="run the bot (long polling); applies pending migrations first"
    )
    run.set_defaults(handler=_run)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply pending migrations").set_defaults(
        handler=_db_upgrade
    )

    invite = commands.add_parser("invite", help="create an invite link for a role")
    invite.add_argument("--role", required=True, choices=[r.value for r in Role])
    invite.add_argument(
        "--uses", type=int, default=1, help="how many people can use it (default 1)"
    )
    invite.add_argument(
        "--expires", type=_positive, metavar="DAYS", help="expire after this many days"
    )
    invite.set_defaults(handler=_invite)

    roles = commands.add_parser("roles", help="give or take roles by Telegram user id")
    role_commands = roles.add_subparsers(required=True, metavar="ACTION")
    add = role_commands.add_parser("add", help="give a person a role (they then send /start)")
    add.add_argument("telegram_id", type=int)
    add.add_argument("role", choices=[r.value for r in Role])
    add.set_defaults(handler=_roles_add)
    remove = role_commands.add_parser("remove", help="make a person a mentee again")
    remove.add_argument("telegram_id", type=int)
    remove.set_defaults(handler=_roles_remove)
    role_commands.add_parser("list", help="list everyone who is not a mentee").set_defaults(
        handler=_roles_list
    )

    shifts = commands.add_parser("oncall", help="who is on call for crisis alerts")
    shift_commands = shifts.add_subparsers(required=True, metavar="ACTION")
    take = shift_commands.add_parser("set", help="put a supervisor on call (hands over the shift)")
    take.add_argument("telegram_id", type=int)
    take.add_argument("--backup", action="store_true", help="as a backup instead of the primary")
    take.set_defaults(handler=_oncall_set)
    stop = shift_commands.add_parser("end", help="end a supervisor's shift")
    stop.add_argument("telegram_id", type=int)
    stop.set_defaults(handler=_oncall_end)
    shift_commands.add_parser("list", help="who is on call now").set_defaults(handler=_oncall_list)
    rota_cli.add_commands(shift_commands)

    key_commands = commands.add_parser("keys", help="encryption keys").add_subparsers(
        required=True, metavar="ACTION"
    )
    key_commands.add_parser(
        "check", help="do the configured keys open all stored text?"
    ).set_defaults(handler=_keys_check)
    key_commands.add_parser(
        "rotate", help="re-encrypt everything under the first key of ENCRYPTION_KEY"
    ).set_defaults(handler=_keys_rotate)
    commands.add_parser("status", help="alerts, on-call, delivery and channel health").set_defaults(
        handler=_status
    )
    lexicon = commands.add_parser("lexicon", help="crisis lexicon maintenance")
    lexicon_commands = lexicon.add_subparsers(required=True, metavar="ACTION")
    review = lexicon_commands.add_parser(
        "review", help="false alarms and missed messages labelled by supervisors, per language"
    )
    review.add_argument("--language", help="only this language")
    review.set_defaults(handler=_lexicon_review)
    _add_report_commands(commands)
    _add_match_commands(commands)
    screening_cli.add_commands(commands)
    resources_cli.add_commands(commands)
    return parser


def _add_report_commands(commands: Any) -> None:
    report = commands.add_parser("report", help="reports for the program's administration")
    report_commands = report.add_subparsers(required=True, metavar="REPORT")
    hours = report_commands.add_parser(
        "hours",
        help="mentor hours per month from session notes, as CSV (for stipends)",
        description="Sessions, minutes and hours per mentor for one calendar month, from the "
        "date and duration of each session note. Columns: month, mentor_pseudonym, "
        "mentor_name, telegram_id, sessions, minutes, hours.",
    )
    hours.add_argument(
        "--month",
        type=_month,
        metavar="YYYY-MM",
        help="the month to report (default: the last full month, the one stipends are paid for)",
    )
    hours.add_argument("--out", metavar="FILE", help="write the CSV to FILE instead of stdout")
    hours.set_defaults(handler=_report_hours)


ANOTHER_POLLER = """\
Another peerbot is already polling Telegram with this database{holder}.
Telegram hands each update to one poller, and a running bot remembers the conversations
it handles, so two would break people's conversations halfway. Stop the other one first,
or give this one a database (DATABASE_URL) and a bot token (BOT_TOKEN) of its own.
The command line (peerbot status, roles, match, …) works beside a running bot."""

KEYS_DO_NOT_OPEN = """\
peerbot will not start: stored text exists that none of the configured encryption keys
opens ({columns}). Starting anyway would fail everyone whose data it cannot read.

  - If data/peerbot.key (or ENCRYPTION_KEY) was lost or replaced, put the original key
    back from your backup and start again.
  - If you are rotating keys, configure the new key first and the old one after it
    (ENCRYPTION_KEY=new,old), run `peerbot keys rotate`, and only then drop the old key.
  - `peerbot keys check` tells whether the configured keys open everything."""


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 days (leave it out for no expiry)")
    return value


def _run(settings: Settings, args: argparse.Namespace) -> int:
    if settings.bot_token is None or not settings.bot_token.get_secret_value().strip():
        print(NO_TOKEN, file=sys.stderr)
        return 2
    from bot.app import KeysDoNotOpen, SecondPoller, run_polling

    try:
        asyncio.run(run_polling(settings, settings.bot_token.get_secret_value().strip()))
    except SecondPoller as error:
        print(ANOTHER_POLLER.format(holder=f" {error}" if str(error) else ""), file=sys.stderr)
        return 3
    except KeysDoNotOpen as error:
        print(KEYS_DO_NOT_OPEN.format(columns=error), file=sys.stderr)
        return 4
    return 0


def _keys_check(settings: Settings, args: argparse.Namespace) -> int:
    async def check(session: AsyncSession) -> list[str]:
        return await keys.unreadable(session, crypto.cipher())

    closed = _with_session(settings, check)
    if closed:
        print(KEYS_DO_NOT_OPEN.format(columns=", ".join(closed)), file=sys.stderr)
        return 1
    print("the configured keys open all stored text")
    return 0


def _keys_rotate(settings: Settings, args: argparse.Namespace) -> int:
    async def rotate(session: AsyncSession) -> int:
        return await keys.rotate(session, crypto.cipher())

    try:
        count = _with_session(settings, rotate)
    except ValueError as error:
        print(
            f"nothing rotated: {error}. Configure the key it was written with too.", file=sys.stderr
        )
        return 1
    print(
        f"{count} stored values are now encrypted under the first key; the others can be "
        "dropped from ENCRYPTION_KEY (keep a backup of them until you have checked)."
    )
    return 0


def _db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    upgrade(settings.resolved_database_url)
    print("database is up to date")
    return 0


def _invite(settings: Settings, args: argparse.Namespace) -> int:
    async def create(session: AsyncSession) -> str:
        invite = await invites.create(
            session, Role(args.role), uses=args.uses, expires_in_days=args.expires
        )
        return invite.code

    code = _with_session(settings, create)
    username = settings.bot_username or _ask_username(settings)
    print(f"https://t.me/{username or '<your_bot_username>'}?start={code}")
    if not username:
        print("(set BOT_USERNAME, or BOT_TOKEN, to get the bot's name filled in)", file=sys.stderr)
    return 0


def _roles_add(settings: Settings, args: argparse.Namespace) -> int:
    async def add(session: AsyncSession) -> str:
        user = await users.get_by_telegram_id(session, args.telegram_id)
        if user is None:
            from flows.onboarding import new_pseudonym

            user = await users.create(
                session,
                telegram_id=args.telegram_id,
                locale=settings.default_locale,
                pseudonym=new_pseudonym(),
                role=Role(args.role),
            )
        user.role = args.role
        return f"{args.telegram_id} is now {args.role}" + (
            "" if user.is_onboarded else " (they should send /start)"
        )

    print(_with_session(settings, add))
    return 0


def _roles_remove(settings: Settings, args: argparse.Namespace) -> int:
    async def remove(session: AsyncSession) -> str:
        user = await users.get_by_telegram_id(session, args.telegram_id)
        if user is None:
            return f"no person with Telegram id {args.telegram_id}"
        user.role = Role.MENTEE
        return f"{args.telegram_id} is a mentee again"

    print(_with_session(settings, remove))
    return 0


def _roles_list(settings: Settings, args: argparse.Namespace) -> int:
    async def listing(session: AsyncSession) -> str:
        staff = await users.list_with_roles(session, [Role.ADMIN, Role.SUPERVISOR, Role.MENTOR])
        rows = [
            f"{u.telegram_id}\t{u.role}\t{u.pseudonym}\t{'onboarded' if u.is_onboarded else 'invited'}"
            for u in staff
        ]
        return "\n".join(rows) or "nobody has a role other than mentee yet"

    print(_with_session(settings, listing))
    return 0


def _with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    """Run one unit of work against the (migrated) database and commit it."""
    from bot.app import configure_encryption

    configure_encryption(settings)
    upgrade(settings.resolved_database_url)

    async def go() -> Any:
        engine = create_engine(settings.resolved_database_url)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _ask_username(settings: Settings) -> str | None:
    if settings.bot_token is None:
        return None
    from bot.app import build_bot

    async def ask() -> str | None:
        bot = build_bot(settings, settings.bot_token.get_secret_value())
        try:
            return (await bot.get_me()).username
        except Exception:  # offline or a wrong token: the code is still printed
            return None
        finally:
            await bot.session.close()

    return asyncio.run(ask())


def _oncall_set(settings: Settings, args: argparse.Namespace) -> int:
    async def put_on_call(session: AsyncSession) -> str | None:
        person = await users.get_by_telegram_id(session, args.telegram_id)
        if person is None or person.role != Role.SUPERVISOR:
            return None
        await oncall.take(session, person, oncall.BACKUP if args.backup else oncall.PRIMARY)
        alerts.audit(
            session,
            "shift_backup" if args.backup else "shift_primary",
            actor=args.telegram_id,
            detail="cli",
        )
        return f"{args.telegram_id} is on call" + (" as a backup" if args.backup else "")

    done = _with_session(settings, put_on_call)
    if done is None:
        print(
            f"{args.telegram_id} is not a supervisor: nobody was put on call "
            f"(peerbot roles add {args.telegram_id} supervisor)",
            file=sys.stderr,
        )
        return 1
    print(done)
    return 0


def _oncall_end(settings: Settings, args: argparse.Namespace) -> int:
    async def end_shift(session: AsyncSession) -> str | None:
        person = await users.get_by_telegram_id(session, args.telegram_id)
        if person is None or not await oncall.end(session, person):
            return None
        alerts.audit(session, "shift_end", actor=args.telegram_id, detail="cli")
        return f"{args.telegram_id} is off call"

    done = _with_session(settings, end_shift)
    if done is None:
        print(f"{args.telegram_id} was not on call", file=sys.stderr)
        return 1
    print(done)
    return 0


def _oncall_list(settings: Settings, args: argparse.Namespace) -> int:
    async def listing(session: AsyncSession) -> str:
        primary, backups = await oncall.on_call(session)
        lines = [
            f"primary\t{primary.telegram_id}\t{primary.pseudonym}" if primary else "primary\tnobody"
        ]
        lines += [f"backup\t{b.telegram_id}\t{b.pseudonym}" for b in backups]
        return "\n".join(lines)

    print(_with_session(settings, listing))
    return 0


def _status(settings: Settings, args: argparse.Namespace) -> int:
    from aiogram.utils.i18n import I18n

    from bot.i18n import create_i18n
    from handlers.alerts import status_text

    async def report(session: AsyncSession) -> str:
        i18n: I18n = create_i18n(settings.default_locale)
        with i18n.context():
            text = await status_text(session, settings)
        # the Telegram reply's HTML, read as a terminal shows text
        return html.unescape(re.sub(r"</?b>", "", text))

    use_model(settings.screening_model)
    text = _with_session(settings, report)
    print(text)
    return 1 if "⚠️" in text else 0


def _month(text: str) -> Any:
    from flows.reports import parse_month

    try:
        return parse_month(text)
    except ValueError:
        raise argparse.ArgumentTypeError("use YYYY-MM, for example 2026-11") from None


def _report_hours(settings: Settings, args: argparse.Namespace) -> int:
    import datetime as dt

    from flows import reports

    month = args.month or reports.previous_month(dt.date.today())

    async def hours(session: AsyncSession) -> str:
        return reports.to_csv(await reports.hours_by_month(session, month))

    text = _with_session(settings, hours)
    if args.out:
        with open(args.out, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        print(f"mentor hours for {month:%Y-%m} written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _lexicon_review(settings: Settings, args: argparse.Namespace) -> int:
    async def review(session: AsyncSession) -> str:
        examples = await alerts.labelled(session, args.language)
        if not examples:
            return "no labelled examples yet"
        lines = []
        for example in examples:
            rule = example.rule or "-"
            lines.append(f"{example.language}\t{example.label}\t{rule}\t{example.text}")
        return "\n".join(lines)

    print(_with_session(settings, review))
    return 0


def _add_match_commands(commands: Any) -> None:
    match = commands.add_parser("match", help="mentees waiting for a mentor; confirming a match")
    match_commands = match.add_subparsers(required=True, metavar="ACTION")
    match_commands.add_parser(
        "suggest", help="each waiting mentee with the best-fitting mentors, and why"
    ).set_defaults(handler=_match_suggest)
    confirm = match_commands.add_parser(
        "confirm",
        help="match a mentee with a mentor (Telegram ids); the running bot sends both an "
        "introduction",
    )
    confirm.add_argument("mentee_id", type=int, metavar="MENTEE_ID")
    confirm.add_argument("mentor_id", type=int, metavar="MENTOR_ID")
    confirm.set_defaults(handler=_match_confirm)


def _match_suggest(settings: Settings, args: argparse.Namespace) -> int:
    from bot.i18n import create_i18n
    from flows import matching
    from handlers.matching import explain

    def who(person: Any) -> str:
        name = f" ({person.display_name})" if person.display_name else ""
        return f"{person.telegram_id}\t{person.pseudonym}{name}"

    async def suggest(session: AsyncSession) -> str:
        lines = []
        with create_i18n(settings.default_locale).context():
            for entry in await matching.queue(session):
                lines.append(f"mentee\t{who(entry.mentee)}\twaiting since {entry.since:%Y-%m-%d}")
                if entry.preferences:
                    lines.append(f"  anything else: {entry.preferences}")
                for mentor, suggestion in entry.suggestions:
                    lines.append(
                        f"  mentor\t{who(mentor)}\tscore {suggestion.score:g}\t"
                        + explain(suggestion.reasons)
                    )
                if not entry.suggestions:
                    lines.append("  no mentor fits yet (a shared language and a free place)")
        return "\n".join(lines) or "nobody is waiting for a mentor"

    print(_with_session(settings, suggest))
    return 0


def _match_confirm(settings: Settings, args: argparse.Namespace) -> int:
    from bot.i18n import create_i18n
    from flows import matching
    from handlers.matching import REFUSALS, confirm_match

    async def confirm(session: AsyncSession) -> tuple[bool, str]:
        mentee = await users.get_by_telegram_id(session, args.mentee_id)
        mentor = await users.get_by_telegram_id(session, args.mentor_id)
        if mentee is None or mentor is None:
            return False, "no person with that Telegram id (mentee or mentor)"
        i18n = create_i18n(settings.default_locale)
        with i18n.context():
            try:
                done = await confirm_match(
                    session,
                    settings,
                    i18n,
                    mentee_id=mentee.id,
                    mentor_id=mentor.id,
                    confirmed_by=None,
                )
            except matching.Refused as refused:
                return False, str(REFUSALS[refused.why])
        return True, (
            f"matched {mentee.pseudonym} with {mentor.pseudonym} (match {done.match.id}); "
            "the running bot sends both their introduction"
        )

    ok, text = _with_session(settings, confirm)
    print(text, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1
