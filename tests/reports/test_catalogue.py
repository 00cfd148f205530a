"""One catalogue, two languages: the same keys and the same placeholders in each."""

from __future__ import annotations

import string

import pytest

from reports.catalogue import CATALOGUE, LANGUAGES, Labels


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_keys() -> None:
    assert set(LANGUAGES) == set(CATALOGUE)
    assert set(CATALOGUE["en"]) == set(CATALOGUE["fr"])


def test_each_text_takes_the_same_placeholders_in_both_languages() -> None:
    for key, english in CATALOGUE["en"].items():
        assert _placeholders(english) == _placeholders(CATALOGUE["fr"][key]), key


def test_no_text_is_left_empty_or_untranslated_by_accident() -> None:
    same = {k for k, v in CATALOGUE["en"].items() if CATALOGUE["fr"][k] == v}
    # words that are the same in both: ids, abbreviations, borrowed words
    assert same <= {
        "head.site", "col.zone", "col.zones", "col.p90", "col.n", "col.mode", "col.verdict",
        "chart.incidents", "modality.ir", "kind.ir", "outcome.intrusion", "col.title",
        "sign.signature", "section.signatures",
    }, same  # fmt: skip
    assert all(v.strip() for texts in CATALOGUE.values() for v in texts.values())


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="no catalogue"):
        Labels("de")
