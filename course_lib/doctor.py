"""Is this environment the one the course was tested with? ``python -m course_lib.doctor``

Run it from the course folder (the checkout), in a terminal:

    .venv/bin/python -m course_lib.doctor            # every check
    .venv/bin/python -m course_lib.doctor --quick    # without the data checksums

or in a notebook cell: ``from course_lib import doctor; doctor.run()``. It checks

- Python against ``requires-python`` of ``pyproject.toml`` and the tested version;
- every course package against the lock (``requirements.txt``): the same version, another
  version inside the range ``pyproject.toml`` declares, out of that range, or missing;
- that ``course_lib`` is imported from this checkout, not from a stale install elsewhere;
- that the files in ``data/`` match their sha256 in ``data/MANIFEST.json`` (not with --quick);
- that JupyterLab can draw widgets: the widget extension is installed, and the installed
  ``jupyterlab_widgets`` is the one ``ipywidgets`` asks for;
- the device that ``setup()`` would pick, and why;
- that the working folder is writable (exercise progress, checkpoints).

Each check returns :class:`Result` records (name, status ``ok``/``warn``/``fail``, message,
fix); each problem comes with the command that fixes it. The exit status is 1 when a check
fails (a package out of range or missing, a corrupt data file, ...), else 0; warnings (a newer
version inside the range, a missing test tool) do not change it. The set-up cell of every
notebook runs the package part of it (:func:`course_lib.versions.version_warnings`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from course_lib import data, env, progress, versions

__all__ = ["Result", "check_python", "check_packages", "check_install", "check_data",
           "check_widgets", "check_device", "check_writable", "run", "main", "exit_status"]

OK, WARN, FAIL = "ok", "warn", "fail"
_PACKAGE_DIR = Path(__file__).resolve().parent
_EXTENSION = ("@jupyter-widgets", "jupyterlab-manager")   # the widget extension of JupyterLab


@dataclass(frozen=True)
class Result:
    """The verdict of one check: ``status`` is ``"ok"``, ``"warn"`` or ``"fail"``; ``fix`` is
    the command (or action) that repairs it, ``""`` when there is nothing to do."""

    name: str
    status: str
    message: str
    fix: str = ""


# ------------------------------------------------------------------------------------------
# Python and packages
# ------------------------------------------------------------------------------------------
def _from_package_check(check: versions.PackageCheck) -> Result:
    if check.problem:
        status = FAIL
    elif check.status in ("same", "in range"):
        status = OK
    else:                  # newer/older inside the range, or a missing optional tool
        status = WARN
    message = versions.describe(check)
    if message.startswith(check.name + " "):      # the name is printed in its own column
        message = message[len(check.name) + 1:]
    return Result(check.name, status, message, check.fix)


def check_python(checkout: Path | None = None) -> Result:
    """Python against ``requires-python`` (fail outside it) and the tested version (warn)."""
    checkout = versions.find_checkout() if checkout is None else checkout
    return _from_package_check(versions.check_python(versions.declared_ranges(checkout)))


def check_packages(checkout: Path | None = None, *, version_of=None) -> list[Result]:
    """One result per declared package: ok (the lock's version), warn (another version in the
    range, or a missing optional tool), fail (out of range, or a runtime package missing)."""
    checks = versions.check_packages(checkout, version_of=version_of)
    return [_from_package_check(c) for c in checks if c.group != "python"]


# ------------------------------------------------------------------------------------------
# Where course_lib comes from
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InstallInfo:
    """What pip recorded about the installed ``course_lib``: the folder it was installed from
    (None when unknown), whether it is editable, and its declared requirements."""

    source: Path | None
    editable: bool
    requires: tuple[str, ...]


def installed_course_lib() -> InstallInfo | None:
    """The pip-installed ``course_lib`` of this Python (its ``direct_url.json``), or None.

    A ``course_lib.egg-info`` folder left in the checkout by a build is not an install and is
    skipped (it is found only when Python runs from the checkout).
    """
    import importlib.metadata

    for dist in importlib.metadata.distributions(name="course_lib"):
        raw = dist.read_text("direct_url.json")
        if raw is None:
            continue
        info = json.loads(raw)
        url = info.get("url", "")
        source = None
        if url.startswith("file://"):
            from urllib.parse import unquote, urlparse

            source = Path(unquote(urlparse(url).path))
        return InstallInfo(source, bool(info.get("dir_info", {}).get("editable")),
                           tuple(dist.requires or ()))
    return None


def _same(a: Path, b: Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def check_install(checkout: Path | None = None, *, package_dir: Path | None = None,
                  install: InstallInfo | None | bool = True) -> Result:
    """``course_lib`` is imported from ``checkout`` (default: the checkout around the current
    folder) and installed from it, editable, with up-to-date metadata.

    ``package_dir`` (default: where this module was imported from) and ``install`` (default:
    :func:`installed_course_lib`) are parameters so that the tests can pretend.
    """
    checkout = versions.find_checkout() if checkout is None else checkout
    package_dir = _PACKAGE_DIR if package_dir is None else Path(package_dir)
    info = installed_course_lib() if install is True else install
    name = "course_lib"
    if checkout is None:
        return Result(name, WARN, f"imported from {package_dir}, and no course checkout "
                      f"(pyproject.toml, requirements.txt, course_lib/) around the current "
                      f"folder {Path.cwd()}", "cd into the course folder and run this again")
    pip = versions.pip_command(checkout)
    reinstall = f'cd "{checkout}" && {pip} install --no-deps -e .'
    if not _same(package_dir, checkout / "course_lib"):
        return Result(name, FAIL, f"imported from {package_dir}, not from this checkout "
                      f"({checkout / 'course_lib'}): a stale install shadows your copy, so "
                      f"your edits and updates are not used", reinstall)
    if info is None:
        return Result(name, FAIL, f"not installed in this Python ({sys.executable}): it is "
                      f"imported only because Python runs in {checkout}; the notebooks, which "
                      f"run in notebooks/, will not find it", reinstall)
    if info.source is None or not _same(info.source, checkout) or not info.editable:
        how = "editable" if info.editable else "copied (not editable)"
        return Result(name, FAIL, f"installed {how} from {info.source}, not editable from this "
                      f"checkout {checkout}: outside {checkout} Python imports that copy",
                      reinstall)
    want = sorted(versions.declared_ranges(checkout).groups.get("runtime", {}))
    from packaging.requirements import Requirement

    reqs = [Requirement(r) for r in info.requires]
    have = sorted(r.name for r in reqs if "extra" not in str(r.marker or ""))
    if want != have:
        return Result(name, WARN, f"imported from this checkout, but its installed metadata "
                      f"declares {have or 'no dependencies'} while pyproject.toml declares "
                      f"{want}: it predates the last change of pyproject.toml", reinstall)
    return Result(name, OK, f"imported from this checkout ({package_dir}), installed editable")


# ------------------------------------------------------------------------------------------
# Data files
# ------------------------------------------------------------------------------------------
def _data_folder() -> Path:
    return Path(os.environ.get(data.DATA_DIR_ENV) or data.DATA_DIR)


def check_data() -> Result:
    """Every file listed in ``data/MANIFEST.json`` matches its sha256 (with
    :func:`course_lib.data.verify`); ``$COURSE_DATA_DIR`` points at another copy."""
    folder = _data_folder()
    try:
        names = sorted(json.loads((folder / "MANIFEST.json").read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        return Result("data", FAIL, f"cannot read {folder / 'MANIFEST.json'} ({exc})",
                      "git checkout -- data/MANIFEST.json")
    bad = []
    for name in names:
        try:
            data.verify(name)
        except data.DataError as exc:
            bad.append((name, str(exc)))
    if bad:
        return Result("data", FAIL, f"{len(bad)} of {len(names)} files in {folder} do not match "
                      "MANIFEST.json: " + " | ".join(msg for _, msg in bad),
                      "git checkout -- " + " ".join(f"data/{n}" for n, _ in bad)
                      + " (or rebuild them: see data/README.md)")
    return Result("data", OK, f"{len(names)} files in {folder} match their sha256 in "
                  "MANIFEST.json")


# ------------------------------------------------------------------------------------------
# Widgets in JupyterLab
# ------------------------------------------------------------------------------------------
def labextension_dirs() -> list[Path]:
    """The folders where JupyterLab looks for prebuilt extensions, in its order (the first
    copy of an extension wins)."""
    try:
        from jupyter_core.paths import jupyter_path
    except ImportError:
        return [Path(sys.prefix) / "share" / "jupyter" / "labextensions"]
    return [Path(p) for p in jupyter_path("labextensions")]


def _extension_of_jupyterlab_widgets() -> Path | None:
    """The extension's package.json that the installed jupyterlab_widgets brought, or None."""
    import importlib.metadata

    try:
        files = importlib.metadata.distribution("jupyterlab_widgets").files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    suffix = "/".join((*_EXTENSION, "package.json"))
    for f in files:
        if str(f).replace("\\", "/").endswith("labextensions/" + suffix):
            return Path(f.locate()).resolve()
    return None


