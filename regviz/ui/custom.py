"""Beyond the article: train a setting of your own, watch it learn, set it beside a stored one.

Pressing **Train** hands the run to the server's training service and returns at
once. While the reader's run is queued or training, `_watch` (a fragment that
reruns itself every `POLL_SECONDS`, and exists only while a run is active) draws
its status, a progress bar, the time left, the loss so far, and the prediction
and weight density of the latest snapshot the worker sent, with a Cancel button.
When the run ends the page reruns once: the finished run is shown beside the
nearest stored setting, with a slider over its snapshot epochs.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from regviz import charts, density, worker
from regviz.config import RunConfig
from regviz.data import HARD_REGION
from regviz.live import (
    CANCELLED,
    DIVERGED,
    DONE,
    QUEUED,
    RUNNING,
    STARTING,
    JobStatus,
    ServiceBusy,
    Ticket,
)
from regviz.live import tables as live_tables
from regviz.live.service import TrainingService
from regviz.ui import forms, pair, resources, settings, show
from regviz.views import SNAPSHOT_GRID

#: Session keys: the reader's ticket while a run is active, how the last run ended
#: without a result, the line that says how the shown run was trained, cached chart specs.
TICKET = "custom_ticket"
OUTCOME = "custom_outcome"
CUSTOM_NOTE = "custom_note"
LIVE_SPECS = "custom_live_specs"
#: The progress bar's words before the first epoch.
BAR_TEXT = {QUEUED: "waiting for a free slot", STARTING: "starting"}
#: Seconds between redraws while a run is active. Redraws cost the reader's browser and the
#: server CPU beside the training: on two Intel Xeon cores with the browser on them, a
#: 100-epoch run that `fit` trains alone in 1.85 s took 2.2-2.4 s at 0.5 s and 2.0-2.2 s at
#: 1 s. The end of a run does not wait for a poll: see `_ends_before_next_poll`.
POLL_SECONDS = 1.0
FRAGMENT_KEY = "custom_fragment"
LABEL, INITIAL = "your run", "at initialisation"
DENSITY_FLOOR = 1e-2
#: The density's x range when the stored runs that set it are missing.
FALLBACK_RANGE = (-1.5, 1.5)
LABELS = {
    "l2": "λ (L2)",
    "p": "dropout p",
    "n": "training points n",
    "epochs": "epochs",
    "seed": "seed",
}
HELP = {
    "n": "100 to 8,000 points of the training split; the smaller sets lie inside the larger.",
    "epochs": "auto: as many epochs as keep the optimiser steps of a run on all 8,000 points.",
}


def _service() -> TrainingService:
    return resources.training_service(resources.max_trainings())


@st.fragment(key=FRAGMENT_KEY)
def draw(directory: str) -> None:
    """A fragment: pressing Train reruns this tab alone, so feedback comes at once."""
    service = _service()
    service.warm_up()  # the reader opened this tab: load PyTorch in a worker meanwhile
    st.subheader("Train your own", anchor="custom")
    st.markdown(
        "The sliders only visit the values we stored. Type any λ and p here (both at once if "
        "you like), and as few as 100 of the 8,000 training points, and the server trains that "
        "network from scratch with the same model and optimiser. A smaller training set is "
        "passed over more often, so that every run takes the same number of optimiser steps. "
        "You can watch it learn, and cancel it. Finished runs are kept for other readers, so a "
        "setting someone already trained appears at once."
    )
    with st.form("custom_form"):
        cells = st.columns(len(LABELS))
        texts = {
            name: cell.text_input(
                LABELS[name], value=forms.DEFAULTS[name], key=f"custom_{name}", help=HELP.get(name)
            )
            for cell, name in zip(cells, LABELS, strict=True)
        }
        submitted = st.form_submit_button("Train", type="primary")
    if submitted:
        _submit(service, texts)
    ticket = st.session_state.get(TICKET)
    if ticket is not None:
        status = service.poll(ticket)
        if status.active:
            _watch(directory)
            return
        st.session_state.pop(TICKET, None)
        _conclude(status)
    outcome = st.session_state.get(OUTCOME)
    if outcome is not None:
        kind, message = outcome
        (st.error if kind == "error" else st.info)(message, icon=":material/info:")
    config = st.session_state.get(pair.CUSTOM_CONFIG)
    if config is not None:
        _show(directory, config)


def _submit(service: TrainingService, texts: dict[str, str]) -> None:
    """Check the form and hand the run to the service; never waits for the training."""
    config, errors = forms.read_form(texts)
    for error in errors:
        st.error(error, icon=":material/block:")
    if config is None:
        return
    previous = st.session_state.get(TICKET)
    if previous is not None and previous.config == config:
        return  # pressed again while it trains: keep following the same run
    try:
        ticket = service.submit(config)
    except ServiceBusy as error:
        st.warning(
            f"The server is busy training for other readers: {error}.",
            icon=":material/hourglass_top:",
        )
        return
    if previous is not None:
        service.cancel(previous)  # the reader asked for something else instead
    st.session_state.pop(OUTCOME, None)
    st.session_state[TICKET] = ticket


def _conclude(status: JobStatus) -> None:
    """Remember how the reader's run ended: its result, or why there is none."""
    st.session_state.pop(LIVE_SPECS, None)
    if status.state == DONE and status.view is not None:
        st.session_state[pair.CUSTOM_CONFIG] = status.config
        st.session_state.pop(OUTCOME, None)
        device = status.device_name or "this server"
        st.session_state[CUSTOM_NOTE] = (
            f"Trained on **{device}** for another reader earlier; here it is at once."
            if status.from_cache
            else f"Trained on **{device}** in {status.elapsed:.1f} s."
        )
    elif status.state == DIVERGED:
        st.session_state[OUTCOME] = (
            "error",
            f"This run diverged at epoch {status.epoch}: its loss stopped being a finite number, "
            "so there is nothing to show and nothing was kept. A smaller λ usually trains.",
        )
    elif status.state == CANCELLED:
        st.session_state[OUTCOME] = ("info", f"Training {status.message or 'cancelled'}.")
    else:
        st.session_state[OUTCOME] = (
            "error",
            f"The training did not finish: {status.message}. Press Train to try again.",
        )


