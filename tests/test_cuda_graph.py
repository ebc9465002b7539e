"""CUDA graphs: the generic recorder (``cuda_graph.GraphedFunction``), and training with
``TrainConfig.cuda_graph``: refused clearly where it cannot work, and on a GPU the same training as
the eager step, with no host synchronisation in the step."""

import dataclasses
import gc
import math
import weakref

import pytest
import torch

from infogan_tutorial.cli import main
from infogan_tutorial.cuda_graph import GraphedFunction, graph_problem
from infogan_tutorial.errors import SpecError
from infogan_tutorial.latent_codes import LatentSpec
from infogan_tutorial.training import (TrainConfig, create_state, fit, make_step, recording_key, resume_state,
                                       train_step)

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(scope="module")
def images(images):  # conftest's, shortened here
    return images[:1000]


def test_what_cannot_be_captured_is_named_with_its_fix():
    gpu = torch.device("cuda")
    assert graph_problem(gpu) is None and "need a CUDA device" in graph_problem(torch.device("cpu"))
    with pytest.raises(SpecError, match="compile or cuda_graph"):
        TrainConfig(cuda_graph=True, compile=True)
    with pytest.raises(SpecError, match="must be None .* True or False"):
        TrainConfig(cuda_graph=1)
    with pytest.raises(ValueError, match="warmup >= 1"):
        GraphedFunction(lambda x: x, warmup=0)


def test_a_recording_is_keyed_by_what_it_bakes_in(images):
    """Step counts may change between fit calls; the recipe, learning rates, networks and batch shape may not."""
    state = create_state(LatentSpec(), TrainConfig(batch_size=32), "cpu")
    key = recording_key(state)  # GraphedFunction adds the batch shape to it
    state.step, state.config = 7, dataclasses.replace(state.config, steps=99, log_every=3, checkpoint_every=5)
    assert recording_key(state) == key
    state.config = dataclasses.replace(state.config, lambda_cat=2.0)
    assert recording_key(state) != key
    state.config = dataclasses.replace(state.config, lambda_cat=1.0)
    state.opt_g.param_groups[0]["lr"] = 5e-4
    assert recording_key(state) != key
    state.opt_g.param_groups[0]["lr"] = state.config.lr_g
    assert recording_key(state) == key
    state.G = type(state.G)(state.spec)
    assert recording_key(state) != key


def test_a_graphed_function_warms_up_per_key_and_then_records():
    """The recorder's bookkeeping, on the CPU: ``warmup`` eager calls per (shape, key), then a recording,
    which the CPU refuses with the reason."""
    calls = []
    f = GraphedFunction(lambda x: calls.append(tuple(x.shape)) or x + 1, warmup=2)
    x = torch.zeros(3)
    assert torch.equal(f(x, key="a"), x + 1) and torch.equal(f(x, key="a"), x + 1)
    with pytest.raises(RuntimeError, match="need a CUDA device"):
        f(x, key="a")  # the third call records
    f(x, key="b")  # a new key warms up again
    f(torch.zeros(5), key="b")  # and so does a new shape
    assert calls == [(3,), (3,), (3,), (5,)] and f.shape == (5,)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU refusal")
def test_cuda_graph_on_the_cpu_is_refused_by_create_state_and_the_cli(tmp_path, capsys):
    with pytest.raises(SpecError, match="need a CUDA device"):
        create_state(LatentSpec(), TrainConfig(cuda_graph=True), "cpu")
    assert main(["train", "--profile", "smoke", "--out", str(tmp_path), "--device", "cpu", "--cuda-graph"]) == 2
    assert "need a CUDA device" in capsys.readouterr().err


READS = ("item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__")


def python_reads_in_train_step(state, real, monkeypatch) -> list[str]:
    """The Tensor-to-Python conversions (``READS``) that one ``train_step`` makes outside the optimizers."""
    allowed, reads = [False], []

    def guarded(name):
        original = getattr(torch.Tensor, name)

        def method(self, *args, **kwargs):
            if not allowed[0]:
                reads.append(name)
            return original(self, *args, **kwargs)
        return method

    def allowing(step):  # Adam's CPU path reads its step count; on a GPU it is capturable
        def run(*args, **kwargs):
            allowed[0] = True
            try:
                return step(*args, **kwargs)
            finally:
                allowed[0] = False
        return run

    with monkeypatch.context() as m:
        for name in READS:
            m.setattr(torch.Tensor, name, guarded(name))
        for opt in (state.opt_d, state.opt_g):
            m.setattr(opt, "step", allowing(opt.step))
        train_step(state, real)
    return reads


