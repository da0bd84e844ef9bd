"""Device bugs caught on a machine without a GPU.

On a CPU-only machine every tensor lives on the CPU, so code that creates a tensor on the
CPU and feeds it to a model on CUDA (or Apple MPS) passes every test and fails for the first
learner with a GPU. Two static checks guard against that class of bug:

1. **Tensor creation in the library.** Inside every function of ``course_lib/torch_ref``
   and ``course_lib/training.py``, a call that creates a tensor from nothing (or from a
   NumPy array or a list) must say where the tensor goes: a ``device=`` keyword, or a
   ``.to(...)`` / ``.cuda()`` in the same expression, or an argument of ``to_device(...)``.
   Creators that copy another tensor's device (``torch.zeros_like``, ``x.new_zeros``, ...)
   need nothing. The deliberate CPU cases are listed in ``ALLOWED`` below, each with the
   reason; an entry that no longer matches anything fails the test, so the list stays exact.
2. **Notebooks.** Every notebook that defines or builds a ``torch.nn`` model and trains it
   refers to ``env.device`` (directly, or through ``small_model_device(env.device)``, the
   documented CPU default of ``course_lib.training`` for tiny models, which still honours
   ``COURSE_DEVICE``).

A runtime check adds to them: ``sample_masked``, ``sample`` and ``next_char_probs`` are run
with a model that claims to live on the "meta" device (which computes nothing, so it exists
on every machine) and refuses any input that is not there.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "course_lib"
MODULES = sorted((LIB / "torch_ref").glob("*.py")) + [LIB / "training.py"]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

#: ``torch.<name>(...)`` calls that create a tensor (or a generator) on the default device,
#: the CPU, unless told otherwise. ``from_numpy`` takes no ``device=``: it must be moved with
#: ``.to(...)`` or be allow-listed.
CREATORS = frozenset({
    "tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "full", "empty", "arange",
    "linspace", "logspace", "eye", "rand", "randn", "randint", "randperm", "normal",
    "Generator"})

#: (module, function, a substring of the call's source): deliberate CPU tensors.
ALLOWED = [
    # Data sets and encoders return CPU tensors, like every data set of the course; the
    # training loops move each batch to the model's device (the device rule of training.py).
    ("seq_models", "adding_problem", "torch.from_numpy(x)"),
    ("seq_models", "adding_problem", "torch.from_numpy(y)"),
    ("seq_models", "encode_dates", "torch.from_numpy(out)"),
    ("detector", "grid_targets", "torch.from_numpy(obj)"),
    ("detector", "grid_targets", "torch.from_numpy(cls)"),
    ("detector", "grid_targets", "torch.from_numpy(deltas)"),
    # Token ids arrive as NumPy arrays: the text stays on the CPU and is moved to the model's
    # device once (fit_char_model) or window by window (token_log_probs, lm_log_probs, fit_lm).
    ("char_rnn", "fit_char_model", "torch.as_tensor(ids)"),
    ("char_rnn", "token_log_probs", "torch.as_tensor(ids)"),
    ("lm_training", "fit_lm", "torch.as_tensor(as_token_ids(train_ids"),
    ("lm_training", "fit_lm", "torch.arange(context + 1)"),          # window offsets, CPU text
    ("lm_training", "lm_log_probs", "torch.as_tensor(as_token_ids(ids"),
    ("lm_training", "lm_log_probs", "torch.zeros(n_windows * context + 1"),
    # The prompt's ids: both callers move them (`.to(model_device(model))`).
    ("char_rnn", "_prompt_ids", "torch.as_tensor(vocab.encode(prompt))"),
    # Images given as NumPy arrays (or a tensor, kept where it is); each batch is moved.
    ("detector", "detect", "torch.as_tensor(np.asarray(images"),
    ("detector", "fit_detector", "torch.from_numpy(images)"),
    # Seeded generators on the CPU, so that a run draws the same batches, actions and
    # characters on every device; what they draw is used on the CPU or indexes CPU data
    # (or, with a CPU index, data on the device: PyTorch moves the index).
    ("alphazero", "train_alphazero", "torch.Generator()"),
    ("alphazero", "round_", "torch.randint(0, len(X)"),
    ("autoencoders", "fit_autoencoder", "torch.Generator()"),
    ("autoencoders", "batch", "torch.randint(0, len(X)"),
    ("detector", "step", "torch.randint(0, len(x_all)"),
    ("lm_training", "step", "torch.randint(0, len(ids) - context"),
    ("rl", "reinforce", "torch.Generator()"),
    ("rl", "evaluate_policy", "torch.Generator()"),
    ("seq_models", "sample_masked", "torch.Generator()"),
    # Banned characters index the CPU copy of the logits that sample_masked samples from.
    ("seq_models", "sample_masked", "torch.as_tensor(np.asarray(vocab.encode(banned)"),
    # Denoising noise drawn from the CPU generator, moved to x's device on the next line.
    ("autoencoders", "corrupt", "torch.randn(x.shape"),
    ("autoencoders", "corrupt", "torch.rand(x.shape"),
    # Checkpoints: NumPy's generator state is stored as a CPU tensor (plain data), and an
    # empty CPU tensor stands in for the device of a model without parameters.
    ("deploy", "_rng_state", "torch.from_numpy(np_state[1]"),
    ("deploy", "load_checkpoint", "torch.empty(0)"),
]


def _is_torch_creator(call: ast.Call) -> bool:
    f = call.func
    return (isinstance(f, ast.Attribute) and f.attr in CREATORS
            and isinstance(f.value, ast.Name) and f.value.id == "torch")


def _placed(call: ast.Call, parents: dict[ast.AST, ast.AST]) -> bool:
    """``device=`` given, or moved in the same expression (``.to(...)``, ``.cuda()``,
    ``to_device(...)``)."""
    if any(k.arg == "device" for k in call.keywords):
        return True
    node = call
    while node in parents:
        parent = parents[node]
        if isinstance(parent, ast.Attribute) and parent.value is node:
            if parent.attr in ("to", "cuda") and isinstance(parents.get(parent), ast.Call) \
                    and parents[parent].func is parent:
                return True
        elif isinstance(parent, ast.Subscript) and parent.value is node:
            pass
        elif isinstance(parent, ast.Call) and parent.func is node:
            pass
        elif isinstance(parent, ast.Call) and node in parent.args:
            f = parent.func
            name = f.id if isinstance(f, ast.Name) else getattr(f, "attr", "")
            return name == "to_device"
        else:
            return False
        node = parent
    return False


def unplaced_creations(path: Path) -> list[tuple[str, str, int, str]]:
    """(module, innermost function, line, call source) of every tensor creation inside a
    function of ``path`` that does not say where the tensor goes."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _is_torch_creator(node)):
            continue
        func, up = None, node
        while up in parents:
            up = parents[up]
            if isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef)):
                func = up.name
                break
        if func is None or _placed(node, parents):          # module level: constants
            continue
        found.append((path.stem, func, node.lineno, ast.get_source_segment(text, node)))
    return sorted(found, key=lambda hit: hit[2])


