"""JWTs minted elsewhere with PyJWT open /ws and the host API; forged ones are refused with 4401 / 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from chat.tokens import TokenSigner
from rooms import Role
from tests.client import Client
from tests.conftest import TEST_SECRET
from tests.test_cli import babelroom


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**changes: Any) -> dict[str, Any]:
    """What a conference website puts in a token, with some claims changed (None drops one)."""
    base = {
        "sub": "site-42",
        "name": "Wanjiru",
        "role": "host",
        "lang": "fr",
        "organization": "Kenya Red Cross",
        "country": "ke",
        "exp": int(time.time()) + 600,
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def unsigned(payload: dict[str, Any]) -> str:
    return f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{b64(json.dumps(payload).encode())}."


def hs256_with(key: bytes, payload: dict[str, Any]) -> str:
    """An HS256 token signed with any bytes, even a PEM public key (PyJWT itself refuses to)."""
    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())}"


class KeyPair:
    def __init__(self, private: Any) -> None:
        self.private = private
        self.private_pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@pytest.fixture(scope="module")
def rsa_keys() -> KeyPair:
    return KeyPair(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="module")
def ec_keys() -> KeyPair:
    return KeyPair(ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture
def rsa_public_file(tmp_path: Path, rsa_keys: KeyPair) -> Path:
    path = tmp_path / "site-public.pem"
    path.write_bytes(rsa_keys.public_pem)
    return path


async def authenticated(server, token: str) -> dict[str, Any]:
    client = await Client.connect(server.ws_url)
    ready = await client.auth(token)
    await client.close()
    return ready


async def refused(server, token: str) -> str:
    """The unauthorized error's message; asserts the 4401 close."""
    client = await Client.connect(server.ws_url)
    await client.send({"type": "auth", "token": token, "ref": "a"})
    error = await client.expect_error("unauthorized", ref="a")
    assert await client.closed() == 4401
    return error["message"]


async def host_call(server, token: str) -> int:
    async with server.http() as http:
        response = await http.get("/api/rooms/plenary/moderation", headers={"authorization": f"Bearer {token}"})
    return response.status_code


async def test_an_hs256_token_minted_with_pyjwt_opens_the_socket_and_the_host_api(server):
    token = jwt.encode(claims(), TEST_SECRET, algorithm="HS256")
    ready = await authenticated(server, token)
    assert ready["user"] == {"id": "site-42", "name": "Wanjiru", "role": "host"} and ready["lang"] == "fr"
    assert await host_call(server, token) == 200


async def test_the_server_s_own_tokens_are_jwts_with_every_claim(server):
    async with server.http() as http:
        body = (await http.post("/api/session", json={"name": "Ngozi", "lang": "de"})).json()
    decoded = jwt.decode(body["token"], TEST_SECRET, algorithms=["HS256"])
    assert decoded["name"] == "Ngozi" and decoded["role"] == "delegate" and decoded["lang"] == "de"
    assert decoded["sub"] == body["user"]["id"] and decoded["exp"] > time.time()
    identity = server.node.signer.verify(server.token("Ana", organization="WHO", country="ch"))
    assert (identity.organization, identity.country) == ("WHO", "CH")


async def test_an_rs256_token_minted_by_a_website_opens_the_socket_and_the_host_api(
    make_server, rsa_keys, rsa_public_file
):
    server = await make_server(auth={"algorithm": "RS256", "public_key": str(rsa_public_file)})
    token = jwt.encode(claims(), rsa_keys.private_pem, algorithm="RS256")
    ready = await authenticated(server, token)
    assert ready["user"]["id"] == "site-42"
    assert await host_call(server, token) == 200
    identity = server.node.signer.verify(token)
    assert (identity.organization, identity.country, identity.role.value) == ("Kenya Red Cross", "KE", "host")


