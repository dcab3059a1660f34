"""Who is on call: /oncall and its buttons, and the weekly rota's hand-overs (a tick).

/oncall offers only what fits the presser: on call as primary, "End my shift" and "Switch
to backup"; a backup, "Take primary" and "End my shift"; not on call, "Take primary" and
"Take backup", with who holds them now. Each button carries the state it was offered in
(who was primary, what the presser was); a press re-reads the role and the shifts, and a
button from a state that has changed since answers with how it stands now instead of
acting on what it no longer means.

The rota (``flows.rota``, set with ``peerbot oncall rota set``) is one ``schedules`` row
(kind ``rota``) due at its next event: ``REMIND_BEFORE`` a shift, the incoming
supervisors are reminded (in their language, with the open cases); at each boundary the
on-call becomes what the rota says and whoever's shift began or ended is told.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import zoneinfo
from html import escape

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_datetime
from sqlalchemy.ext.asyncio import AsyncSession

from flows import rota as rota_flow
from handlers.due import Tick, handles
from handlers.filters import PRIVATE, HasRole
from handlers.keyboards import button, rows
from storage import alerts, oncall, outbox, schedules, users
from storage.models import Role, User, utcnow
from storage.schedules import Due

log = logging.getLogger(__name__)

NOT_ON_CALL = "none"
SUBJECT = 0  # the rota's one schedules row


class ShiftAction(CallbackData, prefix="shift"):
    action: str  # "primary" | "backup" | "end" | "to_backup"
    primary: int = -1  # users.id of the primary when the button was offered (0: nobody)
    mine: str = ""  # what the presser was then: "primary" | "backup" | "none"


# What each part may do: a button that would do nothing is never offered, nor honoured.
OFFERED = {
    oncall.PRIMARY: ("end", "to_backup"),
    oncall.BACKUP: ("primary", "end"),
    NOT_ON_CALL: ("primary", "backup"),
}


def router() -> Router:
    r = Router(name="oncall")
    supervisor = HasRole(Role.SUPERVISOR, fresh=True)
    r.message.register(show_oncall, Command("oncall"), PRIVATE, supervisor)
    r.callback_query.register(shift_pressed, ShiftAction.filter())
    return r


# ----- /oncall ------------------------------------------------------------------------------


async def _state(session: AsyncSession, user: User) -> tuple[User | None, list[User], str]:
    primary, backups = await oncall.on_call(session)
    if primary is not None and primary.id == user.id:
        mine = oncall.PRIMARY
    elif any(b.id == user.id for b in backups):
        mine = oncall.BACKUP
    else:
        mine = NOT_ON_CALL
    return primary, backups, mine


async def oncall_view(session: AsyncSession, user: User) -> tuple[str, InlineKeyboardMarkup]:
    """/oncall as ``user`` sees it now: who holds what, the rota's next hand-over, and the
    buttons that fit them."""
    primary, backups, mine = await _state(session, user)
    lines = [
        _("On call now: {primary}").format(
            primary=escape(primary.known_as) if primary else _("nobody")
        ),
        _("Backups: {backups}").format(
            backups=", ".join(escape(b.known_as) for b in backups) or _("nobody")
        ),
    ]
    if primary is None:
        lines.append(_("With nobody on call, alerts go to every supervisor."))
    rota_line = await _rota_line(session, user)
    if rota_line:
        lines.append(rota_line)
    lines.append(
        {
            oncall.PRIMARY: _("You are on call: alerts come to you here first."),
            oncall.BACKUP: _(
                "You are a backup: alerts come to you when the primary does not "
                "acknowledge in time."
            ),
            NOT_ON_CALL: _("You are not on call."),
        }[mine]
    )
    seen = primary.id if primary else 0
    labels = {
        "primary": _("Take primary"),
        "backup": _("Take backup"),
        "end": _("End my shift"),
        "to_backup": _("Switch to backup"),
    }
    markup = rows(
        [
            button(labels[action], ShiftAction(action=action, primary=seen, mine=mine))
            for action in OFFERED[mine]
        ],
        1,
    )
    return "\n".join(lines), markup


async def _rota_line(session: AsyncSession, user: User) -> str | None:
    rota = await rota_flow.load(session)
    if rota is None:
        return None
    now = utcnow()
    upcoming = rota_flow.next_boundary(rota, now)
    if upcoming is None:
        return None
    after = rota_flow.covering(rota, upcoming)
    incoming = await session.get(User, after.slot.primary) if after else None
    return _("Rota: next hand-over {when} to {person}.").format(
        when=when_for(user, upcoming, rota.zone, weekday=True),
        person=escape(incoming.known_as) if incoming else _("nobody (a gap in the rota)"),
    )


def when_for(person: User, at: dt.datetime, fallback_zone: str, *, weekday: bool = False) -> str:
    """``at`` as ``person`` reads it: their zone (else the rota's), their language."""
    zone_name = person.timezone or fallback_zone
    zone = zoneinfo.ZoneInfo(zone_name)
    pattern = "EEE HH:mm" if weekday else "HH:mm"
    shown = format_datetime(at, pattern, tzinfo=zone, locale=person.locale)
    return f"{shown} ({zone_name})"


async def show_oncall(message: Message, user: User, session: AsyncSession) -> None:
    text, markup = await oncall_view(session, user)
    await message.answer(text, reply_markup=markup)


async def shift_pressed(
    query: CallbackQuery,
    callback_data: ShiftAction,
    user: User | None,
    session: AsyncSession,
    i18n: I18n,
) -> None:
    if user is not None:
        await users.refresh_role(session, user)  # not what the bot remembers: as stored now
    if user is None or user.role != Role.SUPERVISOR or not user.is_onboarded:
        await query.answer(_("Only supervisors can use these buttons."), show_alert=True)
        return
    primary, _backups, mine = await _state(session, user)
    action = callback_data.action
    offered_in = (callback_data.primary, callback_data.mine)
    if offered_in != (primary.id if primary else 0, mine) or action not in OFFERED[mine]:
        # Offered in a state that has changed since: say how it stands, change nothing.
        await query.answer(_("This has changed since. Here is how it stands now."))
        await _show_again(query, session, user)
        return
    if action == "end":
        await oncall.end(session, user)
        said = _("Your shift has ended.")
    elif action in ("backup", "to_backup"):
        await oncall.take(session, user, oncall.BACKUP)
        said = _("You are a backup now.")
    else:
        await oncall.take(session, user, oncall.PRIMARY)
        said = _("You are on call now.")
        if primary is not None:
            await _tell_taken_over(session, i18n, primary, user)
    alerts.audit(
        session, "shift_end" if action == "end" else f"shift_{action}", actor=user.telegram_id
    )
    await query.answer(said)
    await _show_again(query, session, user)


async def _show_again(query: CallbackQuery, session: AsyncSession, user: User) -> None:
    if isinstance(query.message, Message):
        text, markup = await oncall_view(session, user)
        with contextlib.suppress(TelegramBadRequest):  # already showing exactly this
            await query.message.edit_text(text, reply_markup=markup)


async def _tell_taken_over(session: AsyncSession, i18n: I18n, before: User, by: User) -> None:
    """The primary whose shift someone took by hand is told, in their language."""
    with i18n.use_locale(before.locale):
        text = _("{name} has taken over as primary: your on-call shift has ended.").format(
            name=escape(by.known_as)
        )
    await outbox.enqueue(
        session,
        key=f"oncall:taken:{before.id}:{by.id}:{int(utcnow().timestamp())}",
        chat_id=before.telegram_id,
        method="sendMessage",
        params={"text": text, "parse_mode": "HTML"},
    )


# ----- the rota's tick ----------------------------------------------------------------------


@handles(schedules.ROTA)
async def rota_due(session: AsyncSession, due: list[Due], tick: Tick) -> None:
    """The rota's row came due: remind the incoming, hand over at the boundary, and set
    the row's next time. Reminders for a shift already begun (the bot was down) are
    skipped; of several boundaries passed, the last one decides."""
    rota = await rota_flow.load(session)
    if rota is None:
        return  # cleared meanwhile: nothing more is due
    for row in due:
        after = _instant(row.state.get("after")) or tick.now - dt.timedelta(seconds=1)
        events = rota_flow.events_between(rota, after, tick.now)
        for event in events:
            if event.kind == "remind" and tick.now < event.shift.start:
                await remind(session, tick.i18n, rota, event.shift, tick.now)
        boundaries = [e.at for e in events if e.kind == "boundary"]
        if boundaries:
            change = await rota_flow.hand_over(session, rota, boundaries[-1])
            await tell_hand_over(session, tick.i18n, rota, change, boundaries[-1])
        await schedule_next(session, rota, tick.now)


async def schedule_next(session: AsyncSession, rota: rota_flow.Rota, now: dt.datetime) -> None:
    await schedules.set_due(
        session,
        rota_flow.KIND,
        SUBJECT,
        rota_flow.next_event(rota, now),
        {"after": now.isoformat()},
    )


def _instant(text: object) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    with contextlib.suppress(ValueError):
        return dt.datetime.fromisoformat(text)
    return None


async def remind(
    session: AsyncSession,
    i18n: I18n,
    rota: rota_flow.Rota,
    shift: rota_flow.Shift,
    now: dt.datetime,
) -> None:
    """The incoming primary and backup, REMIND_BEFORE their shift: when, as what, and how
    many cases are open. Someone who already holds that part (a shift right before) is not
    reminded of what they are doing."""
    before = rota_flow.covering(rota, shift.start - dt.timedelta(seconds=1))
    open_cases = len(await alerts.unresolved(session))
    minutes = max(1, round((shift.start - now).total_seconds() / 60))
    for user_id, kind in ((shift.slot.primary, oncall.PRIMARY), (shift.slot.backup, oncall.BACKUP)):
        if user_id is None:
            continue
        if before is not None and user_id == (
            before.slot.primary if kind == oncall.PRIMARY else before.slot.backup
        ):
            continue
        person = await session.get(User, user_id)
        if person is None or person.role != Role.SUPERVISOR:
            continue
        with i18n.use_locale(person.locale):
            text = reminder_text(person, kind, shift, rota.zone, minutes, open_cases)
        await outbox.enqueue(
            session,
            key=f"rota:remind:{person.id}:{int(shift.start.timestamp())}",
            chat_id=person.telegram_id,
            method="sendMessage",
            params={"text": text, "parse_mode": "HTML"},
        )


def reminder_text(
    person: User, kind: str, shift: rota_flow.Shift, zone: str, minutes: int, open_cases: int
) -> str:
    starts = when_for(person, shift.start, zone)
    first = (
        _("🔔 Your on-call shift starts at {time}, in {minutes} min: you are the primary.")
        if kind == oncall.PRIMARY
        else _("🔔 Your on-call shift as a backup starts at {time}, in {minutes} min.")
    ).format(time=starts, minutes=minutes)
    return "\n".join(
        [
            first,
            _("It ends at {time}.").format(time=when_for(person, shift.end, zone)),
            _("Open cases now: {count} (/alerts).").format(count=open_cases),
            _("If you cannot take it, tell the team or use /oncall."),
        ]
    )


async def tell_hand_over(
    session: AsyncSession,
    i18n: I18n,
    rota: rota_flow.Rota,
    change: rota_flow.HandOver,
    at: dt.datetime,
) -> None:
    """Whose shift began is told until when; whose ended is told who is on call now."""
    stamp = int(at.timestamp())
    open_cases = len(await alerts.unresolved(session))
    for person, kind in change.started:
        with i18n.use_locale(person.locale):
            until = when_for(person, change.shift.end, rota.zone) if change.shift else "?"
            began = (
                _("🟢 You are on call now, until {time}. Alerts come to you here first.")
                if kind == oncall.PRIMARY
                else _("🟢 You are the backup on call now, until {time}.")
            ).format(time=until)
            text = began + "\n" + _("Open cases now: {count} (/alerts).").format(count=open_cases)
        await _send(session, f"rota:start:{person.id}:{stamp}", person, text)
    for person in change.ended:
        with i18n.use_locale(person.locale):
            now_on = (
                _("On call now: {primary}").format(primary=escape(change.primary.known_as))
                if change.primary
                else _("With nobody on call, alerts go to every supervisor.")
            )
            text = _("Your on-call shift has ended. Thank you.") + "\n" + now_on
        await _send(session, f"rota:end:{person.id}:{stamp}", person, text)
    for user_id in change.refused:
        log.warning("rota: user %s is no longer a supervisor: not put on call", user_id)


async def _send(session: AsyncSession, key: str, person: User, text: str) -> None:
    await outbox.enqueue(
        session,
        key=key,
        chat_id=person.telegram_id,
        method="sendMessage",
        params={"text": text, "parse_mode": "HTML"},
    )
