"""How each kind of figure is printed, in each language: one place, so that the PDF
and the tests that read it back agree. French uses the decimal comma; neither
language groups thousands (so a count reads the same as in the JSON file).
"""

from __future__ import annotations

from typing import Any

MISSING = "—"
"""Printed where a figure has no value (a PoD with no crossing, a median of nothing)."""


class Numbers:
    def __init__(self, lang: str) -> None:
        self.lang = lang

    def _dec(self, text: str) -> str:
        return text.replace(".", ",") if self.lang == "fr" else text

    def count(self, n: int | None) -> str:
        return MISSING if n is None else str(n)

    def prob(self, p: float | None) -> str:
        """A probability (PoD, its bound, a target): three decimals, e.g. 0.909."""
        return MISSING if p is None else self._dec(f"{p:.3f}")

    def rate(self, r: float | None) -> str:
        """Alarms per 30 days: two decimals."""
        return MISSING if r is None else self._dec(f"{r:.2f}")

    def percent(self, a: float | None) -> str:
        """A fraction (availability) as a percentage with two decimals, e.g. 99.52 %."""
        return MISSING if a is None else self._dec(f"{a * 100:.2f}") + "\u00a0%"

    def days(self, d: float) -> str:
        return self._dec(f"{d:.2f}")

    def seconds(self, s: float | None) -> str:
        """A duration: seconds with one decimal, then hours and minutes past a minute."""
        if s is None:
            return MISSING
        text = self._dec(f"{s:.1f}") + "\u00a0s"
        if s >= 60:
            h, rest = divmod(round(s), 3600)
            m, sec = divmod(rest, 60)
            human = (
                f"{h}\u00a0h\u00a0{m:02d}\u00a0min" if h else f"{m}\u00a0min\u00a0{sec:02d}\u00a0s"
            )
            text += f" ({human})"
        return text

    def param(self, name: str, value: Any) -> str:
        """A figure put into a sentence of the catalogue, formatted by what it is."""
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return MISSING if value is None else str(value)
        if name in {"pod", "lower", "target"}:
            return self.prob(value)
        if name in {"per_30d", "limit"} and not isinstance(value, int):
            return self.rate(value)
        if name in {"availability", "threshold"}:
            return self.percent(value)
        if isinstance(value, int):
            return self.count(value)
        return self._dec(f"{value:.3f}")
