"""aiogram routers, thin: read the Telegram input, call a flow, render the reply."""

import importlib
import pkgutil

from aiogram import Router

from handlers import (
    alerts,
    cases,
    common,
    crisis,
    daily_log,
    errors,
    events,
    fallback,
    graduation,
    group,
    group_checkin,
    group_setup,
    intake,
    matching,
    measures,
    misread,
    notes,
    oncall,
    pacing,
    plan_writing,
    questionnaire,
    reach,
    relay,
    reminders,
    resources,
    review,
    start,
    trends,
)

# Every module here is imported, listed above or not: a module that only declares (a
# questionnaire with its command, a schedule kind's @handles) is found without an edit here.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


def get_routers() -> list[Router]:
    """Fresh routers each call (a router can be attached once); order is priority."""
    routers = [
        errors.router(),
        crisis.router(),  # before every flow: /crisis and the 🆘 button work in any state
        plan_writing.router(),  # /crisisplan; its buttons pause other flows' (it may interrupt any of them)
        daily_log.router(),  # first: most updates are steps of a daily log
        group_checkin.router(),  # a group's check-in: the tap in the group, the private steps
        cases.router(),  # /alerts, /status, case views and notes; "Resolve → Other" first
        alerts.router(),  # supervisors' buttons work in the supervisor group
        oncall.router(),  # /oncall and its buttons
        group_setup.router(),  # before group: its /cancel and typed answers in the group
        events.router(),  # before group and start: /event in a group, its deep links
        resources.router(),  # before group: /resources in a group answers in its languages
        group.router(),
        start.router(),
        intake.router(),
        matching.router(),  # /match, how a match feels, /rematch
        graduation.router(),  # /graduate, milestones, the summary's offers, boosters
        notes.router(),  # /note
        review.router(),  # /review
        reminders.router(),
        pacing.router(),  # the weekly goal's buttons, and a goal typed
        measures.router(),  # the weekly questions: their invitation, steps and /measures
        trends.router(),  # /trends and a mentor's "Chart of …"
        questionnaire.router(),  # every questionnaire that brings its own command
        misread.router(),  # "I'm okay, I didn't mean it that way" under a crisis answer
        reach.router(),  # before relay: a supervisor's conversation comes before the mentor's
        relay.router(),  # before common: its role-bound commands; its catch-all skips commands
        common.router(),
        fallback.router(),
    ]
    questionnaire.check_wired(routers)  # a questionnaire no router answers: refuse to start
    return routers