def _all_unplaced() -> list[tuple[str, str, int, str]]:
    return [hit for path in MODULES for hit in unplaced_creations(path)]


def _allowed(hit, entry) -> bool:
    module, func, _, src = hit
    return (module, func) == entry[:2] and entry[2] in src


def test_every_tensor_creation_says_where_it_goes():
    bad = [hit for hit in _all_unplaced() if not any(_allowed(hit, e) for e in ALLOWED)]
    assert not bad, (
        "tensors created on the CPU inside library functions (give device=..., e.g. "
        "device=model_device(model) or device=x.device, or move them with .to(device); "
        "if the CPU is deliberate, add an entry with its reason to ALLOWED):\n"
        + "\n".join(f"  course_lib {m}.py:{line} in {f}(): {src}" for m, f, line, src in bad))


def test_the_allow_list_has_no_stale_entries():
    hits = _all_unplaced()
    stale = [e for e in ALLOWED if not any(_allowed(hit, e) for hit in hits)]
    assert not stale, f"ALLOWED entries that match nothing any more (remove them): {stale}"


def test_the_rule_flags_the_bug_it_is_for(tmp_path):
    # sample_masked's old code: ids built on the CPU and fed to a model on any device
    path = tmp_path / "old.py"
    path.write_text(
        "import torch\n"
        "X = torch.zeros(3)\n"                                   # module level: ignored
        "def f(model, ids, nxt, device):\n"
        "    a = model(torch.as_tensor(ids)[None])\n"            # flagged
        "    b = model(torch.tensor([[nxt]]))\n"                 # flagged
        "    c = model(torch.tensor([[nxt]], device=device))\n"
        "    d = model(torch.as_tensor(ids)[None].to(device))\n"
        "    e = to_device(torch.from_numpy(ids), device)\n"
        "    g = torch.Generator().manual_seed(0)\n"             # flagged
        "    h = torch.zeros_like(ids)\n"
        "    return a, b, c, d, e, g, h\n", encoding="utf-8")
    hits = unplaced_creations(path)
    assert [(line, src) for _, _, line, src in hits] == [
        (4, "torch.as_tensor(ids)"), (5, "torch.tensor([[nxt]])"), (9, "torch.Generator()")]


