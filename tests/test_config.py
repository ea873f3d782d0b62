from pathlib import Path

import pytest

from device.config import (
    DEFAULT_CONFIG_PATH,
    Config,
    load_config,
    parse_bind,
    resolve_data_dir,
    validate_config,
)
from device.errors import ConfigError


def test_defaults_need_no_file(tmp_path):
    config = load_config(None, env={})  # /etc/fieldface/config.toml does not exist here
    assert config == Config()
    assert config.web.bind == "127.0.0.1:8080"
    assert config.store.synchronous == "FULL"


def test_file_values_override_defaults(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[web]\nbind = "0.0.0.0:9000"\nthreads = 6\n[device]\nname = "Unit 7"\n')
    config = load_config(path, env={})
    assert (config.web.bind, config.web.threads, config.device.name) == ("0.0.0.0:9000", 6, "Unit 7")


def test_env_names_the_file_and_then_it_must_exist(tmp_path):
    with pytest.raises(ConfigError, match=r"does not exist"):
        load_config(None, env={"FIELDFACE_CONFIG": str(tmp_path / "missing.toml")})


def test_cli_path_beats_env(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[device]\nname = "from cli"\n')
    config = load_config(good, env={"FIELDFACE_CONFIG": str(tmp_path / "missing.toml")})
    assert config.device.name == "from cli"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[web]\nthreads = 0\n", r"c\.toml: web\.threads: Input should be greater than or equal to 1"),
        ("[web]\nthred = 4\n", r"c\.toml: web\.thred: unknown key"),
        ("[nosuch]\nx = 1\n", r"c\.toml: nosuch: unknown key"),
        ('[web]\nbind = "localhost"\n', r"web\.bind: Value error, expected HOST:PORT"),
        ('[web]\nbind = "127.0.0.1:99999"\n', r"web\.bind: .*port must be 1-65535"),
        ('[store]\nsynchronous = "OFF"\n', r"store\.synchronous: Input should be 'FULL' or 'NORMAL'"),
        ("[web\n", r"c\.toml: not valid TOML"),
        ('[device]\nid = "has space"\n', r"device\.id: String should match pattern"),
        ('[receiver]\nshard = "2/2"\n', r"receiver: Value error, receiver\.shard '2/2': K/N with 0 <= K < N"),
        ('[receiver]\nshard = "0/2"\nshare_group = "g"\n', r"receiver: .*two ways to split the load: set one"),
        ('[receiver]\nshard = "a/b"\n', r"receiver\.shard: String should match pattern"),
    ],
)
def test_bad_config_names_file_key_and_reason(tmp_path, text, expected):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=expected):
        load_config(path, env={})


def test_binary_garbage_is_a_config_error(tmp_path):
    path = tmp_path / "c.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path, env={})


def test_count_of_further_problems_is_reported():
    with pytest.raises(ConfigError, match=r"and 1 more problem"):
        validate_config({"web": {"threads": 0, "timeout_s": 1}})


def test_data_dir_precedence():
    config = validate_config({"store": {"data_dir": "/from/config"}})
    assert resolve_data_dir(config, None, env={}) == Path("/from/config")
    assert resolve_data_dir(config, None, env={"FIELDFACE_DATA_DIR": "/from/env"}) == Path("/from/env")
    assert resolve_data_dir(config, "/from/cli", env={"FIELDFACE_DATA_DIR": "/from/env"}) == Path("/from/cli")


def test_parse_bind_accepts_ipv6():
    assert parse_bind("[::1]:8080") == ("::1", 8080)
    assert DEFAULT_CONFIG_PATH == Path("/etc/fieldface/config.toml")
