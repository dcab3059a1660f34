"""Supervisors and alerts: the alert messages, their buttons, /alerts and /status
(/oncall and the rota: handlers/oncall.py)."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from html import escape

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, get_i18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from babel import Locale
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import alerts as alert_flow
from flows import cases as cases_flow
from flows import reach, screening
from flows import relay as relay_flow
from flows.languages import SUPPORTED
from handlers.filters import PRIVATE, HasRole
from handlers.keyboards import button, rows
from storage import alerts, oncall, outbox, status, users
from storage.models import Alert, AlertHit, AlertStatus, Role, User, utcnow

log = logging.getLogger(__name__)

CATEGORY_NAMES = {
    "suicide": __("suicide"),
    "self_harm": __("self-harm"),
    "harm_to_others": __("harm to others"),
    "abuse_or_danger_at_home": __("abuse or danger at home"),
    "medical_red_flag": __("medical red flag"),
    alert_flow.HELP_NOW: __("asked for someone now"),
    alert_flow.MENTOR_CONCERN: __("mentor's concern"),
}
# The button a person taps to reach someone without having to find words (handlers/crisis).
HELP_NOW_LABEL = __("I need to talk to someone now")
# Under the crisis answer to words: the person's way to say screening misread them
# (handlers/misread). The alert stays; the supervisors see the tap on it.
MISREAD_LABEL = __("🙂 I'm okay, I didn't mean it that way")
WHY_LIMIT = 120  # a detector's reason is one short line
STATUS_NAMES = {
    AlertStatus.OPEN: __("open"),
    AlertStatus.ACKNOWLEDGED: __("acknowledged"),
    AlertStatus.CONTACTING: __("being contacted"),
    AlertStatus.RESOLVED: __("resolved"),
}
SEVERITY_NAMES = {1: __("concern"), 2: __("high"), 3: __("imminent")}
OUTCOME_NAMES = {
    "false_alarm": __("False alarm"),
    "safe": __("Spoke with them — safe for now"),
    "emergency_services": __("Emergency services involved"),
    "other": __("Other"),
}


# What /status and `peerbot status` (exit 1: it carries ⚠️) say when alerts cannot be acted on.
ALERTING_PROBLEMS = {
    "nobody": lambda: _(
        "⚠️ Nobody receives alerts: there is no supervisor channel (SUPERVISOR_CHAT_ID) and "
        "no supervisor (peerbot roles add ID supervisor). People in crisis are sent to the "
        "crisis lines."
    ),
    "no_supervisor": lambda: _(
        "⚠️ No supervisor: alerts reach the channel, but nobody can acknowledge them "
        "(peerbot roles add ID supervisor)."
    ),
}


class AlertAction(CallbackData, prefix="alert"):
    action: str  # "ack" | "contact" | "resolve" | "outcome" | "back"
    alert_id: int
    outcome: str = ""


class WriteToThem(CallbackData, prefix="write"):
    """A supervisor's "Write to them through me" on an alert (handlers/reach.py)."""

    alert_id: int


class CaseAction(CallbackData, prefix="case"):
    """A supervisor's case view and its notes (handlers/cases.py)."""

    action: str  # "view" | "private" | "note"
    alert_id: int


def router() -> Router:
    r = Router(name="alerts")
    r.callback_query.register(alert_pressed, AlertAction.filter())
    # Roles read fresh: whatever touches alerts follows `peerbot roles` at once.
    supervisor = HasRole(Role.SUPERVISOR, fresh=True)
    r.message.register(report_missed, Command("missed"), PRIVATE, supervisor)
    return r


# ----- the alert messages ---------------------------------------------------------------

QUOTES_SHOWN = 5  # each at most 300 characters (flows.screening): an alert stays readable


async def alert_text(session: AsyncSession, alert: Alert, settings: Settings) -> str:
    """What supervisors read: the minimum needed to act, at a glance on a phone."""
    hits = await alerts.hits_of(session, alert.id)
    seen = await reach.glance(session, alert, hits, utcnow())
    worded = [hit for hit in hits if alert_flow.has_words(hit)]
    lines = [
        _("🚨 <b>Alert #{id}</b> · {severity} · {category}").format(
            id=alert.id,
            severity=SEVERITY_NAMES.get(alert.severity, alert.severity),
            category=CATEGORY_NAMES.get(alert.category, alert.category),
        ),
        _person_line(await _who(session, alert, settings), seen),
        _lines_line(seen),
        *_said_lines(seen),
        _mentor_line(seen),
        _earlier_line(seen),
        raised_by_line(alert, hits),
    ]
    if worded:
        lines.append(detected_by_line(worded))
    locale = seen.person.locale if seen.person else None
    lines += [_quote(hit, locale) for hit in worded[-QUOTES_SHOWN:]]
    lines.append(_("Opened: {time} UTC").format(time=f"{alert.opened_at:%Y-%m-%d %H:%M}"))
    lines += await _status_lines(session, alert)
    return "\n".join(lines)


