"""Config loading: unknown keys, types, overrides and round trips name the problem."""

import pytest

from agents.dqn.config import DQNRunConfig
from rlengine.config import ConfigError, load_config, parse_overrides, to_toml


def write(tmp_path, text):
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def test_unknown_key_names_file_and_key(tmp_path):
    path = write(tmp_path, "[dqn]\nlrr = 0.1\n")
    with pytest.raises(ConfigError, match=r"c\.toml: dqn: unknown key 'lrr'.*known keys: .*lr"):
        load_config(DQNRunConfig, path)
    with pytest.raises(ConfigError, match="unknown key 'nope'"):
        load_config(DQNRunConfig, write(tmp_path, "[nope]\nx = 1\n"))


def test_wrong_types_and_values_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"dqn\.batch_size: expected an integer"):
        load_config(DQNRunConfig, write(tmp_path, '[dqn]\nbatch_size = "big"\n'))
    with pytest.raises(ConfigError, match=r"dqn\.gamma: must be in \[0, 1\]"):
        load_config(DQNRunConfig, write(tmp_path, "[dqn]\ngamma = 1.5\n"))
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(DQNRunConfig, write(tmp_path, "[dqn\n"))
    with pytest.raises(ConfigError, match="not found"):
        load_config(DQNRunConfig, tmp_path / "missing.toml")


def test_overrides_and_round_trip(tmp_path):
    assert parse_overrides(["dqn.lr=1e-4", "env.id=breakout", "network.hidden=[64, 64]", "dqn.double=false"]) == {
        "dqn.lr": 1e-4, "env.id": "breakout", "network.hidden": [64, 64], "dqn.double": False}
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_overrides(["dqn.lr"])
    cfg = load_config(DQNRunConfig, "configs/dqn_cartpole.toml", overrides=["dqn.lr=0.002", "run.seed=9"])
    assert cfg.dqn.lr == 0.002 and cfg.run.seed == 9 and cfg.network.hidden == (128, 128)
    again = load_config(DQNRunConfig, write(tmp_path, to_toml(cfg)))
    assert again == cfg
    with pytest.raises(ConfigError, match="unknown key 'lrr'"):
        load_config(DQNRunConfig, "configs/dqn_cartpole.toml", overrides=["dqn.lrr=1"])


@pytest.mark.parametrize("name", ["dqn_cartpole", "dqn_pong", "dqn_breakout"])
def test_shipped_configs_load(name):
    cfg = load_config(DQNRunConfig, f"configs/{name}.toml")
    assert cfg.run.name == name


def test_config_paths_take_environment_variables_and_name_a_missing_one(monkeypatch, tmp_path):
    from rlengine.config import expand_path

    monkeypatch.setenv("RLENGINE_DATA", str(tmp_path))
    assert expand_path("${RLENGINE_DATA}/go/a.tar.gz", "data.path") == f"{tmp_path}/go/a.tar.gz"
    assert expand_path("plain/path.sgf", "data.path") == "plain/path.sgf"
    monkeypatch.delenv("RLENGINE_DATA")
    with pytest.raises(ConfigError, match=r"data.path = '\$\{RLENGINE_DATA\}/go/a.tar.gz': the environment variable "
                                          r"RLENGINE_DATA is not set \(the folder that holds your data sets"):
        expand_path("${RLENGINE_DATA}/go/a.tar.gz", "data.path")


def test_the_sl_config_names_its_data_through_the_environment(monkeypatch, tmp_path):
    """configs/go19_sl.toml holds no path outside the repository: its archive comes from $RLENGINE_DATA."""
    from agents.alphago import SLRunConfig
    from agents.alphago.sl import prepare_data
    from rlengine.config import load_config

    cfg = load_config(SLRunConfig, "configs/go19_sl.toml", overrides=[f'data.cache_dir="{tmp_path}"'])
    assert cfg.data.path == "${RLENGINE_DATA}/go/tom-9d-19x19.tar.gz"
    monkeypatch.delenv("RLENGINE_DATA", raising=False)
    with pytest.raises(ConfigError, match="RLENGINE_DATA is not set"):
        prepare_data(cfg, progress=False)
    monkeypatch.setenv("RLENGINE_DATA", str(tmp_path))
    with pytest.raises(ConfigError, match=f"data.path: .*{tmp_path}/go/tom-9d-19x19.tar.gz"):
        prepare_data(cfg, progress=False)  # set, but the archive is not there: named
