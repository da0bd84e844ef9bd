"""setup(): seeding, device choice, threads, the summary line."""

import numpy as np
import pytest
import torch

from course_lib import seed_everything, setup
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


def test_unavailable_device_is_a_clear_error(monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    monkeypatch.setenv("COURSE_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="not available here; available: .*cpu"):
        setup(quiet=True)


def test_bad_device_name(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "gpu-please")
    with pytest.raises(ValueError, match="COURSE_DEVICE must name a torch device"):
        choose_device()


def test_automatic_device_without_gpu(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    dev, reason = choose_device()
    if not torch.cuda.is_available():
        assert dev.type in ("cpu", "mps") and reason


def test_threads(monkeypatch):
    monkeypatch.setenv("COURSE_THREADS", "1")
    assert default_threads() == 1
    monkeypatch.setenv("COURSE_THREADS", "many")
    with pytest.raises(ValueError, match="COURSE_THREADS must be a positive integer"):
        default_threads()
    monkeypatch.delenv("COURSE_THREADS")
    assert 1 <= default_threads() <= 8


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "0"])
def test_bad_seed(seed):
    with pytest.raises((TypeError, ValueError), match="seed"):
        seed_everything(seed)


def test_import_course_lib_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, course_lib, course_lib.scratch; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
