"""A group's weekly check-in, answered privately, declared for the questionnaire engine:
two taps (energy this week, pain compared with last week). Only an anonymous summary of
three answers or more ever reaches the group (``flows.groups.summary``)."""

from __future__ import annotations

from aiogram.utils.i18n import lazy_gettext as __

from flows import questionnaire as q
from flows.groups import ENERGY, PAIN
from flows.questionnaire import Kind
from flows.states import GroupCheckingIn

ENERGY_NAMES = {
    "low": __("🪫 Low"),
    "some": __("🔋 Some"),
    "good": __("⚡ Good"),
}
PAIN_NAMES = {
    "worse": __("Worse"),
    "same": __("About the same"),
    "better": __("Better"),
}

CHECKIN = q.Questionnaire(
    name="group_checkin",
    state=GroupCheckingIn.answering,
    header=__("Group check-in · {number}/{total}"),
    steps=(
        q.Step(
            "energy",
            Kind.ONE,
            __("How has your energy been this week?"),
            choices=ENERGY,
            labels=ENERGY_NAMES,
            widths=(3,),
        ),
        q.Step(
            "pain",
            Kind.ONE,
            __("And your pain or symptoms, compared with last week?"),
            choices=PAIN,
            labels=PAIN_NAMES,
            widths=(3,),
            skip=True,
        ),
    ),
    back=True,
)
