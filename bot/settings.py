"""Settings from the environment and an optional `.env`: one pydantic-settings class."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from flows.screening_model import MODEL_PATH

DEFAULT_SYMPTOMS = (
    "pain",
    "fatigue",
    "brain_fog",
    "sleep_problems",
    "dizziness",
    "headache",
    "gut",
    "weakness",
    "numbness",
    "anxiety",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    bot_username: str | None = None  # for invite links when the bot cannot be asked (no token)

    data_dir: Path = Path("data")
    database_url: str | None = None  # default: a SQLite file in data_dir
    encryption_key: SecretStr | None = None  # default: generated once into data_dir

    supervisor_chat_id: int | None = None
    # One forum topic per case when the supervisor group is a forum; None: ask Telegram at start.
    supervisor_topics: bool | None = None
    escalation_ack_minutes: float = Field(default=5, gt=0)  # re-alert when not acknowledged
    alert_join_minutes: float = Field(default=30, ge=0)  # hits within this join one open case
    staffed_hours: str = ""  # like "08:00-20:00" in staffed_timezone; empty = always staffed
    staffed_timezone: str = "UTC"
    alerts_show_names: bool = False  # alerts carry a pseudonym unless this is set
    # The second detector's weights; `peerbot screening retrain` writes here. Missing or
    # unreadable: screening runs on the lexicon alone and /status says so.
    screening_model: Path = MODEL_PATH
    escalation_tick_seconds: float = Field(default=15, gt=0)
    default_locale: str = "en"
    invite_only: bool = False

    # The symptoms a mentee can pick in the daily log; ids, translated in the catalogs.
    log_symptoms: Annotated[tuple[str, ...], NoDecode] = DEFAULT_SYMPTOMS
    note_max_length: int = Field(default=500, ge=50, le=3000)
    polling_timeout: int = Field(default=30, ge=0, le=50)
    poller_lock_check_seconds: float = Field(default=30, gt=0)  # is the one-poller lock ours

    # Mentorship: reminders, nudges, matching (scheduling is data: see bot/scheduler.py).
    scheduler_tick_seconds: float = Field(default=20, gt=0)
    reminder_snooze_minutes: int = Field(default=60, ge=5, le=360)
    reminders_per_day: int = Field(default=2, ge=1, le=2)  # the check-in and one "later"
    nudge_silent_days: int = Field(default=3, ge=1, le=30)  # a mentee this quiet: nudge the mentor
    hard_day_symptoms: int = Field(default=8, ge=0, le=10)  # a log at or above this is a hard day
    hard_day_mood: int = Field(default=2, ge=0, le=10)  # a log at or below this is a hard day
    match_checkin_days: float = Field(default=7, gt=0)  # ask both sides how the match feels
    digest_weekday: int = Field(default=0, ge=0, le=6)  # mentors' weekly digest; 0 = Monday

    @field_validator("log_symptoms", mode="before")
    @classmethod
    def _split_symptoms(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'peerbot.sqlite3'}"
