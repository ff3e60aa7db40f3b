"""Role x operation: every OpenAPI operation of every service, called as every role and with no token.

Expectations come from `route_permissions(app)` (what each route declares) and the one matrix in
`lfr_platform.auth.policy`: a role without the permission gets 403, no token gets 401, both in the one
error shape; a role with it never gets 401/403 (404/422 are fine: the ids and bodies are made up).
"""

from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from lfr_platform.auth import ROLES, EmbeddedIssuer

from tests.security._asgi import request
from tests.security.conftest import (
    SERVICES,
    UNMAPPED,
    Service,
    assert_error_shape,
    concrete,
    hidden_routes,
    is_public,
    operations,
)

pytestmark = pytest.mark.parametrize("service", SERVICES, indirect=True)


async def test_every_operation_has_a_permission_or_is_deliberately_public(service: Service) -> None:
    ops = operations(service.app)
    assert ops, f"{service.name}: no operations in its OpenAPI document"
    unmapped = [op.label for op in ops if op.permission == UNMAPPED]
    assert not unmapped, f"{service.name}: OpenAPI operations with no route: {unmapped}"
    unprotected = [op.label for op in ops if op.permission is None and not is_public(op.path)]
    assert not unprotected, f"{service.name}: operations without require(<permission>): {unprotected}"
    hidden = [
        f"{m} {p}" for (m, p), perm in hidden_routes(service.app).items() if perm is None and not is_public(p)
    ]
    assert not hidden, f"{service.name}: undocumented routes without a permission: {hidden}"


async def test_each_role_gets_exactly_what_the_matrix_gives_it(service: Service) -> None:
    problems: list[str] = []
    checked = 0
    for op in operations(service.app):
        if op.permission is None:
            continue  # public (asserted above to be on the allow-list)
        path, query = concrete(op)
        anonymous = await request(service.app, op.method, path, query=query)
        checked += 1
        if anonymous.status != 401:
            problems.append(f"{op.label} without a token: {anonymous.status}")
        else:
            assert_error_shape(anonymous, 401, "unauthenticated")
            assert anonymous.headers.get("www-authenticate", "").startswith("Bearer"), op.label
        for role in ROLES:
            reply = await request(service.app, op.method, path, query=query, headers=service.bearer(role))
            checked += 1
            if op.allows(role):
                if reply.status in (401, 403) or reply.status >= 500:
                    problems.append(
                        f"{op.label} as {role.value} (permitted): {reply.status} {reply.body[:200]!r}"
                    )
            elif reply.status != 403:
                problems.append(f"{op.label} as {role.value} (not permitted): {reply.status}")
            else:
                error = assert_error_shape(reply, 403, "forbidden")
                assert error["details"].get("permission") == op.permission, (op.label, error)
    assert not problems, f"{service.name}: " + "\n".join(problems)
    assert checked >= len(ROLES) + 1 or not any(op.permission for op in operations(service.app))


async def test_bad_tokens_are_refused_with_401(service: Service) -> None:
    protected = [op for op in operations(service.app) if op.permission not in (None, "*")]
    if not protected:
        pytest.skip(f"{service.name} has no protected operation yet")
    op = protected[0]
    role = op.permitted_role()
    assert role is not None, f"{op.label}: no role holds {op.permission}"
    path, query = concrete(op)
    auth = service.settings.auth
    stranger = EmbeddedIssuer(Ed25519PrivateKey.generate(), auth.issuer, auth.audience)
    now = int(time.time())
    claims = {
        "iss": auth.issuer,
        "aud": auth.audience,
        "sub": "x",
        "role": role.value,
        "iat": now,
        "exp": now + 600,
    }
    bad_tokens = {
        "expired": service.issuer.issue_token("x", role, timedelta(seconds=-3600)),
        "foreign key": stranger.issue_token("x", role),
        "wrong audience": EmbeddedIssuer(service.issuer._private_key, auth.issuer, "other").issue_token(
            "x", role
        ),
        "wrong issuer": EmbeddedIssuer(service.issuer._private_key, "evil", auth.audience).issue_token(
            "x", role
        ),
        "alg none": jwt.encode(claims, None, algorithm="none"),
        "HS256 with the public key as secret": jwt.encode(
            claims, "a-guessed-shared-secret-of-32-bytes-or-more", algorithm="HS256"
        ),
        "no role": jwt.encode(
            {**claims, "role": "superuser"}, service.issuer._private_key, algorithm="EdDSA"
        ),
        "two roles": jwt.encode(
            {**claims, "role": ["admin", "operator"]}, service.issuer._private_key, algorithm="EdDSA"
        ),
        "garbage": "not.a.jwt",
    }
    for what, token in bad_tokens.items():
        reply = await request(
            service.app, op.method, path, query=query, headers={"Authorization": f"Bearer {token}"}
        )
        assert reply.status == 401, (what, op.label, reply.status, reply.body[:200])
        assert_error_shape(reply, 401, "unauthenticated")
    basic = await request(service.app, op.method, path, query=query, headers={"Authorization": "Basic eDp5"})
    assert_error_shape(basic, 401, "unauthenticated")
