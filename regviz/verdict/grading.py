"""One grading rule for every claim: criteria against thresholds, a verdict, a flip check.

A claim is judged by one or more criteria, each a measured number against a
threshold. The verdict is "holds" when every criterion passes, "partly" when
some do and "does not hold" when none does; the same rule for every regulariser.
A criterion passes *at* its threshold: "at least" means value ≥ threshold,
"at most" value ≤ threshold.

Flip check: the claim is graded again with every threshold moved by 20 % in the
direction that makes passing harder (an "at least" threshold times 1.2, an
"at most" one times 0.8), and again with every threshold moved 20 % the easy way.
A verdict only gets better as more criteria pass, so these two regrades bound
every mix of ±20 % moves, including "all thresholds × 0.8" and "all × 1.2"; if
neither changes the verdict, no such move does.

Pure Python and numpy: no runs in here, so the rule is tested on synthetic numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

HOLDS, PARTLY, DOES_NOT_HOLD, NOT_MEASURED = "holds", "partly", "does not hold", "not measured"
VERDICTS = (HOLDS, PARTLY, DOES_NOT_HOLD, NOT_MEASURED)
#: How far every threshold moves in the flip check (a share of its value).
FLIP_SHIFT = 0.2


@dataclass(frozen=True)
class Criterion:
    """One measured number against one threshold.

    `measure` names the number ("prediction std / clean signal's std"), `where`
    the setting(s) it was read at ("λ = 0.1"). `at_least`: the criterion passes
    when value ≥ threshold; otherwise when value ≤ threshold. A value that is not
    a finite number never passes.
    """

    measure: str
    where: str
    value: float
    threshold: float
    at_least: bool

    def passes(self, factor: float = 1.0) -> bool:
        """Pass or fail with the threshold multiplied by `factor`."""
        if not math.isfinite(self.value):
            return False
        limit = self.threshold * factor
        return self.value >= limit if self.at_least else self.value <= limit

    @property
    def margin(self) -> float:
        """How far past the threshold, relative to it: positive passes, negative fails."""
        if not math.isfinite(self.value) or self.threshold == 0:
            return float("nan")
        signed = (self.value - self.threshold) / abs(self.threshold)
        return signed if self.at_least else -signed

    @property
    def stricter(self) -> float:
        """The factor that makes this threshold 20 % harder to pass."""
        return 1 + FLIP_SHIFT if self.at_least else 1 - FLIP_SHIFT

    @property
    def looser(self) -> float:
        return 1 - FLIP_SHIFT if self.at_least else 1 + FLIP_SHIFT

    @property
    def rule(self) -> str:
        """'prediction std / signal's ≤ 0.1': the threshold as a reader sees it."""
        return f"{self.measure} {'≥' if self.at_least else '≤'} {self.threshold:g}"


def grade(passed: Sequence[bool]) -> str:
    """All pass: holds; some: partly; none: does not hold."""
    if not passed:
        raise ValueError("a claim needs at least one criterion")
    if all(passed):
        return HOLDS
    return PARTLY if any(passed) else DOES_NOT_HOLD


def grade_criteria(criteria: Sequence[Criterion], how: str = "as set") -> str:
    """The verdict with thresholds as set, 20 % "stricter" or 20 % "looser"."""
    if how == "as set":
        return grade([c.passes() for c in criteria])
    if how == "stricter":
        return grade([c.passes(c.stricter) for c in criteria])
    if how == "looser":
        return grade([c.passes(c.looser) for c in criteria])
    raise ValueError(f"how must be 'as set', 'stricter' or 'looser'; got {how!r}")


def grade_scaled(criteria: Sequence[Criterion], factor: float) -> str:
    """The verdict with every threshold multiplied by the same factor (e.g. 0.8 or 1.2)."""
    return grade([c.passes(factor) for c in criteria])


@dataclass(frozen=True)
class Verdict:
    """One claim of the article, what we measured, and how the two compare.

    `judged` says which curve and which settings the claim was read on;
    `criteria` are the numbers and thresholds behind `verdict`; `at_stricter` and
    `at_looser` the verdicts with every threshold moved 20 % against or in favour
    of passing (see the module docstring).
    """

    claim: str
    measured: str
    verdict: str
    evidence: dict[str, float] = field(default_factory=dict)
    key: str = ""
    judged: str = ""
    criteria: tuple[Criterion, ...] = ()
    at_stricter: str = ""
    at_looser: str = ""

    @property
    def flips(self) -> bool:
        """Would moving every threshold by 20 % (either way) change the verdict?"""
        moved = (self.at_stricter, self.at_looser)
        return bool(self.criteria) and any(v != self.verdict for v in moved)

    @property
    def passed(self) -> int:
        return sum(c.passes() for c in self.criteria)

    @property
    def threshold_text(self) -> str:
        """Each distinct rule once, in the order first met."""
        rules = list(dict.fromkeys(c.rule for c in self.criteria))
        return "; ".join(rules) if rules else "–"

    @property
    def nearest(self) -> Criterion | None:
        """The criterion whose value lies closest to its threshold (relatively)."""
        finite = [c for c in self.criteria if math.isfinite(c.margin)]
        return min(finite, key=lambda c: abs(c.margin)) if finite else None

    @property
    def margin_text(self) -> str:
        """'2 of 4 pass; nearest: prediction std / signal's (λ = 0.1), +12 %'."""
        if not self.criteria:
            return "–"
        text = f"{self.passed} of {len(self.criteria)} pass"
        near = self.nearest
        if near is not None:
            text += f"; nearest: {near.measure} ({near.where}), {100 * near.margin:+.0f} %"
        return text

    @property
    def flip_text(self) -> str:
        if not self.criteria:
            return "–"
        changes = [
            f"{verdict} if {100 * FLIP_SHIFT:.0f} % {how}"
            for how, verdict in (("stricter", self.at_stricter), ("looser", self.at_looser))
            if verdict != self.verdict
        ]
        return "yes: " + ", ".join(changes) if changes else "no"


def judge(
    key: str,
    claim: str,
    judged: str,
    criteria: Sequence[Criterion],
    measured: str,
    evidence: dict[str, float] | None = None,
) -> Verdict:
    """The one place a verdict is graded: from its criteria, with the flip check."""
    criteria = tuple(criteria)
    numbers = {f"{c.measure}, {c.where}": float(c.value) for c in criteria}
    return Verdict(
        claim=claim,
        measured=measured,
        verdict=grade_criteria(criteria),
        evidence={**numbers, **(evidence or {})},
        key=key,
        judged=judged,
        criteria=criteria,
        at_stricter=grade_criteria(criteria, "stricter"),
        at_looser=grade_criteria(criteria, "looser"),
    )


def not_measured(key: str, claim: str, judged: str, labels: Sequence[str]) -> Verdict:
    """A claim whose files did not load: says which, and how to rebuild them."""
    return Verdict(
        claim=claim,
        measured="Not measured: missing " + "; ".join(labels),
        verdict=NOT_MEASURED,
        key=key,
        judged=judged,
    )
