"""Drive the course notebooks in JupyterLab with headless Chromium (used by test_browser.py).

- ``browser_unavailable()``: why the browser tests cannot run here (``None`` when they can).
- ``LabServer``: ``python -m jupyter lab`` from this environment on a free loopback port, with
  a throw-away, token-less config and throw-away runtime, data, settings and workspaces
  directories. ``stop()`` ends the server and every process it started (kernels included),
  whatever happened before, and returns the processes that outlived it (none, normally).
- ``HeadlessChromium``: Debian's Chromium driven by Playwright through ``executable_path``
  with a fresh ``--user-data-dir``; ``stop()`` closes it the same way.
- ``check_notebook(page, ...)``: opens a notebook the way a learner does, runs every cell
  from the Run menu, then checks in the DOM that no output is an error, that the widgets
  render as controls (not as text), and that dragging a widget's slider (or choosing another
  option in its dropdown) changes its output. It returns a ``NotebookReport`` listing the
  problems (empty when all is well) and the path of a screenshot.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

#: ``required``: a missing browser fails the browser tests (set by .ci/run); ``skip``: never
#: run them; unset: run them when Chromium and Playwright are installed, else skip (in CI,
#: i.e. with CI=true, a missing browser fails).
MODE_ENV = "COURSE_BROWSER_TESTS"
#: The Chromium binary; default: ``chromium`` (Debian) or ``chromium-browser`` on the PATH.
CHROMIUM_ENV = "COURSE_CHROMIUM"
INSTALL_HINT = ("install them with: sudo apt-get install -y chromium && "
                ".venv/bin/pip install -r requirements-browser.txt")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Settings a learner could set in JupyterLab's settings editor: never fetch news or look for
# updates (the test machine is offline, and a notice would cover the notebook).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def browser_mode() -> str:
    """``required``, ``skip`` or ``auto`` (see MODE_ENV)."""
    mode = os.environ.get(MODE_ENV, "").strip().lower()
    if mode in ("required", "1", "true", "yes"):
        return "required"
    if mode in ("skip", "0", "false", "no"):
        return "skip"
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        return "required"
    return "auto"


def find_chromium() -> str | None:
    """The Chromium executable: $COURSE_CHROMIUM, else chromium / chromium-browser on PATH."""
    env = os.environ.get(CHROMIUM_ENV)
    if env:
        return env if Path(env).is_file() and os.access(env, os.X_OK) else None
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def browser_unavailable() -> str | None:
    """Why the browser tests cannot run here, or ``None`` when they can."""
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as e:
        missing.append(f"the playwright package is not importable ({e})")
    chromium = find_chromium()
    if chromium is None:
        where = os.environ.get(CHROMIUM_ENV) or "chromium or chromium-browser on the PATH"
        missing.append(f"no Chromium executable ({where})")
    else:
        try:
            out = subprocess.run([chromium, "--version"], capture_output=True, text=True,
                                 timeout=60, stdin=subprocess.DEVNULL)
            if out.returncode != 0:
                missing.append(f"{chromium} --version failed: {out.stderr.strip()[:200]}")
        except (OSError, subprocess.TimeoutExpired) as e:
            missing.append(f"{chromium} does not run: {e}")
    if not missing:
        return None
    return "browser tests need Chromium and Playwright: " + "; ".join(missing) + "; " + \
        INSTALL_HINT


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes_mentioning(marker: str) -> list[psutil.Process]:
    """Live processes whose command line contains ``marker`` (a unique temporary path)."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error, TypeError):
            if any(marker in arg for arg in p.info["cmdline"] or ()):
                found.append(p)
    return found


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _end(processes: list[psutil.Process], grace_s: float = 10.0) -> list[psutil.Process]:
    """Terminate, then kill, the given processes; return those still alive after that."""
    me = os.getpid()
    processes = [p for p in processes if p.pid != me and _alive(p)]
    for p in processes:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    _, alive = psutil.wait_procs(processes, timeout=grace_s)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    _, alive = psutil.wait_procs(alive, timeout=5)
    return [p for p in alive if _alive(p)]


