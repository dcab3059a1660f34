"""How daily logs read in chat: today's summary, the compact 7-day history, and what a
mentor sees of a mentee's logs (flows/mentee_summary.py decides what is shared)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from aiogram.utils.i18n import gettext as _
from babel.dates import format_date, format_skeleton
from babel.numbers import format_decimal

from flows import mentee_summary
from flows.daily_log import ACTIVITY_NAMES, SYMPTOM_NAMES, rest_breaks, symptom_name

__all__ = ["ACTIVITY_NAMES", "SYMPTOM_NAMES", "rest_breaks", "symptom_name"]


def hours(value: float, locale: str) -> str:
    return format_decimal(value, format="#.#", locale=locale)


def day_name(day: dt.date, locale: str) -> str:
    """A short date in the locale's own order ("Mon, Dec 7", "lun, 7 dic", "Mo., 7. Dez.")."""
    return format_skeleton("MMMEd", day, locale=locale)


def log_summary(log: Mapping[str, Any], day: dt.date, locale: str) -> str:
    symptoms = ", ".join(symptom_name(s) for s in log["symptoms"]) or _("none in particular")
    if log.get("activity") is None:  # a three-tap log: symptoms, energy, mood
        return "\n".join(
            [
                "<b>" + escape(format_date(day, format="full", locale=locale)) + "</b>",
                _("Symptoms: {value}/10").format(value=log["symptom_intensity"]),
                _("Energy: {value}/10").format(value=log["energy"]),
                _("Mood: {value}/10").format(value=log["mood"]),
                _("<i>A three-tap log.</i>"),
            ]
        )
    lines = [
        "<b>" + escape(format_date(day, format="full", locale=locale)) + "</b>",
        _("Symptoms: {value}/10 — {symptoms}").format(
            value=log["symptom_intensity"], symptoms=escape(symptoms)
        ),
        _("Energy: {value}/10").format(value=log["energy"]),
        _("Activity: {value}").format(value=ACTIVITY_NAMES[log["activity"]]),
        _("Rest breaks: {value}").format(value=rest_breaks(log["rest_breaks"])),
        _("Sleep: {quality}/10, {hours} h").format(
            quality=log["sleep_quality"], hours=hours(log["sleep_hours"], locale)
        ),
        _("Mood: {value}/10").format(value=log["mood"]),
        _("Symptoms got in the way: {value}/10").format(value=log["interference"]),
    ]
    if log.get("note"):
        lines.append(_("Note: {note}").format(note=escape(log["note"])))
    return "\n".join(lines)


def history(
    logs_by_day: Mapping[dt.date, Mapping[str, Any]], days: Sequence[dt.date], locale: str
) -> str:
    lines = [_("<b>Your last 7 days</b> (symptoms · energy · mood · sleep · activity)")]
    for day in days:
        log = logs_by_day.get(day)
        if log is None:
            lines.append(_("{day}: no log").format(day=day_name(day, locale)))
            continue
        if log.get("activity") is None:  # a three-tap log
            lines.append(
                _("{day}: {symptoms} · {energy} · {mood} · (three taps)").format(
                    day=day_name(day, locale),
                    symptoms=log["symptom_intensity"],
                    energy=log["energy"],
                    mood=log["mood"],
                )
            )
            continue
        lines.append(
            _("{day}: {symptoms} · {energy} · {mood} · {sleep} h · {activity}").format(
                day=day_name(day, locale),
                symptoms=log["symptom_intensity"],
                energy=log["energy"],
                mood=log["mood"],
                sleep=hours(log["sleep_hours"], locale),
                activity=ACTIVITY_NAMES[log["activity"]],
            )
        )
    return "\n".join(lines)


def pacing_word(activity: str) -> str:
    """A kind word after the log, in the spirit of pacing: neither push nor blame."""
    if activity == "more":
        return _(
            "You did more than you planned today. A gentler day tomorrow can help you avoid a crash."
        )
    if activity == "less":
        return _("Doing less than planned is okay — rest is part of pacing, not a failure.")
    return _("You kept to your plan today. That's what pacing looks like.")


# ----- what a mentor sees of a mentee (the caller sets the reader's locale) -------------


def checkin_words(days: int | None) -> str:
    if days is None:
        return _("not yet")
    if days <= 0:
        return _("today")
    if days == 1:
        return _("yesterday")
    return _("{days} days ago").format(days=days)


def _arrow(values: mentee_summary.Trend) -> str:
    return str(values.first) if values.first == values.last else f"{values.first}→{values.last}"


def shared_words(summary: mentee_summary.MenteeSummary) -> list[str]:
    """The shared part, one short line each; empty when the mentee shares nothing."""
    lines = []
    if summary.shares_trends:
        if summary.symptoms and summary.energy:
            lines.append(
                _("7 days: symptoms {symptoms} · energy {energy}").format(
                    symptoms=_arrow(summary.symptoms), energy=_arrow(summary.energy)
                )
            )
        else:
            lines.append(_("7 days: no check-ins"))
    if summary.hard_days is not None:
        lines.append(_("Hard days in the last 7 days: {count}").format(count=summary.hard_days))
    return lines


def last_checkin_words(summary: mentee_summary.MenteeSummary) -> str:
    return _("Last check-in: {when}").format(when=checkin_words(summary.days_since_checkin))


def mentee_block(summary: mentee_summary.MenteeSummary) -> str:
    """A mentee as /mentees and the weekly digest show them: name, last check-in, what
    they share."""
    lines = [f"<b>{escape(summary.name)}</b>", last_checkin_words(summary)]
    return "\n".join(lines + shared_words(summary))
