"""The three front ends a student may use, as one interface for the browser tests.

``SERVERS`` starts JupyterLab, Notebook 7 or Voilà the way /work/shared/STACK_NOTES.md describes
(127.0.0.1, a free port, a token, every Jupyter directory in a temporary folder; Voilà serves the
whole notebooks/ folder so that links between chapters work).  :func:`open_chapter` opens a chapter
and runs it (Run All in JupyterLab and Notebook 7; Voilà runs it on page load) and returns a
:class:`Chapter`: the page plus the CSS scope in which that front end shows the notebook's outputs.

A test of a later chapter needs only ``open_chapter(page, server, "03_....ipynb")`` and the
readers of :mod:`drawn`; the fixtures in conftest.py start one server per front end per session.
"""

from __future__ import annotations

import os
import time
import urllib.error
from dataclasses import dataclass
from urllib.parse import quote

from jlab import JupyterLabProcess, LabServer, _opener, _tail

FRONT_ENDS = ("lab", "notebook", "voila")


class NotebookProcess(JupyterLabProcess):
    """Notebook 7 (``jupyter notebook``): notebooks open at ``/notebooks/NAME.ipynb``."""

    def command(self) -> list[str]:
        cmd = super().command()
        cmd[2] = "notebook"
        cmd = [c for c in cmd if not c.startswith("--LabApp.")]
        return cmd + ["--JupyterNotebookApp.expose_app_in_browser=True"]


class LabProcess(JupyterLabProcess):
    """JupyterLab with ``window.jupyterapp`` exposed, so a test runs commands instead of clicking menus."""

    def command(self) -> list[str]:
        return super().command() + ["--LabApp.expose_app_in_browser=True"]