def describe(processes: list[psutil.Process]) -> str:
    out = []
    for p in processes:
        try:
            out.append(f"pid {p.pid}: {' '.join(p.cmdline())[:160]}")
        except psutil.Error:
            out.append(f"pid {p.pid}")
    return "; ".join(out)


class LabServer:
    """A JupyterLab server serving ``root_dir``, isolated from the user's Jupyter set-up.

    Every Jupyter directory it writes to (config, data, runtime, settings, workspaces) lies
    under ``work_dir``; its kernels are started with a connection file under
    ``work_dir/runtime``, which is how ``stop()`` recognises them.
    """

    def __init__(self, root_dir: Path, work_dir: Path, env: dict[str, str] | None = None,
                 settings: dict | None = None):
        self.root_dir = Path(root_dir)
        self.work_dir = Path(work_dir)
        self.extra_env = dict(env or {})
        self.settings = LAB_SETTINGS if settings is None else settings
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log_path = self.work_dir / "jupyter-lab.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, rel_path: str) -> str:
        # ?reset starts from an empty workspace, so no notebook opened before comes back.
        return f"{self.url}/lab/tree/{urllib.parse.quote(rel_path)}?reset"

    def log_tail(self, n: int = 40) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no server log)"
        return "\n".join(lines[-n:])

    def start(self, timeout: float = 120.0) -> None:
        dirs = {}
        for name in ("config", "data", "runtime", "settings", "workspaces"):
            dirs[name] = self.work_dir / name
            dirs[name].mkdir(parents=True, exist_ok=True)
        for rel, values in self.settings.items():
            path = dirs["settings"] / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        self.port = free_port()
        config = {
            "ServerApp": {
                "ip": "127.0.0.1",
                "port": self.port,
                "port_retries": 0,
                "open_browser": False,
                "allow_root": True,  # as root (CI containers) jupyter lab exits without it
                "root_dir": str(self.root_dir),
            },
            "IdentityProvider": {"token": ""},  # loopback only, throw-away server
            "LabApp": {"news_url": None},
        }
        (dirs["config"] / "jupyter_server_config.json").write_text(json.dumps(config))
        env = dict(os.environ)
        # The kernels are to run as a learner's would: the inline plot backend (the test
        # suite sets MPLBACKEND=Agg, which ipykernel would keep) and no user Jupyter paths.
        for var in ("MPLBACKEND", "JUPYTER_TOKEN", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH",
                    "JUPYTER_PREFER_ENV_PATH"):
            env.pop(var, None)
        env.update(
            JUPYTER_CONFIG_DIR=str(dirs["config"]),
            JUPYTER_DATA_DIR=str(dirs["data"]),
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
            JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
            JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root"],
                cwd=self.root_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with code {self.proc.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"jupyter lab did not answer on {self.url} within "
                                   f"{timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.3)

    def kernels(self) -> list[dict]:
        """The running kernels, as the server's REST API lists them."""
        with urllib.request.urlopen(f"{self.url}/api/kernels", timeout=10) as r:
            return json.loads(r.read())

    def sessions(self) -> list[dict]:
        """The open notebook sessions (path and kernel), as the server's REST API lists them."""
        with urllib.request.urlopen(f"{self.url}/api/sessions", timeout=10) as r:
            return json.loads(r.read())

    def processes(self) -> list[psutil.Process]:
        """The server and every process it started that is still alive."""
        procs: dict[int, psutil.Process] = {}
        if self.proc is not None:
            with contextlib.suppress(psutil.Error):
                server = psutil.Process(self.proc.pid)
                procs[server.pid] = server
                for child in server.children(recursive=True):
                    procs[child.pid] = child
        # Kernels run in sessions of their own; their connection file lies in our runtime dir.
        for p in _processes_mentioning(str(self.work_dir / "runtime")):
            procs.setdefault(p.pid, p)
        return [p for p in procs.values() if _alive(p)]

    def stop(self) -> list[psutil.Process]:
        """Stop the server (it shuts its kernels down), then end anything it left behind.

        Returns the processes still alive afterwards: an empty list unless something refused
        to die even when killed.
        """
        proc, leftovers = self.proc, self.processes()
        if proc is None:
            return _end(leftovers)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)  # our own session: the server and its helpers
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        self.proc = None
        return _end(leftovers + _processes_mentioning(str(self.work_dir / "runtime")))


class HeadlessChromium:
    """Debian's Chromium, headless, driven by Playwright, with a fresh profile directory."""

    def __init__(self, executable: str, profile_dir: Path,
                 viewport: tuple[int, int] = (1400, 1000)):
        self.executable = executable
        self.profile_dir = Path(profile_dir)
        self.viewport = viewport
        self._playwright = None
        self._driver: list[psutil.Process] = []
        self.context = None

    def start(self):
        from playwright.sync_api import sync_playwright

        self.profile_dir.mkdir(parents=True, exist_ok=True)
        me = psutil.Process()
        before = {c.pid for c in me.children(recursive=True)}
        self._playwright = sync_playwright().start()
        # The Playwright driver (a node process) is the child that appeared just now.
        self._driver = [c for c in me.children(recursive=True) if c.pid not in before]
        # A persistent context launches Chromium with --user-data-dir=<profile_dir>.
        self.context = self._playwright.chromium.launch_persistent_context(
            str(self.profile_dir), executable_path=self.executable, headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": self.viewport[0], "height": self.viewport[1]},
        )
        return self

    def new_page(self):
        return self.context.new_page()

    def processes(self) -> list[psutil.Process]:
        """The Playwright driver and every Chromium process using our profile directory."""
        procs = {p.pid: p for p in self._driver if _alive(p)}
        for p in _processes_mentioning(str(self.profile_dir)):
            procs.setdefault(p.pid, p)
        return [p for p in procs.values() if _alive(p)]

    def stop(self) -> list[psutil.Process]:
        """Close the browser and the driver; return any of their processes still alive."""
        leftovers = self.processes()
        context, self.context = self.context, None
        pw, self._playwright = self._playwright, None
        if context is not None:
            with contextlib.suppress(Exception):
                context.close()
        if pw is not None:
            with contextlib.suppress(Exception):
                pw.stop()
        return _end(leftovers + _processes_mentioning(str(self.profile_dir)))


@dataclass
class NotebookReport:
    name: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worth a look, but not failures
    screenshot: Path | None = None
    widgets: int = 0
    sliders_moved: int = 0
    dropdowns_changed: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        lines = [f"{self.name}: {len(self.problems)} problem(s) in JupyterLab after "
                 f"{self.seconds:.0f} s; {self.widgets} widget(s); {self.sliders_moved} slider "
                 f"drag(s) and {self.dropdowns_changed} dropdown choice(s) changed an output; "
                 f"screenshot: {self.screenshot}"]
        lines += [f"  - {p}" for p in self.problems]
        lines += [f"  (note) {n}" for n in self.notes]
        return "\n".join(lines)


def expected_widget_cells(notebook: Path) -> int:
    """How many code cells display an ``interactive_plot`` (call it outside a comment)."""
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    n = 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        lines = [ln.split("#")[0] for ln in src.splitlines()
                 if not ln.lstrip().startswith(("from ", "import "))]
        if re.search(r"\binteractive_plot\(", "\n".join(lines)):
            n += 1
    return n


# JavaScript run in the page -------------------------------------------------------------

_JS_CELL_STATE = """
(nb) => [...nb.querySelectorAll('.jp-Cell.jp-CodeCell')].map(c => {
  const prompt = c.querySelector('.jp-InputArea-prompt');
  const editor = c.querySelector('.jp-InputArea-editor');
  return {index: [...nb.querySelectorAll('.jp-Cell')].indexOf(c),
          prompt: prompt ? prompt.textContent.trim() : '',
          empty: editor ? editor.textContent.trim() === '' : true};
})
"""

# An error output. JupyterLab renders error outputs (like stderr) with the stderr mime type;
# IPython's error outputs show "Traceback (most recent call last)", or, for a syntax error,
# "Cell In[n], line m" followed by the exception line. A widget that cannot be displayed
# says so in its output.
_JS_ERRORS = """
(nb) => {
  const found = [];
  const cells = [...nb.querySelectorAll('.jp-Cell')];
  for (const out of nb.querySelectorAll('.jp-OutputArea-output')) {
    // Only the innermost: a widget's output area sits inside its cell's output.
    if (out.querySelector('.jp-OutputArea-output')) continue;
    const text = out.textContent || '';
    const stderr = out.matches('[data-mime-type="application/vnd.jupyter.stderr"]');
    const tb = /Traceback \\(most recent call last\\)/.test(text)
      || (stderr && /^\\s*(Cell In\\[\\d+\\]|File ".*"), line \\d+/m.test(text)
          && /^\\w*(Error|Exception)\\b/m.test(text));
    const widgetFail = /Error displaying widget|Failed to load model class|model not found/
      .test(text);
    if (tb || widgetFail) {
      const lines = text.split('\\n').map(s => s.trim()).filter(Boolean);
      const exc = lines.filter(s => /^\\w*(Error|Exception|Interrupt|Exit)\\b/.test(s));
      found.push({cell: cells.indexOf(out.closest('.jp-Cell')),
                  inWidget: !!out.closest('.widget-output'),
                  line: (exc.length ? exc[exc.length - 1] : lines[lines.length - 1] || '')
                        .slice(0, 300)});
    }
  }
  return found;
}
"""

# A widget whose view did not render shows its text form, e.g. "interactive(children=(...".
_JS_TEXT_REPRS = """
(nb) => [...nb.querySelectorAll('.jp-OutputArea-output')]
  .filter(o => !o.querySelector('.jp-OutputArea-output, .jupyter-widgets'))
  .map(o => o.textContent || '')
  .filter(t => /^\\s*(interactive|\\w*(Slider|Dropdown|Box|Checkbox|Output))\\(/.test(t))
  .map(t => t.trim().slice(0, 120))
"""

# A formula MathJax could not typeset, which the learner sees in red: a TeX error (merror), or
# an undefined macro such as \* that MathJax prints literally, backslash and all.
_JS_MATH_ERRORS = """
(nb) => {
  const cells = [...nb.querySelectorAll('.jp-Cell')];
  const bad = [...nb.querySelectorAll('mjx-merror, mjx-container [data-mjx-error]')];
  for (const t of nb.querySelectorAll('mjx-assistive-mml mtext[mathcolor="red"]'))
    if (/^\\\\[A-Za-z*]/.test(t.textContent)) bad.push(t);
  return bad.map(e => {
    return {cell: cells.indexOf(e.closest('.jp-Cell')),
            text: (e.getAttribute('data-mjx-error') || e.textContent || '').slice(0, 120)};
  });
}
"""

_JS_WIDGETS = """
(nb) => [...nb.querySelectorAll('.widget-interact')].map(w => ({
  cell: [...nb.querySelectorAll('.jp-Cell')].indexOf(w.closest('.jp-Cell')),
  sliders: w.querySelectorAll('.noUi-handle').length,
  dropdowns: w.querySelectorAll('.widget-dropdown select').length,
  checkboxes: w.querySelectorAll('.widget-checkbox input').length,
  hasOutput: !!w.querySelector('.widget-output'),
}))
"""

# What a widget's output shows: its images (size and tail of the data URL) and its text.
_JS_SIGNATURE = """
(w) => {
  const out = w.querySelector('.widget-output');
  if (!out) return '';
  const imgs = [...out.querySelectorAll('img')].map(i => i.src.length + ':' + i.src.slice(-400));
  return imgs.join('|') + '#' + (out.textContent || '').trim();
}
"""

_JS_SHUTDOWN_KERNELS = """
async () => {
  const m = document.cookie.match(/_xsrf=([^;]+)/);
  const headers = m ? {'X-XSRFToken': decodeURIComponent(m[1])} : {};
  const r = await fetch('/api/kernels', {headers});
  for (const k of await r.json())
    await fetch('/api/kernels/' + k.id, {method: 'DELETE', headers});
}
"""

_IDLE = ".jp-Notebook-ExecutionIndicator[data-status=idle]"


def _dismiss_notices(page) -> None:
    """Answer "No" to the Jupyter news question (or close any other toast) if one shows."""
    for toast in page.locator(".Toastify__toast").all():
        with contextlib.suppress(Exception):
            no = toast.get_by_role("button", name=re.compile(r"^\s*No\s*$"))
            if no.count():
                no.first.click(timeout=2000)
                continue
            toast.locator(".jp-Notification-Toast-Close").first.click(timeout=2000)


def _wait_kernel_ready(page, server: LabServer, name: str, timeout_s: float) -> None:
    """Wait until the notebook's kernel runs on the server and the page shows it idle for 1 s.

    (The execution indicator says "idle" for a moment before the kernel even starts; Run All
    Cells clicked then opens a "Select Kernel" dialog instead of running anything.)
    """
    deadline = time.monotonic() + timeout_s
    quiet_since = None
    while True:
        try:
            started = any(s.get("path") == name and s.get("kernel")
                          for s in server.sessions())
        except OSError:
            started = False
        if started and page.locator(_IDLE).count() > 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 1.0:
                return
        else:
            quiet_since = None
        if time.monotonic() > deadline:
            raise TimeoutError(f"the kernel of {name} was not ready after {timeout_s:.0f} s")
        time.sleep(0.25)


def _wait_run_finished(page, nb, timeout_s: float) -> None:
    """Wait until no code cell is queued or running ([*]) and the kernel is idle for 1 s."""
    deadline = time.monotonic() + timeout_s
    quiet_since = None
    while True:
        busy = any("*" in c["prompt"] for c in nb.evaluate(_JS_CELL_STATE))
        idle = page.locator(_IDLE).count() > 0
        if not busy and idle:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 1.0:
                return
        else:
            quiet_since = None
        if time.monotonic() > deadline:
            raise TimeoutError(f"cells still running after {timeout_s:.0f} s")
        time.sleep(0.25)


def _run_all_cells(page) -> None:
    """Run > Run All Cells, matching the menu item's label exactly.

    (A substring match would also hit "Restart Kernel and Run All Cells…", whose dialog
    would then wait for an answer while nothing reaches the kernel.)
    """
    page.locator(".lm-MenuBar-itemLabel").filter(has_text=re.compile(r"^Run$")).click()
    menu = page.locator(".lm-Menu").last
    item = menu.locator(".lm-Menu-itemLabel").filter(has_text=re.compile(r"^Run All Cells$"))
    item.wait_for(state="visible", timeout=10_000)
    item.click()


def _settled_box(locator, timeout_s: float = 10.0) -> dict:
    """The element's bounding box once it has stopped moving.

    Off-screen cells are laid out only when they scroll into view (CSS content-visibility),
    so the notebook's content can still shift for a moment after scrolling.
    """
    deadline = time.monotonic() + timeout_s
    box = locator.bounding_box()
    while time.monotonic() < deadline:
        time.sleep(0.3)
        again = locator.bounding_box()
        if again == box and box is not None:
            return box
        box = again
    if box is None:
        raise RuntimeError("the slider handle is not visible")
    return box


def _drag_slider(page, handle, steps: int = 8) -> None:
    """Drag a noUiSlider handle a quarter of its track towards the far side, then release."""
    track = handle.locator("xpath=ancestor::*[contains(@class,'noUi-target')][1]")
    handle.scroll_into_view_if_needed()
    hb, tb = _settled_box(handle), _settled_box(track)
    x, y = hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2
    dx = tb["width"] / 4 if x < tb["x"] + tb["width"] / 2 else -tb["width"] / 4
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=steps)
    page.mouse.up()


