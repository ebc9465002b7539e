"""How a run computes, decided in one place (``compute.plan_compute``), proved on the CPU for the GPUs readers
have: torch.cuda answers as a Colab T4 or an H100 would (``fake_gpu_kind``), every tensor stays on the CPU."""

import copy
import dataclasses
import re

import pytest
import torch

import fake_gpu
from infogan_tutorial import cli, compute
from infogan_tutorial.checkpoints import with_checksum
from infogan_tutorial.cli import main
from infogan_tutorial.compute import DeviceFacts, plan_compute
from infogan_tutorial.errors import SpecError
from infogan_tutorial.latent_codes import LatentSpec
from infogan_tutorial.profiles import PROFILES
from infogan_tutorial.training import (UNBAKED, TrainConfig, create_state, fit, make_step, recording_key,
                                       resume_state, save_checkpoint, select_device, train_step)

T4 = DeviceFacts("cuda", native_bf16=False)
H100 = DeviceFacts("cuda", native_bf16=True)
OLD_TORCH = "CUDA graphs that draw from their own random generator need PyTorch >= 2.5"


def plan(facts, **wish):
    return plan_compute("cuda" if facts.type == "cuda" else facts.type, facts=facts, **wish)


BF16_CPU = DeviceFacts("cpu", native_bf16=True, graph_problem="need a CUDA device")  # AVX-512 BF16 or AMX
CPU_AUTO = "bf16" if compute.cpu_native_bf16() else "fp32"
"""What precision='auto' computes in on this machine's CPU (a fake GPU leaves the CPU's answer alone)."""


@pytest.mark.parametrize("facts, wish, expected", [
    # (arithmetic, scaler, graph) for each GPU and what the config asks
    (H100, {}, ("bf16", False, True)),
    (T4, {}, ("fp32", False, True)),  # no native bf16: fp32 replayed beats fp16 eager, whose scaler cannot record
    (T4, {"precision": "auto", "cuda_graph": True}, ("fp32", False, True)),  # the profile's graph + auto: not refused
    (T4, {"cuda_graph": False}, ("fp16", True, False)),
    (H100, {"cuda_graph": False}, ("bf16", False, False)),
    (T4, {"precision": "fp16"}, ("fp16", True, False)),  # fp16 by name keeps its scaler, eagerly
    (H100, {"precision": "fp32"}, ("fp32", False, True)),
    (T4, {"precision": "bf16"}, ("bf16", False, True)),  # asked for by name: emulated, but as asked
    (H100, {"compile": True}, ("bf16", False, False)),
    (dataclasses.replace(T4, graph_problem=OLD_TORCH), {}, ("fp16", True, False)),
    (dataclasses.replace(H100, graph_problem=OLD_TORCH), {}, ("bf16", False, False)),
    (DeviceFacts("cpu", graph_problem="need a CUDA device"), {}, ("fp32", False, False)),
    (DeviceFacts("cpu", graph_problem="need a CUDA device"), {"precision": "fp16", "cuda_graph": False},
     ("fp32", False, False)),
    (DeviceFacts("mps", graph_problem="need a CUDA device"), {"precision": "bf16"}, ("fp32", False, False)),
    (BF16_CPU, {}, ("bf16", False, False)),  # auto is bf16 on a CPU that has it natively
    (BF16_CPU, {"precision": "fp32"}, ("fp32", False, False)),
    (BF16_CPU, {"precision": "bf16"}, ("bf16", False, False)),
    (DeviceFacts("cpu", graph_problem="need a CUDA device"), {"precision": "bf16"}, ("bf16", False, False)),
    (BF16_CPU, {"precision": "fp16"}, ("fp32", False, False)),
])
def test_the_plan_for_each_gpu_and_wish(facts, wish, expected):
    p = plan(facts, **wish)
    assert (p.arithmetic, p.scaler, p.cuda_graph) == expected
    assert p.why and p.device.type == facts.type