class VoilaProcess(JupyterLabProcess):
    """``voila notebooks/``: the folder's tree, each chapter at ``/voila/render/NAME.ipynb``."""

    def command(self) -> list[str]:
        import sys

        return [sys.executable, "-m", "voila", str(self.root_dir), "--no-browser", "--Voila.ip=127.0.0.1",
                f"--port={self.port}", "--Voila.port_retries=0", f"--Voila.token={self.token}"]

    def start(self, timeout: float = 60) -> LabServer:
        import subprocess

        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(self.command(), env=self._env(), cwd=self.root_dir, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while True:                      # each page load starts a kernel: poll the tree page, not a chapter
            if self.proc.poll() is not None:
                raise RuntimeError(f"Voila exited with {self.proc.returncode}:\n{_tail(self.log_path)}")
            try:
                with _opener.open(f"{self.base_url}/?token={self.token}", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"Voila not ready after {timeout} s:\n{_tail(self.log_path)}")
            time.sleep(0.2)
        return LabServer(self.base_url, self.token, self.root_dir)

    def stop(self) -> None:
        import signal
        import subprocess

        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue


SERVERS = {"lab": LabProcess, "notebook": NotebookProcess, "voila": VoilaProcess}

#: Where each front end shows a notebook's outputs (the active panel in JupyterLab).
SCOPES = {"lab": ".jp-NotebookPanel:not(.lm-mod-hidden)", "notebook": ".jp-NotebookPanel", "voila": "body"}


@dataclass
class Chapter:
    """An open, executed chapter: ``page``, the front end, and the CSS ``scope`` of its outputs."""

    page: object
    front_end: str
    server: LabServer
    name: str
    scope: str
    run_seconds: float

    def locator(self, css: str):
        return self.page.locator(f"{self.scope} {css}")

    def lab(self, index: int = 0, kind: str = "lab"):
        """The ``index``-th lab of the chapter (``kind``: ``lab``, ``buddy-lab``, ``slab-lab``)."""
        return self.locator(f".kmw-{kind}").nth(index)


# Run All, then wait until the kernel is idle and every code cell has run (or one raised).
_JS_RUN_ALL = """async () => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  await panel.context.ready;
  await panel.sessionContext.ready;
  window.__kmwRun = {done: false, error: null};
  app.commands.execute('notebook:run-all-cells').then(
      () => { window.__kmwRun.done = true; }, (e) => { window.__kmwRun.error = String(e); });
}"""

_JS_RUN_FINISHED = """() => {
  const run = window.__kmwRun;
  if (!run) return false;
  if (run.error) return 'error: ' + run.error;
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!run.done || !kernel || kernel.status !== 'idle') return false;
  const cells = panel.content.widgets.filter(c => c.model.type === 'code');
  const pending = cells.filter(c => c.promptNode && c.promptNode.textContent.includes('*'));
  return pending.length === 0;
}"""

_JS_KERNEL_READY = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  if (!panel || !panel.sessionContext) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle';
}"""

_JS_ERRORS = """(scope) => [...document.querySelectorAll(scope + ' .jp-OutputArea-output')]
  .map(e => e.textContent).filter(t => t.includes('Traceback (most recent call last)')
                                   || /^\\s*\\w+Error\\b/.test(t))"""


def chapter_url(front_end: str, server: LabServer, name: str) -> str:
    token = f"token={server.token}"
    if front_end == "lab":
        return f"{server.base_url}/lab/tree/{quote(name)}?{token}&reset"
    if front_end == "notebook":
        return f"{server.base_url}/notebooks/{quote(name)}?{token}"
    return f"{server.base_url}/voila/render/{quote(name)}?{token}"


def open_chapter(page, front_end: str, server: LabServer, name: str, *, timeout: float = 180_000,
                 ready: str = ".kmw-lab") -> Chapter:
    """Open and run chapter ``name``; wait until the element ``ready`` (default: a lab) is drawn."""
    scope = SCOPES[front_end]
    started = time.monotonic()
    page.goto(chapter_url(front_end, server, name), timeout=timeout)
    if front_end == "voila":
        page.wait_for_selector(f"{scope} {ready} .bqplot svg", timeout=timeout)
        # Voila streams the cells as they run: the last cell's output ends the page
        page.wait_for_function("() => document.readyState === 'complete'", timeout=timeout)
    else:
        page.wait_for_function(_JS_KERNEL_READY, timeout=timeout, polling=200)
        page.evaluate(_JS_RUN_ALL)
        result = page.wait_for_function(_JS_RUN_FINISHED, timeout=timeout, polling=200).json_value()
        if isinstance(result, str):
            raise AssertionError(f"{name} in {front_end}: Run All failed: {result}")
        page.wait_for_selector(f"{scope} {ready} .bqplot svg", timeout=timeout)
    errors = page.evaluate(_JS_ERRORS, scope)
    if errors:
        raise AssertionError(f"{name} in {front_end}: a cell raised:\n" + "\n---\n".join(errors))
    return Chapter(page, front_end, server, name, scope, time.monotonic() - started)


# Append a code cell with ``source`` to the open notebook and run it (JupyterLab and Notebook 7).
_JS_RUN_NEW_CELL = """async (source) => {
  const app = window.jupyterapp;
  const notebook = app.shell.currentWidget.content;
  const index = notebook.model.cells.length;
  notebook.model.sharedModel.insertCell(index, {cell_type: 'code', source: source});
  notebook.activeCellIndex = index;
  window.__kmwRun = {done: false, error: null};
  app.commands.execute('notebook:run-cell').then(
      () => { window.__kmwRun.done = true; }, (e) => { window.__kmwRun.error = String(e); });
}"""


def display_again(chapter: Chapter, expression: str, kind: str, *, timeout: float = 60_000) -> int:
    """Run a new last cell showing ``expression`` (e.g. the lab's variable): its views are new views of
    the same widget models.  Returns the index of the new display among the chapter's ``.kmw-{kind}``."""
    if chapter.front_end == "voila":
        raise ValueError("Voila has no code cell to run: a reload is its re-display")
    page, before = chapter.page, chapter.locator(f".kmw-{kind}").count()
    page.evaluate(_JS_RUN_NEW_CELL, expression)
    result = page.wait_for_function(_JS_RUN_FINISHED, timeout=timeout, polling=200).json_value()
    if isinstance(result, str):
        raise AssertionError(f"{chapter.name}: running {expression!r} again failed: {result}")
    page.wait_for_function("([scope, css, n]) => document.querySelectorAll(scope + ' ' + css).length > n",
                           arg=[chapter.scope, f".kmw-{kind} .bqplot svg", before], timeout=timeout)
    return before


def save_and_reload(chapter: Chapter, *, timeout: float = 60_000) -> None:
    """Save the notebook, reload the page: every view is rebuilt from the kernel's widget state.

    In Voila a reload runs the notebook again in a new kernel (a fresh lab, drawn from its state).
    """
    page = chapter.page
    if chapter.front_end != "voila":
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=timeout)
        page.reload()
        page.wait_for_function(_JS_KERNEL_READY, timeout=timeout, polling=200)
    else:
        page.reload()
        page.wait_for_function("() => document.readyState === 'complete'", timeout=timeout)
    page.wait_for_selector(f"{chapter.scope} .kmw-lab .bqplot svg", timeout=timeout)
