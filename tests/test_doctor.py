"""course_lib.doctor and the package check of setup(): the declared ranges against the lock,
each check with pretended versions and paths, the fix commands and the exit status."""

import json
import os
import platform
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from course_lib import doctor, env, versions

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = """\
[project]
name = "course_lib"
requires-python = ">=3.11"
dependencies = ["numpy>=2.4,<3", "torch>=2.13,<3"]

[project.optional-dependencies]
test = ["pytest>=9.2,<10"]
"""
LOCK = "# the lock\nnumpy==2.4.6\ntorch==2.13.0  # CPU or CUDA build\npytest==9.2.0\n-e .\n"


# ------------------------------------------------------------------------------------------
# The declared ranges against the lock (the real files)
# ------------------------------------------------------------------------------------------
def _declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in project.get("optional-dependencies", {}).values():
        reqs += [Requirement(r) for r in extra]
    return project, {canonicalize_name(r.name): r.specifier for r in reqs}


def test_every_pin_of_the_lock_lies_inside_its_declared_range():
    _, declared = _declared()
    pins = versions.read_lock(ROOT / "requirements.txt")
    assert len(pins) >= 15, f"only {sorted(pins)} read from requirements.txt"
    undeclared = sorted(written for key, (written, _) in pins.items() if key not in declared)
    assert not undeclared, (f"{undeclared} are pinned in requirements.txt but have no range in "
                            "pyproject.toml ([project] dependencies or an extra)")
    outside = [f"{written}=={version} (declared {declared[key]})"
               for key, (written, version) in pins.items()
               if not declared[key].contains(version, prereleases=True)]
    assert not outside, f"pins outside their declared range: {outside}"


def test_every_range_has_both_bounds_and_python_is_supported():
    project, declared = _declared()
    for name, spec in declared.items():
        ops = {s.operator for s in spec}
        assert ">=" in ops and "<" in ops, f"{name}{spec}: declare a lower and an upper bound"
    assert SpecifierSet(project["requires-python"]).contains(platform.python_version()), (
        f"this Python {platform.python_version()} is outside requires-python "
        f"{project['requires-python']}")


def test_read_lock_skips_comments_options_and_keeps_the_spelling(tmp_path):
    (tmp_path / "r.txt").write_text(LOCK + "--index-url https://example.org\nscikit-learn==1.9.1\n")
    pins = versions.read_lock(tmp_path / "r.txt")
    assert pins == {"numpy": ("numpy", "2.4.6"), "torch": ("torch", "2.13.0"),
                    "pytest": ("pytest", "9.2.0"), "scikit-learn": ("scikit-learn", "1.9.1")}


# ------------------------------------------------------------------------------------------
# Packages and Python, with a small pretend checkout
# ------------------------------------------------------------------------------------------
@pytest.fixture
def checkout(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "requirements.txt").write_text(LOCK)
    (tmp_path / "course_lib").mkdir()
    (tmp_path / "course_lib" / "__init__.py").write_text("")
    return tmp_path


def _versions(**kw):
    base = {"numpy": "2.4.6", "torch": "2.13.0+cpu", "pytest": "9.2.0"}
    base.update(kw)
    return lambda name: base[name]


def _by_name(results):
    return {r.name: r for r in results}


def test_packages_as_in_the_lock_are_ok(checkout):
    got = _by_name(doctor.check_packages(checkout, version_of=_versions()))
    assert set(got) == {"numpy", "torch", "pytest"}
    assert all(r.status == "ok" and r.fix == "" for r in got.values()), got
    assert "as in the lock" in got["torch"].message       # 2.13.0+cpu is the lock's 2.13.0


@pytest.mark.parametrize("version, status, words", [
    ("2.5.0", "warn", "newer than the lock's 2.4.6, inside the supported range >=2.4,<3"),
    ("2.4.5", "warn", "older than the lock's 2.4.6"),
    ("1.26.4", "fail", "1.26.4 is outside the supported range >=2.4,<3 "
                       "(the course is tested with 2.4.6)"),
    ("3.0.0", "fail", "outside the supported range"),
    ("3.0.0rc1", "fail", "outside the supported range"),
    (None, "fail", "is not installed: the course is tested with 2.4.6, supported >=2.4,<3"),
])
def test_a_package_in_range_out_of_range_or_missing(checkout, version, status, words):
    r = _by_name(doctor.check_packages(checkout, version_of=_versions(numpy=version)))["numpy"]
    assert r.status == status and words in r.message, r
    assert r.fix.endswith(' install "numpy==2.4.6"'), r.fix     # back to the lock's version


