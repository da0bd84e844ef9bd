"""setup(): seeding, device choice, threads, the summary line."""

import numpy as np
import pytest
import torch

from course_lib import seed_everything, setup, versions
from course_lib.env import choose_device, default_threads


def test_setup_is_reproducible():
    env = setup(seed=7, quiet=True)
    a = (env.rng.normal(size=3), np.random.rand(3), torch.rand(3))
    env = setup(seed=7, quiet=True)
    b = (env.rng.normal(size=3), np.random.rand(3), torch.rand(3))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert torch.equal(a[2], b[2])
    env = setup(seed=8, quiet=True)
    assert not torch.equal(torch.rand(3), b[2])


def test_summary_line(capsys):
    env = setup(seed=0)
    out = capsys.readouterr().out.strip()
    assert out == env.summary and "\n" not in out
    for word in ("Python", "NumPy", "PyTorch", "device", "seed 0", "thread"):
        assert word in out
    assert env.threads == torch.get_num_threads()


def test_device_override(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    dev, reason = choose_device()
    assert dev.type == "cpu" and "COURSE_DEVICE" in reason


def _fake_accelerators(monkeypatch, cuda: bool, mps: bool) -> None:
    """Pretend this machine has (or lacks) CUDA and Apple MPS, whatever it really has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: "Fake GPU 9000")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


def test_unavailable_device_is_a_clear_error(monkeypatch):
    _fake_accelerators(monkeypatch, cuda=False, mps=True)
    monkeypatch.setenv("COURSE_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="'cuda' was requested .* not available here; "
                                           "available: mps, cpu$"):
        setup(quiet=True)


def test_bad_device_name(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "gpu-please")
    with pytest.raises(ValueError, match="COURSE_DEVICE must name a torch device"):
        choose_device()


@pytest.mark.parametrize("cuda, mps, expected, reason", [
    (True, True, "cuda", "CUDA found: Fake GPU 9000"),        # CUDA first
    (True, False, "cuda", "CUDA found: Fake GPU 9000"),
    (False, True, "mps", "Apple MPS found"),                   # then MPS
    (False, False, "cpu", "no CUDA or Apple MPS found"),       # then the CPU
])
def test_automatic_device_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected,
                                                         reason):
    _fake_accelerators(monkeypatch, cuda, mps)
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    assert choose_device() == (torch.device(expected), reason)
    monkeypatch.setenv("COURSE_DEVICE", "")                    # empty: still automatic
    assert choose_device() == (torch.device(expected), reason)


@pytest.mark.parametrize("cuda, mps", [(True, True), (False, False)])
def test_override_beats_the_automatic_choice(monkeypatch, cuda, mps):
    _fake_accelerators(monkeypatch, cuda, mps)
    monkeypatch.setenv("COURSE_DEVICE", "cpu")                 # CPU even with a GPU present
    assert choose_device() == (torch.device("cpu"), "requested via COURSE_DEVICE")
    if cuda:
        monkeypatch.setenv("COURSE_DEVICE", "cuda:1")
        assert choose_device() == (torch.device("cuda", 1), "requested via COURSE_DEVICE")
        monkeypatch.setenv("COURSE_DEVICE", "mps")
        assert choose_device() == (torch.device("mps"), "requested via COURSE_DEVICE")
    # an explicit argument beats both the environment and the automatic choice
    assert choose_device("cpu") == (torch.device("cpu"), "requested")
    monkeypatch.delenv("COURSE_DEVICE")
    assert choose_device("cpu") == (torch.device("cpu"), "requested")
    if not mps:
        with pytest.raises(RuntimeError, match="'mps' was requested .* available: cpu$"):
            choose_device("mps")


def test_threads(monkeypatch):
    monkeypatch.setenv("COURSE_THREADS", "1")
    assert default_threads() == 1
    monkeypatch.setenv("COURSE_THREADS", "many")
    with pytest.raises(ValueError, match="COURSE_THREADS must be a positive integer"):
        default_threads()
    monkeypatch.delenv("COURSE_THREADS")
    assert 1 <= default_threads() <= 8


def test_setup_gives_torch_and_the_scratch_batch_split_the_same_threads():
    from course_lib.scratch.parallel import get_threads, use_threads
    before = torch.get_num_threads()
    try:
        with use_threads(None):
            for n in (1, 3):
                env = setup(seed=0, threads=n, quiet=True)
                assert env.threads == torch.get_num_threads() == get_threads() == n
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "0"])
def test_bad_seed(seed):
    with pytest.raises((TypeError, ValueError), match="seed"):
        seed_everything(seed)


def test_import_course_lib_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, course_lib, course_lib.scratch; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_setup_adds_one_yellow_line_per_package_out_of_range(monkeypatch, capsys):
    real = versions.installed_version
    monkeypatch.setattr(versions, "installed_version",
                        lambda name: "1.26.4" if name == "numpy" else real(name))
    locked = versions.read_lock(versions.find_checkout() / "requirements.txt")["numpy"][1]
    env = setup(seed=0)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == env.summary and len(lines) == 2, lines
    assert lines[1].startswith("\033[33mcourse_lib: numpy 1.26.4 is outside the supported range")
    assert lines[1].endswith(f'install "numpy=={locked}"\033[0m'), lines[1]
    setup(seed=0, quiet=True)
    assert capsys.readouterr().out == ""


def test_setup_survives_a_broken_package_check(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise OSError("requirements.txt unreadable")

    monkeypatch.setattr(versions, "check_packages", broken)
    env = setup(seed=0)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == env.summary
    assert "could not check the package versions (OSError: requirements.txt unreadable)" in \
        lines[1]
