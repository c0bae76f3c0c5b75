"""A student's session in a real browser: JupyterLab opens a lecture, runs it, checks answer, sliders redraw.

Headless Chromium (Debian's ``/usr/bin/chromium``) driven by Playwright against a JupyterLab
server started for the test on a copy of a lecture, so the repository's notebooks never get
outputs. Without a browser these tests skip, unless ``RLCOURSE_REQUIRE_BROWSER=1`` (CI sets it).
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from rlcourse_utils import build, checks

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("RLCOURSE_CHROMIUM", "/usr/bin/chromium"))
LECTURE = "04_value_based_methods.ipynb"
FILLED = "L04_bellman_backup"   # the exercise the test answers before opening the notebook
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (it is in pyproject.toml: run `python3 course.py test`)"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (Debian: `apt-get install chromium` as root)"
    return None


_missing = _browser_missing()
if _missing and os.environ.get("RLCOURSE_REQUIRE_BROWSER") == "1":
    raise RuntimeError(f"RLCOURSE_REQUIRE_BROWSER=1 but {_missing}")
pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of lecture 04 with one exercise answered; yields (url, token, workdir)."""
    work = tmp_path_factory.mktemp("lab")
    nb = nbformat.read(ROOT / "lectures" / LECTURE, as_version=4)
    ex = checks.get(FILLED)
    for cell in nb.cells:
        if cell.get("metadata", {}).get("rlcourse", {}).get("exercise") == FILLED:
            cell.source = build.reference_source(ex)
    nbformat.write(nb, work / LECTURE)
    settings = work / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # Every cell in the DOM (no virtual scrolling), so the test can read each cell's prompt and output.
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port, token = _free_port(), secrets.token_hex(16)
    root_flag = ["--allow-root"] if os.geteuid() == 0 else []
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(work / "config"), "JUPYTER_RUNTIME_DIR": str(work / "runtime")}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
         f"--LabApp.user_settings_dir={work / 'settings'}", f"--LabApp.workspaces_dir={work / 'workspaces'}",
         *root_flag],
        cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=open(work / "server.log", "w"))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n" + (work / "server.log").read_text()[-3000:])
                time.sleep(0.5)
        yield url, token, work
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="module")
def page(lab):
    from playwright.sync_api import sync_playwright

    url, token, _ = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.goto(f"{url}/lab/tree/{LECTURE}?token={token}")
        pg.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
        # The kernel is up when the status bar reads "<kernel name> | Idle" (before: "No Kernel | Initializing").
        pg.locator("#jp-main-statusbar").get_by_text(re.compile(r"\S \| Idle$")).wait_for(timeout=120_000)
        yield pg
        browser.close()


def _prompts(pg) -> list[str]:
    return pg.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").all_inner_texts()


def _run_all(pg, timeout: float = 240.0) -> None:
    pg.locator("#jp-MainMenu .lm-MenuBar-itemLabel").get_by_text("Run", exact=True).click()
    pg.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        prompts = _prompts(pg)
        if prompts and all(re.fullmatch(r"\[\d+\]:", t.strip()) for t in prompts):
            return
        time.sleep(1.0)
    raise AssertionError(f"the notebook did not finish running in {timeout:.0f} s; prompts: {_prompts(pg)}")


def _cell_output(pg, needle: str) -> str:
    """The output text of the code cell whose source contains ``needle``."""
    cells = pg.locator(".jp-Notebook .jp-CodeCell").filter(has_text=needle)
    assert cells.count() >= 1, f"no code cell contains {needle!r}"
    return cells.first.locator(".jp-OutputArea").inner_text()


def test_the_lecture_runs_top_to_bottom_in_jupyterlab(page):
    _run_all(page)
    n_cells = len(nbformat.read(ROOT / "lectures" / LECTURE, as_version=4).cells)
    assert page.locator(".jp-Notebook .jp-Cell").count() == n_cells
    text = page.locator(".jp-Notebook").inner_text()
    assert "Traceback" not in text and "Error" not in re.sub(r"NotImplementedError", "", text), text[-3000:]
    # As many figures as the generated solution holds: its static images, plus one per interact widget.
    solution = nbformat.read(ROOT / "solutions" / LECTURE, as_version=4)
    kinds = [mime for c in solution.cells if c.cell_type == "code" for o in c.outputs for mime in o.get("data", {})]
    expected = kinds.count("image/png") + kinds.count("application/vnd.jupyter.widget-view+json")
    assert expected >= 4 and page.locator(".jp-Notebook .jp-OutputArea-output img").count() == expected


def test_checks_answer_in_the_browser(page):
    answered = _cell_output(page, f'rcu.checks.check("{FILLED}"')
    assert answered.startswith(f"✓ {FILLED} passed"), answered
    unanswered = _cell_output(page, 'rcu.checks.check("L04_value_iteration"')
    assert "L04_value_iteration: not implemented yet" in unanswered, unanswered
    fallback = _cell_output(page, 'rcu.checks.use("L04_value_iteration"')
    assert "The cells below run the REFERENCE implementation rcu.dp.value_iteration" in fallback, fallback
    mine = _cell_output(page, f'rcu.checks.use("{FILLED}"')
    assert mine.startswith(f"Using your bellman_optimality_backup ({FILLED} passes its checks)"), mine


def test_a_slider_redraws_its_figure(page):
    cell = page.locator(".jp-Notebook .jp-CodeCell").filter(has_text="widgets.interact(show_exploration")
    slider = cell.locator(".widget-slider").first
    slider.wait_for(timeout=30_000)
    image = cell.locator(".jp-OutputArea-output img").last
    before = image.get_attribute("src")
    readout = cell.locator(".widget-readout").first
    assert readout.inner_text().strip() == "0.10"
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("0.60")
    page.keyboard.press("Enter")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and cell.locator(".jp-OutputArea-output img").last.get_attribute("src") == before:
        time.sleep(0.25)
    assert readout.inner_text().strip() == "0.60"
    assert cell.locator(".jp-OutputArea-output img").last.get_attribute("src") != before, "the figure did not redraw"