def test_a_missing_test_tool_is_only_a_warning(checkout):
    r = _by_name(doctor.check_packages(checkout, version_of=_versions(pytest=None)))["pytest"]
    assert r.status == "warn" and "needed only to run the tests" in r.message
    assert r.fix.endswith(' install "pytest==9.2.0"')


def test_fix_uses_the_checkouts_venv_pip_else_this_python(checkout, monkeypatch):
    monkeypatch.setattr(sys, "prefix", str(checkout / ".venv"))
    assert versions.pip_command(checkout) == (r".venv\Scripts\pip" if os.name == "nt"
                                         else ".venv/bin/pip")
    r = _by_name(doctor.check_packages(checkout, version_of=_versions(numpy="1.26.4")))["numpy"]
    assert r.fix == '.venv/bin/pip install "numpy==2.4.6"' or os.name == "nt"
    monkeypatch.setattr(sys, "prefix", str(checkout / "elsewhere"))
    assert versions.pip_command(checkout).endswith(" -m pip") and sys.executable in \
        versions.pip_command(checkout)


@pytest.mark.parametrize("version, status, words", [
    ("3.11.7", "ok", "tested with 3.11"),
    ("3.13.1", "warn", "newer than the tested 3.11, inside the supported range >=3.11"),
    ("3.10.14", "fail", "outside the supported range >=3.11"),
])
def test_python_version(checkout, version, status, words):
    check = versions.check_python(versions.declared_ranges(checkout), version)
    r = doctor._from_package_check(check)
    assert r.status == status and words in r.message, r
    assert (r.fix == "") == (status == "ok")
    if status != "ok":
        assert "python3.11 -m venv .venv" in r.fix


def test_find_checkout_walks_up_from_the_current_folder(checkout, tmp_path_factory):
    (checkout / "notebooks").mkdir()
    assert versions.find_checkout(checkout / "notebooks") == checkout.resolve()
    outside = tmp_path_factory.mktemp("elsewhere")       # else: the one course_lib came from
    assert versions.find_checkout(outside) == Path(env.__file__).resolve().parent.parent


def test_without_a_checkout_the_ranges_come_from_the_installed_metadata(monkeypatch):
    class FakeDist:
        version = "0.1.0"
        requires = ["numpy<3,>=2.4", 'pytest<10,>=9.2; extra == "test"']
        metadata = {"Requires-Python": ">=3.11"}

    monkeypatch.setattr(versions.importlib.metadata, "distribution", lambda name: FakeDist())
    declared = versions.declared_ranges(None)
    assert declared.requires_python == ">=3.11"
    assert declared.groups == {"runtime": {"numpy": ">=2.4,<3"}, "test": {"pytest": ">=9.2,<10"}}
    assert declared.source == "the installed course_lib 0.1.0"


def test_setup_warnings_name_each_problem_with_its_fix(checkout, monkeypatch):
    monkeypatch.setattr(versions, "installed_version",
                        _versions(numpy="1.26.4", torch=None, pytest=None))
    lines = versions.version_warnings(checkout)
    assert len(lines) == 2, lines        # numpy and torch; a missing test tool is not a problem
    assert lines[0].startswith("course_lib: numpy 1.26.4 is outside the supported range")
    assert lines[0].endswith('install "numpy==2.4.6"')
    assert "torch is not installed" in lines[1]
    monkeypatch.setattr(versions, "installed_version", _versions(numpy="2.5.0"))
    assert versions.version_warnings(checkout) == []         # newer, but inside the range: silent


def test_setup_warnings_never_raise(checkout):
    (checkout / "pyproject.toml").write_text("[project\nbroken")
    (line,) = versions.version_warnings(checkout)
    assert "could not check the package versions (TOMLDecodeError" in line
    assert "python -m course_lib.doctor" in line


# ------------------------------------------------------------------------------------------
# Where course_lib is imported from
# ------------------------------------------------------------------------------------------
def _install(checkout, editable=True, requires=("numpy<3,>=2.4", "torch<3,>=2.13",
                                                 'pytest<10,>=9.2; extra == "test"')):
    return doctor.InstallInfo(checkout, editable, tuple(requires))


def test_course_lib_from_this_checkout_is_ok(checkout):
    r = doctor.check_install(checkout, package_dir=checkout / "course_lib",
                             install=_install(checkout))
    assert r.status == "ok" and "installed editable" in r.message, r


