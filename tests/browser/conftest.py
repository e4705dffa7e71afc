"""Fixtures for browser tests: a private JupyterLab server and a headless Chromium page.

Both skip, with the reason, where /usr/bin/chromium or playwright is missing. Helpers to drive
the page (open_and_run_all, bar_heights, time_click_to_repaint, save_screenshot) are in jlab.py.
"""

from __future__ import annotations

import pytest

from jlab import CHROMIUM, CHROMIUM_ARGS, JupyterLabProcess, browser_stack_missing, save_screenshot


def _skip_unless_browser_stack() -> None:
    reason = browser_stack_missing()
    if reason:
        pytest.skip(reason)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # keep each phase's report on the item so chromium_page can screenshot failures
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


@pytest.fixture(scope="session")
def jupyter_lab_server(tmp_path_factory):
    """(base_url, token, root_dir) of a JupyterLab serving a temp copy of notebooks/."""
    _skip_unless_browser_stack()
    server = JupyterLabProcess(tmp_path_factory.mktemp("jupyterlab"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def chromium_page(request, tmp_path_factory):
    """A Playwright page in the system Chromium (fresh profile). `page.console_errors` collects
    console errors and uncaught page errors; a failing test leaves a screenshot in test-artifacts/."""
    _skip_unless_browser_stack()
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    pw = sync_playwright().start()
    context = None
    try:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        page = context.pages[0] if context.pages else context.new_page()
        page.console_errors = []
        page.on("console", lambda msg: msg.type == "error"
                and page.console_errors.append(f"console: {msg.text}"))
        page.on("pageerror", lambda exc: page.console_errors.append(f"pageerror: {exc}"))
        page.set_default_timeout(30_000)
        yield page
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            try:
                print("screenshot:", save_screenshot(page, f"FAILED-{request.node.name}"))
            except Exception as exc:  # the browser may be the thing that broke
                print("no screenshot:", exc)
    finally:
        if context is not None:
            context.close()
        pw.stop()
