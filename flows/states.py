"""The conversation states of each flow (stored by the SQL FSM storage)."""

from aiogram.fsm.state import State, StatesGroup


class Onboarding(StatesGroup):
    language = State()
    consent = State()
    timezone = State()
    checkin_time = State()


class DailyLogging(StatesGroup):
    answering = State()


class CrisisPlanning(StatesGroup):
    # The state's data: the section being written, the message whose buttons count,
    # a too-long text kept for the person, and the state and data of whatever they
    # were doing before (a daily log, onboarding), given back when they finish.
    writing = State()
    # A part just saved holds crisis language: "Is this how you feel right now?" waits for
    # an answer (the same data as writing, "prompt" the question's message).
    feeling = State()


class Intake(StatesGroup):
    answering = State()  # the step and the answers so far are in the state's data


class Rematching(StatesGroup):
    reason = State()  # an optional reason, typed or skipped


class NoteWriting(StatesGroup):
    answering = State()


class Reviewing(StatesGroup):
    comment = State()  # the supervisor's comment on a review item


class ChangingReminder(StatesGroup):
    time = State()  # the state's data: the message whose buttons count ("prompt")


class Worrying(StatesGroup):
    # A mentor's optional reason for "I'm worried about them". The state's data: the match,
    # the message whose buttons count, and whatever the mentor was doing before (given back).
    reason = State()


class CaseNoting(StatesGroup):
    # A supervisor's note on a case, typed in their private chat. The state's data: the case
    # ("alert_id"), the prompt whose Cancel counts ("prompt"), and "resolve" when the note is
    # the one "Resolve → Other" needs before it resolves the case.
    writing = State()


class PacingGoal(StatesGroup):
    answering = State()  # a weekly goal of their own choosing (handlers/pacing.py)


class WeeklyMeasure(StatesGroup):
    answering = State()  # this week's validated questionnaire (flows/measures.py)


class EventPlanning(StatesGroup):
    answering = State()  # a new group event (/event): the step and answers in the data


class Graduating(StatesGroup):
    # /graduate's confirm step. The state's data: the match ("match_id") and the message
    # whose buttons count ("prompt").
    confirming = State()
    milestones = State()  # a graduate's milestones, on the questionnaire engine
