"""`vigie demo --centre` as a newcomer meets it: two sites and a centre on one machine, the
desks it prints, each site's story at the centre, and nothing left after Ctrl-C."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.peers import REPO, DemoProcess, processes_pointing_into

WITHIN_S = 60.0


def banner(demo: DemoProcess) -> tuple[str, dict[str, str]]:
    deadline = time.monotonic() + WITHIN_S
    while time.monotonic() < deadline:
        text = demo.output()
        if "Ctrl-C stops everything" in text:
            centre = re.search(r"centre:\s+(http://\S+?)/?\s", text)
            assert centre, text[-3000:]
            tokens = {u: re.search(rf"{u} / (\S+)", text) for u in ("marie", "james")}
            assert all(tokens.values()), text[-3000:]
            return centre.group(1), {u: m.group(1) for u, m in tokens.items() if m}
        assert demo.proc.poll() is None, f"the demo exited:\n{text[-3000:]}"
        time.sleep(0.2)
    raise AssertionError(f"no banner after {WITHIN_S} s:\n{demo.output()[-3000:]}")


def picture(base: str, token: str) -> dict[str, Any]:
    answer = httpx.get(f"{base}/api/picture", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def confirmed(site: dict[str, Any]) -> bool:
    return any(i["confirmed"] for i in site["incidents"])


def test_the_centre_demo_runs_two_sites_and_a_centre_and_stops_clean(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    argv = [sys.executable, "-m", "vigie.cli", "--log-level", "WARNING", "demo", "--centre"]
    demo = DemoProcess([*argv, "--data", str(data)], REPO, tmp_path / "out.txt", dict(os.environ))
    try:
        base, tokens = banner(demo)
        deadline = demo.started + WITHIN_S
        while time.time() < deadline:
            sites = picture(base, tokens["marie"])["sites"]
            # An intrusion shows amber first (fence alone) and turns red when its camera
            # confirms it a few seconds later: wait for the confirmed incident at each site.
            if all(s["link"] == "up" and confirmed(s) for s in sites):
                break
            time.sleep(1)
        else:
            raise AssertionError(f"no confirmed incident at both sites: {sites}")
        assert [s["site"] for s in sites] == ["coquelles", "calais-port"]
        [port] = picture(base, tokens["james"])["sites"]
        assert port["site"] == "calais-port"
        assert demo.interrupt() == 0
    finally:
        if demo.proc.poll() is None:
            demo.interrupt()
    time.sleep(1.5)
    assert processes_pointing_into(data) == {}
