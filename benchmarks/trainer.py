"""`python -m benchmarks.trainer`: how much faster `fit` and `fit_many` are than a plain loop.

Three contestants train the same configurations in one process, each a few
times, and we report the median seconds per model:

* **plain loop**: the loop a tutorial would write (`DataLoader` with
  `shuffle=True`, `torch.optim.Adam`, the penalty added to the loss as a sum over
  the weight matrices, `loss.backward()`, `opt.step()`, an evaluation after every
  epoch), on the same model (`build_mlp`), data (`make_dataset`), epochs, batch
  size, learning rate and penalty as `fit`;
* **`regviz.fit`**, one config at a time;
* **`regviz.fit_many`**, every config in one call (the canonical sweep: the
  article's λ values with p = 0 and its p values with λ = 0, three seeds).

Next to each time stands the mean final validation MSE over the configs it
trained, so a speed-up can never come from doing less work. The plain loop
flushes subnormal floats to zero with the same switch as `fit` (see `DENORMALS`).

`--quick` (3 epochs, under a minute) writes `docs/bench_quick.json`, the full run
(100 epochs, about 10 minutes on 2 cores) `docs/bench.json`; `--smoke` is for the
tests and writes only where `--json` says. The page and the load have their own
benchmarks (`benchmarks.page`, `benchmarks.load`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from benchmarks import report as shared
from regviz.config import CANONICAL_DROPOUT, CANONICAL_L2, SEEDS, RunConfig

#: Goals from the issue "Serving many readers" (on each x86 CPU): how many times less
#: time per model than the plain loop.
GOALS = {"fit": 4.0, "fit_many": 12.0}
#: Where each mode writes its report unless `--json` says otherwise (smoke: nowhere).
DEFAULT_JSON = {"full": shared.DOCS / "bench.json", "quick": shared.DOCS / "bench_quick.json"}
DENORMALS = (
    "all three contestants run with torch.set_flush_denormal(True): fit and fit_many set it "
    "themselves, and the plain loop sets it the same way, because at λ ≥ 0.1 the parameters "
    "and Adam's moments sink into subnormal floats that are several times slower on CPUs; "
    "timing the plain loop without it would flatter fit"
)


def canonical_sweep(seeds: Sequence[int] = SEEDS) -> list[RunConfig]:
    """The article's sweep: each λ with p = 0, then each p > 0 with λ = 0, for every seed.

    Built from the article's two value lists, not from the page's registry of stored
    settings, which holds more experiments than the article's sweep.
    """
    settings = [RunConfig(l2=value) for value in CANONICAL_L2]
    settings += [RunConfig(dropout=value) for value in CANONICAL_DROPOUT if value]
    return [replace(setting, seed=seed) for setting in settings for seed in seeds]


#: Plain loop and `fit` time one model at a time, so the full benchmark gives them
#: a spread of the sweep (weak and strong λ, low and high p) instead of all 51 runs.
FULL_SINGLE = (
    RunConfig(l2=0.0),
    RunConfig(l2=1e-4),
    RunConfig(l2=1e-2),
    RunConfig(l2=1.0),
    RunConfig(dropout=0.3),
    RunConfig(dropout=0.6),
    RunConfig(dropout=0.9),
)


@dataclass(frozen=True)
class Plan:
    """Which configs each contestant trains, for how long and how often."""

    mode: str
    epochs: int
    repeats: int
    single: tuple[RunConfig, ...]
    many: tuple[RunConfig, ...]
    notes: tuple[str, ...] = ()

    def with_epochs(self, epochs: int) -> Plan:
        return replace(
            self,
            epochs=epochs,
            single=tuple(replace(c, epochs=epochs) for c in self.single),
            many=tuple(replace(c, epochs=epochs) for c in self.many),
        )


def make_plan(mode: str, epochs: int | None = None, repeats: int | None = None) -> Plan:
    """full: 100 epochs, the 51-run sweep for fit_many, 7 of its settings for the others
    (about 10 minutes on 2 cores); quick: the 17 sweep settings at seed 0, 3 epochs, for
    all three (under a minute); smoke: 2 configs, 2 epochs, once (for the test suite)."""
    if mode == "full":
        plan = Plan("full", 100, 3, FULL_SINGLE, tuple(canonical_sweep()))
    elif mode == "quick":
        sweep = tuple(canonical_sweep(seeds=(0,)))
        plan = Plan("quick", 3, 3, sweep, sweep)
    elif mode == "smoke":
        configs = (RunConfig(l2=1e-3), RunConfig(dropout=0.5))
        plan = Plan("smoke", 2, 1, configs, configs)
    else:
        raise ValueError(f"unknown benchmark mode {mode!r}; known: full, quick, smoke")
    plan = replace(plan.with_epochs(epochs or plan.epochs), repeats=repeats or plan.repeats)
    if plan.single == plan.many:
        work = f"all three train the same {len(plan.many)} configs"
    else:
        work = (
            f"plain loop and fit train {len(plan.single)} settings spread over the sweep "
            f"(seed 0); fit_many trains all {len(plan.many)} runs of the sweep"
        )
    return replace(plan, notes=(f"{work}, {plan.epochs} epochs each; seconds are per model",))


# --------------------------------------------------------------------------- contestants


def plain_fit(config: RunConfig, dataset: Any) -> float:
    """Train one config on the CPU the way a tutorial would; return the final validation MSE."""
    import torch

    with torch.random.fork_rng(devices=[]):  # dropout masks: seeded, and no leak
        torch.manual_seed(config.seed)
        return _plain_fit(config, dataset)


def _plain_fit(config: RunConfig, dataset: Any) -> float:
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from regviz.model import build_mlp

    def column(values):
        return torch.tensor(values).unsqueeze(1)

    x_train, y_train = column(dataset.x_train), column(dataset.y_train)
    x_val, y_val = column(dataset.x_val), column(dataset.y_val)
    model = build_mlp(config.dropout, seed=config.seed)
    loader = DataLoader(
        TensorDataset(x_train, y_train),
        batch_size=config.batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(config.seed),
    )
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    loss_fn = torch.nn.MSELoss()
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    history = []
    for _epoch in range(config.epochs):
        model.train()
        running = 0.0
        for xb, yb in loader:
            optimiser.zero_grad()
            loss = loss_fn(model(xb), yb)
            if config.l2:
                loss = loss + config.l2 * sum((w**2).sum() for w in weights)
            loss.backward()
            optimiser.step()
            running += loss.item() * len(xb)
        model.eval()
        with torch.no_grad():
            history.append((running / len(x_train), loss_fn(model(x_val), y_val).item()))
    return history[-1][1]


def _run_plain(configs, dataset, device) -> list[float]:
    from regviz.train import flush_denormals  # the very switch fit flips (see DENORMALS)

    if device != "cpu":
        raise ValueError("the plain loop is the CPU reference; it does not run on " + device)
    with flush_denormals():
        return [plain_fit(c, dataset) for c in configs]


def _run_fit(configs, dataset, device) -> list[float]:
    from regviz.train import fit

    return [fit(c, dataset=dataset, device=device).history.val_loss[-1] for c in configs]


def _run_fit_many(configs, dataset, device) -> list[float]:
    from regviz.train import fit_many

    return [run.history.val_loss[-1] for run in fit_many(configs, dataset=dataset, device=device)]


CONTESTANTS: dict[str, Callable[..., list[float]]] = {
    "plain": _run_plain,
    "fit": _run_fit,
    "fit_many": _run_fit_many,
}
LABELS = {"plain": "plain loop", "fit": "regviz.fit", "fit_many": "regviz.fit_many"}


@dataclass
class Result:
    """One contestant on one device: per-model seconds of each repeat and its final val MSEs."""

    contestant: str
    device: str
    configs: tuple[RunConfig, ...]
    seconds_per_model: list[float] = field(default_factory=list)
    val_mse: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds_per_model)

    def mean_val_mse(self, run_ids: set[str] | None = None) -> float:
        values = [
            v
            for c, v in zip(self.configs, self.val_mse, strict=True)
            if run_ids is None or c.run_id in run_ids
        ]
        return statistics.fmean(values) if values else float("nan")


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def time_contestants(
    lineup: Sequence[tuple[str, Sequence[RunConfig], str]],
    repeats: int,
    dataset: Any,
    log: Callable[[str], None] = print,
) -> list[Result]:
    """Time every (contestant, configs, device) `repeats` times, after one untimed warm-up each.

    Repeats are interleaved (plain, fit, fit_many, plain, ...) so that a burst of
    load from another process on a shared machine hits every contestant alike.
    """
    results = [Result(name, device, tuple(configs)) for name, configs, device in lineup]
    for name, configs, device in lineup:
        CONTESTANTS[name]([replace(configs[0], epochs=1)], dataset, device)
    for repeat in range(repeats):
        for result in results:
            log(
                f"repeat {repeat + 1}/{repeats}: {LABELS[result.contestant]} on {result.device}, "
                f"{len(result.configs)} model(s)"
            )
            _sync(result.device)
            started = time.perf_counter()
            result.val_mse = CONTESTANTS[result.contestant](
                list(result.configs), dataset, result.device
            )
            _sync(result.device)
            result.seconds_per_model.append((time.perf_counter() - started) / len(result.configs))
    return results


# --------------------------------------------------------------------------- report


def _row(result: Result, plain: Result, common: set[str]) -> dict[str, Any]:
    speedup = plain.median / result.median
    # the goals are about this machine's CPU; GPU rows are for information
    goal = GOALS.get(result.contestant) if result.device == "cpu" else None
    return {
        "contestant": result.contestant,
        "label": LABELS[result.contestant],
        "device": result.device,
        "models": len(result.configs),
        "run_ids": [c.run_id for c in result.configs],
        "seconds_per_model": {
            "median": result.median,
            "min": min(result.seconds_per_model),
            "max": max(result.seconds_per_model),
            "repeats": result.seconds_per_model,
        },
        "speedup_vs_plain_cpu": speedup,
        "goal": goal,
        "passed": None if goal is None else speedup >= goal,
        "val_mse_mean": result.mean_val_mse(),
        "val_mse_mean_on_shared_configs": result.mean_val_mse(common),
        "val_mse": {c.run_id: v for c, v in zip(result.configs, result.val_mse, strict=True)},
    }


def run_benchmark(plan: Plan, cuda: bool | None = None, log=print) -> dict[str, Any]:
    """Time the contestants for `plan` and return the report (what `--json` writes)."""
    import torch

    from regviz.data import make_dataset

    cuda = torch.cuda.is_available() if cuda is None else cuda
    dataset = make_dataset()
    facts = shared.machine_facts()
    lineup = [("plain", plan.single, "cpu"), ("fit", plan.single, "cpu")]
    lineup.append(("fit_many", plan.many, "cpu"))
    if cuda:
        lineup += [("fit", plan.single, "cuda"), ("fit_many", plan.many, "cuda")]
    interference = shared.Interference()
    results = time_contestants(lineup, plan.repeats, dataset, log)
    interference.close(facts)
    plain = results[0]
    common = {c.run_id for c in plan.single} & {c.run_id for c in plan.many}
    first = plan.single[0]
    return {
        "created": shared.created(),
        "mode": plan.mode,
        "epochs": plan.epochs,
        "batch_size": first.batch_size,
        "lr": first.lr,
        "optimiser": "Adam",
        "repeats": plan.repeats,
        "notes": [*plan.notes, DENORMALS],
        "machine": facts,
        "rows": [_row(result, plain, common) for result in results],
    }


def format_report(report: dict[str, Any]) -> str:
    """The table printed on the terminal."""
    lines = [
        f"trainer benchmark ({report['mode']}): {report['epochs']} epochs, "
        f"batch {report['batch_size']}, {report['optimiser']} lr {report['lr']:g}, "
        f"median of {report['repeats']} repeat(s)",
        *shared.machine_lines(report["machine"]),
        "",
        f"{'contestant':<17}{'device':<8}{'models':>6}{'s/model':>10}{'min':>9}{'max':>9}"
        f"{'speed-up':>10}  {'goal':<12}{'val MSE':>9}{'(shared)':>10}",
    ]
    for row in report["rows"]:
        s = row["seconds_per_model"]
        verdict = ""
        if row["goal"] is not None:
            verdict = f"≥{row['goal']:g}× {'PASS' if row['passed'] else 'FAIL'}"
        lines.append(
            f"{row['label']:<17}{row['device']:<8}{row['models']:>6}{s['median']:>10.3f}"
            f"{s['min']:>9.3f}{s['max']:>9.3f}{row['speedup_vs_plain_cpu']:>9.1f}×  {verdict:<12}"
            f"{row['val_mse_mean']:>9.4f}{row['val_mse_mean_on_shared_configs']:>10.4f}"
        )
    lines += [
        "",
        "s/model: wall seconds per trained model (median, min, max over repeats); speed-up: "
        "plain loop's CPU median / this row's median;",
        "val MSE: mean final validation MSE over the configs the row trained; (shared): over "
        "the configs every row trained.",
        *(f"note: {note}" for note in report["notes"]),
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.trainer",
        description="Time a plain PyTorch loop, regviz.fit and regviz.fit_many side by side.",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="17 configs x 3 epochs (< 1 min)")
    # without --quick or --smoke: the full benchmark, 100 epochs (about 10 min on 2 cores)
    size.add_argument("--smoke", action="store_true", help="2 configs x 2 epochs, once (tests)")
    parser.add_argument("--epochs", type=int, help="override the mode's epochs")
    parser.add_argument("--repeats", type=int, help="override the mode's repeats")
    parser.add_argument(
        "--threads", type=int, help="torch CPU threads for every contestant (default: torch's)"
    )
    parser.add_argument(
        "--no-cuda", action="store_true", help="skip the CUDA rows even where a GPU is present"
    )
    shared.add_json_argument(
        parser, f"{DEFAULT_JSON['full']}, with --quick {DEFAULT_JSON['quick']}, with --smoke none"
    )
    return parser


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    for name in ("epochs", "repeats", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            print(f"error: --{name} must be at least 1; got {value}", file=sys.stderr)
            return 2
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    mode = "quick" if args.quick else "smoke" if args.smoke else "full"
    plan = make_plan(mode, epochs=args.epochs, repeats=args.repeats)
    report = {
        "command": shared.command("benchmarks.trainer", argv),
        **run_benchmark(plan, cuda=False if args.no_cuda else None, log=shared.log),
    }
    shared.publish(report, format_report(report), args.json or DEFAULT_JSON.get(mode))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