def test_train_step_reads_no_tensor_back_into_python(images, monkeypatch):
    """The step never turns a tensor into a Python value: on a GPU each such read waits for the GPU,
    and a CUDA graph could not record the step."""
    from infogan_tutorial import training

    state = create_state(LatentSpec(), TrainConfig(batch_size=32, lambda_real=1.0, lambda_invariant=1.0), "cpu")
    train_step(state, images[:32])  # Adam creates its moments; step 0 also checks the batch's values, once
    assert python_reads_in_train_step(state, images[:32], monkeypatch) != []  # that check reads
    state.step = 1
    assert python_reads_in_train_step(state, images[:32], monkeypatch) == []
    loss = training.discriminator_loss

    def logged(real_logit, fake_logit):  # a step that logs its loss, as common loops do, is caught
        value = loss(real_logit, fake_logit)
        print(f"loss_d {value.item():.3f}")
        return value

    monkeypatch.setattr(training, "discriminator_loss", logged)
    assert python_reads_in_train_step(state, images[:32], monkeypatch) == ["item"]


@pytest.mark.cuda
@cuda
def test_cuda_step_reads_nothing_back_to_the_host(images):
    """No host synchronisation in train_step (every optional term on): a graph could not record it otherwise."""
    config = TrainConfig(batch_size=64, lambda_real=1.0, lambda_invariant=1.0)
    state = create_state(LatentSpec(), config, "cuda")
    real = images[:64].cuda()
    train_step(state, real)  # Adam creates its moments
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        train_step(state, real)
    finally:
        torch.cuda.set_sync_debug_mode("default")


@pytest.fixture
def exact_kernels():
    """fp32 convolutions without TF32, and deterministic cuDNN kernels. With PyTorch's defaults two
    eager runs of the same 12 steps already drift apart (TF32 rounds to about 1e-3, and a GAN
    amplifies it), which would hide what the graph does; with these, they agree to float rounding."""
    b = torch.backends
    saved = b.cudnn.allow_tf32, b.cuda.matmul.allow_tf32, b.cudnn.deterministic
    b.cudnn.allow_tf32 = b.cuda.matmul.allow_tf32 = False
    b.cudnn.deterministic = True
    yield
    b.cudnn.allow_tf32, b.cuda.matmul.allow_tf32, b.cudnn.deterministic = saved


def native_bf16() -> bool:
    from infogan_tutorial.compute import native_bf16

    return torch.cuda.is_available() and native_bf16(torch.device("cuda"))


@pytest.mark.cuda
@cuda
@pytest.mark.parametrize("precision", ["fp32", pytest.param("bf16", marks=pytest.mark.skipif(
    not native_bf16(), reason="this GPU has no native bf16 (a T4): its graph runs in fp32"))])
def test_cuda_graph_trains_as_the_eager_step_does_and_resumes(images, tmp_path, precision, exact_kernels,
                                                             monkeypatch):
    """Replay k draws the codes of eager step k and computes the same step (fp32, and bf16 where native).

    Both states are built for a graph (capturable Adam); the eager one is then trained with the plain
    step function, so the only difference between the runs is recording and replaying."""
    config = TrainConfig(steps=12, batch_size=64, log_every=1, checkpoint_every=6, lambda_invariant=1.0,
                         precision=precision, cuda_graph=True)
    eager, graphed = create_state(LatentSpec(), config, "cuda"), create_state(LatentSpec(), config, "cuda")
    assert graphed.plan.cuda_graph and graphed.plan.arithmetic == precision
    recordings = []
    record = GraphedFunction._record
    monkeypatch.setattr(GraphedFunction, "_record", lambda self, x: (recordings.append(x.shape), record(self, x)))
    fit(eager, images, progress=False, step=lambda real: train_step(eager, real))
    assert recordings == []
    fit(graphed, images, tmp_path, progress=False)
    assert recordings == [(64, 1, 28, 28)]  # recorded once after the eager warm-up: the later steps were replays
    # Measured on an H100: fp32 bit-identical. bf16 up to 0.036 apart in 12 steps, because this eager step
    # keeps autocast's cache of cast weights and a recorded one cannot; without the cache, eager and replay
    # were bit-identical in bf16 too. The cache changes rounding only (as far from fp32 either way).
    tol = {"rel": 1e-4, "abs": 1e-5} if precision == "fp32" else {"rel": 0.05, "abs": 0.05}
    for name in ("loss_d", "loss_g", "info_cat", "info_cont"):
        assert graphed.history[name] == pytest.approx(eager.history[name], **tol), name
    assert torch.equal(graphed.code_rng.get_state(), eager.code_rng.get_state())  # replays drew as much
    resumed = resume_state(tmp_path / "checkpoint.pt", "cuda", steps=16)
    assert resumed.plan.cuda_graph and all(g["capturable"] for g in resumed.opt_d.param_groups)
    fit(resumed, images, progress=False)
    assert resumed.step == 16 and all(math.isfinite(v) for v in resumed.history["loss_d"])


