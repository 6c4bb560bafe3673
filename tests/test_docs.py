"""The docs stay true: the zoo page is what `cnncalc zoo --format md` prints today."""

from __future__ import annotations

from conftest import TESTS


def test_zoo_page_is_current(cli) -> None:  # type: ignore[no-untyped-def]
    page = (TESTS.parent / "docs" / "zoo.md").read_text(encoding="utf-8")
    assert cli("zoo", "--format", "md").stdout == page, "regenerate: cnncalc zoo --format md > docs/zoo.md"


def test_readme_lists_every_op(cli) -> None:  # type: ignore[no-untyped-def]
    readme = (TESTS.parent / "README.md").read_text(encoding="utf-8")
    from cnncalc.ops import all_ops

    missing = [op.name for op in all_ops() if f"`{op.name}`" not in readme]
    assert not missing, f"ops not documented in README.md: {missing}"
