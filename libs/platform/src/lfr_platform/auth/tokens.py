"""Bearer-token verification: an embedded development issuer, or an OIDC provider's JWKS.

Both modes verify the same way (asymmetric signature, issuer, audience, expiry with a small leeway);
only where the public key comes from differs. Tokens carry one LFR role in a claim (`role` by default).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from lfr_platform.auth.principal import ROLES, Principal, Role
from lfr_platform.errors import Unauthenticated
from lfr_platform.files import write_file_once
from lfr_platform.settings import ServiceSettings

KeyResolver = Callable[[str], Awaitable[Any]]
_ROLE_VALUES = {role.value for role in ROLES}


class TokenVerifier:
    """Turns a bearer token into a `Principal`, or raises `Unauthenticated` saying why."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        algorithms: Sequence[str],
        resolve_key: KeyResolver,
        role_claim: str = "role",
        name_claim: str = "name",
        leeway_seconds: int = 30,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self._algorithms = list(algorithms)
        self._resolve_key = resolve_key
        self._role_claim = role_claim
        self._name_claim = name_claim
        self._leeway = leeway_seconds

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> TokenVerifier:
        auth = settings.auth
        if auth.mode == "embedded":
            return EmbeddedIssuer.load_or_create(settings.dev_key_path, auth.issuer, auth.audience).verifier(
                leeway_seconds=auth.leeway_seconds
            )
        assert auth.jwks_url is not None  # AuthSettings validation guarantees it in oidc mode
        client = jwt.PyJWKClient(auth.jwks_url, cache_keys=True, lifespan=max(auth.jwks_cache_seconds, 1))

        async def resolve_from_jwks(token: str) -> Any:
            # PyJWKClient fetches with blocking urllib; keep it off the event loop.
            return (await asyncio.to_thread(client.get_signing_key_from_jwt, token)).key

        return cls(
            issuer=auth.issuer,
            audience=auth.audience,
            algorithms=auth.algorithms,
            resolve_key=resolve_from_jwks,
            role_claim=auth.role_claim,
            name_claim=auth.name_claim,
            leeway_seconds=auth.leeway_seconds,
        )

    async def verify(self, token: str) -> Principal:
        try:
            key = await self._resolve_key(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=self._algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("bearer token has expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated(f"bearer token is not for audience {self.audience!r}") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated(f"bearer token was not issued by {self.issuer!r}") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("bearer token signature is invalid") from None
        except jwt.MissingRequiredClaimError as error:
            raise Unauthenticated(f"bearer token lacks the {error.claim!r} claim") from None
        except jwt.PyJWKClientError as error:
            raise Unauthenticated(f"bearer token signing key not found: {error}") from None
        except jwt.InvalidTokenError as error:
            raise Unauthenticated(f"bearer token is invalid: {error}") from None
        return self._principal(claims)

    def _principal(self, claims: dict[str, Any]) -> Principal:
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated("bearer token has an empty subject")
        raw = claims.get(self._role_claim)
        candidates = raw if isinstance(raw, list) else [raw]
        roles = [value for value in candidates if isinstance(value, str) and value in _ROLE_VALUES]
        if len(roles) != 1:
            raise Unauthenticated(
                f"bearer token must carry exactly one LFR role in claim {self._role_claim!r} "
                f"(one of: {', '.join(_ROLE_VALUES_SORTED)})"
            )
        name = claims.get(self._name_claim)
        return Principal(
            subject=subject, role=Role(roles[0]), name=name if isinstance(name, str) else subject
        )


_ROLE_VALUES_SORTED = tuple(role.value for role in ROLES)


class EmbeddedIssuer:
    """The development issuer of `lfr up`: an Ed25519 key pair kept under the data directory.

    Every service process of one `lfr up` loads the same key file, so a token minted by `lfr token`
    verifies everywhere. Its JWKS is what the gateway serves at `/.well-known/jwks.json`.
    """

    algorithm = "EdDSA"

    def __init__(self, private_key: Ed25519PrivateKey, issuer: str, audience: str) -> None:
        self._private_key = private_key
        self.public_key: Ed25519PublicKey = private_key.public_key()
        self.issuer = issuer
        self.audience = audience
        self.kid = _thumbprint(self.public_key)

    @classmethod
    def load_or_create(cls, path: Path, issuer: str, audience: str) -> EmbeddedIssuer:
        if not path.exists():
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            write_file_once(path, pem)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return cls(key, issuer, audience)

    def issue_token(
        self, user: str, role: Role | str, ttl: timedelta | int = 3600, *, name: str | None = None
    ) -> str:
        role = Role(role)
        seconds = int(ttl.total_seconds()) if isinstance(ttl, timedelta) else int(ttl)
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user,
            "name": name or user,
            "role": role.value,
            "iat": now,
            "nbf": now,
            "exp": now + seconds,
            "jti": secrets.token_hex(12),
        }
        return jwt.encode(claims, self._private_key, algorithm=self.algorithm, headers={"kid": self.kid})

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        jwk = json.loads(OKPAlgorithm.to_jwk(self.public_key))
        jwk.update({"kid": self.kid, "alg": self.algorithm, "use": "sig"})
        return {"keys": [jwk]}

    def verifier(self, *, leeway_seconds: int = 30) -> TokenVerifier:
        async def resolve(token: str) -> Any:
            kid = jwt.get_unverified_header(token).get("kid")
            if kid not in (None, self.kid):
                raise jwt.InvalidSignatureError("unknown key id")
            return self.public_key

        return TokenVerifier(
            issuer=self.issuer,
            audience=self.audience,
            algorithms=[self.algorithm],
            resolve_key=resolve,
            leeway_seconds=leeway_seconds,
        )


def _thumbprint(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()[:22]
