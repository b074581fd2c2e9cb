"""The article's claims next to what our checkpoints measure, with a verdict for each.

Every verdict is computed from the loaded runs each time it is asked for; no
number in here is typed in except the thresholds (`regviz.verdict.thresholds`,
each with the reason for its value). A claim is judged by criteria, each a
measured number against a threshold, and graded by one rule for every
regulariser (`regviz.verdict.grading`): holds when all pass, partly when some
do, does not hold when none does; with the margin of each criterion and a check
of whether a 20 % move of the thresholds would change the verdict.

Modules: `grading` (criteria, verdicts, the flip check), `thresholds`, `claims`
(the claims' words and what each is judged on), `runs` (loaded runs and shared
measures), `spread` (densities as the page draws them), `l2`, `dropout` and
`ours` (the judges), `table` (all verdicts, the page's table, the README's
Markdown), `coverage` (the MC dropout coverage table).

numpy and pandas only: this runs on the page's reading path.
"""

from __future__ import annotations

from regviz.verdict.claims import CLAIMS, JUDGED
from regviz.verdict.coverage import COVERAGE_COLUMNS, coverage_with_noise, mc_coverage_table
from regviz.verdict.grading import (
    DOES_NOT_HOLD,
    HOLDS,
    NOT_MEASURED,
    PARTLY,
    VERDICTS,
    Criterion,
    Verdict,
    grade,
    grade_criteria,
    grade_scaled,
    judge,
)
from regviz.verdict.runs import (
    FINAL,
    clearly_above,
    clearly_worse,
    climb_start,
    hard_region,
    roughness,
    seed_spread_ratio,
)
from regviz.verdict.table import (
    COLUMNS,
    article_verdicts,
    count_line,
    markdown,
    plain,
    verdict_table,
)
from regviz.verdict.thresholds import FLAT_STD_RATIO, FUZZY_RATIO, MEAN_TOLERANCE

__all__ = [
    "CLAIMS",
    "COLUMNS",
    "COVERAGE_COLUMNS",
    "DOES_NOT_HOLD",
    "FINAL",
    "FLAT_STD_RATIO",
    "FUZZY_RATIO",
    "HOLDS",
    "JUDGED",
    "MEAN_TOLERANCE",
    "NOT_MEASURED",
    "PARTLY",
    "VERDICTS",
    "Criterion",
    "Verdict",
    "article_verdicts",
    "clearly_above",
    "clearly_worse",
    "climb_start",
    "count_line",
    "coverage_with_noise",
    "grade",
    "grade_criteria",
    "grade_scaled",
    "hard_region",
    "judge",
    "markdown",
    "mc_coverage_table",
    "plain",
    "roughness",
    "seed_spread_ratio",
    "verdict_table",
]