async def person_of(session: AsyncSession, alert: Alert) -> User | None:
    """The person of the case; None once they have erased their data (the case stays)."""
    return await session.get(User, alert.user_id) if alert.user_id is not None else None


def _quote(hit: AlertHit, person_locale: str | None) -> str:
    """A quote, with its language named when it is not the person's own."""
    quote = f"<i>“{escape(hit.sentence)}”</i> ({hit.at:%H:%M} UTC)"
    if person_locale and hit.language != person_locale:
        quote += " · " + _("in {language}").format(language=language_name(hit.language))
    return quote


def language_name(code: str) -> str:
    """A language's name in the reader's language ("Spanish", "Spanisch", "español")."""
    try:
        return Locale.parse(code).get_display_name(_reader()) or code
    except (ValueError, LookupError):
        return code


def country_name(code: str) -> str:
    try:
        return Locale.parse(_reader()).territories.get(code, code)
    except (ValueError, LookupError):
        return code


def _reader() -> str:
    return get_i18n().current_locale


def _person_line(who: str, seen: reach.Glance) -> str:
    """Who, what they speak, where they are: "Person: Heron-42 · Spanish · Spain"."""
    parts = [who]
    if seen.person is not None:
        spoken = language_name(seen.person.locale)
        if seen.quote_languages:
            others = ", ".join(language_name(code) for code in seen.quote_languages)
            spoken = _("{language} (quote in {other})").format(language=spoken, other=others)
        parts.append(spoken)
    if seen.country != "INT":
        parts.append(escape(country_name(seen.country)))
    return _("Person: {who}").format(who=" · ".join(parts))


LINES_SHOWN = 2  # a phone shows two names on a line; the rest are counted


def _lines_line(seen: reach.Glance) -> str:
    """The crisis lines the person was shown, and whether they have a plan."""
    names = [name.split(" (")[0] for name in seen.lines]
    shown = ", ".join(escape(name) for name in [seen.emergency, *names[:LINES_SHOWN]])
    if len(names) > LINES_SHOWN:
        shown += " " + _("+{count} more").format(count=len(names) - LINES_SHOWN)
    if seen.international_too:
        shown += " " + _("+ international lines (place unsure)")
    plan = _("has a crisis plan") if seen.has_plan else _("no crisis plan")
    return _("Lines shown: {lines} · {plan}").format(lines=shown, plan=plan)


def _said_lines(seen: reach.Glance) -> list[str]:
    return [_("Said: {where}").format(where=_where_said(where, seen)) for where in seen.said_in]


def _where_said(where: str, seen: reach.Glance) -> str:
    mentor = escape(seen.mentor.pseudonym) if seen.mentor else "?"
    if where == reach.MENTOR_CHAT:
        return _(
            "in a conversation with their mentor — {mentor} received it and was given guidance"
        ).format(mentor=mentor)
    return str(WHERE_NAMES.get(where, where))


WHERE_NAMES = {
    reach.LOG: __("in the middle of their daily log"),
    reach.PLAN: __("while writing their crisis plan"),
    reach.MENTEE_CHAT: __("in a conversation with their mentee (they are a mentor)"),
    reach.SUPERVISOR_CHAT: __("in their conversation with a supervisor"),
    reach.ONBOARDING: __("before finishing onboarding"),
    reach.GROUP: __("in a group chat"),
    reach.CHAT: __("in a message to the bot"),
}


def _mentor_line(seen: reach.Glance) -> str:
    if seen.mentor is None:
        return _("Mentor: none yet")
    mentor = escape(seen.mentor.pseudonym)  # as everywhere in alerts: no names
    if seen.mentor_conversation_open:
        return _("Mentor: {mentor} · conversation open").format(mentor=mentor)
    return _("Mentor: {mentor} · no conversation open").format(mentor=mentor)


def _earlier_line(seen: reach.Glance) -> str:
    if not seen.earlier:
        return _("Earlier alerts (30 days): none")
    ids = ", ".join(f"#{alert_id}" for alert_id in seen.earlier[-3:])
    return _("Earlier alerts (30 days): {count} ({ids})").format(count=len(seen.earlier), ids=ids)


