"""Conversations the bot carries between a mentor and a mentee (relays), and the boundary
check on what mentors send through them.

A relay belongs to an active match and stays open until either side ends it (/end) or
the match ends. Neither side ever needs the other's phone number or username; a mentor
who shares personal contact details anyway is still relayed (the words matter more than
the rule), but supervisors are told there may be a boundary issue.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage import matches, relays
from storage.models import Match, MatchStatus, Relay, User, utcnow

# ----- personal contact details ------------------------------------------------------------
#
# Small patterns, each for one way people pass on a contact. Recall matters less than
# with crisis screening (a missed flag costs a reminder, not a life), and a false flag
# costs a supervisor's time and a mentor's trust: dates, times, doses, amounts and
# step counts must not flag. tests/unit/test_flows_relay.py holds the examples.

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
# A Telegram/Instagram-style handle: @ not inside a word or an e-mail, 5–32 characters.
HANDLE = re.compile(r"(?<![\w@.])@[a-z][a-z0-9_]{4,31}\b", re.IGNORECASE)
MESSENGER_LINK = re.compile(
    r"\b(?:t\.me|telegram\.me|wa\.me|api\.whatsapp\.com|chat\.whatsapp\.com|signal\.me"
    r"|signal\.group|m\.me|instagram\.com)/",
    re.IGNORECASE,
)
# "Call me on…", "mi número es…", "meine Handynummer…", "add me on WhatsApp"…
CONTACT_PHRASE = re.compile(
    r"\b(?:"
    # English
    r"(?:call|ring|text|phone|message|add|find|reach|contact)\s+me\s+(?:on|at|via)\b"
    r"|my\s+(?:phone|cell|mobile|whatsapp|signal|personal)\s*(?:phone\s*)?(?:number|no\.?|is)\b"
    r"|my\s+number\b"
    # Spanish
    r"|ll[aá]ma(?:me|rme)\b|escr[ií]be(?:me|nme)\s+(?:al|a\s+mi|por|en)\b"
    r"|mi\s+(?:n[uú]mero|tel[eé]fono|m[oó]vil|celular|whatsapp|correo)\b"
    r"|(?:a|ag)?gr[eé]ga(?:me|rme)\b|b[uú]sca(?:me|rme)\s+en\b"
    # German
    r"|ruf(?:en\s+sie)?\s+mich\s+(?:an|unter|auf)\b"
    r"|meine\s+(?:handy|telefon|mobil|whatsapp)?nummer\b"
    r"|schreib(?:en\s+sie|e)?\s+mir\s+(?:auf|bei|per|über|unter)\b"
    r"|meine\s+e-?mail\b"
    r")",
    re.IGNORECASE,
)
# "on WhatsApp", "por Signal", "auf Telegram": a messenger named as a place to meet.
ON_MESSENGER = re.compile(
    r"\b(?:on|via|over|in|por|en|auf|über|per|bei)\s+"
    r"(?:whats\s?app|signal|telegram|insta(?:gram)?|facebook|messenger|snapchat|threema)\b",
    re.IGNORECASE,
)
# A run of digits with the separators phone numbers are written with.
NUMBER_RUN = re.compile(r"(?<![\w/.,:])(?:\+|00)?\(?\d[\d\s().\-/]{5,}\d(?![\w%])")
# What looks like a number but is not a phone: dates, times, ranges of years, money.
NOT_A_PHONE = (
    re.compile(r"\b\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})\b"),  # 12.05.2024, 3/4/25
    re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b"),  # 2024-05-12
    re.compile(r"\b\d{1,2}[:.h]\d{2}\b"),  # 10:30, 14.30, 9h30
    re.compile(r"\b(?:19|20)\d{2}\s*[-–/]\s*(?:19|20)?\d{2}\b"),  # 2020-2024
    re.compile(r"[€$£]\s*\d[\d.,\s]*\d|\d[\d.,\s]*\d\s*(?:[€$£]|eur|usd|gbp|euros?|dollars?)"),
)
PHONE_DIGITS = range(8, 16)  # national numbers have 8+ digits, E.164 at most 15


def shares_contact_details(text: str) -> bool:
    """True when ``text`` seems to pass on a way to reach the sender outside the bot."""
    if not text:
        return False
    if any(pattern.search(text) for pattern in (EMAIL, HANDLE, MESSENGER_LINK, CONTACT_PHRASE)):
        return True
    return bool(ON_MESSENGER.search(text)) or _has_phone_number(text)


def _has_phone_number(text: str) -> bool:
    for pattern in NOT_A_PHONE:
        text = pattern.sub(" ", text)
    for run in NUMBER_RUN.finditer(text):
        digits = sum(char.isdigit() for char in run.group())
        plus = run.group().startswith(("+", "00"))
        if digits in PHONE_DIGITS or (plus and digits >= 7):
            return True
    return False


# ----- conversations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Conversation:
    """An open relay seen from one side: ``me`` writes, ``other`` receives."""

    relay: Relay
    match: Match
    me: User
    other: User

    @property
    def i_am_mentor(self) -> bool:
        return self.match.mentor_id == self.me.id


@dataclass(frozen=True)
class Opened:
    conversation: Conversation
    is_new: bool  # False: the match's relay was open already and is reused
    others_open: int  # how many other open relays the opener has (a mentor with several)


class NotYours(Exception):
    """The match is not the person's (or no longer active): a button that cannot be honoured."""


