"""The README's permission matrix is the enforced one, not a hand-edited copy that drifts."""

from pathlib import Path

from lfr_platform.auth import render_markdown

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_matrix_matches_the_enforced_policy() -> None:
    text = README.read_text()
    start = text.index("<!-- permissions:start -->") + len("<!-- permissions:start -->")
    end = text.index("<!-- permissions:end -->")
    assert text[start:end].strip() == render_markdown().strip()