def raised_by_line(alert: Alert, hits: list[AlertHit]) -> str:
    """One line on how the case began: the person's words, their tap, or their mentor."""
    if alert.raised_by == alert_flow.TAP:
        return _("Raised by: a tap on “{button}”").format(button=HELP_NOW_LABEL)
    if alert.raised_by == alert_flow.MENTOR:
        reason = next((h.sentence for h in hits if h.detector == alert_flow.MENTOR), "")
        if reason:
            return _("Raised by: their mentor — reason: {reason}").format(reason=escape(reason))
        return _("Raised by: their mentor (no reason given)")
    if alert.raised_by == alert_flow.PLAN_NOW:
        return _(
            "Raised by: their words. Said while writing their crisis plan; they said it is how "
            "they feel now."
        )
    if alert.raised_by == alert_flow.PLAN_UNANSWERED:
        return _(
            "Raised by: their words. Said while writing their crisis plan; asked whether it is "
            "how they feel now, they did not answer."
        )
    return _("Raised by: their words")


def detected_by_line(worded: list[AlertHit]) -> str:
    """Which detectors matched the person's words, and why, once per alert."""
    phrases = list(dict.fromkeys(_detector_phrase(hit) for hit in worded))
    return _("Detected by: {detectors}").format(detectors="; ".join(phrases[:3]))


def _detector_phrase(hit: AlertHit) -> str:
    why = hit.why or hit.rule  # hits stored before detectors said why: the lexicon's entry id
    if len(why) > WHY_LIMIT:
        why = why[: WHY_LIMIT - 1] + "…"
    if hit.detector == "model":
        # The model's why may begin with its own name ("model 0.91: …"): say it once.
        return _("model ({why})").format(why=escape(why.removeprefix("model ").strip()))
    return _("lexicon {why}").format(why=escape(why))


async def _who(session: AsyncSession, alert: Alert, settings: Settings) -> str:
    """The person's pseudonym, kept on the case so it outlives their erased data."""
    person = await person_of(session, alert)
    who = escape(alert.pseudonym or (person.pseudonym if person else "?"))
    if person is None:
        return _("{pseudonym} (has deleted their data: the bot can no longer reach them)").format(
            pseudonym=who
        )
    if settings.alerts_show_names and person.display_name:
        who += f" ({escape(person.display_name)})"
    return who


def combined_header() -> str:
    """The first line of a message that carries several alerts (bot/combining.py)."""
    return _("🚨 <b>Several alerts at once</b> · each case has its own button")


async def case_summary(session: AsyncSession, alert: Alert, settings: Settings) -> str:
    """One case in a few lines, for a message that carries several: who, what they
    wrote last, and what has been done."""
    lines = [
        _("<b>#{id}</b> · {severity} · {category} · {who}").format(
            id=alert.id,
            severity=SEVERITY_NAMES.get(alert.severity, alert.severity),
            category=CATEGORY_NAMES.get(alert.category, alert.category),
            who=await _who(session, alert, settings),
        )
    ]
    worded = [hit for hit in await alerts.hits_of(session, alert.id) if alert_flow.has_words(hit)]
    lines += [f"<i>“{escape(hit.sentence)}”</i> ({hit.at:%H:%M} UTC)" for hit in worded[-2:]]
    lines += await _status_lines(session, alert)
    return "\n".join(lines)


def case_buttons(alert: Alert) -> list[list[InlineKeyboardButton]]:
    """A case's row in a message that carries several: acknowledge it, then resolve it."""
    if alert.status == AlertStatus.OPEN:
        label, action = _("Acknowledge #{id}"), "ack"
    elif alert.status != AlertStatus.RESOLVED:
        label, action = _("Resolve #{id}…"), "resolve"
    else:
        return []
    return [[button(label.format(id=alert.id), AlertAction(action=action, alert_id=alert.id))]]


async def copy_view(
    session: AsyncSession, alert: Alert, settings: Settings, where: tuple[int, int]
) -> tuple[str, InlineKeyboardMarkup | None]:
    """What the message at ``where`` (chat, message id) shows of ``alert`` now: the alert
    alone, or, when the outbox combined several cases into it, every one of them."""
    cases = await alerts.cases_in_copy(session, *where)
    if len(cases) <= 1:
        return await alert_text(session, alert, settings), alert_buttons(alert)
    parts, keyboard = [combined_header()], []
    for case_id in cases:
        case = alert if case_id == alert.id else await alerts.get(session, case_id)
        if case is not None:
            parts.append(await case_summary(session, case, settings))
            keyboard += case_buttons(case)
    markup = InlineKeyboardMarkup(inline_keyboard=keyboard) if keyboard else None
    return "\n\n".join(parts), markup


