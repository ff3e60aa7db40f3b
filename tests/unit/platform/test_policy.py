from lfr_platform.auth import PERMISSIONS, ROLES, Role, is_allowed, permissions_of, render_markdown
from lfr_platform.auth.policy import NO_BIOMETRIC_ACCESS


def test_oversight_and_admin_never_receive_biometric_media() -> None:
    biometric = [p for p in PERMISSIONS.values() if p.biometric]
    assert {p.name for p in biometric} == {"alerts.view_media", "watchlists.view_media"}
    for permission in biometric:
        assert not (permission.roles & NO_BIOMETRIC_ACCESS), permission.name


def test_operators_cannot_change_thresholds_deployments_or_watchlists() -> None:
    allowed = set(permissions_of(Role.OPERATOR))
    assert allowed == {
        "deployments.read",
        "inference.read",
        "cameras.read",
        "ingest.read",
        "alerts.read",
        "alerts.view_media",
        "alerts.adjudicate",
    }


def test_governance_decisions_have_the_narrow_roles_the_domain_gives_them() -> None:
    assert PERMISSIONS["deployments.authorise"].roles == {Role.AUTHORISING_OFFICER}
    assert PERMISSIONS["deployments.halt"].roles == {Role.SILVER_COMMANDER}
    assert PERMISSIONS["watchlists.add_entry"].roles == {Role.WATCHLIST_MANAGER}
    assert PERMISSIONS["alerts.adjudicate"].roles == {Role.OPERATOR}
    assert PERMISSIONS["alerts.record_engagement"].roles == {Role.ENGAGEMENT_OFFICER}
    assert not is_allowed("admin", "deployments.authorise")


def test_every_role_can_do_something_and_every_permission_has_a_role() -> None:
    for role in ROLES:
        assert permissions_of(role), role
    for permission in PERMISSIONS.values():
        assert permission.roles, permission.name
        area, _, action = permission.name.partition(".")
        assert area and action


def test_markdown_matrix_has_a_row_per_permission_and_a_column_per_role() -> None:
    table = render_markdown()
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) == len(PERMISSIONS)
    halt = next(row for row in rows if row.startswith("| `deployments.halt`"))
    assert halt.count("✓") == 1
    assert all(row.count("|") == len(ROLES) + 3 for row in rows)
