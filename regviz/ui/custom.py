"""Beyond the article: train a setting of your own and set it beside the nearest stored one."""

from __future__ import annotations

import time

import streamlit as st

from regviz import charts
from regviz.config import DEFAULT_EPOCHS, RunConfig
from regviz.live import ServiceBusy
from regviz.ui import forms, pair, resources, tables

#: Seconds between redraws of the live loss chart (the progress bar moves more often).
#: Session key of the line that says how the reader's run was trained.
CUSTOM_NOTE = "custom_note"
CHART_EVERY = 0.5
BAR_EVERY = 0.1
DEFAULTS = {"l2": "0.003", "p": "0", "epochs": str(DEFAULT_EPOCHS), "seed": "0"}


@st.fragment
def draw(directory: str) -> None:
    """A fragment: pressing Train reruns this tab alone, so feedback comes at once."""
    st.subheader("Train your own", anchor="custom")
    st.markdown(
        "The sliders only visit the values we stored. Type any λ and p here (both at "
        "once if you like) and the server trains that network from scratch, with the same "
        "data, model and schedule. Nothing happens until you press **Train**. Finished runs "
        "are kept for other readers, so a setting someone already trained appears at once."
    )
    with st.form("custom_form"):
        cells = st.columns(4)
        labels = {"l2": "λ (L2)", "p": "dropout p", "epochs": "epochs", "seed": "seed"}
        texts = {
            name: cell.text_input(labels[name], value=DEFAULTS[name], key=f"custom_{name}")
            for cell, name in zip(cells, labels, strict=True)
        }
        submitted = st.form_submit_button("Train", type="primary")
    if submitted:
        config, errors = forms.read_form(texts)
        for error in errors:
            st.error(error, icon=":material/block:")
        if config is not None:
            _train(config)
    config = st.session_state.get(pair.CUSTOM_CONFIG)
    if config is not None:
        _show(directory, config)


def _train(config: RunConfig) -> None:
    """Train `config` with live progress; on success remember it for this reader."""
    service = resources.training_service(resources.max_trainings())
    if service.cached(config) is not None:
        _keep(config, "Another reader trained this setting already; here it is.")
    # Feedback first: importing torch can take a second when the warm-up has not run yet.
    intro = st.empty()
    waiting = st.empty()
    bar = st.progress(0.0, text="setting up…" if service.is_warm else "loading PyTorch…")
    live = st.empty()
    from regviz.train import TrainingDiverged  # torch: only when a reader trains

    device, device_name = resources.device_label()
    estimate = service.estimate(config, device)
    intro.markdown(
        f"Training {tables.describe_config(config)} on **{device_name}**; "
        f"expected to take about {estimate.seconds:.0f} s."
    )
    history: dict[str, list[float]] = {"training": [], "validation": []}
    drawn = {"bar": 0.0, "chart": 0.0}

    def on_wait(count: int) -> None:
        waiting.info(
            f"Another reader's training is running on this server; yours starts as soon as it "
            f"ends ({count} waiting).",
            icon=":material/hourglass_top:",
        )

    def progress(event) -> None:
        waiting.empty()
        if event.train_loss:
            history["training"].append(event.train_loss[0])
            history["validation"].append(event.val_loss[0])
        now = time.monotonic()
        last = event.epoch == event.epochs
        if last or now - drawn["bar"] >= BAR_EVERY:
            bar.progress(min(1.0, event.fraction), text=f"epoch {event.epoch} of {event.epochs}")
            drawn["bar"] = now
        if history["training"] and (last or now - drawn["chart"] >= CHART_EVERY):
            table = tables.history_table(history["training"], history["validation"])
            live.vega_lite_chart(
                charts.to_spec(charts.live_loss_chart(table)), width="stretch", theme=None
            )
            drawn["chart"] = now

    started = time.monotonic()
    try:
        service.train(config, progress=progress, on_wait=on_wait, device=device)
    except TrainingDiverged as error:
        bar.empty()
        live.empty()
        st.error(
            f"This run diverged at epoch {error.epoch}: its loss stopped being a finite number, "
            "so there is nothing to show and nothing was kept. A smaller λ usually trains.",
            icon=":material/error:",
        )
        return
    except ServiceBusy as error:
        bar.empty()
        st.warning(
            f"The server is busy training for other readers: {error}.",
            icon=":material/hourglass_top:",
        )
        return
    bar.progress(1.0, text="done")
    seconds = time.monotonic() - started
    _keep(config, f"Trained on **{device_name}** in {seconds:.1f} s.")


def _keep(config: RunConfig, note: str) -> None:
    """Remember the reader's run and redraw the whole page: the comparison and the
    downloads outside this fragment offer it too."""
    st.session_state[pair.CUSTOM_CONFIG] = config
    st.session_state[CUSTOM_NOTE] = note
    st.rerun(scope="app")


def _show(directory: str, config: RunConfig) -> None:
    nearest = tables.nearest_setting(config)
    st.subheader("Your run beside the nearest stored setting")
    note = st.session_state.get(CUSTOM_NOTE)
    if note:
        st.markdown(note)
    st.markdown(
        f"**B** is your run ({tables.describe_config(config)}); **A** is the nearest setting we "
        f"stored, {nearest.label}, with all its seeds. Pick *custom* in the *Compare two "
        "settings* tab to set your run against any other setting."
    )
    pair.draw(directory, nearest.token, "custom")