async def test_an_es256_token_is_verified_with_the_key_its_kid_names_in_a_jwks(make_server, tmp_path, ec_keys):
    other = ec.generate_private_key(ec.SECP256R1())
    keys = [
        json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())) | {"kid": kid, "use": "sig"}
        for kid, key in (("old", other), ("current", ec_keys.private))
    ]
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": keys}))
    server = await make_server(auth={"algorithm": "ES256", "jwks": str(tmp_path / "jwks.json")})
    good = jwt.encode(claims(role="delegate"), ec_keys.private_pem, algorithm="ES256", headers={"kid": "current"})
    assert (await authenticated(server, good))["user"]["role"] == "delegate"
    wrong_kid = jwt.encode(claims(), ec_keys.private_pem, algorithm="ES256", headers={"kid": "old"})
    assert "signature" in await refused(server, wrong_kid)
    unknown_kid = jwt.encode(claims(), ec_keys.private_pem, algorithm="ES256", headers={"kid": "nope"})
    assert "kid" in await refused(server, unknown_kid)


FORGED_HS = {
    "alg none": lambda: unsigned(claims()),
    "another secret": lambda: jwt.encode(claims(), "not-the-server-secret-but-long-enough!", algorithm="HS256"),
    "expired": lambda: jwt.encode(claims(exp=int(time.time()) - 120), TEST_SECRET, algorithm="HS256"),
    "no exp": lambda: jwt.encode(claims(exp=None), TEST_SECRET, algorithm="HS256"),
    "no sub": lambda: jwt.encode(claims(sub=None), TEST_SECRET, algorithm="HS256"),
    "no name": lambda: jwt.encode(claims(name=None), TEST_SECRET, algorithm="HS256"),
    "no role": lambda: jwt.encode(claims(role=None), TEST_SECRET, algorithm="HS256"),
    "unknown role": lambda: jwt.encode(claims(role="admin"), TEST_SECRET, algorithm="HS256"),
    "rooms not a list": lambda: jwt.encode(claims(rooms="plenary"), TEST_SECRET, algorithm="HS256"),
    "tampered claims": lambda: tamper(jwt.encode(claims(role="delegate"), TEST_SECRET, algorithm="HS256")),
    "not a jwt": lambda: "garbage",
}


def tamper(token: str) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{b64(json.dumps(claims(role='host')).encode())}.{signature}"


@pytest.mark.parametrize("kind", FORGED_HS)
async def test_forged_hs256_tokens_are_refused_on_the_socket_and_over_http(server, kind):
    token = FORGED_HS[kind]()
    message = await refused(server, token)
    assert message and "POST /api/session" in message
    assert await host_call(server, token) == 401


async def test_expired_says_so_and_a_little_clock_skew_is_forgiven(server):
    assert "expired" in await refused(server, jwt.encode(claims(exp=int(time.time()) - 120), TEST_SECRET))
    assert await authenticated(server, jwt.encode(claims(exp=int(time.time()) - 5), TEST_SECRET))


@pytest.mark.parametrize("kind", ["hs256 signed with the public key", "alg none", "another rsa key", "hs256 secret"])
async def test_algorithm_confusion_is_refused_by_an_rs256_server(make_server, rsa_keys, rsa_public_file, kind):
    server = await make_server(auth={"algorithm": "RS256", "public_key": str(rsa_public_file)})
    token = {
        "hs256 signed with the public key": lambda: hs256_with(rsa_keys.public_pem, claims()),
        "alg none": lambda: unsigned(claims()),
        "another rsa key": lambda: jwt.encode(
            claims(),
            KeyPair(rsa.generate_private_key(public_exponent=65537, key_size=2048)).private_pem,
            algorithm="RS256",
        ),
        "hs256 secret": lambda: jwt.encode(claims(), TEST_SECRET, algorithm="HS256"),
    }[kind]()
    await refused(server, token)
    assert await host_call(server, token) == 401


async def test_audience_and_issuer_are_checked_when_configured(make_server):
    server = await make_server(auth={"audience": "babelroom", "issuer": "https://summit.example"})
    good = claims(aud="babelroom", iss="https://summit.example")
    assert await authenticated(server, jwt.encode(good, TEST_SECRET))
    assert "aud" in await refused(server, jwt.encode(good | {"aud": "another-app"}, TEST_SECRET))
    assert "iss" in await refused(server, jwt.encode(good | {"iss": "https://evil.example"}, TEST_SECRET))
    assert "aud" in await refused(server, jwt.encode(claims(iss="https://summit.example"), TEST_SECRET))
    own = jwt.decode(server.token("Ada"), TEST_SECRET, algorithms=["HS256"], audience="babelroom")
    assert own["iss"] == "https://summit.example"


