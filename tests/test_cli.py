"""The `babelroom` command: tokens, configuration errors, help."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chat.config import ConfigError, load_config
from chat.tokens import TokenSigner
from rooms import Role

SECRET = "a-test-secret-of-the-32-bytes-hs256-wants"  # shorter ones draw PyJWT's key-length warning


def babelroom(*args: str, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chat.cli", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def test_token_prints_one_token_signed_with_the_configured_secret(tmp_path):
    result = babelroom("token", "--role", "host", "--name", "Hana", "--ttl", "600",
                       env={"BABELROOM_AUTH_SECRET": "s3cret-long-enough-for-hs256-keys",
                            "BABELROOM_SERVER_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    identity = TokenSigner("s3cret-long-enough-for-hs256-keys").verify(result.stdout.strip())
    assert identity.role is Role.HOST and identity.name == "Hana"


def test_token_uses_the_generated_secret_of_the_data_dir(tmp_path):
    env = {"BABELROOM_SERVER_DATA_DIR": str(tmp_path), "BABELROOM_AUTH_SECRET": ""}
    result = babelroom("token", "--role", "moderator", "--name", "Mo", "--rooms", "plenary,climate", env=env)
    assert result.returncode == 0, result.stderr
    secret = (tmp_path / "secret").read_text().strip()
    identity = TokenSigner(secret).verify(result.stdout.strip())
    assert identity.rooms == ("plenary", "climate")


def test_a_minted_token_carries_the_profile_claims(tmp_path):
    result = babelroom("token", "--role", "delegate", "--name", "Aino", "--organization", "Sauna Oy",
                       "--country", "fi", "--bio", "Saunas for export",
                       env={"BABELROOM_AUTH_SECRET": SECRET, "BABELROOM_SERVER_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    identity = TokenSigner(SECRET).verify(result.stdout.strip())
    assert (identity.organization, identity.country, identity.bio) == ("Sauna Oy", "FI", "Saunas for export")


@pytest.mark.parametrize("args", [["--role", "king", "--name", "X"], ["--role", "host"],
                                  ["--role", "host", "--name", "x" * 41],
                                  ["--role", "delegate", "--name", "X", "--country", "Finland"],
                                  ["--role", "delegate", "--name", "X", "--bio", "x" * 281]])
def test_token_refuses_bad_arguments_with_exit_2(args, tmp_path):
    result = babelroom("token", *args, env={"BABELROOM_SERVER_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2 and result.stderr


@pytest.mark.parametrize("key, value, says", [
    ("BABELROOM_SERVER_PORT", "eighty", "BABELROOM_SERVER_PORT"),
    ("BABELROOM_BACKEND_KIND", "postgres", "backend.kind"),
    ("BABELROOM_LIMITS_COMPRESSION", "maybe", "BABELROOM_LIMITS_COMPRESSION"),
])
def test_a_bad_config_value_stops_with_one_line_naming_the_key(key, value, says):
    result = babelroom("serve", env={key: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0]


def test_env_overrides_the_file():
    config = load_config(environ={"BABELROOM_SERVER_PORT": "9001", "BABELROOM_SERVER_ALLOWED_ORIGINS": "https://a,https://b"})
    assert config.server.port == 9001 and config.server.allowed_origins == ("https://a", "https://b")
    assert config.backend.kind == "sqlite"


def test_unknown_keys_and_bad_rooms_are_named(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[server]\nprot = 1\n')
    with pytest.raises(ConfigError, match="server.prot"):
        load_config(path, environ={})
    path.write_text('[[rooms]]\nid = "Main Hall"\ntitle = "x"\n')
    with pytest.raises(ConfigError, match=r"rooms\[0\].id"):
        load_config(path, environ={})


def test_help_explains_the_commands():
    result = babelroom("--help")
    assert result.returncode == 0
    for word in ("serve", "token", "languages", "BABELROOM_"):
        assert word in result.stdout


def test_languages_install_list_remove_from_a_file(translation_package_files, tmp_path):
    env = {"BABELROOM_TRANSLATION_PACKAGES_DIR": str(tmp_path / "packages")}
    en_de = next(path for path in translation_package_files if path.name.startswith("translate-en_de"))
    installed = babelroom("languages", "install", "--no-progress", str(en_de), env=env)
    assert installed.returncode == 0, installed.stderr
    listed = babelroom("languages", "list", env=env)
    assert listed.returncode == 0 and "en" in listed.stdout and "de" in listed.stdout
    removed = babelroom("languages", "remove", "en-de", env=env)
    assert removed.returncode == 0, removed.stderr
    assert "no packages" in babelroom("languages", "list", env=env).stdout


def test_languages_install_of_a_missing_file_says_what_to_do(tmp_path):
    result = babelroom("languages", "install", str(tmp_path / "nope.argosmodel"),
                       env={"BABELROOM_TRANSLATION_PACKAGES_DIR": str(tmp_path / "packages")})
    assert result.returncode != 0 and result.stderr.strip()
