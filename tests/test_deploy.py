"""The Community Cloud entry point runs the same page with the same pins, CPU torch."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pins(path: Path) -> list[str]:
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return sorted(line for line in lines if line and not line.startswith("-"))


def test_deploy_requirements_pin_exactly_what_the_project_pins():
    assert pins(ROOT / "deploy" / "requirements.txt") == pins(ROOT / "requirements.txt")


def test_every_requirement_is_pinned_to_one_version():
    assert all("==" in line for line in pins(ROOT / "requirements.txt"))


def test_deploy_requirements_take_torch_from_the_cpu_only_index():
    text = (ROOT / "deploy" / "requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in text.splitlines()


def test_cloud_entry_point_runs_the_page_without_an_exception():
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(ROOT / "deploy" / "streamlit_app.py"), default_timeout=120)
    app.run()
    assert not app.exception
    assert len(app.get("vega_lite_chart")) + len(app.get("arrow_vega_lite_chart")) > 0