def _ipywidgets_wants() -> str | None:
    """The ``jupyterlab_widgets`` specifier that the installed ipywidgets requires."""
    import importlib.metadata

    from packaging.requirements import Requirement

    try:
        reqs = importlib.metadata.requires("ipywidgets") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for text in reqs:
        req = Requirement(text)
        if versions.canonical(req.name) == "jupyterlab-widgets" and req.marker is None:
            return str(req.specifier)
    return None


def check_widgets(checkout: Path | None = None, *, version_of=None, wants=None,
                  extension=True, search_dirs=None) -> Result:
    """JupyterLab can draw the course's widgets: ipywidgets and jupyterlab_widgets are
    installed, in the versions that fit each other, and the extension that jupyterlab_widgets
    installs is the one JupyterLab finds first.

    The keyword arguments replace what is read from this Python (for the tests):
    ``version_of`` (name -> version or None), ``wants`` (ipywidgets' specifier for
    jupyterlab_widgets), ``extension`` (the package.json jupyterlab_widgets installed, or None)
    and ``search_dirs`` (JupyterLab's extension folders).
    """
    from packaging.specifiers import SpecifierSet

    checkout = versions.find_checkout() if checkout is None else checkout
    pip = versions.pip_command(checkout)
    version_of = versions.installed_version if version_of is None else version_of
    name = "widgets"
    ipyw, labw = version_of("ipywidgets"), version_of("jupyterlab_widgets")
    if ipyw is None:
        return Result(name, FAIL, "ipywidgets is not installed: the sliders and buttons of the "
                      "chapters cannot run", f'{pip} install "ipywidgets"  (see its line '
                      "in the packages above for the tested version)")
    wants = _ipywidgets_wants() if wants is None else wants
    pin = f"jupyterlab_widgets{wants}" if wants else "jupyterlab_widgets"
    if labw is None:
        return Result(name, FAIL, f"ipywidgets {ipyw} is installed but jupyterlab_widgets, its "
                      "JupyterLab extension, is not: widgets show as text such as "
                      "'IntSlider(value=...)'", f'{pip} install "{pin}"')
    if wants and not SpecifierSet(wants).contains(labw, prereleases=True):
        return Result(name, FAIL, f"ipywidgets {ipyw} needs jupyterlab_widgets{wants}, but "
                      f"jupyterlab_widgets {labw} is installed: JupyterLab shows 'Error "
                      "displaying widget' or nothing", f'{pip} install "{pin}"')
    own = _extension_of_jupyterlab_widgets() if extension is True else extension
    if own is None or not Path(own).is_file():
        return Result(name, FAIL, f"jupyterlab_widgets {labw} is installed without its "
                      f"JupyterLab extension ({'/'.join(_EXTENSION)} is missing), so "
                      "JupyterLab cannot draw widgets",
                      f'{pip} install --force-reinstall --no-deps "jupyterlab_widgets=={labw}"')
    search = labextension_dirs() if search_dirs is None else [Path(d) for d in search_dirs]
    for folder in search:
        found = folder.joinpath(*_EXTENSION, "package.json")
        if found.is_file():
            if _same(found, own) or _npm_version(found) == _npm_version(Path(own)):
                break
            return Result(name, FAIL, f"JupyterLab finds the widget extension "
                          f"{_npm_version(found)} in {found.parent} before the one of "
                          f"jupyterlab_widgets {labw} ({_npm_version(Path(own))}, in "
                          f"{Path(own).parent}): widgets will not display",
                          f'rm -r "{found.parent}"  (a leftover of an older ipywidgets)')
    else:
        return Result(name, WARN, f"the widget extension of jupyterlab_widgets {labw} is in "
                      f"{Path(own).parent}, which is not among JupyterLab's extension folders "
                      f"of this Python; a JupyterLab started from another environment needs "
                      f"jupyterlab_widgets {labw} installed there",
                      f'<that environment\'s pip> install "jupyterlab_widgets=={labw}"')
    lab = version_of("jupyterlab")
    where = (f"JupyterLab {lab} of this environment" if lab else
             "no JupyterLab in this environment: a JupyterLab started elsewhere needs "
             f"jupyterlab_widgets {labw} too")
    return Result(name, OK, f"ipywidgets {ipyw} with jupyterlab_widgets {labw} and its "
                  f"extension ({where})")