def _wait_output_change(page, nb, w, before: str, timeout_s: float) -> str:
    """Wait for a widget's output to differ from ``before``, then for the kernel to settle.

    Gives up waiting for a change once the kernel has been busy (redrawing) and then idle
    for 2 s, or after ``min(timeout_s, 60)`` s when it never looked busy, and returns what
    the output shows then.
    """
    start = time.monotonic()
    seen_busy, idle_since = False, None
    while time.monotonic() - start < min(timeout_s, 60.0):
        after = w.evaluate(_JS_SIGNATURE)
        if after != before and after.strip("#"):
            break
        if page.locator(_IDLE).count() == 0:
            seen_busy, idle_since = True, None
        else:
            idle_since = idle_since or time.monotonic()
            if seen_busy and time.monotonic() - idle_since > 2.0:
                break
        time.sleep(0.1)
    _wait_run_finished(page, nb, timeout_s)
    return w.evaluate(_JS_SIGNATURE)


def check_notebook(page, server: LabServer, name: str, screenshot_dir: Path,
                   expected_widgets: int = 0, timeout_s: float = 300.0) -> NotebookReport:
    """Open ``name`` (relative to the server's root) in JupyterLab, run all cells, check.

    Returns a report whose ``problems`` is empty when every code cell ran, no output is an
    error, no formula is shown in red, at least ``expected_widgets`` interactive widgets
    rendered as controls (none as text), every slider dragged took a new value, and every
    widget's output changed when its controls moved: its sliders are dragged one by one until
    one changes the output, then its dropdown takes another option (a control that changed
    nothing while another did is a note, not a problem). Never raises for what it finds: a
    timeout or a missing element is a problem in the report. The screenshot (the window)
    shows the first cell with an error, or else the first widget after its controls moved.
    """
    t0 = time.monotonic()
    report = NotebookReport(name)
    screenshot_dir = Path(screenshot_dir)
    screenshot_dir.mkdir(parents=True, exist_ok=True)
    report.screenshot = screenshot_dir / f"{Path(name).stem}.png"
    # What the screenshot shows: the first cell with an error, else the first widget.
    focus: dict = {"errors": {}}
    try:
        _check(page, server, name, expected_widgets, timeout_s, report, focus)
    except Exception as e:  # noqa: BLE001 - a timeout or a missing element is a finding
        report.problems.append(f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:300]}")
    finally:
        with contextlib.suppress(Exception):
            errors = focus["errors"]
            shown = errors[min(errors)] if errors else focus.get("widget")
            if shown is not None:
                shown.scroll_into_view_if_needed(timeout=5000)
        with contextlib.suppress(Exception):
            page.screenshot(path=str(report.screenshot), timeout=30_000)
        with contextlib.suppress(Exception):  # free the CPU and memory for the next notebook
            page.evaluate(_JS_SHUTDOWN_KERNELS)
        report.seconds = time.monotonic() - t0
    return report