def test_a_stale_install_elsewhere_fails(checkout, tmp_path_factory):
    stale = tmp_path_factory.mktemp("site-packages") / "course_lib"
    r = doctor.check_install(checkout, package_dir=stale, install=_install(stale.parent))
    assert r.status == "fail" and f"imported from {stale}, not from this checkout" in r.message
    assert r.fix.endswith("install --no-deps -e .") and str(checkout) in r.fix


@pytest.mark.parametrize("install, words", [
    (None, "not installed in this Python"),
    ("copy", "installed copied (not editable)"),
    ("other", "not editable from this checkout"),
])
def test_course_lib_not_installed_from_this_checkout_fails(checkout, install, words):
    info = {None: None, "copy": _install(checkout, editable=False),
            "other": _install(checkout.parent / "old-course")}[install]
    r = doctor.check_install(checkout, package_dir=checkout / "course_lib", install=info)
    assert r.status == "fail" and words in r.message, r
    assert "install --no-deps -e ." in r.fix


def test_metadata_older_than_pyproject_is_a_warning(checkout):
    r = doctor.check_install(checkout, package_dir=checkout / "course_lib",
                             install=_install(checkout, requires=("numpy<3,>=2.4",)))
    assert r.status == "warn" and "predates the last change of pyproject.toml" in r.message


# ------------------------------------------------------------------------------------------
# Data checksums (a copy of one small file and its manifest entry)
# ------------------------------------------------------------------------------------------
@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    name = "sunspots_monthly.csv"
    manifest = json.loads((ROOT / "data" / "MANIFEST.json").read_text("utf-8"))
    (tmp_path / "MANIFEST.json").write_text(json.dumps({name: manifest[name]}))
    shutil.copy(ROOT / "data" / name, tmp_path / name)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    return tmp_path / name


def test_data_that_matches_is_ok(data_copy):
    r = doctor.check_data()
    assert r.status == "ok" and "1 files" in r.message and str(data_copy.parent) in r.message


def test_a_corrupt_data_file_fails_with_the_restore_command(data_copy):
    data_copy.write_bytes(data_copy.read_bytes()[:-1] + b"9")
    r = doctor.check_data()
    assert r.status == "fail" and "sunspots_monthly.csv is corrupt" in r.message, r
    assert r.fix.startswith("git checkout -- data/sunspots_monthly.csv")
    data_copy.unlink()
    assert "is missing" in doctor.check_data().message


def test_a_missing_manifest_fails(data_copy):
    (data_copy.parent / "MANIFEST.json").unlink()
    r = doctor.check_data()
    assert r.status == "fail" and r.fix == "git checkout -- data/MANIFEST.json"


# ------------------------------------------------------------------------------------------
# Widgets
# ------------------------------------------------------------------------------------------
def _extension(folder, version):
    path = folder.joinpath("@jupyter-widgets", "jupyterlab-manager", "package.json")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"name": "@jupyter-widgets/jupyterlab-manager",
                                "version": version}))
    return path


def _widgets(checkout, tmp_path, *, labw="3.0.17", extension="own", search=None):
    own = _extension(tmp_path / "venv-share", "5.0.16")
    versions = {"ipywidgets": "8.1.9", "jupyterlab_widgets": labw, "jupyterlab": "4.6.6"}
    ext = {"own": own, "none": None, "gone": tmp_path / "nowhere" / "package.json"}[extension]
    return doctor.check_widgets(checkout, version_of=versions.get, wants="~=3.0.17",
                                extension=ext,
                                search_dirs=[tmp_path / "venv-share"] if search is None
                                else search)


def test_widgets_ok(checkout, tmp_path):
    r = _widgets(checkout, tmp_path)
    assert r.status == "ok" and "jupyterlab_widgets 3.0.17" in r.message, r


@pytest.mark.parametrize("labw, extension, words, fix", [
    (None, "own", "jupyterlab_widgets, its JupyterLab extension, is not",
     'install "jupyterlab_widgets~=3.0.17"'),
    ("3.0.10", "own", "needs jupyterlab_widgets~=3.0.17, but jupyterlab_widgets 3.0.10",
     'install "jupyterlab_widgets~=3.0.17"'),
    ("3.0.17", "none", "without its JupyterLab extension",
     'install --force-reinstall --no-deps "jupyterlab_widgets==3.0.17"'),
    ("3.0.17", "gone", "without its JupyterLab extension", "--force-reinstall"),
])
def test_widget_extension_missing_or_mismatched(checkout, tmp_path, labw, extension, words,
                                                fix):
    r = _widgets(checkout, tmp_path, labw=labw, extension=extension)
    assert r.status == "fail" and words in r.message, r
    assert fix in r.fix


