"""Longer texts that more than one handler shows. Every string goes through gettext."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from storage.models import Role


def about(role: Role | str = Role.MENTEE) -> str:
    """Who the bot is, for the role a person joins in, and that it is no emergency service."""
    if role == Role.MENTOR:
        return _(
            "I'm peerbot, the assistant of your peer-mentorship program. As a mentor, you'll "
            "hear through me when a mentee would like to talk or has gone quiet, and you can "
            "write to them through me — nobody needs to share a phone number. I also keep your "
            "session notes and hours, and a daily log of your own days, if you like.\n\n"
            "You are never on your own with a hard moment: if a mentee may be in danger, an "
            "on-call supervisor is told, and they take it from there.\n\n"
            "I am <b>not</b> an emergency service and I am not a doctor. If you are in danger, "
            "call your local emergency number now. /crisis shows crisis lines at any time."
        )
    if role in (Role.SUPERVISOR, Role.ADMIN):
        return _(
            "I'm peerbot, the assistant of your peer-mentorship program. As part of the "
            "program's staff, you'll get an alert when someone's message suggests they may be "
            "in danger, with buttons to acknowledge it and say who is contacting them. "
            "/oncall takes a shift; /alerts and /status show what is open.\n\n"
            "I don't send you daily check-ins: your messages from me are about the program."
        )
    return _(
        "I'm peerbot, the assistant of your peer-mentorship program. Every day I help you "
        "keep a short log of your symptoms, energy and pacing — mostly taps, under a minute — "
        "and I keep you in touch with a mentor who has lived with similar symptoms.\n\n"
        "I am <b>not</b> an emergency service and I am not a doctor. If you are in danger or "
        "might harm yourself, call your local emergency number now (112 across Europe, 911 in "
        "North America, or your country's number) or go to the nearest emergency department. "
        "/crisis shows crisis lines at any time."
    )


def consent(role: Role | str = Role.MENTEE) -> str:
    """What is stored and who sees it, for the person's role, ending with the question."""
    if role == Role.MENTOR:
        return _(
            "<b>Before we begin: your data and your say</b>\n\n"
            "• <b>What I store:</b> your profile for matching, your session notes and hours, "
            "the messages you and your mentees send each other through me, and your own daily "
            "logs if you keep them; your language and time zone. Notes, messages and other "
            "free text are encrypted.\n"
            "• <b>Who sees what:</b> program supervisors read your session notes and any "
            "concern you raise. Messages through me are screened for crisis language, and "
            "personal contact details you share are flagged to a supervisor. If a message of "
            "yours sounds like you may be in danger, an on-call supervisor is told, with that "
            "sentence and a pseudonym.\n"
            "• <b>Your control:</b> /privacy shows this again, exports everything I hold about "
            "you, or deletes it.\n\n"
            "Do you agree to this?"
        )
    if role in (Role.SUPERVISOR, Role.ADMIN):
        return _(
            "<b>Before we begin: your data and your say</b>\n\n"
            "• <b>What I store:</b> your name as Telegram gives it, your language and time "
            "zone, your on-call shifts, and what you do with alerts and reviews (who "
            "acknowledged, contacted or resolved, and when), so that every case has a "
            "trustworthy record.\n"
            "• <b>Who sees what:</b> other supervisors and the program admins see that record "
            "and your notes on cases.\n"
            "• <b>Your control:</b> /privacy shows this again, exports everything I hold "
            "about you, or deletes it.\n\n"
            "Do you agree to this?"
        )
    return _(
        "<b>Before we begin: your data and your say</b>\n\n"
        "• <b>What I store:</b> your daily logs (symptoms, energy, activity, sleep, mood and an "
        "optional note), your language, time zone and check-in time. Notes and other free text "
        "are encrypted.\n"
        "• <b>Who sees what:</b> your mentor sees only what you choose to share. If a message "
        "of yours sounds like you may be in danger, an on-call supervisor of the program is "
        "told, with that sentence and a pseudonym — not your history.\n"
        "• <b>Your control:</b> /privacy shows this again, exports everything I hold about you, "
        "or deletes it.\n\n"
        "Do you agree to this?"
    )


def role_name(role: Role | str) -> str:
    names = {
        Role.MENTEE: _("mentee"),
        Role.MENTOR: _("mentor"),
        Role.SUPERVISOR: _("supervisor"),
        Role.ADMIN: _("program admin"),
    }
    return names[Role(role)]


def private_chat_only() -> str:
    return _("Let's talk about this in a private chat, just you and me. Tap below to open it.")


def not_onboarded() -> str:
    return _("Let's get you set up first — it takes a minute. Send /start to begin.")


def not_for_role() -> str:
    return _("That command isn't part of your role in the program. /help lists what you can do.")


def only_for(roles: frozenset[Role]) -> str:
    """A command of another role: say whose it is, kindly, and where to look instead."""
    if roles == {Role.MENTOR}:
        return _("That one is for mentors. /help lists what you can do.")
    if roles == {Role.MENTEE}:
        return _("That one is for mentees. /help lists what you can do.")
    if Role.MENTEE in roles and Role.MENTOR in roles:
        return _("That one is for mentees and mentors. /help lists what you can do.")
    return _("That one is for the program's staff. /help lists what you can do.")