async def _status_lines(session: AsyncSession, alert: Alert) -> list[str]:
    lines = []
    misread = await cases_flow.misread_at(session, alert)
    if misread is not None:
        lines.append(
            _("🙂 At {time} UTC they tapped “{button}”.").format(
                time=f"{misread:%H:%M}", button=MISREAD_LABEL
            )
        )
    if alert.acknowledged_at is not None:
        lines.append(
            _("✅ Acknowledged by {name} at {time} UTC").format(
                name=await _staff_name(session, alert.acknowledged_by),
                time=f"{alert.acknowledged_at:%H:%M}",
            )
        )
    if alert.status == AlertStatus.CONTACTING:
        talk = await reach.talk_on_alert(session, alert.id)
        if talk is not None:
            lines.append(
                _("✉️ {name} is writing to them through me.").format(
                    name=escape(talk.supervisor.known_as)
                )
            )
        else:
            lines.append(
                _("📞 {name} is contacting them.").format(
                    name=await _staff_name(session, alert.contacting_by)
                )
            )
    if alert.status == AlertStatus.RESOLVED:
        lines.append(
            _("✔️ Resolved by {name}: {outcome}").format(
                name=await _staff_name(session, alert.resolved_by),
                outcome=OUTCOME_NAMES.get(alert.outcome or "", alert.outcome),
            )
        )
    elif alert.escalation_level:
        lines.append(
            _("⏰ Not acknowledged in time: escalated (level {level}).").format(
                level=alert.escalation_level
            )
        )
    return lines


async def _staff_name(session: AsyncSession, telegram_id: int | None) -> str:
    person = await users.get_by_telegram_id(session, telegram_id) if telegram_id else None
    if person is None:
        return "?"
    return escape(person.known_as)


def alert_buttons(alert: Alert) -> InlineKeyboardMarkup | None:
    if alert.status == AlertStatus.RESOLVED:
        return None
    buttons = []
    if alert.status == AlertStatus.OPEN:
        buttons.append(button(_("Acknowledge"), AlertAction(action="ack", alert_id=alert.id)))
    buttons.append(button(_("✉️ Write to them through me"), WriteToThem(alert_id=alert.id)))
    if alert.status != AlertStatus.CONTACTING:
        buttons.append(
            button(_("I'm contacting them"), AlertAction(action="contact", alert_id=alert.id))
        )
    buttons.append(button(_("Resolve…"), AlertAction(action="resolve", alert_id=alert.id)))
    buttons.append(button(_("📋 Case"), CaseAction(action="view", alert_id=alert.id)))
    return rows(buttons, 1)


def outcome_buttons(alert: Alert) -> InlineKeyboardMarkup:
    # "Other" asks for a note first: handlers/cases.py takes that press before this router.
    buttons = [
        button(str(name), AlertAction(action="outcome", alert_id=alert.id, outcome=outcome))
        for outcome, name in OUTCOME_NAMES.items()
    ]
    buttons.append(button(_("◂ Back"), AlertAction(action="back", alert_id=alert.id)))
    return rows(buttons, 1)


async def announce(
    session: AsyncSession, case: alert_flow.Case, settings: Settings, i18n: I18n, level: int = 0
) -> None:
    """Queue the alert for the supervisor channel and the supervisors paged at ``level``."""
    alert = case.alert
    if case.replayed:
        return  # queued when the update was first handled, in the same transaction
    if not case.is_new and level == 0:
        await _add_to_case(session, case, settings, i18n)
        return
    stage = f"l{level}"
    paged = await alert_flow.recipients(session, level)
    # If the channel cannot be reached, the supervisors paged below already have the
    # alert: the fallback copies go to everyone else, so nobody gets it twice.
    fallback = alert_flow.all_supervisors_but(paged)
    if (
        settings.supervisor_chat_id is not None
        and level
        and (
            await _edit_channel_copies(
                session, alert, settings, i18n, level=level, fallback=fallback
            )
        )
    ):
        pass  # the channel's message says it now; the supervisors paged below get it anew
    elif settings.supervisor_chat_id is not None:
        if case.is_new and settings.supervisor_topics:
            await _open_topic(session, alert, settings.supervisor_chat_id)
        await _queue_alert(
            session,
            alert,
            settings,
            i18n,
            chat_id=settings.supervisor_chat_id,
            locale=settings.default_locale,
            key=f"alert:{alert.id}:{stage}:channel",
            level=level,
            fallback=fallback,
        )
    await _page(session, alert, settings, i18n, paged, stage=stage, level=level)
    if not paged and settings.supervisor_chat_id is None:
        log.error(
            "ALERT %s HAS NOBODY TO GO TO: no supervisor channel and no supervisors", alert.id
        )


