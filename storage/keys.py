"""Which keys open the stored text, and moving all of it onto the newest key.

Every column of type ``EncryptedText`` is found in the models, so a new one cannot be
forgotten. Values are read and written raw (below the column type), so a value no key
opens is reported, never half-decrypted.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Column, Table, Text, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import Cipher
from storage.models import Base, EncryptedText


def encrypted_columns() -> Iterator[tuple[Table, Column]]:
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, EncryptedText):
                yield table, column


async def unreadable(session: AsyncSession, cipher: Cipher) -> list[str]:
    """ "table.column" for each encrypted column whose newest stored value no key opens."""
    found = []
    for table, column in encrypted_columns():
        raw = column.type.impl  # the value as stored
        latest = (
            select(column.cast(raw))  # below the type: no decryption attempted
            .where(column.is_not(None))
            .order_by(*[pk.desc() for pk in table.primary_key.columns])
            .limit(1)
        )
        token = await session.scalar(latest)
        if token is not None and not cipher.opens(token):
            found.append(f"{table.name}.{column.name}")
    return found


async def rotate(session: AsyncSession, cipher: Cipher) -> int:
    """Re-encrypt every stored value under the newest key; returns how many. Raises
    ValueError, naming the column, if a value opens with no configured key."""
    rotated = 0
    for table, column in encrypted_columns():
        keys = list(table.primary_key.columns)
        rows = await session.execute(
            select(*keys, column.cast(column.type.impl)).where(column.is_not(None))
        )
        for row in rows.all():
            *key_values, token = row
            if not cipher.opens(token):
                raise ValueError(f"a value in {table.name}.{column.name} opens with no key")
            await session.execute(
                update(table)
                .where(*[k == v for k, v in zip(keys, key_values, strict=True)])
                .values({column.name: literal(cipher.rotate(token), type_=Text())})
            )
            rotated += 1
    return rotated
