"""Checkpoints and run directories: atomic, resumable, and clear about corrupt or mismatched files."""

import json

import pytest
import torch

from rlengine.config import ConfigError
from rlengine.runtime import (
    CheckpointError,
    MetricsLogger,
    RunDir,
    latest_checkpoint,
    load_checkpoint,
    load_module_state,
    save_checkpoint,
)


def _save(directory, step, net, **kw):
    opt = torch.optim.Adam(net.parameters())
    net(torch.ones(1, 3)).sum().backward()
    opt.step()
    return save_checkpoint(directory, step, agent="test", tensors={f"online.{k}": v for k, v in net.state_dict().items()},
                           optimizer=opt.state_dict(), state={"counters": {"step": step}}, config_toml="x = 1\n", **kw)


def test_round_trip_latest_and_pruning(tmp_path):
    net = torch.nn.Linear(3, 2)
    for step in (10, 20, 30, 40):
        _save(tmp_path, step, net, keep=2)
    assert sorted(p.name for p in tmp_path.glob("step-*")) == ["step-000000000030", "step-000000000040"]
    assert latest_checkpoint(tmp_path).name == "step-000000000040"
    assert (tmp_path / "step-000000000040").stat().st_mode & 0o777 == 0o755  # not mkdtemp's 0700
    assert (tmp_path / "latest").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
    ckpt = load_checkpoint(tmp_path)
    assert ckpt.step == 40 and ckpt.agent == "test" and ckpt.optimizer["state"][0]["step"] == 1
    other = torch.nn.Linear(3, 2)
    load_module_state(other, ckpt.tensors, "online", source=ckpt.path)
    assert torch.equal(other.weight, net.weight)


def test_half_written_checkpoint_is_ignored(tmp_path):
    net = torch.nn.Linear(3, 2)
    _save(tmp_path, 10, net)
    (tmp_path / ".step-000000000020.abc").mkdir()  # a kill during the next write leaves only a temp folder
    assert latest_checkpoint(tmp_path).name == "step-000000000010"


def test_corrupt_and_mismatched_checkpoints_name_the_file(tmp_path):
    net = torch.nn.Linear(3, 2)
    path = _save(tmp_path, 10, net)
    with pytest.raises(CheckpointError, match="does not fit this network.*shape mismatch.*weight"):
        load_module_state(torch.nn.Linear(4, 2), load_checkpoint(path).tensors, "online", source=path)
    with pytest.raises(CheckpointError, match="missing"):
        load_module_state(torch.nn.Sequential(torch.nn.Linear(3, 2)), load_checkpoint(path).tensors, "online",
                          source=path)
    (path / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match=r"model\.safetensors: corrupt"):
        load_checkpoint(path)
    (path / "state.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"state\.json: unreadable"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nowhere")


def test_optimizer_state_is_not_unpickled_blindly(tmp_path):
    import pickle

    net = torch.nn.Linear(3, 2)
    path = _save(tmp_path, 10, net)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    for name in ("optim.json", "optim.safetensors"):  # as a checkpoint written before them
        (path / name).unlink()
    (path / "optim.pt").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(CheckpointError, match=r"optim\.pt: corrupt"):
        load_checkpoint(path)


