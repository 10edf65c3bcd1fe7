"""The `babelroom` command: tokens, configuration errors, start-up failures, help.

Each runs the real command (`python -m chat.cli`, this checkout first on the path) as a subprocess."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from chat.config import ConfigError, load_config, unknown_variables
from chat.tokens import TokenSigner
from rooms import Role
from tests.client import Client
from tests.nodes import NodeProcess

SECRET = "a-test-secret-of-the-32-bytes-hs256-wants"  # shorter ones draw PyJWT's key-length warning
REPO = Path(__file__).resolve().parent.parent
# A start-up failure answers before anything listens or loads: no translation, no download.
QUIET_START = {"BABELROOM_TRANSLATION_ENABLED": "false", "BABELROOM_TRANSLATION_INSTALL": ""}


def babelroom(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, as_user: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the command; `as_user`: without root's power to ignore file permissions (when run as root,
    as containers and CI often are, a chmod would otherwise change nothing)."""
    command = [sys.executable, "-m", "chat.cli", *args]
    if as_user and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "the permission tests need setpriv (util-linux) when run as root"
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", *command]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a refused start (exit 2), with no traceback."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_the_commands_but_serve_start_without_the_app():
    """`token`, `languages`, `delegates` and `translate-worker` import neither the app nor its routes
    (Starlette's, uvicorn, the OpenAPI document: ~0.5 s of CPU a start, and the suite starts dozens)."""
    probe = (
        "import sys, chat.cli, chat.delegates_cli, chat.translation_tier, translation.cli; "
        "print(*[name for name in ('chat.app', 'web', 'uvicorn', 'starlette.applications') if name in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def test_token_prints_one_token_signed_with_the_configured_secret(tmp_path):
    result = babelroom(
        "token",
        "--role",
        "host",
        "--name",
        "Hana",
        "--ttl",
        "600",
        env={"BABELROOM_AUTH_SECRET": "s3cret-long-enough-for-hs256-keys", "BABELROOM_SERVER_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    identity = TokenSigner("s3cret-long-enough-for-hs256-keys").verify(result.stdout.strip())
    assert identity.role is Role.HOST and identity.name == "Hana"


def test_token_uses_the_generated_secret_of_the_data_dir(tmp_path):
    (tmp_path / "secret").write_text(SECRET + "\n")  # as the server's first start leaves it
    env = {"BABELROOM_SERVER_DATA_DIR": str(tmp_path), "BABELROOM_AUTH_SECRET": ""}
    result = babelroom("token", "--role", "moderator", "--name", "Mo", "--rooms", "plenary,climate", env=env)
    assert result.returncode == 0, result.stderr
    identity = TokenSigner(SECRET).verify(result.stdout.strip())
    assert identity.rooms == ("plenary", "climate")


def test_token_run_elsewhere_refuses_to_make_up_a_secret(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = babelroom("token", "--role", "host", "--name", "Hana", cwd=elsewhere, env={"BABELROOM_AUTH_SECRET": ""})
    line = one_line(result)
    assert result.stdout == ""  # no token the server would refuse
    assert str(elsewhere / "data" / "secret") in line  # where it looked
    assert "--config" in line and "BABELROOM_SERVER_DATA_DIR" in line  # what to pass
    assert list(elsewhere.iterdir()) == []  # and it made nothing there


async def test_a_token_made_elsewhere_opens_the_running_server(tmp_path):
    node = NodeProcess("n1", tmp_path / "server", env={"BABELROOM_AUTH_SECRET": ""})  # the server makes its secret
    node.start()
    try:
        data = tmp_path / "server" / "data"
        config = tmp_path / "event.toml"
        config.write_text(f'[server]\ndata_dir = "{data}"\n[translation]\nenabled = false\ninstall = []\n')
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        by_env = babelroom(
            "token",
            "--role",
            "host",
            "--name",
            "Hana",
            cwd=elsewhere,
            env={"BABELROOM_AUTH_SECRET": "", "BABELROOM_SERVER_DATA_DIR": str(data)},
        )
        by_config = babelroom(
            "--config",
            str(config),
            "token",
            "--role",
            "delegate",
            "--name",
            "Dora",
            cwd=elsewhere,
            env={"BABELROOM_AUTH_SECRET": ""},
        )
        for result, name in ((by_env, "Hana"), (by_config, "Dora")):
            assert result.returncode == 0, result.stderr
            client = await Client.connect(node.ws_url)
            ready = await client.auth(result.stdout.strip())
            assert ready["user"]["name"] == name
            await client.close()
        assert list(elsewhere.iterdir()) == []
    finally:
        node.stop()


@pytest.mark.parametrize(
    "case",
    [
        "unwritable data directory",
        "a file in the way",
        "unreadable secret",
        "empty secret",
        "unwritable database directory",
    ],
)
def test_a_start_up_failure_is_one_line_and_exit_2(tmp_path, case):
    data = tmp_path / "data"
    env = {
        **QUIET_START,
        "BABELROOM_SERVER_DATA_DIR": str(data),
        "BABELROOM_AUTH_SECRET": "",
        "BABELROOM_BACKEND_KIND": "sqlite",
        "BABELROOM_BACKEND_PATH": "",
    }
    if case == "unwritable data directory":
        data.mkdir(mode=0o500)
        says = f"cannot keep the token secret in {data / 'secret'} (Permission denied)"
    elif case == "a file in the way":
        (tmp_path / "file").write_text("not a directory")
        data = tmp_path / "file" / "data"
        env["BABELROOM_SERVER_DATA_DIR"] = str(data)
        says = f"cannot keep the token secret in {data / 'secret'}"
    elif case == "unreadable secret":
        data.mkdir()
        (data / "secret").write_text(SECRET)
        (data / "secret").chmod(0)
        says = f"cannot read the token secret {data / 'secret'} (Permission denied)"
    elif case == "empty secret":
        data.mkdir()
        (data / "secret").write_text("\n")
        says = f"the token secret file {data / 'secret'} is empty"
    else:  # the secret is configured: the database is the first to need the directory
        data.mkdir(mode=0o500)
        env["BABELROOM_AUTH_SECRET"] = SECRET
        says = f"cannot open database {data / 'babelroom.sqlite3'}"
    try:
        line = one_line(babelroom("serve", env=env, as_user=True))
    finally:
        for path in (data, data / "secret"):
            if path.exists():
                path.chmod(0o700)
    assert line.startswith("babelroom: ") and says in line, line


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = babelroom(
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            env={
                **QUIET_START,
                "BABELROOM_SERVER_DATA_DIR": str(tmp_path / "data"),
                "BABELROOM_AUTH_SECRET": SECRET,
                "BABELROOM_BACKEND_KIND": "memory",
            },
        )
    line = one_line(result)
    assert f"cannot listen on 127.0.0.1:{port}: another program is listening there" in line
    assert "--port" in line


def test_an_unreachable_redis_at_start_ends_in_one_line_not_a_traceback(tmp_path):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = babelroom(
        "serve",
        "--port",
        "0",
        env={
            **QUIET_START,
            "BABELROOM_SERVER_DATA_DIR": str(tmp_path / "data"),
            "BABELROOM_AUTH_SECRET": SECRET,
            "BABELROOM_BACKEND_KIND": "redis",
            "BABELROOM_BACKEND_REDIS_URL": f"redis://127.0.0.1:{port}/0",
        },
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    # the backend's own warning may come first; the last line says why the start failed
    last = result.stderr.strip().splitlines()[-1]
    assert last == f"babelroom: cannot start: cannot reach Redis at 127.0.0.1:{port}/0"


def test_a_misspelt_variable_is_named_with_the_nearest_setting(tmp_path):
    result = babelroom(
        "token",
        "--role",
        "host",
        "--name",
        "Hana",
        env={
            "BABELROOM_SERVR_PORT": "9000",
            "BABELROOM_AUTH_SECRET": SECRET,
            "BABELROOM_SERVER_DATA_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 0 and result.stdout.strip()  # a warning, not an error
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "WARNING" in lines[0], result.stderr
    assert "BABELROOM_SERVR_PORT" in lines[0] and "did you mean BABELROOM_SERVER_PORT?" in lines[0]


def test_unknown_variables_are_reported_once_each_and_known_ones_never(caplog):
    environ = {
        "BABELROOM_SERVER_PORT": "9001",
        "BABELROOM_BACKEND_KND": "memory",
        "BABELROOM_PORT": "1",
        "BABELROOM_WHATEVER": "x",
        "BABELROOM_TEST_REDIS": "redis://x",
        "BABELROOM_BENCH_CACHE": "/tmp/x",
        "OTHER_SERVR_PORT": "1",
    }
    caplog.set_level(logging.WARNING, logger="babelroom.config")
    config = load_config(environ=environ)
    assert config.server.port == 9001 and config.backend.kind == "sqlite"
    warned = [record.getMessage() for record in caplog.records]
    assert warned == unknown_variables(environ) and len(warned) == 3
    assert "BABELROOM_BACKEND_KND" in warned[0] and "did you mean BABELROOM_BACKEND_KIND?" in warned[0]
    assert "BABELROOM_PORT" in warned[1] and "BABELROOM_SERVER_PORT" in warned[1]
    assert "BABELROOM_WHATEVER" in warned[2] and "BABELROOM_<SECTION>_<KEY>" in warned[2]


def test_a_minted_token_carries_the_profile_claims(tmp_path):
    result = babelroom(
        "token",
        "--role",
        "delegate",
        "--name",
        "Aino",
        "--organization",
        "Sauna Oy",
        "--country",
        "fi",
        "--bio",
        "Saunas for export",
        "--email",
        "Aino@Example.fi",
        env={"BABELROOM_AUTH_SECRET": SECRET, "BABELROOM_SERVER_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    identity = TokenSigner(SECRET).verify(result.stdout.strip())
    assert (identity.organization, identity.country, identity.bio) == ("Sauna Oy", "FI", "Saunas for export")
    assert identity.email == "aino@example.fi"


@pytest.mark.parametrize(
    "args",
    [
        ["--role", "king", "--name", "X"],
        ["--role", "host"],
        ["--role", "host", "--name", "x" * 41],
        ["--role", "delegate", "--name", "X", "--country", "Finland"],
        ["--role", "delegate", "--name", "X", "--bio", "x" * 281],
        ["--role", "delegate", "--name", "X", "--email", "not-an-address"],
    ],
)
def test_token_refuses_bad_arguments_with_exit_2(args, tmp_path):
    result = babelroom("token", *args, env={"BABELROOM_SERVER_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2 and result.stderr


@pytest.mark.parametrize(
    "key, value, says",
    [
        ("BABELROOM_SERVER_PORT", "eighty", "BABELROOM_SERVER_PORT"),
        ("BABELROOM_BACKEND_KIND", "postgres", "backend.kind"),
        ("BABELROOM_LIMITS_COMPRESSION", "maybe", "BABELROOM_LIMITS_COMPRESSION"),
        ("BABELROOM_SERVER_PORT", "99999", "server.port: must be 0-65535"),  # once served on 99999 % 65536
    ],
)
def test_a_bad_config_value_stops_with_one_line_naming_the_key(key, value, says):
    result = babelroom("serve", env={key: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0]


def test_env_overrides_the_file():
    config = load_config(
        environ={"BABELROOM_SERVER_PORT": "9001", "BABELROOM_SERVER_ALLOWED_ORIGINS": "https://a,https://b"}
    )
    assert config.server.port == 9001 and config.server.allowed_origins == ("https://a", "https://b")
    assert config.backend.kind == "sqlite"


def test_unknown_keys_and_bad_rooms_are_named(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[server]\nprot = 1\n")
    with pytest.raises(ConfigError, match=r"server\.prot"):
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
    result = babelroom(
        "languages",
        "install",
        str(tmp_path / "nope.argosmodel"),
        env={"BABELROOM_TRANSLATION_PACKAGES_DIR": str(tmp_path / "packages")},
    )
    assert result.returncode != 0 and result.stderr.strip()
