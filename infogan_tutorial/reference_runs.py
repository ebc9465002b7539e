"""Stored results of full training runs, so that a chapter shows what a full run does in every profile.

A chapter built in the smoke or cpu profile trains for seconds or minutes, while some of its claims
need thousands of steps. ``data/reference/<name>/`` keeps what one run of
``python -m infogan_tutorial train`` produced (``scripts/record_reference.py`` writes it from the
run's folder; the ``README.md`` beside the files gives the commands):

* ``summary.json``: the training command, the machine, the steps and the recipe; for each named
  test set, c1's accuracy with its confusion matrix and matching (a
  :class:`~infogan_tutorial.evaluation.ClusterAccuracy`); and, where the run scored itself during
  training (``--eval-every``), those scores (``scores_during_training``);
* ``history.json``: the run's training history (the keys of ``TrainState.history``);
* ``traversals.npz``: the paper's Figure 2 drawn by the run's final G, for each code its images as
  uint8, the values of its columns and whether it is categorical.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .checkpoints import read_checkpoint, networks_from_checkpoint
from .data import Dataset
from .errors import CheckpointError, SpecError
from .evaluation import ClusterAccuracy, categorical_accuracy, estimate_info_bound
from .figures import Traversal, traverse

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "data" / "reference"
TRAVERSAL_SEED = 1
"""The seed of the traversals' rows, the one chapter 7 uses for the pretrained model."""


@dataclass
class ReferenceRun:
    """One stored run: what :func:`load_reference` reads back.

    Attributes:
        name: the folder's name under ``data/reference``.
        summary: ``summary.json`` (``command``, ``machine``, ``step``, ``config``, ``info_cat``, ``accuracy``).
        history: the training history.
        traversals: code name -> :class:`~infogan_tutorial.figures.Traversal` of the final G.
    """

    name: str
    summary: dict
    history: dict[str, list[float]]
    traversals: dict[str, Traversal]

    @property
    def test_sets(self) -> list[str]:
        """The names of the test sets c1 was scored on, e.g. ``"official MNIST test split"``."""
        return list(self.summary["accuracy"])

    def accuracy(self, test_set: str) -> ClusterAccuracy:
        """c1's accuracy on ``test_set`` (one of :attr:`test_sets`) with its confusion matrix."""
        if test_set not in self.summary["accuracy"]:
            raise CheckpointError(f"the stored run {self.name!r} was not scored on {test_set!r}; "
                                  f"it was scored on {', '.join(repr(t) for t in self.test_sets)}.")
        return ClusterAccuracy.from_dict(self.summary["accuracy"][test_set])


def _to_uint8(images: torch.Tensor) -> np.ndarray:
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()


def _from_uint8(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array.astype(np.float32)) / 127.5 - 1


def record_reference(run: str | Path, out: str | Path, test_sets: dict[str, Dataset], command: str,
                     machine: str, codes: tuple[str, ...] | None = None) -> ReferenceRun:
    """Write ``out/{summary.json, history.json, traversals.npz}`` from the run folder ``run``.

    ``run`` holds ``checkpoint.pt`` of ``python -m infogan_tutorial train`` (the history is read from it, the
    scores of ``--eval-every`` from ``eval.jsonl`` where there is one);
    c1 is scored on each of ``test_sets`` (name -> labelled images), the traversals are drawn for
    ``codes`` (default: every code of the run's spec) with rows from :data:`TRAVERSAL_SEED`.
    """
    run, out = Path(run), Path(out)
    if not isinstance(test_sets, dict) or not all(isinstance(ds, Dataset) for ds in test_sets.values()):
        raise SpecError(f"record_reference: test_sets must be a dict of name -> Dataset (e.g. {{'sample': "
                        f"load_dataset('sample', split='test')}}), got {type(test_sets).__name__}.")
    ckpt = read_checkpoint(run / "checkpoint.pt")
    spec, G, D = networks_from_checkpoint(ckpt, "cpu", path=run / "checkpoint.pt")
    codes = codes or tuple(f"c{i + 1}" for i in range(spec.n_categorical + spec.n_continuous))
    traversals = {code: traverse(G, spec, code, generator=torch.Generator().manual_seed(TRAVERSAL_SEED))
                  for code in codes}
    bound = estimate_info_bound(G, D, spec, n=2000, generator=torch.Generator().manual_seed(0))
    summary = {"command": command, "machine": machine, "step": int(ckpt["step"]),
               "config": dict(ckpt.get("config", {})), "info_cat": float(bound.categorical),
               "info_cont": float(bound.continuous),
               "accuracy": {name: categorical_accuracy(D, ds.images, ds.labels).to_dict()
                            for name, ds in test_sets.items()}}
    if (run / "eval.jsonl").is_file():  # the scores of --eval-every, on the run's --eval-dir
        summary["scores_during_training"] = _scores(run / "eval.jsonl")
    history = {k: list(v) for k, v in ckpt.get("history", {}).items()}
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out / "history.json").write_text(json.dumps(history) + "\n")
    arrays = {}
    for code, t in traversals.items():
        arrays[f"{code}_images"] = _to_uint8(t.images)
        arrays[f"{code}_values"] = np.array(t.values, dtype=np.float32)
        arrays[f"{code}_categorical"] = np.array(t.categorical)
    np.savez_compressed(out / "traversals.npz", **arrays)
    return load_reference(out.name, out.parent)


def _scores(path: Path) -> list[dict]:
    """The scores of ``eval.jsonl``, less any line a kill cut short or an edit broke (as ``train --resume`` drops)."""
    scores = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
            scores.append({k: entry[k] for k in ("step", "accuracy", "n", "eval_data")})
        except (ValueError, KeyError, TypeError):
            continue
    return scores


def load_reference(name: str, folder: str | Path = REFERENCE_DIR) -> ReferenceRun:
    """Read the stored run ``folder/name`` (see the module's docstring for its files)."""
    path = Path(folder) / name
    if not (path / "summary.json").is_file():
        known = sorted(p.name for p in Path(folder).glob("*") if (p / "summary.json").is_file())
        raise CheckpointError(f"no stored run {name!r} in {folder}; stored runs: {', '.join(known) or 'none'}. "
                              "They ship with the repository (data/reference), not with a pip-installed package.")
    try:
        summary = json.loads((path / "summary.json").read_text())
        history = json.loads((path / "history.json").read_text())
        traversals = {}
        with np.load(path / "traversals.npz") as npz:
            for key in npz.files:
                if key.endswith("_images"):
                    code = key[: -len("_images")]
                    traversals[code] = Traversal(code, npz[f"{code}_values"].tolist(), _from_uint8(npz[key]),
                                                 bool(npz[f"{code}_categorical"]))
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as e:  # JSONDecodeError is a ValueError
        raise CheckpointError(f"the stored run {path} is damaged or incomplete ({type(e).__name__}: {e}); restore it "
                              "(git checkout -- data/reference, or record it again with scripts/record_reference.py)."
                              ) from None
    if not isinstance(summary, dict) or not isinstance(history, dict) or len(
            {len(v) for v in history.values() if isinstance(v, list)}) > 1:
        raise CheckpointError(f"the stored run {path} is damaged: summary.json must hold an object and history.json "
                              "lists of one length; restore it (git checkout -- data/reference).")
    return ReferenceRun(name, summary, history, traversals)
