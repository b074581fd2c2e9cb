"""Command line: `python -m regviz {pretrain,first-screen,verify,verdicts,train}`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from regviz.config import BOUNDS, RunConfig


def _progress_bar(total_label: str):
    """A tqdm bar fed by `regviz.train.Progress` events; returns (callback, bar)."""
    from tqdm import tqdm

    bar = tqdm(
        total=1.0,
        unit="",
        bar_format="{l_bar}{bar}| {elapsed}<{remaining} {postfix}",
        desc=total_label,
    )

    def callback(event) -> None:
        bar.n = round(event.fraction, 4)
        if event.val_loss:
            best = min(event.val_loss)
            bar.set_postfix_str(
                f"epoch {event.epoch}/{event.epochs}, val MSE {best:.4f}", refresh=False
            )
        bar.refresh()

    return callback, bar


def _command_pretrain(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from regviz import store
    from regviz.pretrain import pretrain

    callback, bar = _progress_bar("train")
    analysed = None

    def on_describe(done: int, total: int) -> None:
        nonlocal analysed
        if analysed is None:
            bar.close()
            analysed = tqdm(total=total, desc="analyse", unit="run")
        analysed.update(done - analysed.n)

    try:
        report = pretrain(
            args.dir,
            only=args.only,
            repair=args.repair,
            progress=callback,
            device=args.device,
            on_describe=on_describe,
        )
    except OSError as error:
        print(f"error: cannot write {args.dir}: {error.strerror or error}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        bar.close()
        if analysed is not None:
            analysed.close()
    print(f"trained {len(report.trained)} runs in {report.seconds:.1f} s; wrote {report.directory}")
    problems = store.verify(args.dir)
    for problem in problems:
        print(f"BAD {problem}", file=sys.stderr)
    if problems:
        return 1
    return _command_first_screen(args)


def _command_first_screen(args: argparse.Namespace) -> int:
    """Store the first screen's charts and tables beside the runs (`regviz.readymade`)."""
    from regviz.ui import ready

    try:
        path = ready.write(args.dir)
    except OSError as error:
        print(f"error: cannot write {args.dir}: {error.strerror or error}", file=sys.stderr)
        return 2
    except RuntimeError as error:  # the page cannot draw these runs: say so, store nothing
        print(f"error: first screen not written: {error}", file=sys.stderr)
        return 1
    print(f"wrote {path} (the first screen a fresh server shows, ready-made)")
    return 0


def _command_verify(args: argparse.Namespace) -> int:
    from regviz import readymade, store

    problems = store.verify(args.dir)
    if problems:
        for problem in problems:
            print(f"BAD {problem}", file=sys.stderr)
        print(f"{len(problems)} bad file(s) in {args.dir}", file=sys.stderr)
        return 1
    manifest = store.read_manifest(args.dir)
    runs, inits = len(manifest["runs"]), len(manifest["inits"])
    print(f"ok: {runs} runs, {inits} initialisations and the data file match the manifest")
    status = readymade.status(args.dir)
    if status != "current":  # not an error: the page builds the first screen itself
        status += "; until it is written the page builds it"
        command = readymade.COMMAND
        status += "" if command in status else f" (write it with: {command})"
    print(f"first screen: {status}")
    return 0


def _command_verdicts(args: argparse.Namespace) -> int:
    """Print the article's claims against our numbers; `--markdown`: the README's block."""
    from regviz import store, verdict

    verdicts = verdict.article_verdicts(store.load_views(args.dir))
    print(verdict.markdown(verdicts) if args.markdown else verdict.plain(verdicts))
    return 0


def _command_train(args: argparse.Namespace) -> int:
    values = {
        "l2": args.l2,
        "dropout": args.dropout,
        "seed": args.seed,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "l1": args.l1,
        "weight_decay": args.weight_decay,
        "n_train": args.n_train,
    }
    try:
        config = RunConfig(**values)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    from regviz.analysis import describe_run
    from regviz.train import TrainingDiverged, choose_device, describe_device, fit

    try:
        device = choose_device(args.device)
    except (ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"training {config.run_id} on {describe_device(device)}")
    callback, bar = _progress_bar("train")
    try:
        run = fit(config, progress=callback, device=device)
    except TrainingDiverged as error:
        bar.close()
        print(f"error: {error}", file=sys.stderr)
        return 1
    bar.close()
    metrics = describe_run(run).metrics
    print(f"done in {run.seconds:.2f} s")
    for key in (
        "train_mse",
        "val_mse",
        "best_val_mse",
        "best_epoch",
        "hard_region_mse",
        "weight_std",
        "weight_fraction_near_zero",
    ):
        print(f"  {key:26s} {metrics[key]:.4g}")
    if "mc_coverage" in metrics:
        print(f"  {'mc_coverage':26s} {metrics['mc_coverage']:.4g}")
    return 0


def _bounded(name: str):
    """An argparse type that reports the field's allowed range on a non-number."""
    integer = BOUNDS[name].integer

    def parse(text: str):
        try:
            return int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name} must be {BOUNDS[name].describe()}; got {text!r}"
            ) from None

    return parse


def build_parser() -> argparse.ArgumentParser:
    from regviz.store import PRETRAINED_DIR

    parser = argparse.ArgumentParser(prog="python -m regviz", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    pre = commands.add_parser("pretrain", help="train the canonical runs and write pretrained/")
    pre.add_argument(
        "--only",
        nargs="+",
        metavar="RUN_ID",
        help="retrain only these runs (ids as in the manifest)",
    )
    pre.add_argument(
        "--repair", action="store_true", help="retrain only the runs whose files fail verification"
    )
    pre.add_argument(
        "--dir", default=PRETRAINED_DIR, help="output directory (default: %(default)s)"
    )
    pre.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    pre.set_defaults(handler=_command_pretrain)

    first = commands.add_parser(
        "first-screen",
        help="store the first screen's charts beside the runs (pretrain does this too)",
    )
    first.add_argument("--dir", default=PRETRAINED_DIR)
    first.set_defaults(handler=_command_first_screen)

    ver = commands.add_parser("verify", help="check every pretrained file against the manifest")
    ver.add_argument("--dir", default=PRETRAINED_DIR)
    ver.set_defaults(handler=_command_verify)

    verdicts = commands.add_parser(
        "verdicts", help="judge the article's claims against pretrained/ and print the table"
    )
    verdicts.add_argument(
        "--markdown", action="store_true", help="print the README's table and its count line"
    )
    verdicts.add_argument("--dir", default=PRETRAINED_DIR)
    verdicts.set_defaults(handler=_command_verdicts)

    train = commands.add_parser("train", help="train one custom setting and print a summary")
    defaults = RunConfig()
    for name in (
        "l2",
        "dropout",
        "seed",
        "epochs",
        "batch_size",
        "lr",
        "l1",
        "weight_decay",
        "n_train",
    ):
        flag = "--" + name.replace("_", "-")
        train.add_argument(
            flag,
            dest=name,
            type=_bounded(name),
            default=None if name == "epochs" else getattr(defaults, name),
            help=f"{BOUNDS[name].describe()} (default: %(default)s)"
            + (
                ", i.e. as many as keep 12,500 steps for the chosen --n-train"
                if name == "epochs"
                else ""
            ),
        )
    train.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    train.set_defaults(handler=_command_train)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
