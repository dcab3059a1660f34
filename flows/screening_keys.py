"""Gate keys: literal substrings that every match of a lexicon pattern contains.

Screening tries a lexicon entry only when one of its keys is in the message (the gate in
``flows/screening``), which is what keeps a message's screening under a millisecond. The
keys are read from the pattern's syntax tree, and reading them was half of loading the
lexicons at start (1.8 s of 3.7 s on a slow machine). So they are shipped, computed, in
``locales/screening_keys.json`` by each pattern's digest: a pattern found there costs a
lookup, and one that is not (a lexicon edited since) has its keys computed at load, as
correct and only slower, until ``peerbot screening keys`` writes the file again. A test
fails while the file is stale.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

__all__ = ["KEYS_PATH", "Keys", "compute", "gate_keys", "write"]

KEYS_PATH = Path(__file__).resolve().parent.parent / "locales" / "screening_keys.json"
FORMAT = 1

# keys (None: the pattern is never gated) and further sets every match touches one key of
Keys = tuple[frozenset[str] | None, tuple[frozenset[str], ...]]


def gate_keys(pattern: str) -> Keys:
    """``pattern``'s keys: shipped if the file has them, else computed."""
    shipped = _shipped().get(_digest(pattern))
    return shipped if shipped is not None else compute(pattern)


def compute(pattern: str) -> Keys:
    """Read ``pattern``'s keys out of its syntax tree."""
    parsed = _parsed(pattern)
    keys = _gate_keys(parsed)
    return keys, (_more_gate_keys(parsed, keys) if keys else ())


def write(patterns: Iterable[str], path: Path | None = None) -> int:
    """Compute every pattern's keys and write them, one line a pattern; returns how many."""
    path = path or KEYS_PATH
    rows = {}
    for pattern in patterns:
        keys, also = compute(pattern)
        rows[_digest(pattern)] = None if keys is None else [sorted(keys), [sorted(a) for a in also]]
    lines = [json.dumps(d) + ": " + json.dumps(rows[d], ensure_ascii=False) for d in sorted(rows)]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        f'{{"format": {FORMAT}, "keys": {{\n' + ",\n".join(lines) + "\n}}\n", encoding="utf-8"
    )
    tmp.replace(path)
    _shipped.cache_clear()
    return len(rows)


@functools.cache
def _shipped() -> dict[str, Keys]:
    """The shipped keys by digest; none when the file is missing or not this format."""
    try:
        data = json.loads(KEYS_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return {}
    return {
        digest: (None, ()) if row is None else (frozenset(row[0]), tuple(map(frozenset, row[1])))
        for digest, row in data["keys"].items()
    }


def _digest(pattern: str) -> str:
    return hashlib.blake2b(pattern.encode(), digest_size=12).hexdigest()


def _parsed(pattern: str) -> list | None:
    """The regex's syntax tree (CPython's own parser), read once for both kinds of keys."""
    try:
        from re import _parser as p  # CPython >= 3.11

        return list(p.parse(pattern))
    except Exception:  # pragma: no cover - other interpreters: no gate, still correct
        return None


def _gate_keys(parsed: list | None) -> frozenset[str] | None:
    """Literal substrings such that every match contains at least one of them."""
    if parsed is None:
        return None
    from re import _constants as c

    keys = _required(parsed, c)
    if not keys or min(len(k) for k in keys) < 2:
        return None
    return frozenset(keys)


def _more_gate_keys(parsed: list | None, keys: frozenset[str]) -> tuple[frozenset[str], ...]:
    """Other literal sets that every match must also touch (one key of each)."""
    if parsed is None:
        return ()
    from re import _constants as c

    sets = [frozenset(s) for s in _required_all(parsed, c)]
    sets = [s for s in sets if s != keys and min(len(k) for k in s) >= 3]
    sets.sort(key=lambda s: (-min(len(k) for k in s), len(s)))
    return tuple(dict.fromkeys(sets))[:3]


def _required_all(items: list, c) -> list[set[str]]:
    """Every required literal set of a sequence (descending into groups)."""
    out: list[set[str]] = []
    for op, av in _with_literals_joined(items, c):
        if op is None:
            out.append({av})
        elif op is c.SUBPATTERN:
            out.extend(_required_all(list(av[-1]), c))
        elif op in (c.BRANCH, c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            got = _required([(op, av)], c)
            if got:
                out.append(got)
    return out


def _required(items: list, c) -> set[str] | None:
    candidates: list[set[str]] = []
    for op, av in _with_literals_joined(items, c):
        sub: set[str] | None = None
        if op is None:
            sub = {av}
        elif op is c.SUBPATTERN:
            sub = _required(list(av[-1]), c)
        elif op is c.BRANCH:
            union: set[str] | None = set()
            for alt in av[1]:
                got = _required(list(alt), c)
                if not got:
                    union = None
                    break
                union |= got
            sub = union
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            low, _high, body = av
            if low >= 1:
                sub = _required(list(body), c)
        elif op is getattr(c, "ATOMIC_GROUP", None):
            sub = _required(list(av), c)
        if sub:
            candidates.append(sub)
    if not candidates:
        return None
    return max(candidates, key=lambda s: (min(len(x) for x in s), -len(s)))


def _with_literals_joined(items: list, c):
    """The sequence's items, each run of literal characters as one (None, string)."""
    run: list[str] = []
    for op, av in items:
        if op is c.LITERAL:
            run.append(chr(av))
            continue
        if run:
            yield None, "".join(run)
            run = []
        yield op, av
    if run:
        yield None, "".join(run)
