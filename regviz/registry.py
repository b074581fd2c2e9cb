"""Every stored sweep as one record: what it varies, how it is written, where it lives in the URL.

A sweep is a family of runs that differ in one `RunConfig` field. Config, URL
state, tables, pretraining and the page's sections all read this registry, so a
new sweep is one new `Sweep` here (plus the section that tells its story).
numpy-free and Streamlit-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

from regviz.config import (
    CANONICAL_DROPOUT,
    CANONICAL_L1,
    CANONICAL_L2,
    CANONICAL_WEIGHT_DECAY,
    SEEDS,
    RunConfig,
)
from regviz.data import N_TRAIN

#: Plain SGD for the optimiser comparison (see the L2 section): of the learning rates
#: and momenta tried by `python -m benchmarks.sgd_lr`, the one whose unregularised fit
#: comes closest to Adam's (mean over seeds of the last-10-epoch validation MSE).
SGD_LR = 0.001
SGD_MOMENTUM = 0.95
#: Training-set sizes of the small-data sweeps; each set lies inside the next.
SMALL_DATA_N: tuple[int, ...] = (30, 100, 300, 1000, N_TRAIN)
#: p values of the small-data sweeps: p = 1 never learns, whatever n is.
SMALL_DATA_DROPOUT: tuple[float, ...] = tuple(p for p in CANONICAL_DROPOUT if p < 1)


@dataclass(frozen=True)
class Sweep:
    """One setting varied over canonical values, everything else fixed by `base`."""

    key: str
    name: str
    symbol: str
    field: str
    values: tuple[float, ...]
    default: float
    base: RunConfig = field(default_factory=RunConfig)
    #: The URL parameter holding the focused value; None when the sweep has no picker.
    url_key: str | None = None

    def config(self, value: float) -> RunConfig:
        return _sweep_config(self.base, self.field, value)

    def label(self, value: float) -> str:
        return f"{self.symbol} = {value:g}"

    def token(self, value: float) -> str:
        """'l2:0.01': how a comparison side names one setting of this sweep."""
        return f"{self.key}:{value:g}"

    @property
    def baseline(self) -> RunConfig | None:
        """The sweep's unregularised setting, when it has one (value 0)."""
        return self.config(0.0) if 0.0 in self.values else None

    def settings(self) -> list[RunConfig]:
        return [self.config(value) for value in self.values]


@lru_cache(maxsize=4096)
def _sweep_config(base: RunConfig, name: str, value: float) -> RunConfig:
    """Memoised: the page asks for each stored setting many times per rerun."""
    return replace(base, **{name: value})


def _small(kind: str, n: int) -> Sweep:
    base = RunConfig(n_train=n)
    if kind == "l2":
        return Sweep(f"l2-n{n}", f"L2 on {n:,} points", "λ", "l2", CANONICAL_L2, 1e-3, base)
    return Sweep(
        f"p-n{n}", f"dropout on {n:,} points", "p", "dropout", SMALL_DATA_DROPOUT, 0.1, base
    )


#: The sweeps with a section and a picker, in page order.
SWEEPS: dict[str, Sweep] = {
    sweep.key: sweep
    for sweep in (
        Sweep("l2", "L2", "λ", "l2", CANONICAL_L2, 1e-2, url_key="l2"),
        Sweep("p", "dropout", "p", "dropout", CANONICAL_DROPOUT, 0.2, url_key="p"),
        Sweep("l1", "L1", "λ₁", "l1", CANONICAL_L1, 1e-3, url_key="l1"),
        Sweep(
            "wd",
            "decoupled weight decay (AdamW)",
            "decay",
            "weight_decay",
            CANONICAL_WEIGHT_DECAY,
            1.0,
            url_key="wd",
        ),
        Sweep(
            "sgd",
            "L2 with plain SGD",
            "λ",
            "l2",
            CANONICAL_L2,
            1e-2,
            RunConfig(optimizer="sgd", lr=SGD_LR, momentum=SGD_MOMENTUM),
        ),
        Sweep(
            "l2b", "L2 on weights and biases", "λ", "l2", (0.1, 1.0), 1.0, RunConfig(l2_biases=True)
        ),
    )
}
#: The small-data sweeps: (kind, n) → sweep, kind "l2" or "p". n = 8,000 is the full data.
SMALL_DATA: dict[tuple[str, int], Sweep] = {
    (kind, n): _small(kind, n) for n in SMALL_DATA_N if n != N_TRAIN for kind in ("l2", "p")
}
SMALL_DATA.update({("l2", N_TRAIN): SWEEPS["l2"], ("p", N_TRAIN): SWEEPS["p"]})


def all_sweeps() -> list[Sweep]:
    return [*SWEEPS.values(), *(s for s in SMALL_DATA.values() if s.key not in SWEEPS)]


def sweep_by_key(key: str) -> Sweep:
    """Any stored sweep by its key: 'l2', 'sgd', or a small-data one such as 'p-n300'."""
    for sweep in all_sweeps():
        if sweep.key == key:
            return sweep
    raise KeyError(f"no sweep {key!r}; known: {', '.join(s.key for s in all_sweeps())}")


def stored_settings() -> list[RunConfig]:
    """Every setting `pretrain` trains (seed 0), each once, baseline first."""
    seen: dict[RunConfig, None] = {RunConfig(): None}
    for sweep in all_sweeps():
        for config in sweep.settings():
            seen.setdefault(config, None)
    return list(seen)


def canonical_configs() -> list[RunConfig]:
    """Every stored run: each setting times each seed."""
    return [setting.with_seed(seed) for setting in stored_settings() for seed in SEEDS]


def url_sweeps() -> dict[str, Sweep]:
    """URL key → sweep, for the sweeps a reader can focus from the URL."""
    return {sweep.url_key: sweep for sweep in SWEEPS.values() if sweep.url_key}


def sweep_of(config: RunConfig) -> Sweep | None:
    """The first sweep that holds `config`'s setting (seed ignored)."""
    setting = replace(config, seed=0)
    for sweep in all_sweeps():
        if setting in sweep.settings():
            return sweep
    return None
