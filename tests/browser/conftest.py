"""Fixtures for browser tests: private Jupyter servers and a headless Chromium page.

``front_end_server`` starts one server per front end (JupyterLab, Notebook 7, Voila) per test
session and parametrizes every test that uses it over the three (a test may narrow that with an
indirect ``parametrize``, as the harness and history tests do).  All skip, with the reason, where /usr/bin/chromium or
playwright is missing.  Helpers: frontends.py (open and run a chapter in any front end), drawn.py
(read what was drawn), jlab.py (the JupyterLab process, screenshots).
"""

from __future__ import annotations

import pytest

from frontends import FRONT_ENDS, SERVERS
from jlab import CHROMIUM, CHROMIUM_ARGS, browser_stack_missing, save_screenshot


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


@pytest.fixture(scope="session", params=FRONT_ENDS)
def front_end_server(request, tmp_path_factory):
    """(front end name, LabServer) of one server per front end, started once per session."""
    _skip_unless_browser_stack()
    server = SERVERS[request.param](tmp_path_factory.mktemp(request.param))
    try:
        yield request.param, server.start()
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
        page.failed_responses = []      # which URL a "Failed to load resource" message was about
        page.on("response", lambda response: response.status >= 400
                and page.failed_responses.append(f"{response.status} {response.request.method} {response.url}"))
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
