"""Test-set discipline: no notebook trains or validates on its test split.

A static check of every code cell (Python's ``ast``; cells that do not parse, e.g. magics, are
skipped). A call is flagged when

- a keyword argument whose name starts with ``val``, ``valid`` or ``train`` (``val_loader=``,
  ``validation_data=``, ``train_X=``, ...) gets a value that mentions a test name, or
- the training-data argument of ``fit`` / ``fit_steps`` (the second positional argument, or
  ``train_loader=`` / ``batches=``) mentions a test name.

A *test name* is an identifier (variable, attribute or string key) containing ``test``, or with
an underscore-separated part ``te`` or ``tst``: ``test_dl``, ``X_test``, ``ds.X_test``,
``loaders["test"]``, ``X_te``. The test split may still be passed to ``evaluate`` and friends,
once per model, at the end.
"""

import ast
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SPLIT_KEYWORD = re.compile(r"(val|valid|train)", re.IGNORECASE)
TRAINING_FUNCTIONS = {"fit", "fit_steps"}
TRAINING_KEYWORDS = {"train_loader", "batches"}


def is_test_name(name: str) -> bool:
    """True for identifiers such as test_dl, X_test, Xtest, X_te, y_tst."""
    lower = name.lower()
    return "test" in lower or any(part in ("te", "tst") for part in lower.split("_"))


def mentioned_test_names(node: ast.AST) -> list[str]:
    """The test names an expression mentions (names, attributes, identifier-like strings)."""
    found = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            name = sub.id
        elif isinstance(sub, ast.Attribute):
            name = sub.attr
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str) \
                and re.fullmatch(r"\w+", sub.value):
            name = sub.value
        else:
            continue
        if is_test_name(name):
            found.append(name)
    return found


def _function_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def split_violations(source: str) -> list[str]:
    """Messages for every call in ``source`` that feeds test data to training or validation."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    problems = []
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        fn = _function_name(call)
        for kw in call.keywords:
            if kw.arg is None:
                continue
            training_arg = fn in TRAINING_FUNCTIONS and kw.arg in TRAINING_KEYWORDS
            if SPLIT_KEYWORD.match(kw.arg) or training_arg:
                names = mentioned_test_names(kw.value)
                if names:
                    problems.append(f"line {kw.value.lineno}: {fn}(..., {kw.arg}=...) uses "
                                    f"the test split ({', '.join(sorted(set(names)))})")
        if fn in TRAINING_FUNCTIONS and len(call.args) >= 2:
            names = mentioned_test_names(call.args[1])
            if names:
                problems.append(f"line {call.args[1].lineno}: {fn} trains on the test split "
                                f"({', '.join(sorted(set(names)))})")
    return problems


def notebook_violations(path: Path) -> list[str]:
    """``'cell i, line j: ...'`` for every violation in the notebook's code cells."""
    nb = nbformat.read(path, as_version=4)
    return [f"cell {i}, {problem}"
            for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for problem in split_violations(cell.source)]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_test_split_in_training_or_validation(path):
    problems = notebook_violations(path)
    assert not problems, (f"{path.name} uses its test split for training or validation "
                          "(evaluate it once per model, at the end):\n" + "\n".join(problems))


@pytest.mark.parametrize("bad", [
    "fit(model, train_dl, epochs=3, optimizer=opt, loss_fn=loss, val_loader=test_dl)",
    "history = fit(net, loader(X_tr, y_tr), epochs=2, optimizer=o, loss_fn=l,\n"
    "              val_loader=loader(X_test, y_test, 500))",
    "model.fit(X_train, y_train, validation_data=(X_te, y_te))",
    "train_model(val=(X_test, y_test))",
    "search(train_X=X_tr, val_X=X_te)",
    "fit(model, test_loader, epochs=1, optimizer=opt, loss_fn=loss)",
    "fit_steps(net, lambda step: (ds.X_test[step:step + 8], ds.y_test[step:step + 8]), loss_fn,"
    " steps=10)",
    "fit(model, train_loader=loaders['test'], epochs=1, optimizer=opt, loss_fn=loss)",
])
def test_checker_flags_bad_calls(bad):
    assert split_violations(bad)


@pytest.mark.parametrize("good", [
    "fit(model, train_dl, epochs=3, optimizer=opt, loss_fn=loss, val_loader=val_dl)",
    "acc = evaluate(model, test_dl, loss_fn, metrics={'acc': accuracy})",
    "train_dl, val_dl, test_dl = make_loaders(ds, batch_size=32)",
    "fit_steps(net, lambda step: (X_train[step:step + 8], y_train[step:step + 8]), loss_fn,"
    " steps=10)",
    "X_train, X_test = split(X, test_frac=0.2)",
    "%matplotlib inline",
    "search(train_X=X_tr, val_X=X_val, interval=steps)",
])
def test_checker_passes_clean_calls(good):
    assert split_violations(good) == []


def _notebook(tmp_path, name, sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 99 · A test (测试)")]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in sources]
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def test_checker_flags_a_broken_notebook_and_passes_the_fixed_one(tmp_path):
    """The same notebook, once validating on the test loader (flagged), once fixed (clean)."""
    common = ["%matplotlib inline",
              "train_dl, val_dl, test_dl = make_loaders(ds, batch_size=32, seed=0)"]
    broken = _notebook(tmp_path, "99_broken.ipynb", common + [
        "history = fit(model, train_dl, epochs=5, optimizer=opt, loss_fn=loss_fn,\n"
        "              val_loader=test_dl, metrics={'acc': accuracy})"])
    fixed = _notebook(tmp_path, "99_fixed.ipynb", common + [
        "history = fit(model, train_dl, epochs=5, optimizer=opt, loss_fn=loss_fn,\n"
        "              val_loader=val_dl, metrics={'acc': accuracy})",
        "test_acc = evaluate(model, test_dl, loss_fn, metrics={'acc': accuracy})['acc']"])
    problems = notebook_violations(broken)
    assert len(problems) == 1 and problems[0].startswith("cell 3, line 2: fit(")
    assert "test_dl" in problems[0]
    with pytest.raises(AssertionError, match="uses its test split"):
        test_no_test_split_in_training_or_validation(broken)
    assert notebook_violations(fixed) == []
    test_no_test_split_in_training_or_validation(fixed)