# An escalation edits the channel's message of the case (its fallback posts it anew).
REPOST = "repost_alert"


async def _edit_channel_copies(
    session: AsyncSession,
    alert: Alert,
    settings: Settings,
    i18n: I18n,
    *,
    level: int,
    fallback: str,
) -> bool:
    """Say on the channel's own message(s) of the case that nobody acknowledged it in time,
    rather than posting it again. False when the channel has no message of it yet."""
    channel = settings.supervisor_chat_id
    copies = sorted(
        {where for where in await alerts.copies_of(session, alert.id) if where[0] == channel}
    )
    if not copies:
        return False
    for chat_id, message_id in copies:
        with i18n.use_locale(settings.default_locale):
            text, markup = await copy_view(session, alert, settings, (chat_id, message_id))
            text = escalated_line(alert, settings, level) + "\n\n" + text
        await outbox.enqueue(
            session,
            key=f"alertedit:{alert.id}:esc{level}:{chat_id}:{message_id}",
            chat_id=chat_id,
            method="editMessageText",
            params=_message(text, markup) | {"message_id": message_id},
            # Too old, deleted, refused: the escalated alert is posted anew, as before.
            on_undeliverable=f"{REPOST}:{fallback}",
            urgent=True,
        )
    return True


def escalated_line(alert: Alert, settings: Settings, level: int) -> str:
    return _("⏫ <b>Alert #{id} escalated</b>: nobody acknowledged it in {minutes:g} min.").format(
        id=alert.id, minutes=settings.escalation_ack_minutes * level
    )


async def repost_escalation(session: AsyncSession, failed: outbox.Claimed, fallback: str) -> None:
    """The channel's message of an escalated case could not be edited: post it anew, as
    it reads (the same text and buttons), paging the channel as before."""
    kind, alert_id, stage, *_rest = failed.key.split(":")
    if kind != "alertedit" or not alert_id.isdigit():
        return
    alert = await alerts.get(session, int(alert_id))
    if alert is None or alert.status != AlertStatus.OPEN:
        return  # answered meanwhile: nothing left to escalate
    params = {k: v for k, v in failed.params.items() if k not in ("chat_id", "message_id")}
    log.warning("alert %s: its channel message could not be edited; posted anew", alert.id)
    await outbox.enqueue(
        session,
        key=f"alert:{alert.id}:l{stage.removeprefix('esc')}:channel",
        chat_id=failed.chat_id,
        method="sendMessage",
        params=params,
        on_undeliverable=fallback or None,
        urgent=True,
    )


async def _page(
    session: AsyncSession,
    alert: Alert,
    settings: Settings,
    i18n: I18n,
    supervisors: list[User],
    *,
    stage: str,
    level: int,
) -> None:
    """The whole alert, by direct message, to each of ``supervisors`` in their language."""
    for supervisor in supervisors:
        await _queue_alert(
            session,
            alert,
            settings,
            i18n,
            chat_id=supervisor.telegram_id,
            locale=supervisor.locale,
            key=f"alert:{alert.id}:{stage}:dm:{supervisor.telegram_id}",
            level=level,
        )


async def _queue_alert(
    session: AsyncSession,
    alert: Alert,
    settings: Settings,
    i18n: I18n,
    *,
    chat_id: int,
    locale: str,
    key: str,
    level: int,
    fallback: str | None = None,
) -> None:
    in_topic = chat_id == settings.supervisor_chat_id and bool(settings.supervisor_topics)
    with i18n.use_locale(locale):
        text = await alert_text(session, alert, settings)
        part = await case_summary(session, alert, settings)
        if level:
            overdue = _("⏰ <b>Still not acknowledged</b> after {minutes:g} minutes.").format(
                minutes=settings.escalation_ack_minutes * level
            )
            text, part = overdue + "\n\n" + text, overdue + "\n" + part
        markup = alert_buttons(alert)
        # In a burst the outbox sends alerts waiting for one chat together (one message,
        # a part and a button per case); in a forum each case keeps to its own topic.
        combine = None if in_topic else _combinable(part, case_buttons(alert))
    await outbox.enqueue(
        session,
        key=key,
        chat_id=chat_id,
        method="sendMessage",
        params=_message(text, markup) | (_in_topic(alert) if in_topic else {}),
        on_undeliverable=fallback,
        urgent=True,
        combine=combine,
    )


