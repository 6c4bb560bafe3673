"""The exercise page in a real browser (Playwright driving Debian's chromium against the app on uvicorn): make a
sheet for a roster, download the key file, and find the same sheet the CLI makes; no script error, no inline
script (the page's Content-Security-Policy forbids them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("uvicorn", reason="the web extra (uvicorn) is not installed")
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")

from click.testing import CliRunner  # noqa: E402

import conftest  # noqa: E402
from cnncalc.cli import main  # noqa: E402

CHROMIUM, ARGS = conftest.CHROMIUM, conftest.BROWSER_ARGS

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="browser tests need Debian's chromium")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with conftest.live_server("cnncalc-exercise-test") as url:
        yield url


def test_make_a_sheet_in_the_browser(server: str, tmp_path: Path) -> None:
    roster = "id,name\ns1,Ann\ns2,Bo\n"
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(accept_downloads=True)
            page: Any = context.new_page()
            page.set_default_timeout(15_000)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(server + "/")
            page.click('a[href="/exercise"]')
            page.wait_for_url(server + "/exercise")
            page.fill("#seed", "21")
            page.select_option("#difficulty", "hard")
            for kind in ("params", "macs", "blocks", "map", "matrix", "table", "linear", "chain", "batchnorm",
                         "lowrank"):  # fmt: skip
                page.uncheck(f'#kinds input[value="{kind}"]')
            page.fill("#roster", roster)
            page.click("#make")
            sync_api.expect(page.locator("#status")).to_contain_text("2 students")
            sync_api.expect(page.locator("#preview")).to_contain_text("Exercise sheet: Ann (s1)")
            with page.expect_download() as info:
                page.click('#downloads a[download="key.json"]')
            key = Path(info.value.path()).read_text(encoding="utf-8")
            page.fill("#seed", "x")
            page.click("#make")
            sync_api.expect(page.locator("#status")).to_contain_text("whole number")
            context.close()
        finally:
            browser.close()
    assert not errors, errors
    (tmp_path / "roster.csv").write_text(roster, encoding="utf-8")
    run = CliRunner().invoke(main, ["exercise", "--seed", "21", "--difficulty", "hard", "--kinds", "size,rf,loss",
                                    "--students", str(tmp_path / "roster.csv"), "--format", "json"])  # fmt: skip
    assert run.exit_code == 0 and run.output == key
