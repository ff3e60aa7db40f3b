"""Real tokens, real signatures: the embedded issuer and an OIDC JWKS served over real HTTP."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from lfr_platform.auth import EmbeddedIssuer, Role, TokenVerifier
from lfr_platform.errors import Unauthenticated
from lfr_platform.settings import ServiceSettings


@pytest.fixture
def issuer(tmp_path: Path) -> EmbeddedIssuer:
    return EmbeddedIssuer.load_or_create(tmp_path / "auth" / "dev.pem", "lfr-dev", "lfr")


async def test_issued_token_verifies_to_principal(issuer: EmbeddedIssuer) -> None:
    token = issuer.issue_token("pc-1234", Role.OPERATOR, 600, name="PC Smith")
    principal = await issuer.verifier().verify(token)
    assert (principal.subject, principal.role, principal.name) == ("pc-1234", Role.OPERATOR, "PC Smith")


async def test_key_file_is_shared_by_every_process_of_one_data_dir(tmp_path: Path) -> None:
    settings = ServiceSettings(data_dir=tmp_path)
    minted = EmbeddedIssuer.load_or_create(
        settings.dev_key_path, settings.auth.issuer, settings.auth.audience
    )
    verifier = TokenVerifier.from_settings(settings)  # as another service process would build it
    assert (await verifier.verify(minted.issue_token("a", "admin"))).role is Role.ADMIN
    assert oct(settings.dev_key_path.stat().st_mode & 0o777) == "0o600"


async def test_expired_token_is_refused(issuer: EmbeddedIssuer) -> None:
    token = issuer.issue_token("a", "admin", ttl=-120)
    with pytest.raises(Unauthenticated, match="expired"):
        await issuer.verifier(leeway_seconds=30).verify(token)


async def test_other_issuer_key_wrong_audience_and_tampering_are_refused(
    issuer: EmbeddedIssuer, tmp_path: Path
) -> None:
    stranger = EmbeddedIssuer.load_or_create(tmp_path / "other.pem", "lfr-dev", "lfr")
    with pytest.raises(Unauthenticated):
        await issuer.verifier().verify(stranger.issue_token("a", "admin"))
    other_audience = EmbeddedIssuer.load_or_create(tmp_path / "auth" / "dev.pem", "lfr-dev", "elsewhere")
    with pytest.raises(Unauthenticated, match="audience"):
        await issuer.verifier().verify(other_audience.issue_token("a", "admin"))
    header, payload, signature = issuer.issue_token("a", "operator").split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["role"] = "admin"
    forged = ".".join([header, jwt.utils.base64url_encode(json.dumps(claims).encode()).decode(), signature])
    with pytest.raises(Unauthenticated, match="signature"):
        await issuer.verifier().verify(forged)


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "e30.e30."])
async def test_malformed_tokens_are_unauthenticated(issuer: EmbeddedIssuer, token: str) -> None:
    with pytest.raises(Unauthenticated):
        await issuer.verifier().verify(token)


async def test_unsigned_and_symmetric_tokens_are_refused(issuer: EmbeddedIssuer) -> None:
    now = int(time.time())
    claims = {"iss": "lfr-dev", "aud": "lfr", "sub": "a", "role": "admin", "iat": now, "exp": now + 60}
    unsigned = jwt.encode(claims, None, algorithm="none")
    symmetric = jwt.encode(claims, "guessed-secret", algorithm="HS256")
    for token in (unsigned, symmetric):
        with pytest.raises(Unauthenticated):
            await issuer.verifier().verify(token)


@pytest.mark.parametrize("role_claim", [None, "superuser", ["operator", "admin"], []])
async def test_token_needs_exactly_one_known_role(issuer: EmbeddedIssuer, role_claim: object) -> None:
    now = int(time.time())
    claims = {"iss": "lfr-dev", "aud": "lfr", "sub": "a", "iat": now, "exp": now + 60, "role": role_claim}
    token = jwt.encode(claims, issuer._private_key, algorithm="EdDSA", headers={"kid": issuer.kid})
    with pytest.raises(Unauthenticated, match="exactly one LFR role"):
        await issuer.verifier().verify(token)


def test_jwks_publishes_the_public_key_only(issuer: EmbeddedIssuer) -> None:
    (key,) = issuer.jwks()["keys"]
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["kid"] == issuer.kid
    assert "d" not in key


# --- OIDC: a real JWKS endpoint over HTTP, fetched by PyJWKClient ------------------------------------


@pytest.fixture
def oidc_provider() -> Iterator[tuple[str, ec.EllipticCurvePrivateKey, list[int]]]:
    private_key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(ECAlgorithm.to_jwk(private_key.public_key()))
    jwk.update({"kid": "idp-key-1", "alg": "ES256", "use": "sig"})
    body = json.dumps({"keys": [jwk]}).encode()
    fetches: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            fetches.append(1)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks", private_key, fetches
    server.shutdown()
    server.server_close()


def _idp_token(private_key: ec.EllipticCurvePrivateKey, **overrides: object) -> str:
    now = int(time.time())
    claims = {
        "iss": "https://idp.force.example",
        "aud": "lfr-api",
        "sub": "user-42",
        "name": "Insp. Jones",
        "role": "authorising_officer",
        "iat": now,
        "exp": now + 300,
        **overrides,
    }
    return jwt.encode(claims, private_key, algorithm="ES256", headers={"kid": "idp-key-1"})


async def test_oidc_mode_verifies_against_the_jwks_and_caches_it(oidc_provider, tmp_path: Path) -> None:
    jwks_url, private_key, fetches = oidc_provider
    settings = ServiceSettings(
        data_dir=tmp_path,
        auth={
            "mode": "oidc",
            "issuer": "https://idp.force.example",
            "audience": "lfr-api",
            "jwks_url": jwks_url,
        },
    )
    verifier = TokenVerifier.from_settings(settings)
    for _ in range(3):
        principal = await verifier.verify(_idp_token(private_key))
        assert principal.role is Role.AUTHORISING_OFFICER and principal.name == "Insp. Jones"
    assert len(fetches) == 1
    with pytest.raises(Unauthenticated, match="issued by"):
        await verifier.verify(_idp_token(private_key, iss="https://evil.example"))
    impostor = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(Unauthenticated, match="signature"):
        await verifier.verify(_idp_token(impostor))
    assert not (tmp_path / "auth").exists()  # oidc mode never creates a development key