def _combinable(part: str, buttons: list[list[InlineKeyboardButton]]) -> dict[str, object]:
    """What an alert adds to a message that carries several (bot/combining.py)."""
    return {
        "header": combined_header(),
        "part": part,
        "buttons": [[b.model_dump(exclude_none=True) for b in row] for row in buttons],
    }


async def _open_topic(session: AsyncSession, alert: Alert, chat_id: int) -> None:
    """In a forum group each case gets its own topic; its messages wait for it (bot.delivery)."""
    name = f"#{alert.id} · {alert.pseudonym or '?'}"
    await outbox.enqueue(
        session,
        key=f"alerttopic:{alert.id}",
        chat_id=chat_id,
        method="createForumTopic",
        params={"name": name[:128]},
        urgent=True,
    )


def _in_topic(alert: Alert) -> dict[str, object]:
    return {"message_thread_id": {"topic_of": f"alerttopic:{alert.id}"}}


async def _add_to_case(
    session: AsyncSession, case: alert_flow.Case, settings: Settings, i18n: I18n
) -> None:
    """A new sentence joins the open case. Whoever follows the case sees it; nobody is paged
    again unless it is worse than before, and then the on-call gets the whole alert anew."""
    alert, stamp = case.alert, case.added[0].at.timestamp()
    paged: list[User] = []
    if case.worsened:
        paged = await alert_flow.recipients(session, 0)
        await _page(session, alert, settings, i18n, paged, stage=f"worse{stamp}", level=0)
    await tell_followers(
        session,
        alert,
        settings,
        i18n,
        key=f"alertnote:{alert.id}:{stamp}",
        words=lambda: added_note(alert.id, case.added),
        paged=paged if case.worsened else None,
    )


async def tell_followers(
    session: AsyncSession,
    alert: Alert,
    settings: Settings,
    i18n: I18n,
    *,
    key: str,
    words: Callable[[], str],
    paged: list[User] | None = None,
) -> None:
    """A note on an open case for whoever follows it: the supervisor channel, or without
    one the on-call. ``paged``: the supervisors just sent the whole alert anew, who need
    no note besides (without a channel, nobody else follows)."""
    followers: list[tuple[int, str]] = []
    if settings.supervisor_chat_id is not None:
        followers.append((settings.supervisor_chat_id, settings.default_locale))
    elif paged is None:
        followers += [(s.telegram_id, s.locale) for s in await alert_flow.recipients(session, 0)]
    for chat_id, locale in followers:
        with i18n.use_locale(locale):
            text = words()
        channel = chat_id == settings.supervisor_chat_id
        await outbox.enqueue(
            session,
            key=f"{key}:{chat_id}",
            chat_id=chat_id,
            method="sendMessage",
            params={"text": text, "parse_mode": "HTML"}
            | (_in_topic(alert) if channel and settings.supervisor_topics else {}),
            # If the channel cannot be reached, its note goes to every supervisor directly,
            # but those just paged with the whole alert anew: one message each, not two.
            on_undeliverable=alert_flow.all_supervisors_but(paged or []) if channel else None,
            urgent=True,
        )


def added_note(alert_id: int, added: list[AlertHit]) -> str:
    """What joined an open case: new words, a tap, or the mentor's concern."""
    notes = []
    worded = [hit for hit in added if alert_flow.has_words(hit)]
    if worded:
        # Capped like the alert: a long message's many sentences must not make the note
        # too long for Telegram, which would lose it whole.
        shown = [f"<i>“{escape(hit.sentence)}”</i>" for hit in worded[-QUOTES_SHOWN:]]
        if len(worded) > QUOTES_SHOWN:
            shown.insert(
                0,
                ngettext(
                    "(+{count} earlier sentence of theirs)",
                    "(+{count} earlier sentences of theirs)",
                    len(worded) - QUOTES_SHOWN,
                ).format(count=len(worded) - QUOTES_SHOWN),
            )
        notes.append(
            _("➕ New message in alert #{id}:").format(id=alert_id) + "\n" + "\n".join(shown)
        )
    for hit in added:
        if hit.detector == alert_flow.TAP:
            notes.append(
                _("➕ Alert #{id}: they tapped “{button}”.").format(
                    id=alert_id, button=HELP_NOW_LABEL
                )
            )
        elif hit.detector == alert_flow.MENTOR:
            notes.append(
                _("➕ Alert #{id}: their mentor is worried about them — reason: {reason}").format(
                    id=alert_id, reason=escape(hit.sentence)
                )
                if hit.sentence
                else _("➕ Alert #{id}: their mentor is worried about them.").format(id=alert_id)
            )
    return "\n\n".join(notes)