def _npm_version(package_json: Path) -> str:
    try:
        return str(json.loads(package_json.read_text(encoding="utf-8")).get("version", "?"))
    except (OSError, ValueError):
        return "?"


# ------------------------------------------------------------------------------------------
# Device and working folder
# ------------------------------------------------------------------------------------------
def check_device() -> Result:
    """The device :func:`course_lib.env.setup` would pick, and why."""
    try:
        device, reason = env.choose_device()
    except (RuntimeError, ValueError) as exc:
        return Result("device", FAIL, str(exc),
                      f"unset {env.DEVICE_ENV}, or set it to an available device such as cpu")
    import torch

    cuda = getattr(torch.version, "cuda", None)
    build = f"PyTorch {torch.__version__}, " + (f"built for CUDA {cuda}" if cuda else
                                                 "built without CUDA")
    return Result("device", OK, f"setup() would use {device}: {reason} ({build})")


def check_writable(folder: Path | None = None) -> Result:
    """The working folder (default: the current one, where exercise progress and checkpoints
    are written) and the folder of the progress file accept a new file."""
    folders = [Path.cwd() if folder is None else Path(folder)]
    if folder is None:
        record = progress.progress_file().parent
        if not _same(record, folders[0]):
            folders.append(record)
    for where in folders:
        try:
            fd, tmp = tempfile.mkstemp(prefix=".course-doctor-", dir=where)
            os.close(fd)
            os.unlink(tmp)
        except OSError as exc:
            return Result("working folder", FAIL, f"cannot write in {where} ({exc}): exercise "
                          "progress (.course_progress.json) and checkpoints are saved there",
                          f'chmod u+w "{where}"  (or copy the course to a folder you own)')
    return Result("working folder", OK, "writable: " + ", ".join(str(f) for f in folders))


