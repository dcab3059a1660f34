"""aiogram routers, thin: read the Telegram input, call a flow, render the reply."""

from aiogram import Router

from handlers import common, daily_log, errors, fallback, group, start


def get_routers() -> list[Router]:
    """Fresh routers each call (a router can be attached once); order is priority."""
    return [
        errors.router(),
        daily_log.router(),  # first: most updates are steps of a daily log
        group.router(),
        start.router(),
        common.router(),
        fallback.router(),
    ]
