"""Helpers to drive JupyterLab in headless Chromium (Playwright) for the browser tests.

Starts a private JupyterLab server the way the stack notes describe (127.0.0.1, a free port,
a token, every Jupyter/IPython directory in a temporary folder, news and update checks off)
and offers page helpers: open a notebook and run all its cells, read bqplot bar heights,
time a click until the plot repaints, save screenshots into test-artifacts/.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
NEWS_OFF = {"fetchNews": "false", "checkForUpdates": False}

# Direct connections only: a proxy from the environment must not see 127.0.0.1 traffic.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def browser_stack_missing() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    if not os.path.exists(CHROMIUM):
        return (f"{CHROMIUM} not found: browser tests need the system Chromium "
                "(apt-get install -y chromium; never `playwright install`)")
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[test]')"
    if importlib.util.find_spec("jupyterlab") is None:
        return "jupyterlab is not installed"
    return None


class LabServer(NamedTuple):
    base_url: str
    token: str
    root_dir: Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(base_url: str, token: str, path: str, method: str = "GET", timeout: float = 5):
    req = urllib.request.Request(
        f"{base_url}{path}", method=method, headers={"Authorization": f"token {token}"}
    )
    with _opener.open(req, timeout=timeout) as resp:
        body = resp.read()
        return resp.status, (json.loads(body) if body else None)


def _tail(path: Path, n: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return "(no log)"


class JupyterLabProcess:
    """One JupyterLab server in its own process group, all state under `base`."""

    def __init__(self, base: Path, notebooks: Path = NOTEBOOKS):
        self.base = base
        self.root_dir = base / "notebooks"
        if notebooks.is_dir():
            shutil.copytree(notebooks, self.root_dir,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        else:
            self.root_dir.mkdir(parents=True)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = base / "jupyterlab.log"
        self.proc: subprocess.Popen | None = None

    def _env(self) -> dict[str, str]:
        dirs = {
            "JUPYTER_CONFIG_DIR": "jupyter-config",
            "JUPYTER_DATA_DIR": "jupyter-data",
            "JUPYTER_RUNTIME_DIR": "jupyter-runtime",
            "IPYTHONDIR": "ipython",
            "JUPYTERLAB_SETTINGS_DIR": "lab-user-settings",
            "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
        }
        env = dict(os.environ)
        for var, name in dirs.items():
            (self.base / name).mkdir(parents=True, exist_ok=True)
            env[var] = str(self.base / name)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        # The news/update toast is a front-end setting: switch it off in the (temporary) user settings.
        notif = self.base / "lab-user-settings/@jupyterlab/apputils-extension"
        notif.mkdir(parents=True, exist_ok=True)
        (notif / "notification.jupyterlab-settings").write_text(json.dumps(NEWS_OFF))
        return env

    def command(self) -> list[str]:
        cmd = [
            sys.executable, "-m", "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        return cmd

    def start(self, timeout: float = 60) -> LabServer:
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(
                self.command(), env=self._env(), cwd=self.root_dir,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # own process group: stop() kills the whole group
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{_tail(self.log_path)}")
            try:
                status, _ = api(self.base_url, self.token, "/api/status", timeout=2)
                if status == 200:
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab not ready after {timeout} s:\n{_tail(self.log_path)}")
            time.sleep(0.2)
        return LabServer(self.base_url, self.token, self.root_dir)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        # Kernels live in their own sessions: shut them down through the API first.
        try:
            shutdown_kernels(self.base_url, self.token)
        except Exception:
            pass
        pgid = self.proc.pid  # == pgid thanks to start_new_session
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue


# --------------------------------------------------------------------------- page helpers

_ACTIVE = ".jp-NotebookPanel:not(.lm-mod-hidden)"

# A notebook's kernel is ready when the status bar reads "<kernel name> | Idle". The toolbar's
# execution indicator alone is not enough: it says "idle" while the panel still has "No Kernel",
# and a Run All issued then pops up the "Select Kernel" dialog instead of running.
_JS_KERNEL_IDLE_FN = """
  const kernelIdle = (p) => {
    const items = [...document.querySelectorAll('.jp-StatusBar-TextItem')]
        .map(e => e.textContent.trim()).filter(t => / \\| \\S+$/.test(t));
    const toolbarName = p.querySelector('.jp-Toolbar-kernelName');
    const ind = p.querySelector('.jp-Notebook-ExecutionIndicator');
    const named = toolbarName && !/^No Kernel/.test(toolbarName.textContent.trim());
    const statusBarOk = items.length === 0 || items.some(t => !/^No Kernel/.test(t) && / \\| Idle$/.test(t));
    return !!(named && ind && ind.dataset.status === 'idle' && statusBarOk);
  };
