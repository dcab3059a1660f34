"""Crisis alerts: opening and joining cases, the supervisors' answers, escalation, on-call hours.

Rendering and sending are the callers' (handlers render, the outbox sends); this module
decides what happens to a case and writes it down, with an audit event for every step.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from flows import onboarding
from flows.screening import Hit
from storage import alerts, oncall, outbox, status, users
from storage.models import Alert, AlertHit, AlertStatus, Role, User

log = logging.getLogger(__name__)

# How a supervisor can close a case. "false_alarm" teaches the lexicon what not to flag.
OUTCOMES = ("false_alarm", "safe", "emergency_services", "other")
LAST_LEVEL = 2  # 0: channel + on-call; 1: re-sent with the backups; 2: every supervisor

# How an alert was raised (alerts.raised_by). Words are screened; the other two need none.
WORDS, TAP, MENTOR = "words", "tap", "mentor"
# Words written into their crisis plan: raised when they said it is how they feel now, or
# when they did not answer that question (flows.crisis_plan.FEELING_CHECK).
PLAN_NOW, PLAN_UNANSWERED = "plan", "plan_nr"
WORD_DETECTORS = alerts.WORD_DETECTORS  # hits that carry the person's own words
# The categories of the alerts raised without words.
HELP_NOW = "help_now"  # the person tapped "I need to talk to someone now"
MENTOR_CONCERN = "mentor_concern"  # their mentor pressed "I'm worried about them"
TAP_SEVERITY = 3  # someone asking for a person right now is treated as imminent
MENTOR_SEVERITY = 2


@dataclass(frozen=True)
class Case:
    alert: Alert
    is_new: bool
    added: list[AlertHit]
    worsened: bool = False  # a joined hit raised the case's severity
    # The update was handled before (a replay after a crash): its hits are already in the
    # case and the supervisors were told then. Nothing is added, nobody is paged again.
    replayed: bool = False


async def record_hits(
    session: AsyncSession,
    person: User,
    hits: Sequence[Hit],
    *,
    now: dt.datetime,
    join_window: dt.timedelta,
    ack_within: dt.timedelta,
    raised_by: str = WORDS,
    said_in: str | None = None,
    update_id: int | None = None,
) -> Case:
    """Open a case for these hits, or add them to the person's recent open case.
    ``said_in`` is where the words were said (flows.reach.WHERE).

    ``update_id`` names the Telegram update the hits came from: when that update is
    handled again (the process died before it was done), its case is returned as it is."""
    if update_id is not None:
        recorded = await alerts.case_of_update(session, update_id)
        if recorded is not None:
            log.info("alert %s: update %s was recorded before", recorded.id, update_id)
            return Case(recorded, is_new=False, added=[], replayed=True)
    worst = max(hits, key=lambda hit: hit.severity)
    case = await alerts.open_case_of(session, person.id, since=now - join_window)
    is_new, worsened = case is None, False
    if case is None:
        case = Alert(
            user_id=person.id,
            category=worst.category,
            severity=worst.severity,
            status=AlertStatus.OPEN,
            opened_at=now,
            last_hit_at=now,
            escalation_level=0,
            escalate_at=now + ack_within,
            raised_by=raised_by,
            pseudonym=person.pseudonym,  # what supervisors call them, even once they leave
        )
        session.add(case)
        await session.flush()  # the id names the case in every message about it
    elif worst.severity > case.severity:
        case.severity, worsened = worst.severity, True
        if worst.detector in WORD_DETECTORS:  # a tap says how urgent, not what about
            case.category = worst.category
    case.last_hit_at = now
    added = [
        AlertHit(
            alert_id=case.id,
            sentence=hit.sentence,
            language=hit.language,
            rule=hit.rule,
            category=hit.category,
            severity=hit.severity,
            at=now,
            detector=hit.detector,
            why=hit.why or None,
            said_in=said_in,
            update_id=update_id,
        )
        for hit in hits
    ]
    session.add_all(added)
    rules = ", ".join(hit.rule for hit in hits)
    alerts.audit(session, "opened" if is_new else "joined", alert_id=case.id, detail=rules[:200])
    return Case(case, is_new, added, worsened)


async def raise_by_tap(
    session: AsyncSession,
    person: User,
    *,
    now: dt.datetime,
    join_window: dt.timedelta,
    ack_within: dt.timedelta,
    update_id: int | None = None,
) -> Case:
    """The person tapped "I need to talk to someone now": a top-severity alert, no words
    needed. A second tap while their case is open joins it (nobody is paged again)."""
    return await record_hits(
        session,
        person,
        [_help_now(person, "tap:help_now")],
        now=now,
        join_window=join_window,
        ack_within=ack_within,
        raised_by=TAP,
        update_id=update_id,
    )


def _help_now(person: User, rule: str) -> Hit:
    """A plea without words: a tap on "I need to talk to someone now", or its equal."""
    return Hit(
        category=HELP_NOW,
        severity=TAP_SEVERITY,
        language=person.locale,
        sentence="",
        rule=rule,
        detector=TAP,
    )


async def raise_by_mentor(
    session: AsyncSession,
    mentor: User,
    mentee: User,
    reason: str | None,
    *,
    now: dt.datetime,
    join_window: dt.timedelta,
    ack_within: dt.timedelta,
) -> Case:
    """A mentor is worried about their mentee: an alert for the mentee, with the mentor's
    reason (stored encrypted, as the hit's sentence). The caller has checked the match."""
    concern = Hit(
        category=MENTOR_CONCERN,
        severity=MENTOR_SEVERITY,
        language=mentee.locale,
        sentence=reason or "",
        rule="mentor:worried",
        detector=MENTOR,
    )
    case = await record_hits(
        session,
        mentee,
        [concern],
        now=now,
        join_window=join_window,
        ack_within=ack_within,
        raised_by=MENTOR,
    )
    alerts.audit(session, "mentor_worried", alert_id=case.alert.id, actor=mentor.telegram_id)
    return case


async def raise_from_plan(
    session: AsyncSession,
    person: User,
    hits: Sequence[Hit],
    *,
    feels_it_now: bool,
    now: dt.datetime,
    join_window: dt.timedelta,
    ack_within: dt.timedelta,
) -> Case:
    """Words in the person's crisis plan, once they said it is how they feel now (or did
    not say). Saying "yes" is a plea, even when the words have since left the plan: then it
    counts as a tap on "I need to talk to someone now"."""
    if not hits:
        hits = [_help_now(person, "plan:feels_now")]
    return await record_hits(
        session,
        person,
        hits,
        now=now,
        join_window=join_window,
        ack_within=ack_within,
        raised_by=PLAN_NOW if feels_it_now else PLAN_UNANSWERED,
    )


def has_words(hit: AlertHit) -> bool:
    """The hit quotes the person's own words (not a tap, not their mentor's reason)."""
    return alerts.quotes_the_person(hit)


async def someone_new(session: AsyncSession, telegram_id: int, locale: str) -> User:
    """Safety comes before paperwork: someone not yet registered still reaches a supervisor."""
    return await users.create(
        session, telegram_id=telegram_id, locale=locale, pseudonym=onboarding.new_pseudonym()
    )


async def acknowledge(session: AsyncSession, alert: Alert, by: User, now: dt.datetime) -> bool:
    if alert.status != AlertStatus.OPEN:
        return False
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_by, alert.acknowledged_at, alert.escalate_at = by.telegram_id, now, None
    alerts.audit(session, "acknowledged", alert_id=alert.id, actor=by.telegram_id)
    return True


async def contacting(session: AsyncSession, alert: Alert, by: User, now: dt.datetime) -> bool:
    if alert.status == AlertStatus.RESOLVED:
        return False
    if alert.acknowledged_at is None:
        alert.acknowledged_by, alert.acknowledged_at = by.telegram_id, now
    alert.status, alert.escalate_at = AlertStatus.CONTACTING, None
    alert.contacting_by = by.telegram_id  # the latest to say so: every copy names them
    alerts.audit(session, "contacting", alert_id=alert.id, actor=by.telegram_id)
    return True


async def resolve(
    session: AsyncSession, alert: Alert, by: User, outcome: str, now: dt.datetime
) -> bool:
    """Close the case; its sentences become labelled examples for the lexicon review, or,
    when the person has erased their data meanwhile, are forgotten."""
    if alert.status == AlertStatus.RESOLVED or outcome not in OUTCOMES:
        return False
    alert.status, alert.outcome, alert.escalate_at = AlertStatus.RESOLVED, outcome, None
    alert.resolved_by, alert.resolved_at = by.telegram_id, now
    if alert.acknowledged_at is None:
        alert.acknowledged_by, alert.acknowledged_at = by.telegram_id, now
    alerts.audit(session, "resolved", alert_id=alert.id, actor=by.telegram_id, detail=outcome)
    if alert.user_id is None:  # kept only for the supervisors to close it: now it is closed
        await alerts.forget_words(session, alert.id)
        return True
    verdict = "false_alarm" if outcome == "false_alarm" else "confirmed"
    # Only the person's words teach the lexicon: a tap or a mentor's reason has none of them.
    for hit in filter(has_words, await alerts.hits_of(session, alert.id)):
        alerts.label(
            session,
            language=hit.language,
            verdict=verdict,
            text=hit.sentence,
            rule=hit.rule,
            category=hit.category,
            alert_id=alert.id,
            by=by.telegram_id,
        )
    return True


def mark_missed(session: AsyncSession, text: str, language: str, by: User) -> None:
    """A supervisor's report of a message that should have alerted."""
    alerts.label(
        session,
        language=language,
        verdict="missed",
        text=text,
        rule=None,
        category=None,
        alert_id=None,
        by=by.telegram_id,
    )
    alerts.audit(session, "missed_reported", actor=by.telegram_id, detail=language)


async def escalate(
    session: AsyncSession, alert: Alert, now: dt.datetime, ack_within: dt.timedelta
) -> int | None:
    """Claim the next escalation level of an unacknowledged alert; None if someone else did."""
    level = alert.escalation_level + 1
    next_at = now + ack_within if level < LAST_LEVEL else None
    if not await alerts.claim_escalation(session, alert, next_at):
        return None
    alerts.audit(session, f"escalated_to_{level}", alert_id=alert.id)
    return level


async def nobody_to_tell(session: AsyncSession, supervisor_chat_id: int | None) -> bool:
    """No supervisor channel and no supervisor: an alert would reach nobody, so a person in
    crisis must not be told that someone knows. Asked at each alert (a supervisor added on
    the command line counts at once), at start and by /status."""
    return supervisor_chat_id is None and not await oncall.any_supervisor(session)


async def alerting_problems(session: AsyncSession, supervisor_chat_id: int | None) -> list[str]:
    """What stops alerts from being acted on, as short codes: "nobody" (no channel and no
    supervisor: an alert reaches nobody) or "no_supervisor" (the channel gets alerts, but
    nobody may acknowledge them, and escalation pages nobody)."""
    if await oncall.any_supervisor(session):
        return []
    return ["nobody" if supervisor_chat_id is None else "no_supervisor"]


async def recipients(session: AsyncSession, level: int) -> list[User]:
    """Who is paged directly at an escalation level (the channel always gets the alert)."""
    primary, backups = await oncall.on_call(session)
    everyone = await oncall.supervisors(session)
    if level >= LAST_LEVEL or primary is None:
        if primary is None:
            log.warning("nobody is on call: alerts go to all %d supervisors", len(everyone))
        return everyone
    return [primary] if level == 0 else [primary, *backups]


def is_staffed(now: dt.datetime, hours: str, zone: str) -> bool:
    """``hours`` like "08:00-20:00" in ``zone``; empty means always staffed."""
    if not hours.strip():
        return True
    start_text, _, end_text = hours.partition("-")
    start, end = dt.time.fromisoformat(start_text.strip()), dt.time.fromisoformat(end_text.strip())
    local = now.astimezone(zoneinfo.ZoneInfo(zone)).time()
    return start <= local < end if start <= end else (local >= start or local < end)


ALL_SUPERVISORS = "all_supervisors"  # a channel row's fallback (bot/undeliverable.py)


def all_supervisors_but(paged: Sequence[User]) -> str:
    """The fallback of a channel row whose alert ``paged`` already got directly:
    ``all_supervisors:<their Telegram ids>``."""
    ids = ",".join(str(person.telegram_id) for person in paged)
    return f"{ALL_SUPERVISORS}:{ids}" if ids else ALL_SUPERVISORS


def already_paged(argument: str) -> set[int]:
    """The Telegram ids ``all_supervisors_but`` wrote after the colon."""
    return {int(part) for part in argument.split(",") if part.strip().lstrip("-").isdigit()}


async def reach_supervisors_directly(
    session: AsyncSession,
    undelivered: outbox.Claimed,
    error: str,
    already: Collection[int] = (),
) -> None:
    """The supervisor channel cannot be reached: send the same alert to every supervisor
    but those in ``already`` (paged with the same alert directly: once each is enough)."""
    log.error(
        "SUPERVISOR CHANNEL UNREACHABLE (%s): alert %s goes to every supervisor directly",
        error[:80],
        undelivered.key,
    )
    await status.report(session, status.SUPERVISOR_CHANNEL, f"unreachable: {error[:200]}")
    params = {
        k: v for k, v in undelivered.params.items() if k not in ("chat_id", "message_thread_id")
    }
    for supervisor in await oncall.supervisors(session):
        if supervisor.telegram_id in already:
            continue
        await outbox.enqueue(
            session,
            key=f"{undelivered.key}:direct:{supervisor.telegram_id}",
            chat_id=supervisor.telegram_id,
            method=undelivered.method,
            params=params,
            urgent=True,
            combine=undelivered.combine,  # a burst of them still leaves together
            on_undeliverable=NOBODY_REACHED,
        )


# A supervisor's direct copy of an alert could not be delivered either: if no supervisor
# has it, the alert reached nobody. It stays red in /status and `peerbot status`, goes to
# every admin, and is tried again every few minutes until a supervisor gets it.
NOBODY_REACHED = "nobody_reached"
RETRY_UNREACHED = dt.timedelta(minutes=5)


def unreached_key(alert_id: int) -> str:
    return f"alert_{alert_id}_reached_nobody"


async def direct_copy_failed(
    session: AsyncSession, failed: outbox.Claimed, error: str, *, now: dt.datetime
) -> None:
    alert_id = _alert_of(failed.key)
    if alert_id is None or await alerts.reached_a_supervisor(session, alert_id):
        return
    alert = await alerts.get(session, alert_id)
    if alert is None or alert.status == AlertStatus.RESOLVED:
        return
    log.error("ALERT %s REACHED NOBODY (%s): offered to the admins, retried", alert_id, error[:80])
    await status.report(
        session,
        unreached_key(alert_id),
        f"alert #{alert_id} reached no supervisor (the channel and every direct copy failed): "
        f"sent to the admins, tried again every {int(RETRY_UNREACHED.total_seconds() // 60)} min",
    )
    params = {k: v for k, v in failed.params.items() if k not in ("chat_id", "message_thread_id")}
    for admin in await users.list_with_roles(session, [Role.ADMIN]):
        await outbox.enqueue(
            session,
            key=f"alert:{alert_id}:nobody:admin:{admin.telegram_id}",
            chat_id=admin.telegram_id,
            method=failed.method,
            params=params,
            urgent=True,
        )
    round_ = int(now.timestamp() // RETRY_UNREACHED.total_seconds())
    await outbox.enqueue(
        session,
        key=f"alert:{alert_id}:nobody:retry:{round_}:{failed.chat_id}",
        chat_id=failed.chat_id,
        method=failed.method,
        params=params,
        due_at=now + RETRY_UNREACHED,
        urgent=True,
        on_undeliverable=NOBODY_REACHED,
    )


async def copy_reached(session: AsyncSession, delivered: outbox.Claimed) -> None:
    """A supervisor's copy got through: the alert is no longer one that reached nobody."""
    alert_id = _alert_of(delivered.key)
    if alert_id is not None:
        await status.clear(session, unreached_key(alert_id))


def _alert_of(key: str) -> int | None:
    kind, _, rest = key.partition(":")
    number = rest.split(":", 1)[0]
    return int(number) if kind == "alert" and number.isdigit() else None


async def supervisor_channel_reached(session: AsyncSession, delivered: outbox.Claimed) -> None:
    """An alert reached the supervisor channel: it is not unreachable (any more)."""
    await status.clear(session, status.SUPERVISOR_CHANNEL)