def _cancel(ticket: Ticket) -> None:
    """Cancel button: stop following the run (it stops unless other readers follow it)."""
    service = _service()
    others = service.poll(ticket).readers - 1
    service.cancel(ticket)
    st.session_state.pop(TICKET, None)
    st.session_state.pop(LIVE_SPECS, None)
    st.session_state[OUTCOME] = (
        "info",
        f"You stopped following this run; {others} other reader(s) still wait for it."
        if others > 0
        else "Training cancelled; nothing was kept.",
    )
    st.rerun(FRAGMENT_KEY)  # the tab without the live view, whose timer then stops


@st.fragment(run_every=POLL_SECONDS)
def _watch(directory: str) -> None:
    """The reader's active run, redrawn every POLL_SECONDS while it is queued or training."""
    ticket = st.session_state.get(TICKET)
    if ticket is None:
        return
    service = _service()
    status = service.poll(ticket)
    if _ends_before_next_poll(status):
        # Wait for the end here rather than up to a whole poll later; only the last
        # poll of a run waits, so a press elsewhere is delayed at most this once.
        status = service.wait(ticket, timeout=POLL_SECONDS)
    if not status.active:
        st.session_state.pop(TICKET, None)
        _conclude(status)
        st.rerun(scope="app")  # show the result, and stop this timer
    st.markdown(_status_line(status))
    text = BAR_TEXT.get(status.state) or f"epoch {status.epoch:,} of {status.epochs:,}"
    st.progress(min(1.0, max(0.0, status.fraction)), text=text)
    st.button(
        "Cancel", key="custom_cancel", on_click=_cancel, args=(ticket,), icon=":material/stop:"
    )
    if status.state == RUNNING and status.snapshot is not None:
        prediction, loss, kde = _live_specs(directory, status)
        show.chart(prediction)
        left, right = st.columns(2)
        with left:
            if loss is not None:
                show.chart(loss)
        with right:
            show.chart(kde)


def _ends_before_next_poll(status: JobStatus) -> bool:
    """True when the running job's own estimate says it ends within one poll."""
    left = status.seconds_left
    return status.state == RUNNING and left is not None and left < POLL_SECONDS


def _status_line(status: JobStatus) -> str:
    what = settings.describe_config(status.config)
    left = f" About {_duration(status.seconds_left)} left." if status.seconds_left else ""
    shared = f" {status.readers - 1} other reader(s) follow it too." if status.readers > 1 else ""
    if status.state == QUEUED:
        ahead = status.position - 1
        return (
            f"**Queued** ({what}): {status.running} training(s) running on this server and "
            f"{ahead} waiting ahead of yours; yours starts when a slot frees up.{left}"
        )
    if status.state == RUNNING:
        return (
            f"**Training** {what} on **{status.device_name}**: {forms.schedule(status.config)}."
            f"{left}{shared}"
        )
    return f"**Starting** a training process for {what} (it loads PyTorch first)."


def _duration(seconds: float | None) -> str:
    if seconds is None or seconds < 1:
        return "a second"
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds // 60:.0f} min {seconds % 60:.0f} s"


def _steady(spec: dict, prefix: str) -> dict:
    """The same chart with its datasets named by position instead of by content.

    The browser updates a chart in place when only its datasets change, but draws it
    afresh (a visible flash) when the spec changes; content-named datasets would change
    the spec at every redraw. So live charts keep one spec and fresh data.
    """
    names = {old: f"{prefix}{index}" for index, old in enumerate(spec.get("datasets", {}))}

    def rename(node: object) -> object:
        if isinstance(node, dict):
            if len(node) == 1 and node.get("name") in names:
                return {"name": names[node["name"]]}
            return {key: rename(value) for key, value in node.items() if key != "datasets"}
        if isinstance(node, list):
            return [rename(value) for value in node]
        return node

    steady = rename(spec)
    steady["datasets"] = {names[name]: table for name, table in spec.get("datasets", {}).items()}
    return steady


