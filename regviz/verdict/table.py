"""Every claim judged, as a list, a table for the page, and the README's Markdown."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from regviz import lazy
from regviz.store import Pretrained
from regviz.verdict import dropout, l2, ours
from regviz.verdict.claims import CLAIMS, JUDGED
from regviz.verdict.grading import (
    DOES_NOT_HOLD,
    FLIP_SHIFT,
    HOLDS,
    NOT_MEASURED,
    PARTLY,
    Verdict,
    not_measured,
)
from regviz.verdict.runs import Missing, Runs

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy.module("pandas")

_JUDGES: dict[str, Callable[[Runs], Verdict]] = {
    "turning_point": l2.turning_point,
    "mean_at_large_l2": l2.mean_at_large_l2,
    "delta_at_l2_1": l2.spike_at_l2_1,
    "small_l2_params": l2.small_l2_params,
    "l2_slower_drop": l2.l2_slower_drop,
    "shaky_p01": dropout.shaky_p01,
    "fuzzy_p02_03": dropout.fuzzy_p02_03,
    "mean_at_p06": dropout.mean_at_p06,
    "initial_at_p1": dropout.initial_at_p1,
    "dropout_wider": dropout.dropout_wider,
    "p_barely_changes": dropout.p_barely_changes,
    "adam_share": ours.adam_share,
    "bias_ramp": ours.bias_ramp,
    "small_data": ours.small_data,
}
assert list(_JUDGES) == list(CLAIMS), "every claim needs a judge, in CLAIMS order"

#: Table columns, shared by the page and the README.
COLUMNS = (
    "The article says",
    "Judged on",
    "We measured",
    "Threshold",
    "Margin",
    f"Flips at ±{100 * FLIP_SHIFT:.0f} %?",
    "Verdict",
)


def article_verdicts(pretrained: Pretrained) -> list[Verdict]:
    """One verdict per claim in `CLAIMS`, in that order, computed from the loaded runs.

    Never raises for missing files: a claim whose runs did not load is "not
    measured", naming the files and the command that rebuilds them; so is a claim
    whose runs lack a number it needs.
    """
    runs = Runs(pretrained)
    verdicts = []
    for key, judge in _JUDGES.items():
        try:
            verdicts.append(judge(runs))
        except Missing as missing:
            verdicts.append(not_measured(key, CLAIMS[key], JUDGED[key], missing.labels))
        except (KeyError, ValueError, ZeroDivisionError) as error:
            # A run that loaded but lacks a number (an older file format, say): the page
            # must still draw, so the claim says what it could not compute.
            reason = f"a stored number it needs could not be read ({type(error).__name__}: {error})"
            verdicts.append(not_measured(key, CLAIMS[key], JUDGED[key], [reason]))
    return verdicts


def verdict_table(verdicts: Sequence[Verdict]) -> pd.DataFrame:
    """Claim, what was judged, measured, threshold, margin, flip check and verdict."""
    rows = [
        (
            v.claim,
            v.judged,
            v.measured,
            v.threshold_text,
            v.margin_text,
            v.flip_text,
            v.verdict,
        )
        for v in verdicts
    ]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def count_line(verdicts: Sequence[Verdict]) -> str:
    """'8 hold, 4 partly, 2 do not' (and how many were not measured, if any)."""
    count = {v: sum(x.verdict == v for x in verdicts) for v in (HOLDS, PARTLY, DOES_NOT_HOLD)}
    hold = "holds" if count[HOLDS] == 1 else "hold"
    does = "does not" if count[DOES_NOT_HOLD] == 1 else "do not"
    text = f"{count[HOLDS]} {hold}, {count[PARTLY]} partly, {count[DOES_NOT_HOLD]} {does}"
    missing = sum(x.verdict == NOT_MEASURED for x in verdicts)
    return text + (f", {missing} not measured" if missing else "")


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(verdicts: Sequence[Verdict]) -> str:
    """The README table and its count line: what `python -m regviz verdicts --markdown` prints."""
    table = verdict_table(verdicts)
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "| " + " | ".join("---" for _ in COLUMNS) + " |",
        *("| " + " | ".join(_cell(c) for c in row) + " |" for row in table.itertuples(index=False)),
        "",
        f"{count_line(verdicts)} (computed by `python -m regviz verdicts` from `pretrained/`).",
    ]
    return "\n".join(lines)


def plain(verdicts: Sequence[Verdict]) -> str:
    """One block per claim, for a terminal."""
    blocks = []
    for v in verdicts:
        blocks.append(
            "\n".join(
                (
                    f"{v.verdict.upper()}: {v.claim}",
                    f"  judged on: {v.judged}",
                    f"  measured:  {v.measured}",
                    f"  threshold: {v.threshold_text}",
                    f"  margin:    {v.margin_text}",
                    f"  flips at ±{100 * FLIP_SHIFT:.0f} %: {v.flip_text}",
                )
            )
        )
    return "\n\n".join([*blocks, count_line(verdicts)])
