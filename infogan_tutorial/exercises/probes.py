"""Probes that need an answer's live result (its autograd graph), shared by the checkers and by the graded
sandbox (``scripts/course_sandbox.py``), which runs them on the student's function and returns only what they
measured. They hold no answer: the references stay in ``foundations.py`` and ``experiments.py``."""

from __future__ import annotations

import copy
from typing import Any, Callable

import torch
from torch import Tensor

from ..latent_codes import Codes
from ..networks import Discriminator
from .compare import Parts
from .engine import SideEffect


def stored_grads(D: Discriminator, fake: Tensor) -> list[tuple[str, Tensor | None]]:
    """The gradients stored in D's parameters and in ``fake`` (copies), by name."""
    grads = [(f"D.{n}", p.grad) for n, p in D.named_parameters()] + [("fake", fake.grad)]
    return [(n, None if g is None else g.detach().clone()) for n, g in grads]


def grad_side_effect(before: list, after: list) -> str | None:
    """What the answer did to the stored gradients, or None: zeroed them, or added its own backward() to them."""
    for (name, old), (_, new) in zip(before, after):
        if old is not None and (new is None or (bool(old.abs().sum() > 0) and not bool(new.abs().sum() > 0))):
            return (f"it zeroes the gradients already stored ({name}.grad held one before the call and is empty "
                    "after it: zero_grad(), or .grad set to None or zero): the training step zeroes them "
                    "itself, and zeroing them here throws away what another loss already put there. Only compute "
                    "and return the loss.")
        if (old is None) != (new is None) or (old is not None and not torch.equal(old, new)):
            return (f"it calls backward() itself (the gradient stored in {name}.grad changed during the call): "
                    "return the loss and let the training step call backward(), or the gradient is added twice.")
    return None