"""

_JS_IDLE = """(panel) => {""" + _JS_KERNEL_IDLE_FN + """
  const p = document.querySelector(panel);
  return !!p && kernelIdle(p);
}"""

_JS_WATCH_STARS = """(panel) => {
  // Remember whether any cell showed [*] after this point: Run All has really started.
  window.__kmwSawStar = false;
  const check = () => {
    for (const e of document.querySelectorAll(panel + ' .jp-CodeCell .jp-InputPrompt'))
      if (e.textContent.includes('*')) { window.__kmwSawStar = true; return; }
  };
  if (window.__kmwStarObserver) window.__kmwStarObserver.disconnect();
  window.__kmwStarObserver = new MutationObserver(check);
  window.__kmwStarObserver.observe(document.body, {subtree: true, childList: true, characterData: true});
}"""

_JS_RUN_FINISHED = """(panel) => {""" + _JS_KERNEL_IDLE_FN + """
  const p = document.querySelector(panel);
  if (!p || !window.__kmwSawStar) return false;
  for (const e of p.querySelectorAll('.jp-CodeCell .jp-InputPrompt'))
    if (e.textContent.includes('*')) return false;
  return kernelIdle(p);
}"""

_JS_HAS_CODE = """(panel) => [...document.querySelectorAll(panel + ' .jp-CodeCell .jp-InputArea-editor')]
  .some(e => e.textContent.trim().length > 0)"""


def dismiss_dialogs(page) -> None:
    """Accept any modal (kernel selection, ...) that would block the notebook."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        page.locator(".jp-Dialog .jp-mod-accept").first.click()
        dialog.first.wait_for(state="detached", timeout=5_000)


def open_and_run_all(page, base_url: str, token: str, notebook_name: str, *,
                     timeout: float = 60_000, raise_on_error: bool = True) -> list[str]:
    """Open `lab/tree/<notebook_name>` (a path relative to the server's root_dir), run all cells
    from the Run menu, wait until the kernel is idle and no cell shows `[*]`.

    Returns the text of error outputs; raises instead if there are any and `raise_on_error`."""
    # `reset` starts from an empty workspace: the session-scoped server would otherwise reopen
    # (and start kernels for) every notebook an earlier test opened.
    page.goto(f"{base_url}/lab/tree/{quote(notebook_name)}?token={token}&reset")
    page.wait_for_selector(f"{_ACTIVE} .jp-Notebook .jp-Cell", timeout=timeout)
    dismiss_dialogs(page)
    page.wait_for_function(_JS_IDLE, arg=_ACTIVE, timeout=timeout)
    has_code = page.evaluate(_JS_HAS_CODE, _ACTIVE)
    page.evaluate(_JS_WATCH_STARS, _ACTIVE)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu .lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    if has_code:
        page.wait_for_function(_JS_RUN_FINISHED, arg=_ACTIVE, timeout=timeout, polling=100)
        page.evaluate("() => window.__kmwStarObserver && window.__kmwStarObserver.disconnect()")
        if page.locator(".jp-Dialog").count():
            raise AssertionError(f"{notebook_name}: a dialog blocked Run All: "
                                 + page.locator(".jp-Dialog").first.inner_text())
    else:
        page.wait_for_function(_JS_IDLE, arg=_ACTIVE, timeout=timeout)
    errors = page.locator(
        f'{_ACTIVE} .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]'
    ).all_inner_texts()
    if errors and raise_on_error:
        raise AssertionError(f"{notebook_name}: a cell raised:\n" + "\n---\n".join(errors))
    return errors


def shutdown_kernels(base_url: str, token: str) -> None:
    """Shut down every kernel of the server (e.g. between tests sharing the session server)."""
    _, kernels = api(base_url, token, "/api/kernels")
    for k in kernels or []:
        api(base_url, token, f"/api/kernels/{k['id']}", method="DELETE", timeout=10)


def bar_heights(page, figure_index: int = 0, scope: str | None = None) -> list[float]:
    """Heights of `rect.bar` in the second <svg> of the n-th `.bqplot` of the active notebook
    (or of the CSS ``scope`` a front end shows the outputs in: ``frontends.SCOPES``)."""
    return page.evaluate(
        """([panel, i]) => {
          const fig = document.querySelectorAll(panel + ' .bqplot')[i];
          const svg = fig && fig.querySelectorAll('svg')[1];
          if (!svg) return null;
          return [...svg.querySelectorAll('rect.bar')].map(r => parseFloat(r.getAttribute('height')));
        }""",
        [_ACTIVE if scope is None else scope, figure_index],
    )


_JS_TIME_CLICK = """async ([panel, buttonText, figIndex]) => {
  const fig = document.querySelectorAll(panel + ' .bqplot')[figIndex];
  const svg = fig.querySelectorAll('svg')[1];
  const button = [...document.querySelectorAll(panel + ' button')]
      .find(b => b.textContent.trim() === buttonText);
  if (!button) throw new Error('no button ' + buttonText);
  const heights = () => [...svg.querySelectorAll('rect.bar')].map(r => r.getAttribute('height')).join(',');
  const before = heights();
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { obs.disconnect(); reject(new Error('no repaint within 10 s')); }, 10000);
    const obs = new MutationObserver(() => {
      if (heights() === before) return;
      obs.disconnect();
      clearTimeout(timer);
      const changed = performance.now() - t0;
      // the frame after the DOM change is the repaint the student sees
      requestAnimationFrame(() => resolve({dom_ms: changed, paint_ms: performance.now() - t0}));
    });
    obs.observe(fig, {subtree: true, childList: true, attributes: true});
    const t0 = performance.now();
    button.click();
  });
}"""


def time_click_to_repaint(page, button_text: str, figure_index: int = 0) -> dict:
    """Click a button (a DOM click in the page) and time until the bars of a bqplot figure
    change and the next animation frame runs. Returns {'dom_ms': ..., 'paint_ms': ...}."""
    return page.evaluate(_JS_TIME_CLICK, [_ACTIVE, button_text, figure_index])


def save_screenshot(page, name: str) -> Path:
    """Save a full-page PNG into test-artifacts/ at the repository root (gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    path = ARTIFACTS / (safe if safe.endswith(".png") else f"{safe}.png")
    page.screenshot(path=str(path), full_page=True)
    return path