@pytest.mark.cuda
@cuda
def test_a_graphed_function_records_again_for_a_new_shape_or_key_and_draws_fresh_numbers():
    """The generic recorder on a toy function: replays draw new random numbers (as eager calls would),
    a new input shape or key warms up and records again."""
    rng = torch.Generator("cuda").manual_seed(0)
    scale = torch.ones((), device="cuda")
    f = GraphedFunction(lambda x: x * scale + torch.rand(x.shape, generator=rng, device=x.device), [rng], warmup=1)
    x = torch.zeros(4, device="cuda")
    outs = [f(x, key="a").clone() for _ in range(3)]  # eager, record + replay, replay
    assert f.graph is not None and f.shape == (4,)
    assert not torch.equal(outs[1], outs[2])  # each replay draws anew
    eager = torch.Generator("cuda").manual_seed(0)
    assert torch.equal(outs[2], torch.stack([torch.rand(4, generator=eager, device="cuda") for _ in range(3)])[2])
    recording = f.graph
    f(x, key="b")  # a new key: one eager call, then a new recording
    assert f.graph is None
    f(x, key="b")
    assert f.graph is not None and f.graph is not recording
    f(torch.zeros(8, device="cuda"), key="b")
    assert f.shape == (8,)


@pytest.mark.cuda
@cuda
def test_cuda_graph_fit_records_again_after_a_recipe_change(images, monkeypatch):
    """One step function across fit calls keeps its recording while only step counts change, and records
    again when the recipe does (a replay would otherwise keep the old lambda)."""
    recordings = []
    record = GraphedFunction._record
    monkeypatch.setattr(GraphedFunction, "_record", lambda self, x: (recordings.append(x.shape), record(self, x)))
    state = create_state(LatentSpec(), TrainConfig(steps=6, batch_size=32, log_every=1, cuda_graph=True), "cuda")
    step = make_step(state)
    fit(state, images, progress=False, step=step)
    state.config = dataclasses.replace(state.config, steps=9)
    fit(state, images, progress=False, step=step)
    assert len(recordings) == 1
    state.config = dataclasses.replace(state.config, lambda_invariant=1.0, steps=15)
    fit(state, images, progress=False, step=step)
    assert len(recordings) == 2
    assert state.step == 15 and all(math.isfinite(v) for v in state.history["loss_d"])


@pytest.mark.cuda
@cuda
def test_a_trained_graph_state_is_freed_without_a_garbage_collection(images):
    """No reference cycle between a state and its recorded step: the graph is freed where the state is
    dropped, never later in a forked DataLoader worker (where freeing a CUDA graph fails)."""
    state = create_state(LatentSpec(), TrainConfig(steps=6, batch_size=64, cuda_graph=True), "cuda")
    fit(state, images, progress=False)
    gc.disable()
    try:
        alive = weakref.ref(state)
        del state
        assert alive() is None
    finally:
        gc.enable()


@pytest.mark.cuda
@cuda
def test_cuda_graph_refuses_fp16_and_plain_optimizers(images):
    with pytest.raises(SpecError, match="fp16"):
        create_state(LatentSpec(), TrainConfig(cuda_graph=True, precision="fp16"), "cuda")
    state = create_state(LatentSpec(), TrainConfig(steps=2, cuda_graph=False), "cuda")
    state.plan = dataclasses.replace(state.plan, cuda_graph=True)
    with pytest.raises(SpecError, match="capturable"):
        fit(state, images, progress=False)


@pytest.mark.cuda
@cuda
def test_a_host_read_is_refused_before_any_recording_and_the_process_goes_on(images):
    """A step that reads a tensor back (print(loss.item())) fails in the last eager warm-up call, under the
    sync debug mode, with nothing recorded; the same process then records a clean function."""
    from infogan_tutorial.cuda_graph import HostSyncError

    x = torch.ones(4, device="cuda")
    f = GraphedFunction(lambda t: t * float((t * 2).sum().item()), warmup=2)
    f(x, key="a")  # the first warm-up call may read back
    with pytest.raises(HostSyncError, match="Nothing was recorded"):
        f(x, key="a")
    assert f.graph is None and not torch.cuda.is_current_stream_capturing()
    assert torch.cuda.get_sync_debug_mode() == 0
    g = GraphedFunction(lambda t: t * 2, warmup=1)
    g(x)
    assert torch.equal(g(x), x * 2) and g.graph is not None


@pytest.mark.cuda
@cuda
def test_a_failed_capture_leaves_the_streams_as_they_were():
    """A function that fails only while captured (it synchronises the device then) raises CaptureError,
    which says to restart; the current stream is the default one again, not capturing."""
    from infogan_tutorial.cuda_graph import CaptureError

    def sync_when_captured(t):
        if torch.cuda.is_current_stream_capturing():
            torch.cuda.synchronize()
        return t * 2

    x = torch.ones(4, device="cuda")
    before = torch.cuda.current_stream()
    f = GraphedFunction(sync_when_captured, warmup=1)
    f(x)
    with pytest.raises(CaptureError, match="restart"):
        f(x)
    assert torch.cuda.current_stream() == before and not torch.cuda.is_current_stream_capturing()


@pytest.mark.cuda
@cuda
def test_the_gpu_plan_of_a_fresh_state():
    """TrainConfig's defaults on this GPU: bf16 where native, else fp32, each replayed from a graph; no scaler."""
    state = create_state(LatentSpec(), TrainConfig(steps=2), "cuda")
    assert state.plan.cuda_graph and not state.plan.scaler and not state.scaler.is_enabled()
    assert state.plan.arithmetic == ("bf16" if native_bf16() else "fp32")
