"""`peerbot oncall rota set FILE | show | clear`: the weekly on-call rota.

The file's format is in ``flows.rota``. ``set`` checks every line (the format, overlaps,
and that each Telegram id belongs to a supervisor), stores the rota in place of the old
one, and hands the shift under way over at once; the running bot then hands over at
every boundary and reminds the incoming supervisors ``REMIND_BEFORE``.
"""

from __future__ import annotations

import argparse
import sys
import zoneinfo
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import rota as rota_flow
from storage import alerts, oncall, schedules, users
from storage import rota as rota_store
from storage.models import Role, User, utcnow

SHOWN = "%a %Y-%m-%d %H:%M"


def add_commands(shift_commands: Any) -> None:
    rota = shift_commands.add_parser(
        "rota",
        help="the weekly on-call rota: the bot hands over the shift at each boundary",
        description=rota_flow.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = rota.add_subparsers(required=True, metavar="ACTION")
    put = actions.add_parser("set", help="replace the rota with the one in FILE")
    put.add_argument("file", type=Path, metavar="FILE")
    put.set_defaults(handler=rota_set)
    actions.add_parser("show", help="this week's shifts and who is on call now").set_defaults(
        handler=rota_show
    )
    actions.add_parser("clear", help="remove the rota (nobody's shift is ended)").set_defaults(
        handler=rota_clear
    )


def rota_set(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli import _with_session

    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        print(f"{args.file}: cannot be read ({type(error).__name__})", file=sys.stderr)
        return 1
    try:
        rota = rota_flow.parse(text)
    except rota_flow.RotaError as error:
        print(f"{args.file}: {error}; the rota was not changed", file=sys.stderr)
        return 1

    async def store(session: AsyncSession) -> tuple[list[str], list[str]]:
        ids, problems, warnings = await _supervisors(session, rota)
        if problems:
            return problems, warnings
        stored = rota.with_people(ids)
        await rota_store.replace(session, rota_flow.to_rows(stored))
        now = utcnow()
        summary = await _hand_over_now(session, settings, stored, now)
        alerts.audit(session, "rota_set", detail=f"{len(rota.slots)} shifts, {rota.zone}")
        return [], [*warnings, *summary]

    problems, said = _with_session(settings, store)
    if problems:
        for problem in problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        print("The rota was not changed.", file=sys.stderr)
        return 1
    print(f"Rota set: {len(rota.slots)} weekly shifts, times in {rota.zone}.")
    for line in said:
        print(line)
    print(
        "The running bot hands over at each start and end, and reminds the incoming "
        f"supervisors {int(rota_flow.REMIND_BEFORE.total_seconds() // 60)} minutes before."
    )
    return 0


async def _supervisors(
    session: AsyncSession, rota: rota_flow.Rota
) -> tuple[dict[int, int], list[str], list[str]]:
    """users.id of every Telegram id in the rota, and each line naming someone who is not a
    supervisor (every such line, not only the first)."""
    ids: dict[int, int] = {}
    problems, warnings = [], []
    lines: dict[int, list[tuple[int, str]]] = {}
    for slot in rota.slots:
        people = [(slot.primary, "primary"), *([(slot.backup, "backup")] if slot.backup else [])]
        lines.setdefault(slot.line, people)
    for line, people in sorted(lines.items()):
        for telegram_id, part in people:
            person = await users.get_by_telegram_id(session, telegram_id)
            if person is None:
                problems.append(
                    f"line {line}: nobody with Telegram id {telegram_id} ({part}) is known to "
                    f"the bot (peerbot roles add {telegram_id} supervisor, then they send /start)"
                )
            elif person.role != Role.SUPERVISOR:
                problems.append(
                    f"line {line}: {telegram_id} ({part}) is not a supervisor but a "
                    f"{person.role} (peerbot roles add {telegram_id} supervisor)"
                )
            else:
                ids[telegram_id] = person.id
                if not person.is_onboarded:
                    warning = (
                        f"note: {telegram_id} has not finished /start with the bot yet: "
                        "it cannot remind them until they do"
                    )
                    if warning not in warnings:
                        warnings.append(warning)
    return ids, problems, warnings


async def _hand_over_now(
    session: AsyncSession, settings: Settings, rota: rota_flow.Rota, now: Any
) -> list[str]:
    """The shift under way (if any) takes over now, and the bot's tick is set for the next
    event. Between shifts, whoever is on call stays until the next boundary."""
    from bot.i18n import create_i18n
    from handlers.oncall import remind, schedule_next, tell_hand_over

    said = []
    i18n = create_i18n(settings.default_locale)
    if rota_flow.covering(rota, now) is not None:
        with i18n.context():
            change = await rota_flow.hand_over(session, rota, now)
            await tell_hand_over(session, i18n, rota, change, now)
        said.append("On call now, by the rota: " + await _who(session, change.primary))
    else:
        primary, _backups = await oncall.on_call(session)
        said.append(
            "No shift of the rota is under way now; on call until the next one starts: "
            + await _who(session, primary)
        )
    # A shift starting sooner than the reminder's lead gets its reminder now.
    for shift in rota_flow.shifts_around(rota, now, 1):
        if now < shift.start <= now + rota_flow.REMIND_BEFORE:
            with i18n.context():
                await remind(session, i18n, rota, shift, now)
    await schedule_next(session, rota, now)
    return said


async def _who(session: AsyncSession, person: User | None) -> str:
    return f"{person.telegram_id} ({person.pseudonym})" if person else "nobody"


def rota_show(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli import _with_session

    async def show(session: AsyncSession) -> str:
        rota = await rota_flow.load(session)
        if rota is None:
            return "No rota (peerbot oncall rota set FILE)."
        now = utcnow()
        zone = zoneinfo.ZoneInfo(rota.zone)
        people = {
            p.id: p for p in [await session.get(User, i) for i in rota.people()] if p is not None
        }

        def name(user_id: int | None) -> str:
            person = people.get(user_id) if user_id is not None else None
            return f"{person.telegram_id} ({person.pseudonym})" if person else "-"

        current = rota_flow.covering(rota, now)
        lines = [f"This week's shifts, times in {rota.zone}:"]
        for shift in rota_flow.this_week(rota, now):
            mark = "  <- now" if current is not None and shift == current else ""
            lines.append(
                f"  {shift.start.astimezone(zone):{SHOWN}} - "
                f"{shift.end.astimezone(zone):%a %H:%M}  primary {name(shift.slot.primary)}  "
                f"backup {name(shift.slot.backup)}{mark}"
            )
        rota_primary = current.slot.primary if current else None
        lines.append(
            "By the rota now: " + (name(rota_primary) if current else "nobody (between shifts)")
        )
        primary, backups = await oncall.on_call(session)
        lines.append(
            f"On call now: {await _who(session, primary)}"
            + (f"; backups: {', '.join(str(b.telegram_id) for b in backups)}" if backups else "")
        )
        upcoming = rota_flow.next_boundary(rota, now)
        if (primary.id if primary else None) != rota_primary and upcoming is not None:
            lines.append(
                "Not as the rota says (taken or ended by hand, /oncall): the rota takes over "
                f"again at {upcoming.astimezone(zone):{SHOWN}}."
            )
        if upcoming is not None:
            after = rota_flow.covering(rota, upcoming)
            lines.append(
                f"Next hand-over: {upcoming.astimezone(zone):{SHOWN}} to "
                + (name(after.slot.primary) if after else "nobody (a gap in the rota)")
            )
        return "\n".join(lines)

    print(_with_session(settings, show))
    return 0


def rota_clear(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli import _with_session

    async def clear(session: AsyncSession) -> int:
        removed = await rota_store.clear(session)
        await schedules.forget(session, rota_flow.KIND, [0])
        if removed:
            alerts.audit(session, "rota_cleared", detail=f"{removed} shifts")
        return removed

    removed = _with_session(settings, clear)
    if not removed:
        print("There was no rota.")
        return 0
    print(
        f"Rota cleared ({removed} weekly shifts). Whoever is on call stays on call until "
        "they end their shift (/oncall, or peerbot oncall end ID)."
    )
    return 0
