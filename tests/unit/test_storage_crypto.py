"""Encryption keys: round trips, rotation, a wrong key, and the key file kept in the data folder."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from storage import crypto
from storage.crypto import Cipher, load_or_create_key_file, parse_keys

NOTE = "Flare after the appointment — cried in the car. Müde 😴"


def test_a_note_comes_back_as_it_was_written_and_is_unreadable_in_between() -> None:
    cipher = Cipher([Fernet.generate_key()])
    token = cipher.encrypt(NOTE)
    assert "Flare" not in token and "Müde" not in token
    assert token.isascii()
    assert cipher.decrypt(token) == NOTE


def test_the_same_note_encrypts_differently_each_time() -> None:
    cipher = Cipher([Fernet.generate_key()])
    assert cipher.encrypt(NOTE) != cipher.encrypt(NOTE)


def test_after_rotation_old_text_is_still_readable_and_new_text_uses_the_new_key() -> None:
    old_key, new_key = Fernet.generate_key(), Fernet.generate_key()
    written_before = Cipher([old_key]).encrypt("written before rotation")

    rotated = Cipher([new_key, old_key])  # newest first
    assert rotated.decrypt(written_before) == "written before rotation"

    written_after = rotated.encrypt("written after rotation")
    assert Cipher([new_key]).decrypt(written_after) == "written after rotation"
    with pytest.raises(ValueError):
        Cipher([old_key]).decrypt(written_after)  # the old key alone can no longer read it


def test_the_wrong_key_gives_a_clear_error_naming_the_setting() -> None:
    token = Cipher([Fernet.generate_key()]).encrypt(NOTE)
    with pytest.raises(ValueError, match=r"cannot be decrypted.*ENCRYPTION_KEY"):
        Cipher([Fernet.generate_key()]).decrypt(token)


@pytest.mark.parametrize("stored", ["plain text from an old backup", "Müde, sin cifrar"])
def test_text_that_was_never_encrypted_gives_the_same_clear_error(stored: str) -> None:
    with pytest.raises(ValueError, match=r"cannot be decrypted.*ENCRYPTION_KEY"):
        Cipher([Fernet.generate_key()]).decrypt(stored)


def test_no_key_at_all_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Cipher([])


def test_using_storage_before_a_key_is_configured_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(crypto, "_cipher", None)
    with pytest.raises(RuntimeError, match="no encryption key configured"):
        crypto.cipher()


def test_the_installed_cipher_is_the_one_storage_uses(cipher: Cipher) -> None:
    assert crypto.cipher() is cipher


def test_several_keys_in_the_setting_are_split_on_commas_newest_first() -> None:
    first, second = Fernet.generate_key(), Fernet.generate_key()
    setting = f" {first.decode()} ,{second.decode()},\n"
    assert parse_keys(setting) == [first, second]
    assert parse_keys("  ") == []


def test_the_key_file_is_created_once_owner_only_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "not" / "there" / "yet"

    first = load_or_create_key_file(data_dir)
    key_file = data_dir / crypto.KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first) == 1
    Cipher(first)  # a usable Fernet key

    written = key_file.read_bytes()
    again = load_or_create_key_file(data_dir)
    assert again == first
    assert key_file.read_bytes() == written  # not regenerated: old data stays readable


def test_a_key_file_holding_a_rotated_pair_gives_both_keys(tmp_path: Path) -> None:
    new_key, old_key = Fernet.generate_key(), Fernet.generate_key()
    (tmp_path / crypto.KEY_FILE_NAME).write_bytes(new_key + b"," + old_key + b"\n")
    assert load_or_create_key_file(tmp_path) == [new_key, old_key]
