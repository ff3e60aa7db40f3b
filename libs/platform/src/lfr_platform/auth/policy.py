"""THE least-privilege matrix: which role may do what. It lives here and nowhere else.

A permission is `<area>.<action>`. Routes declare the one permission they need with
`Depends(require("<permission>"))`; a typo fails at import. Rules that depend on the particular record
(an authorising officer may not authorise a deployment they submitted, nor act as its operator) are
enforced in domain code, which receives the `Principal`.

Design rules the matrix encodes (and tests check):
* oversight and admin never hold a permission that returns biometric media (`biometric=True`);
* operators observe and adjudicate; they cannot change thresholds, deployments or watchlists;
* each governance decision has the narrowest set of roles the domain gives it.
"""

from __future__ import annotations

from dataclasses import dataclass

from lfr_platform.auth.principal import ROLES, Role

AO = Role.AUTHORISING_OFFICER
SILVER = Role.SILVER_COMMANDER
WLM = Role.WATCHLIST_MANAGER
OPERATOR = Role.OPERATOR
ENGAGEMENT = Role.ENGAGEMENT_OFFICER
OVERSIGHT = Role.OVERSIGHT
ADMIN = Role.ADMIN

NO_BIOMETRIC_ACCESS: frozenset[Role] = frozenset({OVERSIGHT, ADMIN})


@dataclass(frozen=True, slots=True)
class Permission:
    name: str
    roles: frozenset[Role]
    description: str
    biometric: bool = False  # the response carries face images, crops or templates


def _p(name: str, roles: set[Role], description: str, *, biometric: bool = False) -> Permission:
    return Permission(name, frozenset(roles), description, biometric)


_ALL = set(ROLES)

