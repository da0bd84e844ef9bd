"""The course's packages: the lock (``requirements.txt``) against the ranges (``pyproject.toml``).

``requirements.txt`` pins the exact versions the course is tested with; ``pyproject.toml``
declares the ranges ``course_lib`` supports. :func:`check_packages` compares what is installed
with both; :func:`version_warnings` is the quick form that ``setup()`` prints in every notebook
(silent when all is well), and ``python -m course_lib.doctor`` the full report.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shlex
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: The Python minor version the course is tested with (the README asks for it).
TESTED_PYTHON = "3.11"
#: What each extra of pyproject.toml is for (a missing extra is a warning, not a problem).
EXTRA_PURPOSE = {"lab": "to open the notebooks in JupyterLab",
                 "test": "to run the tests",
                 "classroom": "for the teacher's nbgrader assignments"}
_PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class PackageCheck:
    """One package (or Python itself) compared with the lock and the supported range.

    ``status`` is one of ``"same"`` (the locked version), ``"newer"`` or ``"older"`` (another
    version inside the supported range), ``"in range"`` (inside the range, not in the lock),
    ``"out of range"`` and ``"missing"``. ``group`` is ``"python"``, ``"runtime"`` (what
    ``course_lib`` and the notebooks import) or the name of an extra (``"test"``, ...).
    ``fix`` is the command that installs the tested version, ``""`` when it is installed.
    """

    name: str
    group: str
    installed: str | None
    locked: str | None
    supported: str
    status: str
    fix: str = ""

    @property
    def problem(self) -> bool:
        """True when the course may break: out of range, or a runtime package missing."""
        return self.status == "out of range" or (self.status == "missing" and
                                                 self.group in ("runtime", "python"))


@dataclass(frozen=True)
class Declared:
    """The supported ranges: ``requires_python`` and, per group, ``{name: specifier}``."""

    requires_python: str
    groups: dict[str, dict[str, str]]
    source: str


def _is_checkout(folder: Path) -> bool:
    return ((folder / "pyproject.toml").is_file() and (folder / "requirements.txt").is_file()
            and (folder / "course_lib" / "__init__.py").is_file())


def find_checkout(start: Path | None = None) -> Path | None:
    """The course checkout (the folder holding ``pyproject.toml``, ``requirements.txt`` and
    ``course_lib/``) that contains ``start`` (default: the current folder), else the one this
    ``course_lib`` was imported from, else None."""
    start = Path.cwd() if start is None else Path(start)
    for folder in (start.resolve(), *start.resolve().parents):
        if _is_checkout(folder):
            return folder
    return _PACKAGE_DIR.parent if _is_checkout(_PACKAGE_DIR.parent) else None


def canonical(name: str) -> str:
    """A distribution name in its normal form: ``Jupyterlab_Widgets`` → ``jupyterlab-widgets``."""
    from packaging.utils import canonicalize_name

    return canonicalize_name(name)


def read_lock(path: Path) -> dict[str, tuple[str, str]]:
    """The exact pins of a requirements file: ``{canonical name: (name as written, version)}``.

    Comments, options (``-e .``, ``--index-url ...``) and lines without ``==`` are skipped.
    """
    from packaging.requirements import Requirement

    pins = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        exact = [s.version for s in req.specifier if s.operator == "=="]
        if exact:
            pins[canonical(req.name)] = (req.name, exact[0])
    return pins


def declared_ranges(checkout: Path | None) -> Declared:
    """The supported ranges from ``<checkout>/pyproject.toml``; without a checkout, from the
    metadata of the installed ``course_lib``.

    The checkout's file comes first: it always agrees with the checkout's lock, while the
    installed metadata is only as new as the last ``pip install -e .``.
    """
    from packaging.requirements import Requirement

    groups: dict[str, dict[str, str]] = {"runtime": {}}
    if checkout is not None and (checkout / "pyproject.toml").is_file():
        project = tomllib.loads((checkout / "pyproject.toml").read_text("utf-8"))["project"]
        lists = {"runtime": project.get("dependencies", []),
                 **project.get("optional-dependencies", {})}
        for group, reqs in lists.items():
            for text in reqs:
                req = Requirement(text)
                groups.setdefault(group, {})[req.name] = _spec_text(req.specifier)
        return Declared(project.get("requires-python", ""), groups,
                        str(checkout / "pyproject.toml"))
    dist = importlib.metadata.distribution("course_lib")
    for text in dist.requires or []:
        req = Requirement(text)
        group = "runtime"
        if req.marker is not None and "extra" in str(req.marker):
            group = str(req.marker).split("==")[-1].strip().strip("\"'")
        groups.setdefault(group, {})[req.name] = _spec_text(req.specifier)
    return Declared(dist.metadata["Requires-Python"] or "", groups,
                    f"the installed course_lib {dist.version}")


def _spec_text(specifier: object) -> str:
    """``>=2.13,<3`` rather than packaging's alphabetical ``<3,>=2.13``."""
    parts = [str(s) for s in specifier]  # type: ignore[attr-defined]
    return ",".join(sorted(parts, key=lambda s: (not s.startswith(">"), s)))


