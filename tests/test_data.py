"""Tests for course_lib.data: shapes, dtypes, ranges, splits, checksums and error messages."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from course_lib import data as D

REPO = Path(__file__).resolve().parent.parent
NOT_DATA = {"README.md", "MANIFEST.json", "build_data.py", "LICENSES", "__pycache__"}


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((D.DATA_DIR / "MANIFEST.json").read_text())


@pytest.fixture(scope="module")
def mnist() -> D.Dataset:
    return D.load_mnist5k()


@pytest.fixture(scope="module")
def fashion() -> D.Dataset:
    return D.load_fashion_mnist()


def _check_split(ds: D.Dataset, n_total: int, n_features_shape: tuple, x_dtype, y_dtype):
    parts = [(ds.X_train, ds.y_train), (ds.X_val, ds.y_val), (ds.X_test, ds.y_test)]
    assert sum(len(X) for X, _ in parts) == n_total
    for X, y in parts:
        assert X.shape[1:] == n_features_shape
        assert X.dtype == x_dtype and y.dtype == y_dtype
        assert len(X) == len(y)


def _class_counts(y: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(y, minlength=k)


# ------------------------------------------------------------------------------------------
# Manifest and checksums
# ------------------------------------------------------------------------------------------
def test_manifest_covers_every_data_file_and_vice_versa(manifest):
    on_disk = {p.name for p in D.DATA_DIR.iterdir() if p.name not in NOT_DATA}
    assert on_disk == set(manifest)
    for name, entry in manifest.items():
        path = D.DATA_DIR / name
        assert entry["bytes"] == path.stat().st_size, name
        assert len(entry["sha256"]) == 64 and entry["description"], name
        assert D.verify(name) == path


def test_total_committed_data_is_small(manifest):
    assert sum(e["bytes"] for e in manifest.values()) < 12_000_000
    assert manifest["tang_poems.jsonl.xz"]["bytes"] <= 1_000_000


def test_licence_notices_exist():
    lic = D.DATA_DIR / "LICENSES"
    names = {p.name for p in lic.iterdir()}
    assert {"MNIST-CC-BY-SA-3.0.txt", "fashion-mnist-MIT.txt", "chinese-poetry-MIT.txt",
            "china-jpg-CC-BY-2.0.txt"} <= names
    readme = (D.DATA_DIR / "README.md").read_text()
    for name in json.loads((D.DATA_DIR / "MANIFEST.json").read_text()):
        assert f"`{name}`" in readme, name


def test_verify_hashes_each_file_once(monkeypatch):
    calls = []
    real = D._sha256
    monkeypatch.setattr(D, "_sha256", lambda p: calls.append(p) or real(p))
    D._VERIFIED.clear()
    D.verify("sunspots_monthly.csv")
    D.verify("sunspots_monthly.csv")
    D.load_sunspots()
    assert len(calls) == 1


@pytest.fixture
def data_copy(tmp_path, monkeypatch) -> Path:
    """A copy of data/ (small files + the manifest), with COURSE_DATA_DIR pointing at it."""
    dst = tmp_path / "data"
    dst.mkdir()
    for name in ("MANIFEST.json", "sunspots_monthly.csv", "mnist5k.npz",
                 "tang_poems.jsonl.xz"):
        shutil.copy2(D.DATA_DIR / name, dst / name)
    monkeypatch.setenv("COURSE_DATA_DIR", str(dst))
    return dst


@pytest.mark.parametrize("name, loader", [("sunspots_monthly.csv", D.load_sunspots),
                                          ("mnist5k.npz", D.load_mnist5k),
                                          ("tang_poems.jsonl.xz", D.load_tang_poems)])
def test_corrupted_file_raises_data_error(data_copy, name, loader):
    path = data_copy / name
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(D.DataError) as exc:
        loader()
    msg = str(exc.value)
    expected = json.loads((data_copy / "MANIFEST.json").read_text())[name]["sha256"]
    assert name in msg and expected in msg and "corrupt" in msg
    assert f"python data/build_data.py --only {name.split('.')[0]}" in msg


def test_missing_file_raises_data_error(data_copy):
    (data_copy / "mnist5k.npz").unlink()
    with pytest.raises(D.DataError, match=r"mnist5k\.npz is missing.*build_data\.py --only"):
        D.load_mnist5k()


def test_missing_manifest_and_unknown_file(data_copy):
    with pytest.raises(D.DataError, match="not listed"):
        D.verify("nope.csv")
    (data_copy / "MANIFEST.json").unlink()
    with pytest.raises(D.DataError, match="MANIFEST.json"):
        D.verify("mnist5k.npz")


def test_env_var_overrides_data_dir(data_copy):
    dates, values = D.load_sunspots()
    assert len(values) == 2820
    assert D._data_dir() == data_copy


# ------------------------------------------------------------------------------------------
# split_indices
# ------------------------------------------------------------------------------------------
def test_split_indices_disjoint_cover_deterministic():
    tr, va, te = D.split_indices(100, val_frac=0.2, test_frac=0.1, seed=3)
    assert (len(tr), len(va), len(te)) == (70, 20, 10)
    allidx = np.concatenate([tr, va, te])
    assert np.array_equal(np.sort(allidx), np.arange(100))
    assert all(a.dtype == np.int64 for a in (tr, va, te))
    again = D.split_indices(100, val_frac=0.2, test_frac=0.1, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((tr, va, te), again, strict=True))
    other = D.split_indices(100, val_frac=0.2, test_frac=0.1, seed=4)
    assert not np.array_equal(np.sort(te), np.sort(other[2]))


def test_split_indices_stratified_keeps_proportions():
    y = np.repeat(np.arange(4), [40, 40, 80, 40])
    tr, va, te = D.split_indices(len(y), val_frac=0.25, test_frac=0.25, seed=0, stratify=y)
    assert _class_counts(y[te], 4).tolist() == [10, 10, 20, 10]
    assert _class_counts(y[va], 4).tolist() == [10, 10, 20, 10]
    assert len(set(tr) | set(va) | set(te)) == len(y)


@pytest.mark.parametrize("kwargs, exc, pattern", [
    (dict(n=10, val_frac=1.5, test_frac=0.1), ValueError, r"val_frac must be in \[0, 1\), got 1.5"),
    (dict(n=10, val_frac=0.5, test_frac=0.5), ValueError, "val_frac \\+ test_frac must be < 1"),
    (dict(n=0, val_frac=0.1, test_frac=0.1), ValueError, r"n must be in \[1, inf\], got 0"),
    (dict(n=10.0, val_frac=0.1, test_frac=0.1), TypeError, "n must be an int, got float"),
    (dict(n=10, val_frac="0.1", test_frac=0.1), TypeError, "val_frac must be a float"),
    (dict(n=10, val_frac=0.1, test_frac=0.1, stratify=np.zeros(3)), ValueError,
     r"stratify must have shape \(10,\)"),
])
def test_split_indices_bad_arguments(kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        D.split_indices(**kwargs)


# ------------------------------------------------------------------------------------------
# Image datasets
# ------------------------------------------------------------------------------------------
def test_digits():
    ds = D.load_digits()
    _check_split(ds, 1797, (8, 8), np.float64, np.int64)
    assert ds.X_train.min() >= 0 and ds.X_train.max() <= 1 and ds.X_train.max() == 1
    assert ds.classes == [str(i) for i in range(10)]
    assert set(np.unique(ds.y_test)) == set(range(10))
    assert abs(len(ds.y_test) - 0.15 * 1797) <= 10


def test_mnist5k(mnist):
    ds = mnist
    _check_split(ds, 5000, (28, 28), np.float32, np.int64)
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (3500, 500, 1000)
    assert _class_counts(ds.y_test, 10).tolist() == [100] * 10
    assert _class_counts(ds.y_val, 10).tolist() == [50] * 10
    assert ds.X_train.min() == 0.0 and ds.X_train.max() == 1.0
    assert "CC BY-SA" in ds.description


def test_mnist5k_split_determinism(mnist):
    same = D.load_mnist5k(seed=0)
    assert np.array_equal(same.X_test, mnist.X_test) and np.array_equal(same.y_val, mnist.y_val)
    other = D.load_mnist5k(seed=1)
    assert not np.array_equal(other.X_test, mnist.X_test)
    # disjoint: no test image equals a training image (pixel-exact)
    train_keys = {x.tobytes() for x in mnist.X_train}
    assert sum(x.tobytes() in train_keys for x in mnist.X_test) == 0


def test_fashion_mnist_subset(fashion):
    ds = fashion
    _check_split(ds, 12000, (28, 28), np.float32, np.int64)
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (9000, 1000, 2000)
    assert _class_counts(ds.y_test, 10).tolist() == [200] * 10
    assert _class_counts(ds.y_val, 10).tolist() == [100] * 10
    assert ds.classes == D.FASHION_MNIST_CLASSES and len(ds.classes) == 10
    assert 0.0 <= ds.X_train.min() and ds.X_train.max() <= 1.0
    other = D.load_fashion_mnist(seed=1)
    assert np.array_equal(other.X_test, ds.X_test)  # the test part is fixed
    assert not np.array_equal(other.y_val, ds.y_val)
    assert np.array_equal(D.load_fashion_mnist(seed=0).y_val, ds.y_val)


def test_fashion_mnist_full_falls_back_with_warning(monkeypatch, tmp_path, fashion):
    monkeypatch.setattr(D, "FASHION_MNIST_DIR", tmp_path / "nowhere")
    with pytest.warns(UserWarning, match="dataset-fashion-mnist"):
        ds = D.load_fashion_mnist(full=True)
    assert np.array_equal(ds.y_train, fashion.y_train)


@pytest.mark.skipif(not (D.FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").exists(),
                    reason="dataset-fashion-mnist not installed")
def test_fashion_mnist_subset_matches_full_files():
    # The committed subset is the first 200 test images of each class of the full test file.
    y = D._read_idx_gz(D.FASHION_MNIST_DIR / "t10k-labels-idx1-ubyte.gz")
    X = D._read_idx_gz(D.FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz")
    keep = np.sort(np.concatenate([np.flatnonzero(y == c)[:200] for c in range(10)]))
    sub = D._load_npz("fashion_mnist_subset.npz")
    assert np.array_equal(sub["X_test"], X[keep]) and np.array_equal(sub["y_test"], y[keep])


@pytest.mark.parametrize("kwargs, exc, pattern", [
    (dict(val_frac=1.5), ValueError, r"load_fashion_mnist: val_frac must be in \[0, 1\), got 1.5"),
    (dict(full="yes"), TypeError, "load_fashion_mnist: full must be True or False"),
    (dict(seed=-1), ValueError, r"seed must be in \[0, inf\], got -1"),
])
def test_fashion_mnist_bad_arguments(kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        D.load_fashion_mnist(**kwargs)


@pytest.mark.parametrize("name, shape", [("grace_hopper", (600, 512)), ("china", (427, 640))])
def test_load_image(name, shape):
    img = D.load_image(name)
    assert img.shape == shape and img.dtype == np.float64
    assert 0.0 <= img.min() < 0.2 and 0.8 < img.max() <= 1.0
    assert img.std() > 0.1


def test_load_image_default_and_errors():
    assert D.load_image().shape == (600, 512)
    with pytest.raises(ValueError, match="unknown image 'lena'; known: grace_hopper, china"):
        D.load_image("lena")
    with pytest.raises(TypeError, match="name must be a str"):
        D.load_image(3)


# ------------------------------------------------------------------------------------------
# Tables
# ------------------------------------------------------------------------------------------
def test_diabetes():
    ds = D.load_diabetes()
    _check_split(ds, 442, (10,), np.float64, np.float64)
    assert ds.classes is None and ds.n_classes is None
    assert ds.feature_names == ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    assert np.abs(ds.X_train).max() < 1 and 25 <= ds.y_train.min() and ds.y_train.max() <= 346
    assert "regression" in repr(ds)


@pytest.mark.parametrize("loader, n, d, classes", [
    (D.load_breast_cancer, 569, 30, ["malignant", "benign"]),
    (D.load_iris, 150, 4, ["setosa", "versicolor", "virginica"]),
])
def test_classification_tables(loader, n, d, classes):
    ds = loader()
    _check_split(ds, n, (d,), np.float64, np.int64)
    assert ds.classes == classes and len(ds.feature_names) == d
    assert set(np.unique(ds.y_train)) == set(range(len(classes)))
    same, other = loader(seed=0), loader(seed=1)
    assert np.array_equal(same.X_test, ds.X_test)
    assert not np.array_equal(other.X_test, ds.X_test)
    with pytest.raises(ValueError, match="test_frac must be in"):
        loader(test_frac=-0.1)


def test_iris_split_is_stratified():
    ds = D.load_iris(val_frac=0.2, test_frac=0.2)
    assert _class_counts(ds.y_test, 3).tolist() == [10, 10, 10]
    assert _class_counts(ds.y_val, 3).tolist() == [10, 10, 10]


def test_dataset_repr_one_line_per_split(mnist):
    lines = repr(mnist).splitlines()
    assert len(lines) == 4
    assert "train" in lines[1] and "float32[3500, 28, 28]" in lines[1] and "int64[3500]" in lines[1]


# ------------------------------------------------------------------------------------------
# Text
# ------------------------------------------------------------------------------------------
def test_pride_and_prejudice():
    text = D.load_pride_and_prejudice()
    assert isinstance(text, str) and 600_000 < len(text) < 800_000
    assert text.startswith("PRIDE AND PREJUDICE")
    assert "It is a truth universally acknowledged" in text
    assert text.count("\n") == 13030 and "\r" not in text


def test_tang_poems():
    poems = D.load_tang_poems()
    assert len(poems) == 15102
    assert {len(p["lines"]) for p in poems} == {4, 8}
    for p in poems:
        assert set(p) == {"title", "author", "lines"}
        assert isinstance(p["title"], str) and isinstance(p["author"], str) and p["author"]
        assert all(len(line) == 5 for line in p["lines"])
    text = "".join("".join(p["lines"]) for p in poems)
    assert "，" not in text and "。" not in text
    # simplified, not traditional
    assert text.count("风") > 100 and text.count("風") == 0
    assert text.count("门") > 10 and text.count("門") == 0


# ------------------------------------------------------------------------------------------
# Time series
# ------------------------------------------------------------------------------------------
def _check_monthly(dates, values, n, first, last):
    assert dates.dtype == np.dtype("datetime64[M]") and values.dtype == np.float64
    assert dates.shape == values.shape == (n,)
    assert str(dates[0]) == first and str(dates[-1]) == last
    assert np.all(np.diff(dates).astype(int) == 1)  # consecutive months, no gaps
    assert np.all(np.isfinite(values))


def test_sunspots():
    dates, values = D.load_sunspots()
    _check_monthly(dates, values, 2820, "1749-01", "1983-12")
    assert values.min() >= 0 and 200 < values.max() < 300


# ------------------------------------------------------------------------------------------
# PyTorch helpers
# ------------------------------------------------------------------------------------------
def test_to_tensors(mnist):
    import torch

    t = D.to_tensors(mnist)
    assert set(t) == {"X_train", "y_train", "X_val", "y_val", "X_test", "y_test"}
    assert t["X_train"].dtype == torch.float32 and t["y_train"].dtype == torch.int64
    assert tuple(t["X_test"].shape) == (1000, 28, 28)
    reg = D.to_tensors(D.load_diabetes(), dtype=torch.float64)
    assert reg["X_train"].dtype == torch.float64 and reg["y_train"].dtype == torch.float64
    with pytest.raises(TypeError, match="floating torch.dtype"):
        D.to_tensors(mnist, dtype=torch.int32)
    with pytest.raises(TypeError, match="ds must be a course_lib.data.Dataset"):
        D.to_tensors({"X_train": 1})


def test_make_loaders_shapes_and_reproducibility(mnist):
    tr, va, te = D.make_loaders(mnist, batch_size=32, add_channel=True)
    X, y = next(iter(tr))
    assert tuple(X.shape) == (32, 1, 28, 28) and tuple(y.shape) == (32,)
    assert sum(len(b[1]) for b in va) == 500 and sum(len(b[1]) for b in te) == 1000
    # val/test in order
    assert np.array_equal(next(iter(va))[1].numpy(), mnist.y_val[:32])
    # two fresh loaders with the same seed give the same batches, epoch after epoch
    tr1, _, _ = D.make_loaders(mnist, batch_size=32, add_channel=True)
    tr2, _, _ = D.make_loaders(mnist, batch_size=32, add_channel=True)
    for _epoch in range(2):
        e1, e2 = [b[1].numpy() for b in tr1], [b[1].numpy() for b in tr2]
        assert all(np.array_equal(a, b) for a, b in zip(e1, e2, strict=True))
    assert not np.array_equal(np.concatenate(e1), mnist.y_train)  # shuffled
    assert np.array_equal(np.sort(np.concatenate(e1)), np.sort(mnist.y_train))
    tr3, _, _ = D.make_loaders(mnist, batch_size=32, seed=1, add_channel=True)
    assert not np.array_equal(next(iter(tr3))[1].numpy(), next(iter(tr2))[1].numpy())
    flat, _, _ = D.make_loaders(mnist, batch_size=16, flatten=True)
    assert tuple(next(iter(flat))[0].shape) == (16, 784)
    plain, _, _ = D.make_loaders(D.load_iris(), batch_size=8)
    Xb, yb = next(iter(plain))
    assert tuple(Xb.shape) == (8, 4) and str(yb.dtype) == "torch.int64"


def test_make_loaders_bad_arguments(mnist):
    with pytest.raises(ValueError, match=r"batch_size must be in \[1, inf\], got 0"):
        D.make_loaders(mnist, batch_size=0)
    with pytest.raises(TypeError, match="batch_size must be an int, got float"):
        D.make_loaders(mnist, batch_size=32.0)
    with pytest.raises(ValueError, match="exclusive"):
        D.make_loaders(mnist, flatten=True, add_channel=True)
    with pytest.raises(ValueError, match=r"add_channel=True needs image data"):
        D.make_loaders(D.load_iris(), add_channel=True)


def test_importing_data_module_does_not_import_torch():
    code = ("import sys, course_lib.data as d; d.load_sunspots(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, check=True)
    assert out.stdout.strip() == "False"