def norm_statistics(D: Discriminator) -> list[tuple[Tensor, ...]]:
    """Each batch norm of D: its settings and copies of its running statistics."""
    return [(m.momentum, m.eps, m.track_running_stats, *(b.detach().clone() for b in m.buffers()))
            for m in D.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


def _after_one_pass(D: Discriminator, fake: Tensor) -> list[tuple[Tensor, ...]]:
    """D's batch-norm statistics after one pass of the batch through its body and Q's head (what the answer's
    single forward pass in the mode D came in does)."""
    twin = copy.deepcopy(D)
    with torch.no_grad():
        twin.q_from_features(twin.features(fake.detach()))
    return norm_statistics(twin)


def _same_norm(x: tuple, y: tuple) -> bool:
    return x[:3] == y[:3] and all(torch.allclose(s.double(), t.double(), rtol=1e-5, atol=1e-7)
                                  for s, t in zip(x[3:], y[3:]))


def statistics_side_effect(D: Discriminator, before: list, expected: list) -> str | None:
    """What the answer did to D's batch norms other than one forward pass, or None (a batch norm left unchanged
    counts as None too: :func:`gradient_flow` reports it as a part of its result, so that a part run in eval mode
    is named by the exercise's own mistakes)."""
    now = norm_statistics(D)
    if any(x[:3] != y[:3] for x, y in zip(now, before)):
        return ("it changes a setting of D's batch norms (momentum, eps or track_running_stats) for the rest of "
                "the notebook: use D as it comes.")
    if all(_same_norm(x, b) or _same_norm(x, e) for x, b, e in zip(now, before, expected)):
        return None  # each batch norm ran once, or not at all
    return ("it changes the running statistics of D's batch norms otherwise than one pass of the whole batch "
            "through D, in the mode D came in, does: a second forward pass, a pass of part of the batch (or of "
            "other images, or of the images changed on the way: edited in place, rounded to float16), a pass in "
            "another mode (D.eval() or D.train() switched on the way), "
            "reset_running_stats(), ... Compute D.features(fake) once on the whole batch, without changing D's "
            "mode, and leave D's batch norms as they are.")


def attribute_side_effect(D: Discriminator, before: list[tuple[str, dict]]) -> str | None:
    """Which part of D the answer gave a new or replaced plain attribute (``D.features = lambda x: ...``), or None."""
    now = dict(D.named_modules())
    for name, attributes in before:
        module = now.get(name)
        if module is None:
            continue
        changed = sorted(k for k, v in vars(module).items() if attributes.get(k, _GONE) is not v)
        if changed:
            part = "D" if not name else f"D.{name}"
            return (f"it sets {part}.{changed[0]} (it replaces or adds an attribute of D), which rewires D for the "
                    "rest of the notebook: every later use of D, training included, would run the answer's "
                    "version. Compute with D as it comes, e.g. D.features(fake).detach().")
    return None


_GONE = object()


def mode_side_effect(D: Discriminator, modes: list[tuple[str, bool]]) -> str | None:
    """Which part of D the answer left switched between train and eval mode, or None."""
    now = dict(D.named_modules())
    for name, training in modes:
        if name in now and now[name].training != training:
            part = "D" if not name else f"D.{name}"
            was, left = ("train", "eval") if training else ("eval", "train")
            return (f"it leaves {part} in {left} mode (it came in {was} mode): calling {left}() on D or a part of "
                    "it changes every later use of D in the notebook (batch norm switches between the batch's "
                    "statistics and its running ones). Use D and its parts in the mode they come in, without "
                    "train() or eval().")
    return None


def gradient_flow(fn: Callable[..., Any], args: tuple) -> Any:
    """Run fn(D, fake, codes, spec), backpropagate, and record the loss and which parts got a gradient.

    D's parameters and ``fake`` come with gradients already stored (as after another loss's backward());
    an answer that zeroes them or calls backward() itself is refused (:class:`SideEffect`)."""
    D, fake, codes, spec = args
    before, modes = stored_grads(D, fake), [(n, m.training) for n, m in D.named_modules()]
    attributes = [(n, dict(vars(m))) for n, m in D.named_modules()]
    statistics, expected = norm_statistics(D), _after_one_pass(D, fake)
    passes = [0, 0]  # forward passes through D's body and Q's head (an extra pass in eval mode changes no statistic)
    hooks = [D.body.register_forward_hook(lambda *_: passes.__setitem__(0, passes[0] + 1)),
             D.q_head.register_forward_hook(lambda *_: passes.__setitem__(1, passes[1] + 1))]
    try:
        out = fn(D, fake, codes, spec)
    finally:
        for hook in hooks:
            hook.remove()
    after = stored_grads(D, fake)
    effect = grad_side_effect(before, after) or mode_side_effect(D, modes) or attribute_side_effect(D, attributes) \
        or (passes[0] > 1 and (
            f"it runs D's body {passes[0]} times (D.features, D.q or D(...) called more than once, also in eval mode "
            "or under torch.no_grad()): the statement asks for one pass of fake through D.features. Compute "
            "h = D.features(fake) once and use it.")) or (passes[1] > 1 and (
            f"it runs Q's head {passes[1]} times (D.q_from_features or D.q called more than once): its batch norm "
            "then updates its running statistics each time. Compute Q's output once from h and use it.")) \
        or statistics_side_effect(D, statistics, expected)
    if effect:
        raise SideEffect(effect)
    if not isinstance(out, Tensor) or out.dim() != 0:
        return out
    connected: set[int] = set()  # tensors the loss's graph reaches, even with a gradient of 0 (h.detach() + 0 * h)
    if out.requires_grad:
        leaves = [t for t in (fake, *D.body.parameters(), *D.d_head.parameters()) if t.requires_grad]
        found = torch.autograd.grad(out, leaves, allow_unused=True, retain_graph=True)
        connected = {id(t) for t, g in zip(leaves, found) if g is not None}
        out.backward()

    stored = dict(before)

    def grew(name: str, t: Tensor) -> bool:
        old = stored[name]
        changed = t.grad is not None and bool((t.grad - (0 if old is None else old)).abs().sum() > 0)
        return id(t) in connected or changed

    def reached(module: Any, prefix: str) -> bool:
        return any(grew(f"D.{prefix}.{n}", p) for n, p in module.named_parameters())

    flags = (grew("fake", fake), reached(D.body, "body"), reached(D.q_head, "q_head"), reached(D.d_head, "d_head"))
    head = [(p.grad if p.grad is not None else torch.zeros_like(p)) - (0 if stored[f"D.q_head.{n}"] is None
                                                                      else stored[f"D.q_head.{n}"])
            for n, p in D.q_head.named_parameters()]  # what this loss added to Q's head's gradients
    one_pass = all(_same_norm(x, e) for x, e in zip(norm_statistics(D), expected))  # not left as they were
    return Parts((out.detach(), torch.tensor(flags, dtype=torch.float64), torch.cat([g.flatten() for g in head]),
                  torch.tensor([float(one_pass)], dtype=torch.float64)),
                 ("the loss", "where its gradient went", "the gradient it gives Q's head",
                  "whether D's batch-norm statistics changed as in one pass"))


def traversal_shares_no_memory(fn: Callable[..., Any], args: tuple) -> Any:
    """The grid ``fn`` returns, refused where a field shares memory with ``base`` (a view of it); run where the
    answer runs (a result sent back from the graded sandbox no longer shares anything)."""
    got = fn(*args)
    base = args[1]
    if isinstance(got, Codes):
        for part in ("z", "categorical", "continuous"):
            mine = getattr(got, part)
            theirs = [f"base.{p}" for p in ("z", "categorical", "continuous") if isinstance(mine, Tensor)
                      and mine.numel() and getattr(base, p).numel() and mine.untyped_storage().data_ptr()
                      == getattr(base, p).untyped_storage().data_ptr()]
            if theirs:
                raise SideEffect(
                    f"the returned Codes.{part} shares its memory with {theirs[0]} (it is {theirs[0]} itself or a "
                    "view of it, e.g. from expand(), a reshape of one, or indexing with a slice): writing into the "
                    "grid would then change base, and the statement asks for new tensors that share no memory with "
                    "base. Return copies (repeat_interleave, or .clone()).")
    return got