PERMISSIONS: dict[str, Permission] = {
    p.name: p
    for p in [
        # deployments: Form 1 and the lifecycle ------------------------------------------------------
        _p("deployments.read", _ALL, "List and read deployments, Form 1 and lifecycle"),
        _p("deployments.create", {SILVER}, "Draft a deployment (Form 1)"),
        _p("deployments.update", {SILVER}, "Amend a draft Form 1 (purpose, zones, cameras, window)"),
        _p("deployments.change_threshold", {SILVER, AO}, "Set or change the face-match threshold"),
        _p("deployments.assess_community_impact", {SILVER}, "Record a community impact (re)assessment"),
        _p("deployments.submit", {SILVER}, "Submit Form 1 for authorisation"),
        _p("deployments.authorise", {AO}, "Authorise a submitted deployment in writing"),
        _p("deployments.reject", {AO}, "Refuse a submitted deployment with reasons"),
        _p("deployments.start", {SILVER}, "Start an authorised deployment within its window"),
        _p("deployments.halt", {SILVER}, "Halt a deployment at once (the Silver Commander runs the day)"),
        _p("deployments.end", {SILVER}, "End a deployment"),
        _p("deployments.review", {SILVER, AO}, "Record the post-deployment review"),
        # watchlists ---------------------------------------------------------------------------------
        _p(
            "watchlists.read",
            {WLM, AO, SILVER, OVERSIGHT},
            "Read watchlists and entries (no images; personal details as a hash)",
        ),
        _p("watchlists.create", {WLM}, "Create a deployment's watchlist"),
        _p("watchlists.add_entry", {WLM}, "Add a person (category, reason, image source and date)"),
        _p("watchlists.remove_entry", {WLM}, "Remove an entry"),
        _p("watchlists.delete", {WLM}, "Delete a watchlist after its deployment"),
        _p("watchlists.view_media", {WLM, AO}, "View watchlist images", biometric=True),
        _p(
            "watchlists.view_personal",
            {WLM, AO},
            "Read an entry's sealed personal details (reason, date of birth, descriptions)",
        ),
        # inference ----------------------------------------------------------------------------------
        _p(
            "inference.read",
            {OPERATOR, SILVER, AO, OVERSIGHT, ADMIN},
            "Pipeline status and faces-processed tallies",
        ),
        _p(
            "inference.read_accuracy",
            {AO, SILVER, OVERSIGHT, ADMIN},
            "Accuracy and demographic performance reports",
        ),
        _p("inference.manage", {ADMIN}, "Load, unload or configure recognition models"),
        # ingest: cameras ----------------------------------------------------------------------------
        _p("cameras.read", {OPERATOR, SILVER, AO, OVERSIGHT, ADMIN}, "List cameras and their health"),
        _p("cameras.register", {ADMIN}, "Register a camera"),
        _p("cameras.update", {ADMIN}, "Change a camera's settings or stream URL"),
        _p("cameras.decommission", {ADMIN}, "Decommission a camera"),
        _p("cameras.attach", {SILVER}, "Attach or detach a camera to a deployment"),
        _p("ingest.read", {OPERATOR, SILVER, ADMIN}, "Ingest status (streams, frame rates, errors)"),
        # alerts -------------------------------------------------------------------------------------
        _p(
            "alerts.read",
            {OPERATOR, ENGAGEMENT, SILVER, AO, OVERSIGHT},
            "List and read alerts (score, entry reference, status; no images)",
        ),
        _p(
            "alerts.view_media",
            {OPERATOR, ENGAGEMENT},
            "View an alert's live crop and watchlist image",
            biometric=True,
        ),
        _p("alerts.adjudicate", {OPERATOR}, "Decide an alert: dismiss, or dispatch an engagement officer"),
        _p("alerts.record_engagement", {ENGAGEMENT}, "Record an engagement and its outcome"),
        _p(
            "alerts.review",
            {SILVER, AO, OVERSIGHT},
            "Review alerts after the deployment (false-alert trends)",
        ),
        # audit --------------------------------------------------------------------------------------
        _p("audit.read", {OVERSIGHT, ADMIN, AO}, "Query the audit ledger"),
        _p("audit.verify", {OVERSIGHT, ADMIN}, "Verify the ledger's hash chain and Merkle proofs"),
        _p("audit.export", {OVERSIGHT}, "Export the ledger and proofs for offline verification"),
        _p("reports.read", {OVERSIGHT, AO, SILVER, ADMIN}, "Effectiveness and transparency reports"),
        # retention ----------------------------------------------------------------------------------
        _p(
            "retention.read",
            {OVERSIGHT, ADMIN, AO, SILVER},
            "Retention policies, holds and deletion receipts",
        ),
        _p("retention.place_hold", {AO, SILVER}, "Hold alert data linked to proceedings"),
        _p("retention.release_hold", {AO}, "Release a hold"),
        _p("retention.set_policy", {ADMIN}, "Configure retention periods"),
        _p("retention.purge", {ADMIN}, "Run deletion of expired data now"),
    ]
}


def permission(name: str) -> Permission:
    try:
        return PERMISSIONS[name]
    except KeyError:
        raise KeyError(f"unknown permission {name!r}; define it in lfr_platform.auth.policy") from None


def is_allowed(role: Role | str, permission_name: str) -> bool:
    return Role(role) in permission(permission_name).roles


def permissions_of(role: Role | str) -> list[str]:
    return sorted(name for name, p in PERMISSIONS.items() if Role(role) in p.roles)


_ROLE_HEADINGS = {
    AO: "AO",
    SILVER: "Silver",
    WLM: "WL mgr",
    OPERATOR: "Operator",
    ENGAGEMENT: "Engagement",
    OVERSIGHT: "Oversight",
    ADMIN: "Admin",
}


def render_markdown() -> str:
    """The matrix as a Markdown table for the README (generated, so the document cannot drift)."""
    header = "| permission | what | " + " | ".join(_ROLE_HEADINGS[r] for r in ROLES) + " |"
    rule = "| --- | --- | " + " | ".join(":---:" for _ in ROLES) + " |"
    rows = [
        f"| `{p.name}` | {p.description}{' (biometric)' if p.biometric else ''} | "
        + " | ".join("✓" if role in p.roles else "" for role in ROLES)
        + " |"
        for p in PERMISSIONS.values()
    ]
    legend = (
        "\nAO = authorising_officer, Silver = silver_commander, WL mgr = watchlist_manager, "
        "Engagement = engagement_officer. Per-record rules (an AO cannot authorise a deployment they "
        "submitted nor be its operator) are enforced in domain code."
    )
    return "\n".join([header, rule, *rows]) + "\n" + legend + "\n"