async def test_a_verify_only_server_says_where_tokens_come_from(make_server, rsa_public_file, tmp_path):
    server = await make_server(auth={"algorithm": "RS256", "public_key": str(rsa_public_file)})
    async with server.http() as http:
        response = await http.post("/api/session", json={"name": "Ada", "lang": "en"})
    assert response.status_code == 501 and "private_key" in response.json()["message"]
    result = babelroom(
        "token",
        "--role",
        "host",
        "--name",
        "Ada",
        env={
            "BABELROOM_AUTH_ALGORITHM": "RS256",
            "BABELROOM_AUTH_PUBLIC_KEY": str(rsa_public_file),
            "BABELROOM_SERVER_DATA_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 2 and "mint tokens there" in result.stderr and not result.stdout


async def test_with_a_private_key_the_server_mints_rs256_tokens_too(make_server, rsa_keys, rsa_public_file, tmp_path):
    private = tmp_path / "private.pem"
    private.write_bytes(rsa_keys.private_pem)
    auth = {"algorithm": "RS256", "public_key": str(rsa_public_file), "private_key": str(private)}
    server = await make_server(auth=auth)
    async with server.http() as http:
        body = (await http.post("/api/session", json={"name": "Ada", "lang": "en"})).json()
    assert jwt.decode(body["token"], rsa_keys.public_pem, algorithms=["RS256"])["name"] == "Ada"
    assert (await authenticated(server, body["token"]))["user"]["name"] == "Ada"
    result = babelroom(
        "token",
        "--role",
        "moderator",
        "--name",
        "Mo",
        "--organization",
        "UNHCR",
        "--country",
        "jo",
        env={f"BABELROOM_AUTH_{key.upper()}": value for key, value in auth.items()}
        | {"BABELROOM_SERVER_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    minted = jwt.decode(result.stdout.strip(), rsa_keys.public_pem, algorithms=["RS256"])
    assert (minted["role"], minted["organization"], minted["country"]) == ("moderator", "UNHCR", "JO")


@pytest.mark.parametrize(
    "env, says",
    [
        ({"BABELROOM_AUTH_ALGORITHM": "RS256"}, "public_key"),
        ({"BABELROOM_AUTH_ALGORITHM": "RS256", "BABELROOM_AUTH_PUBLIC_KEY": "/nonexistent.pem"}, "auth.public_key"),
        ({"BABELROOM_AUTH_ALGORITHM": "HS384"}, "auth.algorithm"),
    ],
)
def test_unusable_key_settings_stop_the_start_with_one_line(env, says, tmp_path):
    result = babelroom("serve", env={**env, "BABELROOM_SERVER_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], result.stderr


@pytest.mark.parametrize(
    "email, verdict",
    [("Li.Wei@Example.cn", "li.wei@example.cn"), (7, None), ("no-at-sign", None), ("x" * 120 + "@example.org", None)],
)
def test_the_email_claim_is_an_address_kept_in_lower_case(email, verdict):
    from chat.tokens import TokenError, TokenSigner

    secret = "s" * 40
    token = jwt.encode(
        {"sub": "site-1", "name": "Li", "role": "delegate", "exp": int(time.time()) + 60, "email": email},
        secret,
        algorithm="HS256",
    )
    if verdict is None:
        with pytest.raises(TokenError, match="'email' claim"):
            TokenSigner(secret).verify(token)
    else:
        assert TokenSigner(secret).verify(token).email == verdict


def test_a_minted_identity_is_the_one_its_token_verifies_as():
    """POST /api/session builds the identity with the token (issue_with_identity) instead of
    verifying what it just signed: both must say the same."""
    signer = TokenSigner(TEST_SECRET)
    token, identity = signer.issue_with_identity(
        name=" Ada ",
        role=Role.MODERATOR,
        lang="pt-BR",
        ttl=600,
        user_id="u_ada",
        rooms=("plenary", "climate"),
        organization="WHO",
        country="ch",
        bio="Epidemiologist",
        anonymous=True,
        session="s_abc",
        email="ada@example.org",
    )
    assert identity == signer.verify(token)
    assert signer.issue_with_identity(name="Bo", role=Role.DELEGATE, lang="en", ttl=60)[1].name == "Bo"