@pytest.mark.parametrize("facts, wish, message", [
    (T4, {"precision": "fp16", "cuda_graph": True}, "cannot record fp16.*cuda_graph=False"),
    (DeviceFacts("cpu", graph_problem="CUDA graphs need a CUDA device, not 'cpu'."), {"cuda_graph": True},
     "need a CUDA device.*Leave cuda_graph unset"),
    (dataclasses.replace(H100, graph_problem=OLD_TORCH), {"cuda_graph": True}, "PyTorch >= 2.5"),
    (H100, {"cuda_graph": True, "compile": True}, "compile or cuda_graph"),
    (H100, {"precision": "half"}, "precision must be one of"),
])
def test_what_cannot_be_planned_is_refused_with_its_fix(facts, wish, message):
    with pytest.raises(SpecError, match=message):
        plan(facts, **wish)


def test_the_facts_are_asked_of_the_fake_gpu(fake_gpu_kind):
    gpu = fake_gpu.GPUS[fake_gpu_kind]
    facts = compute.device_facts(torch.device("cuda"))
    assert facts == DeviceFacts("cuda", native_bf16=gpu.native_bf16, graph_problem=None)
    assert plan_compute("cuda").arithmetic == ("bf16" if gpu.native_bf16 else "fp32")
    cpu = torch.bfloat16 if compute.cpu_native_bf16() else None  # the CPU's own answer: a fake GPU leaves it alone
    assert plan_compute("cpu") == compute.ComputePlan(torch.device("cpu"), cpu, False, False, plan_compute("cpu").why)


def test_the_reason_says_whether_bf16_is_native_on_gpu_and_cpu(monkeypatch, fake_gpu_kind):
    gpu = fake_gpu.GPUS[fake_gpu_kind]
    assert ("emulated" in plan_compute("cuda", "bf16").why) == (not gpu.native_bf16)  # asked of the GPU by name too
    cpu = DeviceFacts("cpu", graph_problem="need a CUDA device")
    assert "emulated" in plan(cpu, precision="bf16").why and "emulated" not in plan(BF16_CPU, precision="bf16").why
    for native in (False, True):
        monkeypatch.setattr(compute, "cpu_native_bf16", lambda: native)
        assert compute.device_facts(torch.device("cpu")).native_bf16 is native
        assert ("emulated" in plan_compute("cpu", "bf16").why) is not native


def test_bf16_on_the_cpu_trains_under_cpu_autocast(images):
    state = create_state(LatentSpec(), TrainConfig(batch_size=8, precision="bf16"), "cpu")
    assert state.plan.arithmetic == "bf16" and state.plan.device.type == "cpu"
    seen = []
    hook = state.D.body[0].register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    stats = train_step(state, images[:8])
    hook.remove()
    assert seen and set(seen) == {torch.bfloat16} and torch.isfinite(stats).all()
    assert all(p.dtype == torch.float32 for p in state.G.parameters())  # weights stay fp32


def test_emulated_bf16_of_an_older_torch_does_not_count(monkeypatch, fake_gpu_kind):
    """torch < 2.4 has no including_emulation argument; the compute capability decides there."""
    def old_is_bf16_supported():
        return True  # what torch 2.3 says on a T4, where bf16 is emulated

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", old_is_bf16_supported)
    assert compute.native_bf16(torch.device("cuda")) == fake_gpu.GPUS[fake_gpu_kind].native_bf16


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_profile_makes_cpu_states_on_a_gpu_machine(name, fake_gpu_kind):
    """Chapters 6 and 7b check the reader's step against the package's on CPU states built from the profile's
    config: on a GPU machine that config must not carry a graph the CPU refuses."""
    config = PROFILES[name].train_config(seed=0, lambda_real=1.0, lambda_invariant=1.0)
    state = create_state(LatentSpec(), config, "cpu")
    assert str(state.plan) == f"{CPU_AUTO} on cpu" and not state.scaler.is_enabled()
    assert not any(g["capturable"] for opt in (state.opt_d, state.opt_g) for g in opt.param_groups)
    assert make_step(state)  # the eager step
    gpu_plan = plan_compute("cuda", config.precision, config.cuda_graph, config.compile)
    assert gpu_plan.cuda_graph and gpu_plan.arithmetic == ("bf16" if fake_gpu_kind == "h100" else "fp32")


def test_the_device_variable_keeps_a_gpu_machine_on_the_cpu(monkeypatch, fake_gpu_kind):
    assert select_device("auto").type == "cuda"
    monkeypatch.setenv("INFOGAN_DEVICE", "cpu")
    assert select_device("auto").type == "cpu" and select_device("cuda").type == "cuda"
    monkeypatch.setenv("INFOGAN_DEVICE", "tpu")
    with pytest.raises(SpecError, match=r"\$INFOGAN_DEVICE: unknown device 'tpu'"):
        select_device("auto")


