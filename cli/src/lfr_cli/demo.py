"""`lfr demo`: the whole story on one machine, over the platform's REST API.

An authorised deployment with a watchlist built from real face images (the face_recognition 1.3.0
sdist's test photos, fetched from PyPI once and cached); a camera streaming an image sequence in which
one watchlist person appears among others; the alert; an operator's and an engagement officer's decisions;
and the post-deployment figures. With `--start` it runs its own embedded platform (`lfr up`) first.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

demo_app = typer.Typer(help="Run the end-to-end demonstration.", invoke_without_command=True)

SDIST = ("face_recognition", "1.3.0")
WATCHLIST_IMAGE = "obama.jpg"  # the person on the watchlist (custody-style reference image)
SCENE_WITH_PERSON = ("obama2.jpg", "obama3.jpg")  # the same person, different photos, in the stream
OTHERS = ("biden.jpg",)  # passers-by who are not on the watchlist


def face_images(cache: Path | None = None) -> Path:
    """The sdist's test JPEGs (shared cache with the test suite's `face_images_dir`)."""
    try:
        from tests.fixtures.faces import ensure_face_images  # in a source checkout: one implementation

        return ensure_face_images(cache)
    except ImportError:
        pass
    root = (cache or Path.home() / ".cache" / "lfr-test-images") / f"{SDIST[0]}-{SDIST[1]}"
    if (root / WATCHLIST_IMAGE).exists():
        return root
    with urllib.request.urlopen(f"https://pypi.org/pypi/{SDIST[0]}/{SDIST[1]}/json", timeout=60) as reply:
        sdist = next(u for u in json.load(reply)["urls"] if u["packagetype"] == "sdist")
    with urllib.request.urlopen(sdist["url"], timeout=120) as reply:
        blob = reply.read()
    if hashlib.sha256(blob).hexdigest() != sdist["digests"]["sha256"]:
        raise RuntimeError("the face_recognition sdist does not match PyPI's published sha256")
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(fileobj=_bytes_io(blob, Path(tmp))) as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if member.isfile() and parts[-2:-1] == ("test_images",) and member.name.endswith(".jpg"):
                handle = tar.extractfile(member)
                assert handle is not None
                (root / parts[-1]).write_bytes(handle.read())
    return root


def _bytes_io(blob: bytes, tmp: Path) -> Any:
    path = tmp / "sdist.tar.gz"
    path.write_bytes(blob)
    return path.open("rb")


def stream_frames(images: Path, fps: float) -> list[bytes]:
    """Passers-by, then the watchlist person for a few seconds, then passers-by again."""
    others = [(images / name).read_bytes() for name in OTHERS]
    person = [(images / name).read_bytes() for name in SCENE_WITH_PERSON]
    per_shot = max(int(fps * 2), 1)
    frames: list[bytes] = []
    for shot in (others, person, others):
        for image in shot:
            frames += [image] * per_shot
    return frames


def run_demo(gateway_url: str, data_dir: Path, *, timeout: float, fps: float, say: Any) -> dict[str, Any]:
    from lfr_alerts.scenario import Scenario, WatchlistPerson

    from lfr_cli.identity import issue

    def token_for(user: str, role: str) -> str:
        return str(issue(data_dir, user=user, role=role, ttl_minutes=60)["token"])

    images = face_images()
    scenario = Scenario(gateway_url, token_for, data_dir, say=say)
    try:
        person = WatchlistPerson(
            "entry-1",
            "person wanted on warrant (demo)",
            (images / WATCHLIST_IMAGE).read_bytes(),
            date(2024, 1, 1),
        )
        say("1/5 setting up an authorised deployment with a one-person watchlist")
        scenario.build_live_deployment([person], stream_frames(images, fps), fps)
        say("2/5 waiting for the watchlist person to walk past the camera")
        started = time.monotonic()
        alert = scenario.wait_for_alert(timeout)
        say(
            f"    alert {alert['alert_id']} after {time.monotonic() - started:.1f} s: camera "
            f"{alert['camera_id']}, score {alert['score']:.3f} (threshold {alert['threshold']:.2f})"
        )
        say("3/5 operator compares the live face with the watchlist image, then engages")
        say("4/5 engagement officer speaks to the person: confirmed match, words of advice")
        scenario.adjudicate(alert["alert_id"])
        say("5/5 silver commander ends the deployment; post-deployment figures:")
        scenario.end_deployment()
        figures = scenario.figures()
        deadline = time.monotonic() + 15
        while figures["faces_processed"] == 0 and time.monotonic() < deadline:
            time.sleep(1)  # tallies are flushed periodically by inference
            figures = scenario.figures()
        return {"alert_id": alert["alert_id"], **figures}
    finally:
        scenario.close()


@demo_app.callback()
def demo(
    url: Annotated[str, typer.Option(help="the gateway of a running `lfr up`")] = "http://127.0.0.1:8000",
    data_dir: Annotated[Path, typer.Option(help="the platform's data directory (tokens, media)")] = Path(
        ".lfr"
    ),
    start: Annotated[bool, typer.Option("--start", help="start an embedded platform first")] = False,
    port: Annotated[int, typer.Option(help="gateway port when --start")] = 8000,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the alert")] = 120.0,
    fps: Annotated[float, typer.Option(help="frames per second the demo camera streams")] = 5.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the figures as JSON")] = False,
) -> None:
    """Create an authorised deployment, stream a watchlist person past a camera, adjudicate the alert."""
    from lfr_alerts.scenario import StepFailed

    data_dir = data_dir.resolve()
    stack = None
    if start:
        from lfr_cli.stack import Stack, StackConfig

        stack = Stack(StackConfig(data_dir=data_dir, gateway_port=port))
        stack.start()
        ready = stack.wait_ready()
        if not all(ready.values()):
            stack.stop()
            typer.echo(f"platform not ready: {[n for n, ok in ready.items() if not ok]}", err=True)
            raise typer.Exit(1)
        url = stack.gateway_url
    say = (lambda _line: None) if as_json else typer.echo
    try:
        figures = run_demo(url.rstrip("/"), data_dir, timeout=timeout, fps=fps, say=say)
    except StepFailed as failure:
        typer.echo(f"demo stopped: {failure}", err=True)
        raise typer.Exit(1) from None
    finally:
        if stack is not None:
            stack.stop()
    if as_json:
        typer.echo(json.dumps(figures))
        return
    typer.echo(f"    faces processed   {figures['faces_processed']}")
    typer.echo(f"    alerts            {figures['alerts']}")
    typer.echo(f"    true alerts       {figures['true_alerts']}")
    typer.echo(f"    false alerts      {figures['false_alerts']}")
    rate = figures["false_alert_rate"]
    typer.echo(f"    false alert rate  {'n/a' if rate is None else f'{rate:.4%}'} (direction: at most 0.1%)")
    typer.echo(f"console: {url}/  (sign in as operator to see the alert and its decisions)")