# ------------------------------------------------------------------------------------------
# All checks
# ------------------------------------------------------------------------------------------
def _safely(name: str, check: Callable[[], Result | list[Result]]) -> list[Result]:
    """Run one check; a check that crashes becomes a failed result instead of a traceback."""
    try:
        result = check()
    except Exception as exc:  # a broken file must not hide the other checks
        return [Result(name, FAIL, f"the check itself failed: {type(exc).__name__}: {exc}",
                       "restore the file it names (git checkout -- <file>), then run this again")]
    return result if isinstance(result, list) else [result]


def checks(quick: bool = False, checkout: Path | None = None) -> list[Result]:
    """Every check, in the order printed; ``quick`` leaves out the data checksums."""
    checkout = versions.find_checkout() if checkout is None else checkout
    plan: list[tuple[str, Callable[[], Result | list[Result]]]] = [
        ("Python", lambda: check_python(checkout)),
        ("packages", lambda: check_packages(checkout)),
        ("course_lib", lambda: check_install(checkout)),
        ("data", check_data),
        ("widgets", lambda: check_widgets(checkout)),
        ("device", check_device),
        ("working folder", check_writable),
    ]
    return [r for name, check in plan if not (quick and name == "data")
            for r in _safely(name, check)]


def exit_status(results: Sequence[Result]) -> int:
    """1 when a check failed, else 0 (warnings do not count)."""
    return 1 if any(r.status == FAIL for r in results) else 0


def report(results: Sequence[Result], checkout: Path | None = None) -> str:
    """The results as plain text: one line per check, its fix under it, a summary last."""
    mark = {OK: "ok  ", WARN: "warn", FAIL: "FAIL"}
    width = max(len(r.name) for r in results)
    lines = ["Course environment check (python -m course_lib.doctor)",
             f"  checkout: {checkout or 'not found'}",
             f"  python:   {sys.executable}"]
    for r in results:
        lines.append(f"{mark[r.status]}  {r.name:<{width}}  {r.message}")
        if r.fix and r.status != OK:
            lines.append(f"{'':4}  {'':<{width}}  fix: {r.fix}")
    n = {s: sum(r.status == s for r in results) for s in (OK, WARN, FAIL)}
    summary = f"{n[OK]} ok, {n[WARN]} warnings, {n[FAIL]} problems"
    if any(r.status != OK and "pip install" in r.fix for r in results):
        pip = versions.pip_command(checkout)
        summary += (f". To install every tested version at once, from the checkout: "
                    f"{pip} install -r requirements.txt")
    lines.append(summary + ".")
    return "\n".join(lines)


def run(quick: bool = False, *, file: TextIO | None = None) -> list[Result]:
    """Run the checks, print the report (to ``file``, default stdout) and return the results.

    In a notebook: ``results = doctor.run()``; ``doctor.exit_status(results)`` is 0 when
    nothing failed.
    """
    checkout = versions.find_checkout()
    results = checks(quick, checkout)
    print(report(results, checkout), file=sys.stdout if file is None else file)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``python -m course_lib.doctor [--quick]``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.doctor",
        description="Check that this environment is the one the course was tested with; "
                    "each problem comes with the command that fixes it. Exit status 1 when "
                    "something fails.")
    parser.add_argument("--quick", action="store_true",
                        help="skip the sha256 checksums of the data files")
    args = parser.parse_args(argv)
    return exit_status(run(quick=args.quick))


if __name__ == "__main__":
    sys.exit(main())