@st.cache_resource(show_spinner=False)
def _reference(directory: str) -> tuple[float | None, tuple[float, float] | None]:
    """Bandwidth and x range of the stored unregularised runs' weight density (None if absent)."""
    views = [resources.pretrained(directory).view(RunConfig(seed=s)) for s in range(3)]
    counts = [view.weight_counts for view in views if view is not None]
    if not counts:
        return None, None
    centres = density.VALUE_CENTRES
    bandwidth = density.bandwidth_from_counts(counts, centres)
    smoothed = [density.smooth(c, centres, bandwidth) for c in counts]
    return bandwidth, density.visible_range(smoothed, centres)


def _figures(
    directory: str,
    points: tuple | None,
    prediction: np.ndarray,
    initial_prediction: np.ndarray | None,
    counts: np.ndarray,
    initial_counts: np.ndarray | None,
) -> tuple[dict, dict]:
    """The prediction over the data and the weight density, beside the initialisation's.

    The specs stay the same from one epoch to the next (only their data change), so
    that the browser redraws them in place.
    """
    x, y = points if points is not None else (None, None)
    curves = [(LABEL, "curve", SNAPSHOT_GRID, prediction)]
    kdes = [(LABEL, "curve", counts)]
    if initial_prediction is not None:
        curves.append((INITIAL, "reference", SNAPSHOT_GRID, initial_prediction))
    if initial_counts is not None:
        kdes.append((INITIAL, "reference", initial_counts))
    order = [LABEL, INITIAL]
    figure = charts.prediction_chart(
        live_tables.points_table(x, y),
        live_tables.curve_table(curves),
        order=order,
        hard=HARD_REGION,
        ordered=False,
        title="Prediction",
        subtitle=f"grey: (up to {worker.POINTS} of) the points it learns from; dashed: at "
        "initialisation",
    )
    bandwidth, domain = _reference(directory)
    if bandwidth is None:
        bandwidth = density.bandwidth_from_counts([counts], density.VALUE_CENTRES)
    table, x_range = live_tables.density_table(kdes, bandwidth, domain or FALLBACK_RANGE)
    kde = charts.kde_chart(
        table,
        order=order,
        scale="clip",
        floor=DENSITY_FLOOR,
        x_domain=x_range,
        ordered=False,
        legend=False,
        title="Weight density",
        subtitle="one bandwidth: the stored unregularised runs'",
    )
    return _steady(charts.to_spec(figure), "prediction"), _steady(charts.to_spec(kde), "density")


def _live_specs(directory: str, status: JobStatus) -> tuple[dict, dict | None, dict]:
    """The three live charts, rebuilt only when the run reported something new."""
    snapshot, first = status.snapshot, status.first_snapshot
    key = (status.config, status.epoch, snapshot.epoch, len(status.history_epochs))
    kept = st.session_state.get(LIVE_SPECS)
    if kept is not None and kept[0] == key:
        return kept[1]
    prediction, kde = _figures(
        directory,
        status.points,
        snapshot.prediction,
        first.prediction if first is not None else None,
        snapshot.weight_counts,
        first.weight_counts if first is not None else None,
    )
    loss = None
    if status.history_epochs:
        table = live_tables.loss_table(status.history_epochs, status.train_loss, status.val_loss)
        loss = _steady(charts.to_spec(charts.live_loss_chart(table)), "loss")
    specs = (prediction, loss, kde)
    st.session_state[LIVE_SPECS] = (key, specs)
    return specs


def _show(directory: str, config: RunConfig) -> None:
    nearest = settings.nearest_setting(config)
    st.subheader("Your run beside the nearest stored setting")
    note = st.session_state.get(CUSTOM_NOTE)
    if note:
        st.markdown(note)
    st.markdown(
        f"**B** is your run ({settings.describe_config(config)}); **A** is the nearest setting "
        f"we stored, {nearest.label}, with all its seeds. Pick *custom* in the *Compare two "
        "settings* tab to set your run against any other setting."
    )
    pair.draw(directory, nearest.token, "custom")
    _epochs(directory, config)


@st.fragment
def _epochs(directory: str, config: RunConfig) -> None:
    """Your run at any of its snapshot epochs: the slider reruns only this part."""
    view = _service().cached(config)
    if view is None or not view.snapshot_epochs:
        return
    epochs = view.snapshot_epochs
    st.markdown(
        "**As it learned.** Move the slider to see your run's prediction and weight density "
        "after each stored epoch (dashed: at initialisation)."
    )
    epoch = st.select_slider(
        "epoch", options=list(epochs), value=epochs[-1], key=f"custom_epoch_{config.run_id}"
    )
    row = epochs.index(epoch)
    snapshots = view.snapshots
    prediction, kde = _figures(
        directory,
        _service().training_points(config.n_train),
        snapshots["prediction"][row],
        snapshots["prediction"][0],
        snapshots["weights"][row],
        snapshots["weights"][0],
    )
    left, right = st.columns(2)
    with left:
        show.chart(prediction)
    with right:
        show.chart(kde)
