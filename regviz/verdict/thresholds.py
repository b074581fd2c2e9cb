"""Every threshold a verdict uses, with the reason for its value.

None of these was moved to reach a verdict: each is fixed by what a reader can
see on the page's charts, by how noisy our numbers are, or by the plain meaning
of the article's word. The flip check (`regviz.verdict.grading`) reports which
verdicts would change if any of them were 20 % different.
"""

from __future__ import annotations

from regviz.config import CANONICAL_DROPOUT, CANONICAL_L2

# --- where the article looks ------------------------------------------------------

#: The λ where the article sees validation error start to climb.
ARTICLE_TURN_L2 = 0.01
#: "From λ > 0.01 the model predicts the mean": every canonical λ above the turn.
LARGE_L2 = tuple(value for value in CANONICAL_L2 if value > ARTICLE_TURN_L2)
#: "Small λ": every canonical λ > 0 below the turn.
SMALL_L2 = tuple(value for value in CANONICAL_L2 if 0 < value < ARTICLE_TURN_L2)
#: "With L2": every λ > 0.
ANY_L2 = tuple(value for value in CANONICAL_L2 if value > 0)
#: Dropout settings that train. p = 1 never does (it is a claim of its own).
DROPOUT_TRAINED = tuple(p for p in CANONICAL_DROPOUT if 0 < p < 1)
FUZZY_P = (0.2, 0.3)
#: The article's epochs for the early drop of the training loss: after the first
#: epoch (when the level of the data is already learnt) to the tenth.
EARLY_EPOCHS = (1, 10)

# --- comparing two settings ------------------------------------------------------

#: Seed by seed ("paired": the same seed shares initialisation and batch order),
#: one setting must beat the other by at least 10 %. Two runs of one seed that
#: differ only in floating-point rounding end up to ~10 % apart in final
#: validation MSE (the trainers' chaotic dynamics; FINDINGS.md), so a smaller
#: paired difference cannot be told from rounding.
PAIRED_MARGIN = 0.10
#: By range: the lowest seed of one setting over the highest seed of the other.
#: 1 is "the seeds' ranges do not overlap"; with three seeds a difference inside
#: that range may be the luck of one initialisation.
RANGE_RATIO = 1.0

# --- what a chart shows -----------------------------------------------------------

#: A line "looks flat" when it keeps under 10 % of the clean signal's standard
#: deviation: on a chart whose y-axis spans the data that is a barely visible
#: wiggle. The same bar says a prediction "does not change" (it moves by less than
#: that) and a curve "is a straight line" (it leaves its fitted line by less).
FLAT_STD_RATIO = 0.1
#: A constant c scores Var(y) + (c − ȳ)² on the validation set, so a validation
#: MSE within 5 % of Var(y) puts the line within 0.22 σ_y of the data's mean.
MEAN_TOLERANCE = 0.05
#: "A spike at zero": at most 10 % of the weights further than 1e-3 from zero.
#: The ±1e-3 window is narrower than one density bin (0.005), so nine in ten
#: weights then sit in the central bin and the density is one peak (at
#: initialisation under 1 % of the weights lie that close).
SPIKE_OUTSIDE_SHARE = 0.1
#: "The tallest": the λ = 1 peak over the tallest other peak of the L2 sweep,
#: all drawn with the sweep's one bandwidth. 1 is "as tall as the tallest".
TALLEST_RATIO = 1.0
#: "Visibly changes" / "barely changes": a setting's weight density moves away
#: from another's more (or no more) than the density of one setting moves between
#: two seeds. 1 is the luck of the seed; a change below it cannot be seen as the
#: setting's doing.
SEED_NOISE_RATIO = 1.0
#: "Shaky": the curve bends at least 50 % more than the unregularised fit where
#: the truth is smooth; less than that is hard to see on the page's chart.
SHAKY_RATIO = 1.5
#: "Fuzzy near x = 11": the dropout band, relative to the output level, is at
#: least 25 % wider there than at points of the same level elsewhere; smaller
#: differences drown in the spread between seeds.
FUZZY_RATIO = 1.25
#: A band that widens where the model is unsure covers the clean signal there at
#: least as often as elsewhere: coverage near x = 11 over coverage elsewhere ≥ 1.
COVERAGE_RATIO = 1.0
#: "Keeps its initial values": at most 1 % of the weights moved (about 84 of
#: 8,384); so few cannot change the shape of the density.
MOVED_SHARE = 0.01
#: "Adam's doing": plain SGD at the same λ produces at least half of Adam's
#: excess of weights near zero (over each optimiser's own λ = 0 run, seed by
#: seed). Half is the split between "mostly the penalty" and "mostly the optimiser".
OPTIMISER_SHARE = 0.5
