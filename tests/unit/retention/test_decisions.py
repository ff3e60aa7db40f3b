"""`due_actions`: what is due for deletion at time T, as a pure function of the facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lfr_retention.domain.decisions import (
    ActionKind,
    CropFacts,
    DeploymentFacts,
    HoldFacts,
    RetentionFacts,
    due_actions,
)
from lfr_retention.domain.policy import RetentionPolicy

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
END = T0 + timedelta(hours=8)
POLICY = RetentionPolicy()


def facts(
    *,
    ended: datetime | None = END,
    holds: tuple[HoldFacts, ...] = (),
    done: frozenset[str] = frozenset(),
    crops: tuple[CropFacts, ...] | None = None,
) -> RetentionFacts:
    return RetentionFacts(
        deployments={"dep-1": DeploymentFacts("dep-1", ended)},
        crops=crops
        if crops is not None
        else (
            CropFacts("alert_media/dep-1/a", "dep-1", T0 + timedelta(hours=1), "alert-a"),
            CropFacts("alert_media/dep-1/b", "dep-1", T0 + timedelta(hours=2), "alert-b"),
        ),  # fmt: skip
        watchlist_blobs={"dep-1": ("img-1", "tpl-1")},
        holds=holds,
        done=done,
    )


def ids(at: datetime, f: RetentionFacts) -> list[str]:
    return sorted(a.receipt_id for a in due_actions(f, POLICY, at))


def test_nothing_is_due_while_a_deployment_runs() -> None:
    assert ids(T0 + timedelta(hours=3), facts(ended=None)) == []


def test_the_frames_key_goes_at_the_end_and_watchlist_media_24_hours_later() -> None:
    assert ids(END, facts()) == ["key:dep-1:frames"]
    assert ids(END + timedelta(hours=23, minutes=59), facts()) == ["key:dep-1:frames"]
    due = due_actions(facts(), POLICY, END + timedelta(hours=24))
    purge = next(a for a in due if a.kind is ActionKind.PURGE_WATCHLIST_MEDIA)
    assert purge.ids == ("img-1", "tpl-1") and purge.due_at == END + timedelta(hours=24)
    assert "key:dep-1:watchlist_media" in {a.receipt_id for a in due}


def test_each_crop_is_due_31_days_after_its_alert_then_the_alert_media_key() -> None:
    day31_a = T0 + timedelta(hours=1, days=31)
    assert "crop:alert_media/dep-1/a" in ids(day31_a, facts())
    assert "crop:alert_media/dep-1/b" not in ids(day31_a, facts())
    assert "key:dep-1:alert_media" not in ids(day31_a, facts())  # crop b still lives
    assert "key:dep-1:alert_media" in ids(day31_a + timedelta(hours=1), facts())


def test_an_active_hold_keeps_its_crop_and_the_key_until_released_or_expired() -> None:
    later = T0 + timedelta(days=40)
    hold = HoldFacts("h-1", "alert-a", expires_at=T0 + timedelta(days=60))
    due = ids(later, facts(holds=(hold,)))
    assert "crop:alert_media/dep-1/a" not in due and "crop:alert_media/dep-1/b" in due
    assert "key:dep-1:alert_media" not in due
    released = HoldFacts("h-1", "alert-a", expires_at=hold.expires_at, released=True)
    assert "crop:alert_media/dep-1/a" in ids(later, facts(holds=(released,)))
    assert "crop:alert_media/dep-1/a" in ids(T0 + timedelta(days=61), facts(holds=(hold,)))  # expired


def test_done_actions_are_never_due_again() -> None:
    at = T0 + timedelta(days=40)
    everything = frozenset(ids(at, facts()))
    assert len(everything) == 6
    assert ids(at, facts(done=everything)) == []


def test_a_deployment_without_alerts_loses_its_alert_media_key_at_the_end() -> None:
    assert ids(END, facts(crops=())) == ["key:dep-1:alert_media", "key:dep-1:frames"]
