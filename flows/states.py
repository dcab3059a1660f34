"""The conversation states of each flow (stored by the SQL FSM storage)."""

from aiogram.fsm.state import State, StatesGroup


class Onboarding(StatesGroup):
    language = State()
    consent = State()
    timezone = State()
    checkin_time = State()


class DailyLogging(StatesGroup):
    answering = State()
