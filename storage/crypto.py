"""Encryption at rest for free text: Fernet keys from settings, or one generated into the data folder."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEY_FILE_NAME = "peerbot.key"


class Cipher:
    """Encrypts with the first key, decrypts with any (so keys can be rotated)."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode("ascii")

    def opens(self, token: str) -> bool:
        """Whether one of the keys opens ``token``."""
        try:
            self._fernet.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            return False
        return True

    def rotate(self, token: str) -> str:
        """``token`` encrypted again under the newest key (the first)."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeEncodeError) as error:
            raise ValueError(
                "stored text cannot be decrypted: is ENCRYPTION_KEY the key it was written with?"
            ) from error


_cipher: Cipher | None = None


def use_cipher(cipher: Cipher) -> None:
    """Install the process-wide cipher; the column types of the models read it."""
    global _cipher
    _cipher = cipher


def cipher() -> Cipher:
    if _cipher is None:
        raise RuntimeError("no encryption key configured: call storage.crypto.use_cipher() first")
    return _cipher


def parse_keys(text: str) -> list[bytes]:
    """ENCRYPTION_KEY may hold several comma-separated keys, newest first."""
    return [part.strip().encode() for part in text.split(",") if part.strip()]


def load_or_create_key_file(data_dir: Path) -> list[bytes]:
    """Read the key kept in the data folder, creating it owner-only on first run. (A key
    created while data exists opens none of it: ``peerbot run`` then refuses to start,
    see ``storage.keys``.)"""
    path = data_dir / KEY_FILE_NAME
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(Fernet.generate_key())
    return parse_keys(path.read_text())