def _message(text: str, markup: InlineKeyboardMarkup | None) -> dict[str, object]:
    params: dict[str, object] = {"text": text, "parse_mode": "HTML"}
    if markup is not None:
        params["reply_markup"] = markup.model_dump(exclude_none=True)
    return params


async def refresh_copies(
    session: AsyncSession, alert: Alert, settings: Settings, i18n: I18n, *, skip: tuple[int, int]
) -> None:
    """Every copy of the alert (channel and direct messages) shows its new state."""
    stamp = f"{alert.status}:{alert.escalation_level}:{utcnow().timestamp()}"
    for chat_id, message_id in set(await alerts.copies_of(session, alert.id)):
        if (chat_id, message_id) == skip:
            continue
        with i18n.use_locale(settings.default_locale):
            text, markup = await copy_view(session, alert, settings, (chat_id, message_id))
        params = _message(text, markup) | {"message_id": message_id}
        await outbox.enqueue(
            session,
            key=f"alertedit:{alert.id}:{chat_id}:{message_id}:{stamp}",
            chat_id=chat_id,
            method="editMessageText",
            params=params,
            urgent=True,  # what supervisors see of a case must not lag behind it
        )


# ----- the buttons ----------------------------------------------------------------------


async def refuse_press(
    session: AsyncSession,
    query: CallbackQuery,
    user: User | None,
    action: str,
    why: str,
    alert_id: int | None = None,
) -> None:
    """A supervisors' button pressed by someone else, or out of its place: audited, logged
    (who and what, never text) and answered, for alerts and cases alike."""
    role = user.role if user else None
    alerts.audit(
        session,
        "refused_press",
        alert_id=alert_id,
        actor=query.from_user.id,
        detail=f"{action} by {role or 'stranger'}",
    )
    log.warning(
        "refused button %s from Telegram user %s (role %s, %s)",
        action,
        query.from_user.id,
        role,
        why,
    )
    await query.answer(_("Only supervisors can use these buttons."), show_alert=True)


async def authorised_press(
    query: CallbackQuery, alert_id: int, action: str, user: User | None, session: AsyncSession
) -> tuple[Alert, Message, tuple[int, int]] | None:
    """The alert, and the copy pressed, when a supervisor pressed a button on a message we
    sent for that very alert (by our records); otherwise the press is refused and audited.
    The presser's role is read as stored now, not as the bot remembers it."""
    if user is not None:
        await users.refresh_role(session, user)
    alert = await alerts.get(session, alert_id)
    message = query.message if isinstance(query.message, Message) else None
    where = (message.chat.id, message.message_id) if message else None
    ours = alert is not None and where in set(await alerts.copies_of(session, alert.id))
    if user is None or user.role != Role.SUPERVISOR or not ours or alert is None:
        await refuse_press(
            session,
            query,
            user,
            action,
            f"our message: {ours}",
            alert_id=alert.id if alert and ours else None,
        )
        return None
    assert message is not None and where is not None
    return alert, message, where


