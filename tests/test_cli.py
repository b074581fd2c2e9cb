"""The command line's happy paths (bad input is pinned in test_cli_validation.py)."""

from regviz.registry import canonical_configs


def test_verify_passes_on_the_shipped_checkpoints(cli):
    result = cli("verify")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"ok: {len(canonical_configs())} runs")


def test_train_accepts_fewer_training_points_and_keeps_the_number_of_steps(cli):
    result = cli("train", "--n-train", "300", "--epochs", "4")
    assert result.returncode == 0, result.stderr
    assert "n-300_ep-4" in result.stdout


def test_train_shows_a_progress_bar_and_prints_a_summary(cli):
    result = cli("train", "--l2", "0.003", "--epochs", "3", "--dropout", "0.1")
    assert result.returncode == 0, result.stderr
    assert "training l2-0.003_p-0.1_ep-3_s0 on CPU" in result.stdout
    assert "epoch 3/3" in result.stderr  # tqdm draws on stderr
    for key in ("val_mse", "train_mse", "mc_coverage"):
        assert key in result.stdout


def test_help_lists_every_command(cli):
    result = cli("--help")
    for command in ("pretrain", "first-screen", "verify", "verdicts", "train"):
        assert command in result.stdout
