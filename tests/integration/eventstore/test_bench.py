"""The benchmark behind `lfr bench eventstore --json` runs on both backends and keeps its key contract.
(Speed is reported, never asserted: see the benchmark's JSON.)"""

from __future__ import annotations

from pathlib import Path

from lfr_platform.bench.eventstore import run_eventstore_bench


async def test_bench_reports_appends_per_second_on_both_backends(postgres_url: str, tmp_path: Path) -> None:
    result = await run_eventstore_bench(postgres_url, tmp_path / "bench.db", events=200, batch=50)
    for backend in ("postgresql", "sqlite"):
        report = result[backend]
        assert report["events"] == 200 and report["batch"] == 50
        assert report["appends_per_s"] > 0 and report["unbatched_appends_per_s"] > 0


async def test_bench_without_postgres_says_so(tmp_path: Path) -> None:
    result = await run_eventstore_bench(None, tmp_path / "bench.db", events=40, batch=10)
    assert "skipped" in result["postgresql"]
    assert result["sqlite"]["events"] == 40