async def mentored_match(session: AsyncSession, match_id: int, mentor: User) -> Match:
    """The active match ``match_id`` if ``mentor`` is its mentor; else NotYours."""
    match = await matches.get(session, match_id)
    if match is None or match.mentor_id != mentor.id or match.status != MatchStatus.ACTIVE:
        raise NotYours(match_id)
    return match


async def open_conversation(
    session: AsyncSession, match: Match, opener: User, now: dt.datetime | None = None
) -> Opened:
    """Open the match's relay (or reuse the open one) and make it where the opener's
    plain messages go from now on."""
    relay, is_new = await relays.open_or_reuse(session, match.id, opener.id, now or utcnow())
    other_id = matches.other_side(match, opener.id)
    if is_new:
        # Being written to does not move where the other side writes: a mentor answering
        # one mentee keeps answering them. Only someone with no other conversation follows.
        where = await _focus_among(session, other_id, exclude=relay.id)
        await relays.set_focus(session, other_id, where or relay.id)
    await relays.set_focus(session, opener.id, relay.id)
    other = await session.get(User, other_id)
    assert other is not None  # matches cascade with their people
    others_open = len(await relays.open_for(session, opener.id)) - 1
    return Opened(Conversation(relay, match, opener, other), is_new, others_open)


async def current(session: AsyncSession, user: User) -> Conversation | None:
    """Where the person's plain messages go now: the open relay they chose last, else
    the one opened last; None when they are in no open conversation."""
    open_ones = await relays.open_for(session, user.id)
    if not open_ones:
        return None
    focus = await relays.focus_of(session, user.id)
    relay, match = next(((r, m) for r, m in open_ones if r.id == focus), open_ones[0])
    other = await session.get(User, matches.other_side(match, user.id))
    if other is None:
        return None
    return Conversation(relay, match, user, other)


async def conversations(session: AsyncSession, user: User) -> list[Conversation]:
    """Every open conversation of the person, newest first."""
    found = []
    for relay, match in await relays.open_for(session, user.id):
        other = await session.get(User, matches.other_side(match, user.id))
        if other is not None:
            found.append(Conversation(relay, match, user, other))
    return found


def end(conversation: Conversation, now: dt.datetime | None = None) -> None:
    relays.close(conversation.relay, conversation.me.id, now or utcnow())


async def is_focus_of(session: AsyncSession, user_id: int, relay_id: int) -> bool:
    """Whether plain messages of ``user_id`` go to ``relay_id`` now."""
    return await _focus_among(session, user_id) == relay_id


async def _focus_among(
    session: AsyncSession, user_id: int, exclude: int | None = None
) -> int | None:
    """The open relay the person's messages go to (see ``current``), leaving out ``exclude``."""
    ids = [relay.id for relay, _ in await relays.open_for(session, user_id) if relay.id != exclude]
    if not ids:
        return None
    focus = await relays.focus_of(session, user_id)
    return focus if focus in ids else ids[0]