def installed_version(name: str) -> str | None:
    """The installed version of distribution ``name``, or None when it is not installed."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def pip_command(checkout: Path | None) -> str:
    """How to call this Python's pip: ``.venv/bin/pip`` when it is the checkout's ``.venv``
    (the README's layout; run from the checkout), else ``<this python> -m pip``."""
    venv = checkout / ".venv" if checkout is not None else None
    if venv is not None and Path(sys.prefix).resolve() == venv.resolve():
        return r".venv\Scripts\pip" if os.name == "nt" else ".venv/bin/pip"
    exe = sys.executable
    return f'"{exe}" -m pip' if os.name == "nt" else f"{shlex.quote(exe)} -m pip"


def _compare(installed: str, locked: str | None, supported: str) -> str:
    from packaging.specifiers import SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        have = Version(installed)
    except InvalidVersion:
        return "out of range"
    if not SpecifierSet(supported).contains(have, prereleases=True):
        return "out of range"
    if locked is None:
        return "in range"
    public, pin = Version(have.public), Version(locked)   # 2.13.0+cpu is the lock's 2.13.0
    return "same" if public == pin else "newer" if public > pin else "older"


def check_python(declared: Declared, version: str | None = None) -> PackageCheck:
    """Python against ``requires-python`` (out of range) and :data:`TESTED_PYTHON`."""
    version = version or platform.python_version()
    status = _compare(version, None, declared.requires_python)
    if status == "in range":
        from packaging.version import Version

        minor = Version(".".join(version.split(".")[:2]))
        tested = Version(TESTED_PYTHON)
        status = "same" if minor == tested else "newer" if minor > tested else "older"
    fix = "" if status == "same" else (
        f"python{TESTED_PYTHON} -m venv .venv && .venv/bin/pip install -r requirements.txt "
        f"(a fresh environment with Python {TESTED_PYTHON}, from the checkout)")
    return PackageCheck("Python", "python", version, TESTED_PYTHON, declared.requires_python,
                        status, fix)


def check_packages(checkout: Path | None = None, *,
                   version_of: Callable[[str], str | None] | None = None,
                   groups: tuple[str, ...] | None = None) -> list[PackageCheck]:
    """Every declared package (and Python first) against the lock and its supported range.

    Args:
        checkout: the course checkout; default :func:`find_checkout`.
        version_of: ``name -> installed version or None``; default :func:`installed_version`.
        groups: only these groups (``"runtime"``, the extras); default all.
    """
    checkout = find_checkout() if checkout is None else checkout
    version_of = installed_version if version_of is None else version_of
    declared = declared_ranges(checkout)
    lock_path = checkout / "requirements.txt" if checkout is not None else None
    lock = read_lock(lock_path) if lock_path is not None and lock_path.is_file() else {}
    pip = pip_command(checkout)
    results = [check_python(declared)]
    for group, packages in declared.groups.items():
        if groups is not None and group not in groups:
            continue
        for name, supported in packages.items():
            written, locked = lock.get(canonical(name), (name, None))
            installed = version_of(name)
            status = "missing" if installed is None else _compare(installed, locked, supported)
            target = f"{written}=={locked}" if locked else f"{written}{supported}"
            fix = "" if status in ("same", "in range") else f'{pip} install "{target}"'
            results.append(PackageCheck(written, group, installed, locked, supported, status,
                                        fix))
    return results


def describe(check: PackageCheck) -> str:
    """One line saying how ``check`` stands, e.g. ``numpy 1.26.4 is outside the supported
    range >=2.4,<3 (the course is tested with 2.4.6)``."""
    tested = f"the course is tested with {check.locked}" if check.locked else "not in the lock"
    have = f"{check.name} {check.installed}"
    if check.group == "python":
        if check.status == "out of range":
            return (f"{have} is outside the supported range {check.supported} "
                    f"(the course is tested with {check.locked})")
        if check.status == "same":
            return f"{have} (tested with {check.locked}; supported {check.supported})"
        return (f"{have} is {check.status} than the tested {check.locked}, inside the supported "
                f"range {check.supported}")
    if check.status == "missing":
        extra = EXTRA_PURPOSE.get(check.group)
        need = f" (needed only {extra})" if extra else ""
        return f"{check.name} is not installed{need}: {tested}, supported {check.supported}"
    if check.status == "out of range":
        return f"{have} is outside the supported range {check.supported} ({tested})"
    if check.status == "same":
        return f"{have}, as in the lock (supported {check.supported})"
    if check.status == "in range":
        return f"{have}, inside the supported range {check.supported} ({tested})"
    return (f"{have} is {check.status} than the lock's {check.locked}, inside the supported "
            f"range {check.supported} (works, but not the tested version)")


def version_warnings(checkout: Path | None = None) -> list[str]:
    """The lines :func:`setup` prints: one per runtime package (or Python) that is missing or
    out of range, with its fix; ``[]`` when all is well. Never raises: a failure of the check
    itself becomes one line pointing at the doctor."""
    try:
        checks = check_packages(checkout, groups=("runtime",))
        return [f"course_lib: {describe(c)}. Fix: {c.fix}" for c in checks if c.problem]
    except Exception as exc:  # the set-up cell must never fail because of this check
        return [f"course_lib: could not check the package versions ({type(exc).__name__}: "
                f"{exc}); run `python -m course_lib.doctor` for details"]