@pytest.fixture(scope="module")
def images(images):  # conftest's, shortened here
    return images[:256]


def test_cli_trains_on_the_cpu_of_a_gpu_machine(tmp_path, capsys, fake_gpu_kind):
    """`train --device cpu` on a GPU machine: trains, with no graph and no mention of a --cuda-graph never given."""
    assert main(["train", "--profile", "gpu", "--dataset", "sample", "--device", "cpu", "--steps", "2",
                 "--batch-size", "16", "--quiet", "--no-figures", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr()
    assert f"{CPU_AUTO} on cpu" in out.out and "cuda-graph" not in out.err + out.out
    saved = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["config"]
    assert saved["cuda_graph"] is None and saved["precision"] == "auto"
    assert main(["train", "--profile", "gpu", "--dataset", "sample", "--device", "cpu", "--steps", "3",
                 "--quiet", "--no-figures", "--resume", "--out", str(tmp_path / "run")]) == 0


class Planned(Exception):
    """Raised by the stand-in for create_state once the CLI's config has been planned."""


@pytest.mark.parametrize("flags, t4, h100", [
    ([], ("fp32", True), ("bf16", True)),
    (["--precision", "auto"], ("fp32", True), ("bf16", True)),
    (["--precision", "auto", "--cuda-graph"], ("fp32", True), ("bf16", True)),
    (["--precision", "fp16"], ("fp16", False), ("fp16", False)),
    (["--no-cuda-graph"], ("fp16", False), ("bf16", False)),
])
def test_cli_precision_and_graph_on_a_gpu(tmp_path, monkeypatch, flags, t4, h100, fake_gpu_kind):
    """What `train` on the GPU asks of create_state is planned without a refusal; the state itself is not made
    (its tensors would need the GPU)."""
    planned = []

    def plan_only(spec, config, device):
        planned.append(plan_compute(device, config.precision, config.cuda_graph, config.compile))
        raise Planned

    monkeypatch.setattr(cli, "create_state", plan_only)
    with pytest.raises(Planned):
        main(["train", "--profile", "smoke", "--steps", "2", "--quiet", "--no-figures",
              "--out", str(tmp_path / "run"), *flags])
    assert planned[0].device.type == "cuda"
    assert (planned[0].arithmetic, planned[0].cuda_graph) == {"t4": t4, "h100": h100}[fake_gpu_kind]


@pytest.mark.parametrize("fake", [None, "t4", "h100"])
def test_the_interrupt_hint_is_a_command_that_resumes(images, tmp_path, capsys, monkeypatch, fake):
    """Ctrl-C's hint names resume_state with the run's device; run as printed, it continues the run."""
    if fake:
        fake_gpu.install(fake, monkeypatch.setattr)
    state = create_state(LatentSpec(), PROFILES["gpu"].train_config(steps=4, batch_size=16, log_every=1), "cpu")

    def interrupt(s):
        if s.step == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(state, images, tmp_path, progress=True, callback=interrupt)
    printed = capsys.readouterr()
    hint = re.search(r"Resume with (resume_state\(.*?\))", printed.err + printed.out)
    assert hint, "the interrupt printed no resume_state(...) command"
    resumed = eval(hint.group(1), {"resume_state": resume_state})
    assert resumed.step == 2 and resumed.device.type == "cpu" and not resumed.plan.cuda_graph
    fit(resumed, images, progress=False)
    assert resumed.step == 4


def test_resume_decides_the_graph_anew_for_its_device(images, tmp_path):
    """A checkpoint written by a graphed GPU run (cuda_graph=True, capturable Adam) resumes on the CPU eagerly,
    with no option to drop; on the resumed device the graph is decided again (None), unless asked for."""
    state = create_state(LatentSpec(), TrainConfig(steps=2, batch_size=16), "cpu")
    fit(state, images, tmp_path, progress=False)
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    ckpt["config"]["cuda_graph"] = True
    for name in ("opt_g", "opt_d"):
        for group in ckpt[name]["param_groups"]:
            group["capturable"] = True
    torch.save(with_checksum(ckpt), tmp_path / "graph.pt")  # as that run would have written it
    resumed = resume_state(tmp_path / "graph.pt", steps=4)  # default device: where it was saved from (here cpu)
    assert resumed.config.cuda_graph is None and not resumed.plan.cuda_graph and resumed.device.type == "cpu"
    assert not any(g["capturable"] for opt in (resumed.opt_g, resumed.opt_d) for g in opt.param_groups)
    fit(resumed, images, progress=False)
    assert resumed.step == 4
    with pytest.raises(SpecError, match="need a CUDA device"):
        resume_state(tmp_path / "graph.pt", "cpu", cuda_graph=True)


def alternative(value, name):
    """Another valid value for a TrainConfig field."""
    if name == "precision":
        return "fp32"
    if name == "cuda_graph":
        return False
    if isinstance(value, bool):
        return not value
    if value is None:
        return 0.5
    return value + 1 if isinstance(value, int) else value + 0.125


def test_the_recording_key_covers_every_field_of_the_recipe(images):
    """A recorded step bakes in every config field but the step counts, including fields added later."""
    state = create_state(LatentSpec(), TrainConfig(batch_size=16), "cpu")
    key = recording_key(state)
    for field in dataclasses.fields(TrainConfig):
        changed = dataclasses.replace(state.config, **{field.name: alternative(getattr(state.config, field.name),
                                                                                 field.name)})
        saved, state.config = state.config, changed
        assert (recording_key(state) == key) == (field.name in UNBAKED), field.name
        state.config = saved

    @dataclasses.dataclass(frozen=True)
    class Extended(TrainConfig):  # a field a later version adds
        new_knob: float = 1.0

    state.config = Extended(batch_size=16)
    extended = recording_key(state)
    state.config = Extended(batch_size=16, new_knob=2.0)
    assert recording_key(state) != extended


def test_the_recording_key_sees_optimizer_moments_replaced_by_load_state_dict(images):
    state = create_state(LatentSpec(), TrainConfig(batch_size=16), "cpu")
    train_step(state, images[:16])
    key = recording_key(state)
    assert recording_key(state) == key
    state.opt_d.load_state_dict(copy.deepcopy(state.opt_d.state_dict()))  # as from a checkpoint: new moment
    assert recording_key(state) != key  # tensors, which a recording made before would never read


def test_resume_keeps_an_eager_run_eager(images, tmp_path, fake_gpu_kind):
    """cuda_graph=False is kept on resume: on a T4 it is also what keeps the run in fp16 (eager), so the resumed
    run computes as the saved one did; True or None are decided again for the device."""
    state = create_state(LatentSpec(), TrainConfig(steps=2, batch_size=16, cuda_graph=False), "cpu")
    fit(state, images, tmp_path, progress=False)
    resumed = resume_state(tmp_path / "checkpoint.pt", "cpu", steps=3)
    assert resumed.config.cuda_graph is False
    gpu = plan_compute("cuda", resumed.config.precision, resumed.config.cuda_graph)
    assert (gpu.arithmetic, gpu.cuda_graph) == (("bf16" if fake_gpu_kind == "h100" else "fp16"), False)


@pytest.mark.parametrize("wish, message", [
    ({"cuda_graph": "yes"}, "cuda_graph must be None"), ({"compile": "no"}, "compile must be True or False"),
    ({"device": "tpu"}, "unknown device 'tpu'"),
])
def test_the_plan_refuses_values_of_the_wrong_kind(wish, message):
    with pytest.raises(SpecError, match=message):
        plan_compute(**{"device": "cpu", **wish})
    if "device" not in wish:
        with pytest.raises(SpecError, match=message.split(" must")[0]):
            TrainConfig(**wish)


def test_emulated_bf16_asked_for_by_name_says_so():
    assert "emulated" in plan(T4, precision="bf16").why and "emulated" not in plan(H100, precision="bf16").why


def test_the_profile_follows_the_device_the_run_trains_on(monkeypatch, fake_gpu_kind):
    from infogan_tutorial.profiles import get_profile

    monkeypatch.delenv("INFOGAN_PROFILE", raising=False)
    assert get_profile().name == "gpu" and get_profile(device="cpu").name == "cpu"
    monkeypatch.setenv("INFOGAN_DEVICE", "cpu")  # a GPU machine kept on the CPU trains the cpu profile's sizes
    assert get_profile().name == "cpu"
    assert get_profile("smoke").name == "smoke"


def test_a_cuda_index_this_machine_lacks_is_refused(fake_gpu_kind):
    assert select_device("cuda:0").index == 0
    with pytest.raises(SpecError, match="has 1 CUDA device"):
        select_device("cuda:7")


def test_the_cli_interrupt_prints_the_command_that_continues_the_run(tmp_path, capsys, monkeypatch):
    """Ctrl-C in `train` prints the exact command line that resumes; run as printed, it continues the run."""
    from infogan_tutorial import objectives, training

    calls, loss = [0], objectives.generator_loss

    def interrupted(logit):
        calls[0] += 1
        if calls[0] == 3:
            raise KeyboardInterrupt
        return loss(logit)

    monkeypatch.setattr(training, "generator_loss", interrupted)
    out = tmp_path / "my run"
    args = ["train", "--profile", "smoke", "--dataset", "sample", "--steps", "4", "--batch-size", "16", "--quiet",
            "--no-figures", "--device", "cpu", "--out", str(out)]
    assert main(args) == 130
    command = re.search(r"Continue it with: python -m infogan_tutorial (.*)", capsys.readouterr().err).group(1)
    monkeypatch.setattr(training, "generator_loss", loss)
    import shlex

    assert main(shlex.split(command) + ["--quiet", "--no-figures"]) == 0
    printed = capsys.readouterr().out
    assert "from step 2 to 4 (2 steps left)" in printed
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == 4


FUSED_CPU_ADAM = torch.__version__ >= "2.4"
"""torch has Adam's fused kernel for the CPU from 2.4 on."""


def test_adam_is_fused_on_the_cpu_only(fake_gpu_kind):
    assert plan(BF16_CPU).fused_adam == FUSED_CPU_ADAM
    assert not plan(H100).fused_adam and not plan(T4).fused_adam  # CUDA keeps foreach Adam (and the graph's capture)
    state = create_state(LatentSpec(), TrainConfig(batch_size=8), "cpu")
    assert all(bool(g["fused"]) == FUSED_CPU_ADAM for opt in (state.opt_d, state.opt_g) for g in opt.param_groups)


def test_fused_adam_takes_foreach_adams_steps_and_a_resume_takes_this_runs_plan(tmp_path, images):
    state = create_state(LatentSpec(), TrainConfig(batch_size=16, steps=1, checkpoint_every=0), "cpu")
    params = list(state.G.parameters())
    group = state.opt_g.param_groups[0]
    twins = [p.detach().clone().requires_grad_() for p in params]
    foreach = torch.optim.Adam(twins, lr=group["lr"], betas=group["betas"], foreach=True)
    g = torch.Generator().manual_seed(0)
    for _ in range(3):  # gradients from 1e-8 to 1: Adam's normalised step, its bias corrections, its eps
        for p, t in zip(params, twins):
            p.grad = torch.randn(p.shape, generator=g) * 10.0 ** -torch.randint(0, 9, p.shape, generator=g)
            t.grad = p.grad.clone()
        state.opt_g.step()
        foreach.step()
    for p, t in zip(params, twins):
        torch.testing.assert_close(p, t, rtol=0, atol=1e-6)  # the same update, to float32's rounding

    for name in ("opt_g", "opt_d"):  # a state whose Adam is foreach, as before the fused kernel
        opt = getattr(state, name)
        setattr(state, name, torch.optim.Adam(opt.param_groups[0]["params"], lr=opt.param_groups[0]["lr"],
                                              betas=opt.param_groups[0]["betas"], foreach=True))
    fit(state, images, progress=False)
    save_checkpoint(state, tmp_path / "foreach.pt")  # a checkpoint whose Adam groups say foreach, not fused
    resumed = resume_state(tmp_path / "foreach.pt", device="cpu")
    groups = [g for opt in (resumed.opt_d, resumed.opt_g) for g in opt.param_groups]
    assert all(bool(g["fused"]) == FUSED_CPU_ADAM and not g["foreach"] for g in groups)
    resumed.config = dataclasses.replace(resumed.config, steps=3)
    fit(resumed, images, progress=False)  # the fused kernel takes the foreach run's moments
    assert resumed.step == 3 and all(torch.isfinite(p).all() for p in resumed.G.parameters())