async def alert_pressed(
    query: CallbackQuery,
    callback_data: AlertAction,
    user: User | None,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    pressed = await authorised_press(
        query, callback_data.alert_id, callback_data.action, user, session
    )
    if pressed is None:
        return
    alert, message, where = pressed
    now = utcnow()
    action = callback_data.action
    if action == "resolve":
        await query.answer()
        await message.edit_reply_markup(reply_markup=outcome_buttons(alert))
        return
    if action == "back":
        await query.answer()
        _text, markup = await copy_view(session, alert, settings, where)
        await message.edit_reply_markup(reply_markup=markup)
        return
    if action == "ack":
        changed = await alert_flow.acknowledge(session, alert, user, now)
    elif action == "contact":
        changed = await alert_flow.contacting(session, alert, user, now)
    elif action == "outcome":
        changed = await alert_flow.resolve(session, alert, user, callback_data.outcome, now)
    else:
        changed = False
    if not changed:
        await query.answer(_("Someone has already acted on this alert."))
    else:
        await query.answer(_("Thank you. Everyone on the alert can see it."))
    if changed and action == "outcome":
        await case_closed(session, alert, user, i18n, now)
    await refresh_copies(session, alert, settings, i18n, skip=where)
    text, markup = await copy_view(session, alert, settings, where)
    with contextlib.suppress(TelegramBadRequest):  # a double tap: the message already says so
        await message.edit_text(text, reply_markup=markup)


async def case_closed(
    session: AsyncSession, alert: Alert, by: User, i18n: I18n, now: dt.datetime
) -> None:
    """A resolved case ends its open conversation with the person; both sides are told,
    each in their own language (the person: how to reach help again)."""
    talk = await cases_flow.close_conversation(session, alert, by, now)
    if talk is None:
        return
    with i18n.use_locale(talk.person.locale):
        to_person = _(
            "Your conversation with the supervisor has ended: they have closed your case. "
            "If you need someone again, tap 🆘 or send /crisis at any time."
        )
        mentor = await relay_flow.current(session, talk.person)
        if mentor is not None:
            to_person += "\n" + _("What you send now goes to {name} again.").format(
                name=escape(mentor.other.known_as)
            )
    with i18n.use_locale(talk.supervisor.locale):
        to_supervisor = _(
            "Case #{id} was resolved by {name}: your conversation with {who} has ended. "
            "They were told how to reach help again."
        ).format(id=alert.id, name=escape(by.known_as), who=escape(talk.person.pseudonym))
    for person, text in ((talk.person, to_person), (talk.supervisor, to_supervisor)):
        await outbox.enqueue(
            session,
            key=f"case:{talk.conversation.id}:resolved:{person.id}",
            chat_id=person.telegram_id,
            method="sendMessage",
            params={"text": text, "parse_mode": "HTML"},
            urgent=True,
        )


# ----- /status (/alerts: handlers/cases.py; /oncall: handlers/oncall.py) ----------------


async def show_status(message: Message, session: AsyncSession, settings: Settings) -> None:
    await message.answer(await status_text(session, settings))


async def status_text(session: AsyncSession, settings: Settings) -> str:
    primary, backups = await oncall.on_call(session)
    lines = [
        _("<b>peerbot status</b>"),
        _("Supervisor channel: {chat}").format(chat=settings.supervisor_chat_id or _("not set")),
        _("On call: {primary} · backups: {count}").format(
            primary=escape(primary.known_as) if primary else _("nobody"), count=len(backups)
        ),
        _("Open alerts: {count}").format(count=len(await alerts.unresolved(session))),
        _("Messages waiting to be sent: {pending}; failed: {failed}").format(
            pending=await outbox.count(session, outbox.PENDING),
            failed=await outbox.count(session, outbox.FAILED),
        ),
    ]
    lines += [
        ALERTING_PROBLEMS[problem]()
        for problem in await alert_flow.alerting_problems(session, settings.supervisor_chat_id)
    ]
    problem = screening.model_problem()
    lines.append(
        _("⚠️ Screening on the lexicon alone: {problem}").format(problem=escape(problem))
        if problem
        else _("Screening: lexicon and model")
    )
    lines += [
        f"⚠️ {escape(report.key)}: {escape(report.value)} ({report.updated_at:%Y-%m-%d %H:%M} UTC)"
        for report in await status.all_reports(session)
    ]
    return "\n".join(lines)


async def report_missed(
    message: Message, command: CommandObject, user: User, session: AsyncSession
) -> None:
    """/missed [es|de|en] <message>: a message that should have alerted, for the lexicon review."""
    words = (command.args or "").strip()
    language, _space, rest = words.partition(" ")
    if language.lower() in SUPPORTED and rest.strip():
        language, text = language.lower(), rest.strip()
    else:
        language, text = user.locale, words
    if not text:
        await message.answer(
            _(
                "Send the message that should have alerted after the command, for example: "
                "/missed es No puedo más con esto."
            )
        )
        return
    alert_flow.mark_missed(session, text, language, user)
    await message.answer(
        _("Thank you. It is stored for the lexicon review ({language}).").format(language=language)
    )


def staffed_now(settings: Settings, now: dt.datetime | None = None) -> bool:
    return alert_flow.is_staffed(now or utcnow(), settings.staffed_hours, settings.staffed_timezone)
