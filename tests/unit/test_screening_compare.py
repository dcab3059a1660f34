"""The sign test that judges a screening candidate's lost and gained crises (docs/screening.md)."""

from __future__ import annotations

import pytest

from benchmarks.screening_compare import sign_test
from flows.screening_corpus import corpus_files


@pytest.mark.parametrize(
    ("losses", "changes", "p"),
    [
        (0, 0, 1.0),  # nothing changed: no evidence either way
        (2, 4, 1.0),
        (0, 5, 0.0625),  # 2 / 2**5
        (8, 8, 0.0078125),  # 2 / 2**8: eight lost, none gained is significant
        (8, 11, 0.2265625),  # eight lost and three gained is not
    ],
)
def test_the_sign_test_is_two_sided_and_exact(losses: int, changes: int, p: float) -> None:
    assert sign_test(losses, changes) == pytest.approx(p)


def test_a_corpus_file_is_named_once_for_every_language_that_has_it() -> None:
    both = corpus_files(["spare-ze", "spare-zf"])
    assert {e.lang for e in both} == {"de", "en", "es"}
    assert {e.source for e in both} == {"spare-ze", "spare-zf"}
    assert corpus_files(["no-such-file"]) == []