# ---------------------------------------------------------------------------------------------
# Runtime: a model that refuses inputs on the wrong device
# ---------------------------------------------------------------------------------------------

class _DeviceStrict:
    """A character model that appears to live on the "meta" device and refuses any input that
    is not there: the test of what a CUDA model would do, on a machine without CUDA.

    The real (CPU) model computes the state; the logits come back on the meta device, which
    holds no numbers, so the caller fails with NotImplementedError as soon as it reads them:
    by then every input it built has been checked.
    """

    def __init__(self, model):
        import torch

        self.model, self.device, self.inputs = model, torch.device("meta"), []

    def parameters(self):
        import torch

        return iter([torch.empty(0, device=self.device)])

    def buffers(self):
        return iter(())

    def __call__(self, ids, state=None):
        import torch

        assert ids.device == self.device, f"input on {ids.device}, model on {self.device}"
        self.inputs.append(tuple(ids.shape))
        logits, state = self.model(torch.zeros(ids.shape, dtype=ids.dtype), state)
        return logits.to(self.device), state


@pytest.fixture
def strict_char_model():
    from course_lib.scratch.text import CharVocab
    from course_lib.torch_ref.char_rnn import CharRNN

    vocab = CharVocab.from_text("abc ")
    return _DeviceStrict(CharRNN(len(vocab), hidden_size=8, seed=0)), vocab


def test_sample_masked_feeds_the_model_on_its_device(strict_char_model):
    from course_lib.torch_ref.seq_models import sample_masked

    model, vocab = strict_char_model
    with pytest.raises(NotImplementedError):       # reading the meta logits: the end of the road
        sample_masked(model, vocab, "ab", 3, banned="c", forced={0: "a"}, seed=0)
    assert model.inputs == [(1, 2), (1, 1)]        # the prompt, then the forced character


def test_char_rnn_sample_feeds_the_model_on_its_device(strict_char_model):
    from course_lib.torch_ref.char_rnn import next_char_probs, sample

    model, vocab = strict_char_model
    for call in (lambda: sample(model, vocab, "ab", 3, seed=0),
                 lambda: next_char_probs(model, vocab, "ab")):
        with pytest.raises(NotImplementedError):
            call()
    assert model.inputs == [(1, 2), (1, 2)]


# ---------------------------------------------------------------------------------------------
# Notebooks
# ---------------------------------------------------------------------------------------------

MODEL = re.compile(r"\bnn\.Module\b|\bnn\.(Sequential|Linear|Conv2d|RNN|LSTM|GRU)\(|"
                   r"\b(CharRNN|LeNet5|MLP|MiniResNet|MiniVGG|LastStateRegressor|Seq2Seq|VAE|"
                   r"GPT|GridDetector|PolicyMLP|PolicyValueNet|MLPAutoencoder)\(")
TRAINS = re.compile(r"\.backward\(|\bfit(_\w+)?\(")
DEVICE = re.compile(r"\benv\.device\b|\bsmall_model_device\(")


def _code(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_that_train_a_torch_model_use_the_device(path):
    code = _code(path)
    if not (MODEL.search(code) and TRAINS.search(code)):
        return
    assert DEVICE.search(code), (
        f"{path.name} builds and trains a PyTorch model but never refers to env.device: put "
        f"the models and batches on env.device (or, for tiny models where the CPU is faster, "
        f"on course_lib.training.small_model_device(env.device), with one sentence saying "
        f"why)")
