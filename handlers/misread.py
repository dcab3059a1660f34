""" "I'm okay, I didn't mean it that way": the person's answer when screening misread them.

Ordinary chat sometimes reads like a crisis to the screening ("sorry, the bus was late, I'm
done for today"). The crisis answer to words then ends with this button. A tap puts it on
the case, where the supervisors see it on the alert and in its history, and a note tells
whoever follows the case. It changes nothing else: the alert stays open and escalates as
before, because someone in crisis may tap it too, and a supervisor decides; and it is not
offered at all where a "never mind" could cost the most (``may_offer``). The button
names its alert, and every press is checked against our records: the presser's own case,
still open.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from html import escape

from aiogram import Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import cases as cases_flow
from flows.screening import Hit
from handlers.alerts import MISREAD_LABEL, refresh_copies, tell_followers
from handlers.keyboards import button, rows
from storage import alerts, outbox
from storage.models import Alert, AlertStatus, User, utcnow

log = logging.getLogger(__name__)


class Misread(CallbackData, prefix="misread"):
    alert_id: int


# Not offered where a "never mind" could cost the most: wording at the top severity (a plan,
# a time, a method said outright), danger at home (whoever holds the phone could tap it)
# and a medical red flag (minutes count). Misreadings come from below these: the model's
# resemblances and oblique wording.
NEVER_FOR = frozenset({"abuse_or_danger_at_home", "medical_red_flag"})
TOP_SEVERITY = 3


def may_offer(hits: Sequence[Hit]) -> bool:
    return all(_may_unsay(hit.severity, hit.category) for hit in hits)


def _may_unsay(severity: int, category: str) -> bool:
    return severity < TOP_SEVERITY and category not in NEVER_FOR


def router() -> Router:
    r = Router(name="misread")
    r.callback_query.register(pressed, Misread.filter())
    return r


def offer(alert_id: int) -> tuple[str, InlineKeyboardMarkup]:
    """The last message of the crisis answer to words, in the person's language."""
    text = _("If I got that wrong and you're okay, tap below and I'll let the supervisor know.")
    return text, rows([button(str(MISREAD_LABEL), Misread(alert_id=alert_id))], 1)


async def pressed(
    query: CallbackQuery,
    callback_data: Misread,
    user: User | None,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    alert = await alerts.get(session, callback_data.alert_id)
    if user is None or alert is None or alert.user_id != user.id:
        log.warning(
            "misread: the button of alert %s pressed by someone else", callback_data.alert_id
        )
        await query.answer(_("This button has expired."))
        return
    await query.answer()
    if not _may_unsay(alert.severity, alert.category):
        # Words said since joined the case and made it one the button is never offered for.
        await _settle(session, query, alert, _since())
        return
    if not await cases_flow.say_misread(session, alert, user, utcnow()):
        await _settle(session, query, alert, _already(alert))
        return
    await tell_followers(
        session,
        alert,
        settings,
        i18n,
        key=f"alertnote:{alert.id}:misread",
        words=lambda: _note(alert),
    )
    await refresh_copies(session, alert, settings, i18n, skip=(0, 0))
    log.info("misread: the person of alert %s says they are okay", alert.id)
    await _settle(
        session,
        query,
        alert,
        _(
            "💛 Thank you for telling me. I've let the supervisor know. They may still check in "
            "briefly; that's all it is. If anything changes, /crisis is always here."
        ),
    )


def _note(alert: Alert) -> str:
    return _(
        "🙂 Alert #{id}: {who} tapped “{button}”. Someone in crisis may tap it too: "
        "it stays open until one of you has checked in and closes it."
    ).format(id=alert.id, who=escape(alert.pseudonym or "?"), button=MISREAD_LABEL)


def _since() -> str:
    return _(
        "💛 Thank you for telling me. Because of what you wrote since, a supervisor will still "
        "reach out to you, to be sure. If you need someone now, /crisis is always here."
    )


def _already(alert: Alert) -> str:
    if alert.status == AlertStatus.RESOLVED:
        return _(
            "💛 Thank you. A supervisor has already closed this. If anything changes, /crisis is always here."
        )
    return _(
        "💛 The supervisor already knows you're okay. If anything changes, /crisis is always here."
    )


async def _settle(session: AsyncSession, query: CallbackQuery, alert: Alert, text: str) -> None:
    """The offer becomes the answer, without its button (a second tap has nothing to do);
    an offer Telegram no longer lets us edit (deleted, too old; or it refuses the edit) gets
    the answer below it. Through the outbox, so that a 429 or a 5xx delays it rather than
    undoing the tap."""
    if isinstance(query.message, Message):
        message_id = query.message.message_id
        edit = {"text": text, "message_id": message_id}
        where, method, params = f"{message_id}", "editMessageText", edit
        fallback: str | None = outbox.SEND_ANEW
    else:
        where, method, params, fallback = "new", "sendMessage", {"text": text}, None
    await outbox.enqueue(
        session,
        key=f"misread:{alert.id}:{where}:{alert.status}",
        chat_id=query.from_user.id,  # only ever the person's own private chat
        method=method,
        params=params,
        on_undeliverable=fallback,
        urgent=True,  # someone who just said they are okay waits for the word
    )
