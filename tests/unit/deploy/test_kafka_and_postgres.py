"""Kafka topics and per-service ACLs, and the per-service databases, agree with docs/architecture.md."""

from __future__ import annotations

from typing import Any

from .conftest import K8S, architecture_topics, load_documents

Manifest = dict[str, Any]


def container_env(resources: list[Manifest], service: str) -> dict[str, Manifest]:
    deployment = by_kind(resources, "Deployment")[service]
    return {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}


def by_kind(resources: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def test_every_architecture_topic_is_a_kafka_topic_and_frames_expire_within_a_minute(prod_resources) -> None:
    declared = by_kind(prod_resources, "KafkaTopic")
    topics = {t["spec"].get("topicName", name): t for name, t in declared.items()}
    expected = architecture_topics()
    assert "lfr.ingest.frames.v1" in expected and len(expected) >= 7
    for topic in expected:
        assert topic in topics, f"no KafkaTopic for {topic}"
    frames = topics["lfr.ingest.frames.v1"]["spec"]["config"]
    assert int(frames["retention.ms"]) <= 60_000
    assert int(frames["segment.ms"]) <= 60_000, "retention deletes whole segments: they must roll quickly"
    kafka = by_kind(prod_resources, "Kafka")["lfr-kafka"]["spec"]["kafka"]
    assert kafka["config"]["auto.create.topics.enable"] is False
    assert int(kafka["config"]["log.retention.check.interval.ms"]) <= 60_000


def test_kafka_listeners_are_tls_with_client_authentication(prod_resources) -> None:
    kafka = by_kind(prod_resources, "Kafka")["lfr-kafka"]["spec"]["kafka"]
    assert kafka["listeners"], "no listener"
    for listener in kafka["listeners"]:
        assert listener["tls"] is True, listener["name"]
        assert listener["authentication"]["type"] in ("scram-sha-512", "tls"), listener["name"]
    assert kafka["authorization"]["type"] == "simple"


def test_each_service_user_may_write_exactly_what_it_produces_and_read_exactly_what_it_consumes(
    services: list[str], prod_resources
) -> None:
    users = by_kind(prod_resources, "KafkaUser")
    topics = architecture_topics()
    for service in services:
        user = users.get(f"lfr-{service}")
        assert user is not None, f"no KafkaUser for {service}"
        literal = [a for a in user["spec"]["authorization"]["acls"]
                   if a["resource"]["type"] == "topic" and a["resource"]["patternType"] == "literal"]
        writes = {a["resource"]["name"] for a in literal if "Write" in a["operations"]}
        reads = {a["resource"]["name"] for a in literal if "Read" in a["operations"]}
        assert writes == {t for t, (producer, _) in topics.items() if producer == service}, service
        assert reads == {t for t, (_, consumers) in topics.items() if service in consumers}, service
        acls = user["spec"]["authorization"]["acls"]
        for acl in [a for a in acls if a["resource"]["patternType"] == "prefix"]:
            assert acl["resource"]["name"] in (f"lfr.dlq.{service}", service), f"{service}: broad ACL {acl}"
        env = container_env(prod_resources, service)
        assert env["LFR_KAFKA__SASL_USERNAME"]["value"] == f"lfr-{service}"
        assert env["LFR_KAFKA__SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == f"lfr-{service}"


def test_each_service_has_its_own_database_and_role(services: list[str], prod_resources) -> None:
    cluster = by_kind(prod_resources, "Cluster")["lfr-pg"]["spec"]
    roles = {r["name"]: r for r in cluster["managed"]["roles"]}
    databases = {d["spec"]["name"]: d["spec"] for d in by_kind(prod_resources, "Database").values()}
    assert "hostnossl all all 0.0.0.0/0 reject" in cluster["postgresql"]["pg_hba"]
    for service in services:
        role = roles[f"lfr_{service}"]
        assert role["passwordSecret"]["name"] == f"pg-{service}" and not role.get("superuser")
        assert databases[f"lfr_{service}"]["owner"] == f"lfr_{service}"
        env = container_env(prod_resources, service)
        url = env["LFR_DATABASE_URL"]["value"]
        assert url.startswith(f"postgresql+asyncpg://lfr_{service}:$(LFR_DATABASE_PASSWORD)@")
        assert url.endswith(f"/lfr_{service}?ssl=verify-full")


def test_postgres_backups_go_to_the_object_store_with_credentials_by_reference(prod_resources) -> None:
    store = by_kind(prod_resources, "ObjectStore")["lfr-pg-backups"]["spec"]["configuration"]
    for credential in store["s3Credentials"].values():
        assert set(credential) == {"name", "key"}
    scheduled = by_kind(prod_resources, "ScheduledBackup")
    assert any(b["spec"]["cluster"]["name"] == "lfr-pg" and b["spec"]["method"] == "plugin"
               for b in scheduled.values())
    # The WAL archiver arrives through the prod overlay's patch on the Cluster.
    patch = load_documents(K8S / "overlays" / "prod" / "patches" / "postgres-backups.yaml")[0]
    (plugin,) = patch["spec"]["plugins"]
    assert plugin["isWALArchiver"] is True
    assert plugin["parameters"]["barmanObjectName"] == "lfr-pg-backups"
