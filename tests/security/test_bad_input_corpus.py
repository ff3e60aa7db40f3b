"""The bad-input corpus against every service's body-taking operations, and the hardened image intake.

Each hostile input must get a 4xx in the one error shape with a message that says what is wrong, sent with
a valid token of a permitted role (so it reaches parsing, not just the 403); afterwards the service still
answers /healthz and a permitted read. Operations are discovered from each app's OpenAPI document: a new
upload endpoint (watchlist images, say) is exercised automatically, as multipart when it declares files.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from lfr_platform.images import ImageRefused, accept_image

from tests.security import corpus
from tests.security._asgi import Reply, request
from tests.security.conftest import SERVICES, Operation, Service, assert_error_shape, concrete, operations

# Service bugs found here: (service, "METHOD /path", case) -> reason. Strict, like xfail(strict=True): a
# test xfails while exactly these fail, and fails when one is fixed (remove it) or a new one appears.
KNOWN_CORPUS: dict[tuple[str, str, str], str] = {}
KNOWN_BOUNDARY: dict[tuple[str, str, str], str] = {}


def _check_4xx(reply: Reply, case: str, problems: list[str]) -> None:
    if not 400 <= reply.status < 500:
        problems.append(f"{case}: {reply.status} {reply.body[:160]!r}")
        return
    try:
        error = assert_error_shape(reply, reply.status)
    except (AssertionError, ValueError) as failed:
        problems.append(f"{case}: not the error shape: {failed}")
        return
    if len(error["message"]) < 8:
        problems.append(f"{case}: unclear message {error['message']!r}")


def _content(op: Operation) -> dict[str, Any]:
    return op.spec.get("requestBody", {}).get("content", {})


def _is_file(prop: dict[str, Any]) -> bool:
    items = prop.get("items", {}) if prop.get("type") == "array" else prop
    return items.get("format") == "binary" or "contentMediaType" in items


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, str, bytes]]) -> tuple[str, bytes]:
    boundary = f"lfr-{uuid.uuid4().hex}"
    out = bytearray()
    for name, value in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    for name, (filename, content_type, data) in files.items():
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", bytes(out)


def _cases(op: Operation, components: dict[str, Any]) -> list[tuple[str, dict[str, str], Any]]:
    """(case name, headers, body) for one body-taking operation."""
    cases: list[tuple[str, dict[str, str], Any]] = []
    content = _content(op)
    form = content.get("multipart/form-data")
    if form is not None:
        schema = corpus.resolve(form.get("schema", {}), components)
        props = {k: corpus.resolve(v, components) for k, v in schema.get("properties", {}).items()}
        file_fields = [k for k, v in props.items() if _is_file(v)]
        text_fields = {k: "security corpus" for k in props if k not in file_fields}
        for sample in corpus.image_corpus():
            files = {
                f: (f"photo-{i}.jpg", sample.content_type, sample.body) for i, f in enumerate(file_fields)
            }
            content_type, body = _multipart(text_fields, files)
            cases.append((f"multipart {sample.name}", {"content-type": content_type}, body))
        cases.append(("multipart with a broken boundary", {"content-type": "multipart/form-data; boundary=x"},
                      b"--y\r\nnonsense"))  # fmt: skip
    for sample in [*corpus.json_corpus(), *corpus.image_corpus()]:
        cases.append((f"raw {sample.name}", {"content-type": sample.content_type}, sample.body))
    json_schema = content.get("application/json", {}).get("schema")
    if json_schema is not None:
        wrong = corpus.wrong_types(json_schema, components)
        if wrong is not None:
            cases.append(
                ("JSON with wrong types", {"content-type": "application/json"}, json.dumps(wrong).encode())
            )
    cases.append(("50 MB chunked body", {"content-type": "application/json"}, corpus.fifty_megabytes()))
    declared = {"content-type": "application/json", "content-length": str(corpus.FIFTY_MB)}
    cases.append(("50 MB declared", declared, corpus.fifty_megabytes()))
    return cases


def _outcome(
    service: str, problems: list[str], cases_run: int, known_bugs: dict[tuple[str, str, str], str]
) -> None:
    assert cases_run > 0
    known = {f"{op} {case}": reason for (svc, op, case), reason in known_bugs.items() if svc == service}
    failing = {p.split(": ", 1)[0] for p in problems}
    new = [p for p in problems if p.split(": ", 1)[0] not in known]
    assert not new, f"{service}:\n" + "\n".join(new)
    fixed = sorted(set(known) - failing)
    assert not fixed, f"{service}: fixed, remove from KNOWN: {fixed}"
    if known:
        pytest.xfail("; ".join(known.values()))


async def _still_healthy(service: Service) -> None:
    assert (await request(service.app, "GET", "/healthz")).status == 200
    reads = [op for op in operations(service.app) if op.method == "GET" and op.permission not in (None, "*")]
    for op in reads[:3]:
        role = op.permitted_role()
        assert role is not None
        path, query = concrete(op)
        reply = await request(service.app, "GET", path, query=query, headers=service.bearer(role))
        assert reply.status < 500, (op.label, reply.status)


def test_the_image_intake_refuses_every_hostile_image_by_content() -> None:
    assert accept_image(corpus.jpeg()).width == 64  # the intake does accept a real photo
    for sample in corpus.image_corpus():
        with pytest.raises(ImageRefused) as refused:
            accept_image(sample.body)
        assert len(refused.value.message) > 8, sample.name


@pytest.mark.parametrize("service", SERVICES, indirect=True)
async def test_every_body_endpoint_answers_the_corpus_with_a_clear_4xx(service: Service) -> None:
    components = service.app.openapi().get("components", {})
    body_ops = [op for op in operations(service.app) if _content(op) and op.permission is not None]
    problems: list[str] = []
    run = 0
    for op in body_ops:
        role = op.permitted_role()
        assert role is not None, op.label
        path, query = concrete(op)
        for case, headers, body in _cases(op, components):
            reply = await request(service.app, op.method, path, query=query, body=body,
                                  headers={**service.bearer(role), **headers})  # fmt: skip
            run += 1
            _check_4xx(reply, f"{op.label} {case}", problems)
    if not body_ops:  # still: the body limit holds on a service whose API takes no bodies yet
        reply = await request(service.app, "POST", "/healthz", body=corpus.fifty_megabytes())
        run += 1
        _check_4xx(reply, "POST /healthz 50 MB", problems)
    await _still_healthy(service)
    _outcome(service.name, problems, run, KNOWN_CORPUS)


BOUNDARY_INTEGERS = ("9223372036854775808", "-9223372036854775809", "1e400", "12abc")


@pytest.mark.parametrize("service", SERVICES, indirect=True)
async def test_path_and_query_parameters_of_the_wrong_type_or_size_get_a_4xx(service: Service) -> None:
    problems: list[str] = []
    run = 0
    for op in operations(service.app):
        role = op.permitted_role()
        if op.permission is None or role is None:
            continue
        base_path, base_query = concrete(op)
        for parameter in op.spec.get("parameters", []):
            if parameter["in"] not in ("path", "query"):
                continue
            schema = parameter.get("schema", {})
            kinds = {s.get("type") for s in schema.get("anyOf", [schema])}
            values = BOUNDARY_INTEGERS if kinds & {"integer", "number"} else ("x" * 5000,)
            for value in values:
                path, query = base_path, dict(base_query)
                if parameter["in"] == "path":
                    path = op.path
                    for other in op.spec.get("parameters", []):
                        if other["in"] == "path":
                            filler = (
                                value if other is parameter else concrete_value(op, other["name"], base_path)
                            )
                            path = path.replace("{" + other["name"] + "}", filler)
                else:
                    query[parameter["name"]] = value
                reply = await request(service.app, op.method, path, query=query, headers=service.bearer(role))
                run += 1
                case = f"{op.label} {parameter['in']} {parameter['name']}"
                if reply.status >= 500:
                    problems.append(f"{case}: {value[:24]} -> {reply.status} {reply.body[:120]!r}")
    await _still_healthy(service)
    if run:
        _outcome(service.name, problems, run, KNOWN_BOUNDARY)


def concrete_value(op: Operation, name: str, concrete_path: str) -> str:
    """The made-up value `concrete` put in for path parameter `name`."""
    template = op.path.strip("/").split("/")
    actual = concrete_path.strip("/").split("/")
    return next(a for t, a in zip(template, actual, strict=True) if t == "{" + name + "}")
