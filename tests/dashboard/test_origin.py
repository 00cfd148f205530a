"""Which browser requests count as coming from the service's own origin."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from dashboard.security import cross_origin

OWN = {"host": "127.0.0.1:8080"}


@pytest.mark.parametrize(
    ("headers", "scheme"),
    [
        ({**OWN, "origin": "http://127.0.0.1:8080"}, "http"),
        ({**OWN, "origin": "HTTP://127.0.0.1:8080"}, "http"),
        ({**OWN, "origin": "http://127.0.0.1:8080", "sec-fetch-site": "same-origin"}, "http"),
        ({**OWN, "sec-fetch-site": "same-origin"}, "http"),
        ({**OWN, "sec-fetch-site": "none"}, "http"),  # typed in the address bar
        (OWN, "http"),  # not a browser: no page can have sent it
        ({**OWN, "origin": "http://127.0.0.1:8080"}, "ws"),
        ({"host": "vigie.example", "origin": "https://vigie.example:443"}, "https"),
        ({"host": "vigie.example:80", "origin": "http://vigie.example"}, "http"),
        ({"host": "[::1]:8080", "origin": "http://[::1]:8080"}, "http"),
    ],
)
def test_same_origin_requests_pass(headers: dict[str, str], scheme: str) -> None:
    assert cross_origin(Headers(headers), scheme) is None


@pytest.mark.parametrize(
    ("headers", "scheme"),
    [
        ({**OWN, "origin": "http://127.0.0.1:9999"}, "http"),  # same site, other port
        ({**OWN, "origin": "http://localhost:8080"}, "http"),
        ({**OWN, "origin": "https://127.0.0.1:8080"}, "http"),
        ({**OWN, "origin": "null"}, "http"),  # sandboxed frame, data: page
        ({**OWN, "origin": "http://127.0.0.1:8080.evil.example"}, "http"),
        ({**OWN, "origin": "http://127.0.0.1:99999"}, "http"),
        ({**OWN, "sec-fetch-site": "same-site"}, "http"),
        ({**OWN, "sec-fetch-site": "cross-site"}, "http"),
        ({"origin": "http://127.0.0.1:8080"}, "http"),  # no Host: nothing to match
        ({**OWN, "origin": "http://127.0.0.1:9999"}, "ws"),
    ],
)
def test_other_origins_are_refused_with_a_reason(headers: dict[str, str], scheme: str) -> None:
    why = cross_origin(Headers(headers), scheme)
    assert why is not None and ("origin" in why or "site" in why)


def test_a_trusted_origin_passes() -> None:
    headers = Headers({"host": "10.0.0.5:8080", "origin": "https://vigie.example"})
    assert cross_origin(headers, "http") is not None
    assert cross_origin(headers, "http", ["https://vigie.example"]) is None
