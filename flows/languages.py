"""The languages peerbot speaks, and how a Telegram language code maps onto them."""

from __future__ import annotations

SUPPORTED = ("en", "es", "de")

# Each language's name in itself, for the language picker.
NATIVE_NAMES = {"en": "English", "es": "Español", "de": "Deutsch"}


def match_language(language_code: str | None, default: str) -> str:
    """'es-419' → 'es'; unknown or missing codes → the default."""
    if language_code:
        base = language_code.replace("_", "-").split("-")[0].lower()
        if base in SUPPORTED:
            return base
    return default if default in SUPPORTED else SUPPORTED[0]
