"""The README's claims table is the one `python -m regviz verdicts --markdown` prints."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from regviz import store
from regviz.verdict import article_verdicts, count_line, markdown

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- verdicts:start -->", "<!-- verdicts:end -->"


def readme_block(text: str) -> str:
    """What lies between the markers, without the newlines that frame it."""
    found = re.findall(re.escape(START) + r"\n(.*?)\n?" + re.escape(END), text, flags=re.S)
    assert len(found) == 1, f"README.md needs exactly one {START} … {END} block"
    return found[0].rstrip("\n")


def test_readme_block_is_what_the_verdict_command_prints():
    expected = markdown(article_verdicts(store.load_views()))
    actual = readme_block(README.read_text(encoding="utf-8"))
    diff = "\n".join(
        difflib.unified_diff(actual.splitlines(), expected.splitlines(), "README", "computed")
    )
    assert actual == expected, (
        "README.md's verdict block differs from the stored runs' verdicts; replace the block "
        "with the output of `python -m regviz verdicts --markdown`:\n" + diff
    )


def test_block_extraction_reads_only_between_the_markers():
    text = f"before\n{START}\n| a |\n\nN hold\n{END}\nafter"
    assert readme_block(text) == "| a |\n\nN hold"


def test_the_command_prints_the_block_and_a_plain_report(capsys):
    from regviz.__main__ import main

    verdicts = article_verdicts(store.load_views())
    assert main(["verdicts", "--markdown"]) == 0
    assert capsys.readouterr().out == markdown(verdicts) + "\n"
    assert main(["verdicts"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith(count_line(verdicts))
    assert all(f"{v.verdict.upper()}: {v.claim}" in out for v in verdicts)