def _check(page, server, name, expected_widgets, timeout_s, report, focus) -> None:
    ms = timeout_s * 1000
    page.goto(server.notebook_url(name), timeout=ms)
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=ms)
    _wait_kernel_ready(page, server, name, timeout_s)
    _dismiss_notices(page)
    nb = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first
    _run_all_cells(page)
    # The first cell shows [*] once it is queued: make sure the run has begun.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-Cell.jp-CodeCell .jp-InputArea-prompt')]"
        ".some(p => /\\[[*0-9]+\\]/.test(p.textContent))", timeout=30_000)
    _wait_run_finished(page, nb, timeout_s)
    _dismiss_notices(page)
    cells = nb.locator(".jp-Cell")

    state = nb.evaluate(_JS_CELL_STATE)
    not_run = [c["index"] for c in state if not c["empty"] and not re.search(r"\[\d+\]",
                                                                             c["prompt"])]
    if not_run:
        report.problems.append(f"code cells not executed (the run stopped?): {not_run[:10]}")
    for err in nb.evaluate(_JS_ERRORS):
        report.problems.append(f"error output in cell {err['cell']}: {err['line']}")
        focus["errors"].setdefault(err["cell"], cells.nth(err["cell"]))
    for err in nb.evaluate(_JS_MATH_ERRORS):
        msg = (f"formula not typeset in cell {err['cell']} (MathJax shows it in red): "
               f"{err['text']!r}")
        if msg not in report.problems:
            report.problems.append(msg)
        focus["errors"].setdefault(err["cell"], cells.nth(err["cell"]))
    for text in nb.evaluate(_JS_TEXT_REPRS):
        report.problems.append(f"widget shown as text, not as a control: {text!r}")

    if expected_widgets:  # widget views render a moment after the kernel goes idle
        with contextlib.suppress(Exception):
            page.wait_for_function(
                "n => document.querySelectorAll('.widget-interact').length >= n",
                arg=expected_widgets, timeout=30_000)
    widgets = nb.locator(".widget-interact")
    shapes = nb.evaluate(_JS_WIDGETS)
    report.widgets = len(shapes)
    if len(shapes) < expected_widgets:
        report.problems.append(f"{len(shapes)} interactive widget(s) rendered, expected "
                               f"{expected_widgets}")
    for i, shape in enumerate(shapes):
        where = f"widget {i} (cell {shape['cell']})"
        if shape["sliders"] + shape["dropdowns"] + shape["checkboxes"] == 0:
            report.problems.append(f"{where} has no slider, dropdown or checkbox control")
        if not shape["hasOutput"]:
            report.problems.append(f"{where} has no output area")
            continue
        w = widgets.nth(i)
        w.scroll_into_view_if_needed()
        focus.setdefault("widget", w)
        before = w.evaluate(_JS_SIGNATURE)
        if not before.strip("#"):
            report.problems.append(f"{where} shows no output before its controls move")
        tried, responded = [], False
        # Sliders first, in their starting state: the first that changes the output will do
        # (one slider may mean nothing in the starting state of another control).
        handles = w.locator(".noUi-handle")
        readouts = w.locator(".widget-readout")
        for k in range(min(shape["sliders"], 4)):
            readout = readouts.nth(k) if readouts.count() > k else None
            value_before = readout.inner_text() if readout is not None else ""
            value_after = value_before
            for _ in range(3):  # a layout shift during the drag can make it miss the handle
                _drag_slider(page, handles.nth(k))
                value_after = readout.inner_text() if readout is not None else ""
                if value_after != value_before:
                    break
            if value_after == value_before:
                report.problems.append(f"{where}: dragging slider {k} did not change its "
                                       f"value ({value_before!r})")
                continue
            after = _wait_output_change(page, nb, w, before, timeout_s)
            tried.append(f"slider {k} from {value_before} to {value_after}")
            if after != before:
                report.sliders_moved += 1
                responded, before = True, after
                break
            report.notes.append(f"{where}: slider {k} moved from {value_before} to "
                                f"{value_after} without changing the output")
        if shape["dropdowns"]:
            select = w.locator(".widget-dropdown select").first
            options = select.locator("option").all_inner_texts()
            current = select.evaluate("s => s.options[s.selectedIndex].text")
            others = [o for o in options if o != current]
            if others:
                select.select_option(label=others[0])
                after = _wait_output_change(page, nb, w, before, timeout_s)
                tried.append(f"dropdown from {current!r} to {others[0]!r}")
                if after != before:
                    report.dropdowns_changed += 1
                    responded, before = True, after
                else:
                    report.notes.append(f"{where}: dropdown went from {current!r} to "
                                        f"{others[0]!r} without changing the output")
        if tried and not responded:
            report.problems.append(f"{where}: output unchanged after its controls moved "
                                   f"({'; '.join(tried)})")
    if any(s["sliders"] for s in shapes) and not report.sliders_moved:
        report.problems.append("no slider changed the output of its widget")
    for err in nb.evaluate(_JS_ERRORS):  # errors raised by the widget callbacks
        msg = f"error output in cell {err['cell']}: {err['line']}"
        if err["inWidget"]:
            msg += " (raised by a widget callback)"
        if msg not in report.problems and not any(p.startswith(msg) for p in report.problems):
            report.problems.append(msg)
            focus["errors"].setdefault(err["cell"], cells.nth(err["cell"]))
    for dialog in page.locator(".jp-Dialog").all():  # e.g. "Kernel Restarting" after a crash
        with contextlib.suppress(Exception):
            if dialog.is_visible():
                report.problems.append(f"a dialog is open: {dialog.inner_text()[:200]!r}")
