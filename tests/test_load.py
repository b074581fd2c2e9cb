"""Many readers at once: the real app under twenty concurrent sessions (see `regviz.loadtest`).

One server, twenty websocket readers switching canonical values, eight of them
submitting custom trainings, one leaving in the middle of its training and a later
one asking for the same setting, plus one headless Chromium page when a browser is
available. Bounded in count; each script run has its own time limit.
"""

from __future__ import annotations

import os

import pytest

from benchmarks import load as loadtest
from tests.support import appserver

MAX_TRAININGS = 2
#: The server with torch imported and twenty sessions peaked at about 0.75 GB here;
#: 1.2 GB leaves room for a busier machine and still catches a cache that grows without bound.
MEMORY_LIMIT_MB = 1200


def test_max_overlap_counts_trainings_that_share_a_moment() -> None:
    assert loadtest.max_overlap([]) == 0
    assert loadtest.max_overlap([(0, 1), (1, 2), (2, 3)]) == 1  # back to back is not at once
    assert loadtest.max_overlap([(0, 3), (1, 2), (1.5, 4)]) == 3
    assert loadtest.max_overlap([(0, 1), (0.5, 2), (3, 4)]) == 2


@pytest.fixture(scope="module")
def figures() -> loadtest.Figures:
    browser = appserver.browser_unavailable() is None
    if not browser and os.environ.get("REGVIZ_REQUIRE_BROWSER") == "1":
        pytest.fail(f"REGVIZ_REQUIRE_BROWSER=1 but: {appserver.browser_unavailable()}")
    result = loadtest.run_load(loadtest.Plan(), max_trainings=MAX_TRAININGS, browser=browser)
    print("\n".join(result.lines()))  # the figures, for `pytest -s` and the closing note
    return result


@pytest.mark.slow
def test_twenty_readers_see_no_error(figures: loadtest.Figures) -> None:
    assert figures.errors == []
    assert figures.sessions == 20
    assert figures.script_runs_finished == figures.interactions
    assert figures.interactions >= figures.sessions * 2
    if appserver.browser_unavailable() is None:
        assert figures.browser_checked


@pytest.mark.slow
def test_trainings_queue_within_the_configured_limit(figures: loadtest.Figures) -> None:
    assert figures.max_trainings == MAX_TRAININGS
    assert 1 <= figures.max_concurrent_seen <= MAX_TRAININGS
    assert figures.trainings_run >= 4
    handled = figures.trainings_run + figures.trainings_from_cache + figures.trainings_refused_busy
    assert handled == figures.trainings_submitted


@pytest.mark.slow
def test_a_tab_closed_mid_training_leaves_no_half_finished_result(
    figures: loadtest.Figures,
) -> None:
    assert figures.abandoned_mid_training
    assert figures.returner_got_full_result


@pytest.mark.slow
def test_the_servers_memory_stays_bounded(figures: loadtest.Figures) -> None:
    assert figures.peak_server_rss_mb is not None
    assert figures.peak_server_rss_mb < MEMORY_LIMIT_MB