def test_optimizer_state_round_trips_without_pickle(tmp_path):
    """Adam's state (int keys, tensors, float and bool scalars, None) and a nested pair of optimizers are
    stored as safetensors + JSON and come back equal; a damaged file is named."""
    torch.manual_seed(0)
    g, d = torch.nn.Linear(3, 2), torch.nn.Linear(2, 1)
    opts = {"g": torch.optim.Adam(g.parameters(), lr=1e-3, amsgrad=True), "d": torch.optim.SGD(d.parameters(), lr=0.1,
                                                                                                momentum=0.9)}
    for _ in range(3):
        loss = d(g(torch.randn(4, 3))).sum()
        for o in opts.values():
            o.zero_grad()
        loss.backward()
        for o in opts.values():
            o.step()
    state = {k: o.state_dict() for k, o in opts.items()}
    path = save_checkpoint(tmp_path, 3, agent="test", tensors={"x": torch.zeros(1)}, optimizer=state, state={},
                           config_toml="")
    assert sorted(p.name for p in path.iterdir()) == ["config.toml", "model.safetensors", "optim.json",
                                                      "optim.safetensors", "state.json"]
    back = load_checkpoint(path).optimizer
    assert set(back) == {"g", "d"} and set(back["g"]["state"]) == {0, 1}  # int keys survive
    for k in ("g", "d"):
        assert back[k]["param_groups"] == state[k]["param_groups"]
        for pid, entry in state[k]["state"].items():
            for name, value in entry.items():
                torch.testing.assert_close(back[k]["state"][pid][name], value)
    fresh = torch.optim.Adam(torch.nn.Linear(3, 2).parameters())
    fresh.load_state_dict(back["g"])  # what a resume does
    (path / "optim.json").write_text('{"dict": [["state", {"tensor": "t999"}]]}')
    with pytest.raises(CheckpointError, match=r"optim\.json: does not match optim\.safetensors"):
        load_checkpoint(path)
    (path / "optim.json").write_text("{cut")
    with pytest.raises(CheckpointError, match=r"optim\.json: corrupt"):
        load_checkpoint(path)


def test_the_latest_pointer_is_followed(tmp_path):
    for step in (5, 10):
        _save(tmp_path / "checkpoints", step, torch.nn.Linear(3, 2))
    assert load_checkpoint(tmp_path / "checkpoints" / "latest").step == 10
    (tmp_path / "checkpoints" / "latest").write_text("step-000000000099\n")
    with pytest.raises(CheckpointError, match=r"latest: points to step-000000000099, which is not a complete"):
        load_checkpoint(tmp_path / "checkpoints" / "latest")


def test_run_dir_refuses_another_config_and_metrics_drop_lines_after_resume(tmp_path):
    run = RunDir(tmp_path / "run")
    assert run.prepare("[dqn]\nlr = 0.1\n") is None
    assert run.prepare("[dqn]\nlr = 0.1\n") is None  # same config: fine
    assert run.prepare("[dqn]\nlr = 0.3\n") is None  # no checkpoint yet: the new config replaces the old
    assert "0.3" in run.config_path.read_text()
    _save(run.checkpoints, 10, torch.nn.Linear(3, 2))
    assert run.prepare("[dqn]\nlr = 0.3\n").name == "step-000000000010"
    with pytest.raises(ConfigError, match=r"another config \(dqn\.lr: 0\.3 -> 0\.2\)"):
        run.prepare("[dqn]\nlr = 0.2\n")
    # a field that a newer version of the code added (the stored config is the resolved one, so a key it
    # lacks is new, not a change): the run resumes, and the stored config takes the new field
    assert run.prepare("[dqn]\nlr = 0.3\nheads = 4\n").name == "step-000000000010"
    assert "heads = 4" in run.config_path.read_text()
    with pytest.raises(ConfigError, match=r"dqn\.heads: 4 -> 8"):
        run.prepare("[dqn]\nlr = 0.3\nheads = 8\n")
    run.config_path.write_text("[dqn]\nlr = 0.3\n")
    with open(run.metrics_path, "w") as f:
        f.write('{"step": 7}\n')  # from a start that died before its first checkpoint
    m = MetricsLogger(run, tensorboard=False)  # a fresh start drops it
    for step in (1, 2, 3, 4):
        m.log(step, loss=float(step))
    m.close()
    with open(run.metrics_path, "a") as f:
        f.write('{"step": 5, "lo')  # a line cut short by kill -9
    MetricsLogger(run, resume_step=2, tensorboard=False).close()
    assert [json.loads(line)["step"] for line in run.metrics_path.read_text().splitlines()] == [1, 2]