def test_an_older_widget_extension_found_first_fails(checkout, tmp_path):
    old = _extension(tmp_path / "user-share", "3.1.0")
    r = _widgets(checkout, tmp_path, search=[tmp_path / "user-share", tmp_path / "venv-share"])
    assert r.status == "fail" and "finds the widget extension 3.1.0" in r.message
    assert r.fix.startswith(f'rm -r "{old.parent}"')


def test_widget_extension_outside_jupyterlabs_folders_is_a_warning(checkout, tmp_path):
    r = _widgets(checkout, tmp_path, search=[tmp_path / "empty"])
    assert r.status == "warn" and "JupyterLab started from another environment" in r.message


def test_no_ipywidgets_fails(checkout):
    r = doctor.check_widgets(checkout, version_of=lambda name: None, wants="~=3.0.17")
    assert r.status == "fail" and "ipywidgets is not installed" in r.message


# ------------------------------------------------------------------------------------------
# Device and working folder
# ------------------------------------------------------------------------------------------
def test_device_says_what_setup_would_pick(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    r = doctor.check_device()
    assert r.status == "ok" and r.message.startswith("setup() would use cpu: requested via "
                                                     "COURSE_DEVICE")


def test_a_bad_device_request_fails_with_the_fix(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "gpu-please")
    r = doctor.check_device()
    assert r.status == "fail" and "COURSE_DEVICE must name a torch device" in r.message
    assert r.fix.startswith("unset COURSE_DEVICE")


def test_working_folder(tmp_path, monkeypatch):
    assert doctor.check_writable(tmp_path).status == "ok"
    assert list(tmp_path.iterdir()) == []                  # the probe file is removed

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(doctor.tempfile, "mkstemp", refuse)
    r = doctor.check_writable(tmp_path)
    assert r.status == "fail" and f"cannot write in {tmp_path}" in r.message
    assert r.fix.startswith(f'chmod u+w "{tmp_path}"')


# ------------------------------------------------------------------------------------------
# The report and the exit status
# ------------------------------------------------------------------------------------------
RESULTS = [doctor.Result("numpy", "ok", "2.4.6, as in the lock"),
           doctor.Result("torch", "warn", "2.14.0 is newer",
                         '.venv/bin/pip install "torch==2.13.0"')]


@pytest.mark.parametrize("extra, code", [
    ([], 0),                                                            # a warning: still 0
    ([doctor.Result("scipy", "fail", "1.9.0 is outside",
                    '.venv/bin/pip install "scipy==1.17.1"')], 1),
])
def test_main_prints_the_fixes_and_returns_the_exit_status(monkeypatch, capsys, extra, code):
    seen = []

    def fake_checks(quick=False, checkout=None):
        seen.append(quick)
        return RESULTS + extra

    monkeypatch.setattr(doctor, "checks", fake_checks)
    assert doctor.main(["--quick"]) == code and seen == [True]
    out = capsys.readouterr().out
    assert 'fix: .venv/bin/pip install "torch==2.13.0"' in out
    assert "install -r requirements.txt" in out.splitlines()[-1]
    assert ("FAIL  scipy" in out) == bool(code)
    assert out.splitlines()[-1].startswith(f"1 ok, 1 warnings, {code} problems")
    assert doctor.main([]) == code and seen == [True, False]


def test_a_crashing_check_is_reported_and_the_others_still_run(checkout, monkeypatch):
    (checkout / "pyproject.toml").write_text("[project\nbroken")
    monkeypatch.setattr(doctor, "check_data", lambda: doctor.Result("data", "ok", "fine"))
    results = _by_name(doctor.checks(checkout=checkout))
    assert results["Python"].status == "fail" and "TOMLDecodeError" in results["Python"].message
    assert results["packages"].status == "fail"
    assert results["data"].status == "ok" and "device" in results
    assert doctor.exit_status(list(results.values())) == 1


def test_the_tested_python_is_the_one_the_readme_asks_for():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert f"python{versions.TESTED_PYTHON} -m venv" in readme, (
        f"TESTED_PYTHON is {versions.TESTED_PYTHON} but the README installs another Python")


def test_the_doctor_on_this_environment_exits_0():
    proc = subprocess.run([sys.executable, "-m", "course_lib.doctor", "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " 0 problems." in proc.stdout and "data " not in proc.stdout   # --quick: no sums
    for name in ("Python", "torch", "numpy", "course_lib", "widgets", "device",
                 "working folder"):
        assert f"  {name} " in proc.stdout, name
