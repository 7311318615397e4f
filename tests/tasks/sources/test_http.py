"""The robust HTTP getter against a real local server: retries, backoff, Retry-After,
timeouts, unreachable hosts, and secrets kept out of logs and errors."""

from __future__ import annotations

import logging
import random
import time

import pytest
from werkzeug import Request, Response

from blocks.errors import NetworkUnreachable, SourceRejected, SourceUnavailable
from tasks.sources.http import HttpGetter, HttpPolicy, parse_retry_after, safe_url
from tests.tasks.sources.fake_apis import (
    blackholed_url,
    closed_port_url,
    httpserver_listen_address,  # noqa: F401 - fixture
)

FAST = HttpPolicy(connect_timeout=1.0, read_timeout=1.0, retries=2, backoff_base=0.2, jitter=0.5)
SECRET = "k3y-that-must-not-leak-0042"


class Sleeps(list):
    """Records requested delays instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def getter(sleeps: Sleeps, policy: HttpPolicy = FAST) -> HttpGetter:
    return HttpGetter("test_source", policy, sleep=sleeps, rng=random.Random(7))


def requests_to(httpserver, path: str) -> list[Request]:
    """Requests the server saw for `path` (a slow reply from another test may land late)."""
    return [request for request, _ in httpserver.log if request.path == path]


def test_a_2xx_returns_the_body_exactly(httpserver, sleeps):
    httpserver.expect_request("/data", query_string={"a": "1"}).respond_with_data(b"\x00raw")
    result = getter(sleeps).get(httpserver.url_for("/data"), {"a": "1"})
    assert (result.content, result.status, result.attempts) == (b"\x00raw", 200, 1)
    assert sleeps == []


def test_a_500_then_200_retries_once_with_backoff_and_jitter(httpserver, sleeps):
    httpserver.expect_oneshot_request("/data").respond_with_data("oops", status=500)
    httpserver.expect_request("/data").respond_with_data("ok")
    result = getter(sleeps).get(httpserver.url_for("/data"))
    assert result.content == b"ok" and result.attempts == 2
    assert len(sleeps) == 1 and 0.2 <= sleeps[0] <= 0.2 * 1.5


def test_backoff_doubles_and_is_capped():
    policy = HttpPolicy(backoff_base=1.0, backoff_max=5.0, jitter=0.0)
    rng = random.Random(1)
    assert [policy.backoff(n, rng) for n in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_a_429_honours_retry_after_seconds_capped(httpserver, sleeps):
    httpserver.expect_oneshot_request("/data").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "3"}
    )
    httpserver.expect_oneshot_request("/data").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "86400"}
    )
    httpserver.expect_request("/data").respond_with_data("ok")
    policy = HttpPolicy(retries=3, backoff_base=0.01, retry_after_max=10.0)
    assert getter(sleeps, policy).get(httpserver.url_for("/data")).content == b"ok"
    assert sleeps == [3.0, 10.0]


def test_retry_after_accepts_an_http_date():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_5xx_every_time_ends_in_source_unavailable_naming_source_and_status(httpserver, sleeps):
    httpserver.expect_request("/data").respond_with_data("<html>down</html>", status=503)
    with pytest.raises(SourceUnavailable) as caught:
        getter(sleeps).get(httpserver.url_for("/data"))
    assert not isinstance(caught.value, NetworkUnreachable | SourceRejected)
    message = str(caught.value)
    assert "test_source" in message and "HTTP 503" in message and "3 attempts" in message
    assert len(requests_to(httpserver, "/data")) == 3 and len(sleeps) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_other_4xx_fail_at_once_without_retry(httpserver, sleeps, status):
    httpserver.expect_request("/data").respond_with_data("no", status=status)
    with pytest.raises(SourceRejected) as caught:
        getter(sleeps).get(httpserver.url_for("/data"))
    assert caught.value.status == status and f"HTTP {status}" in str(caught.value)
    assert len(requests_to(httpserver, "/data")) == 1 and sleeps == []


def test_a_read_timeout_is_retried(httpserver):
    def slow_once(request: Request) -> Response:
        time.sleep(0.4)
        return Response("late")

    httpserver.expect_oneshot_request("/data").respond_with_handler(slow_once)
    httpserver.expect_request("/data").respond_with_data("on time")
    # A real 0.5 s backoff: the (single-threaded) server finishes the slow reply first.
    policy = HttpPolicy(read_timeout=0.2, retries=1, backoff_base=0.5, jitter=0.0)
    result = HttpGetter("test_source", policy).get(httpserver.url_for("/data"))
    assert result.content == b"on time" and result.attempts == 2


def test_read_timeouts_every_time_are_unavailable_not_unreachable(httpserver, sleeps):
    httpserver.expect_request("/slow").respond_with_handler(
        lambda request: (time.sleep(0.4), Response("late"))[1]
    )
    policy = HttpPolicy(connect_timeout=1.0, read_timeout=0.1, retries=1, backoff_base=0.01)
    with pytest.raises(SourceUnavailable) as caught:
        getter(sleeps, policy).get(httpserver.url_for("/slow"))
    assert not isinstance(caught.value, NetworkUnreachable)
    assert "read timeout" in str(caught.value)


def test_connection_refused_is_retried_then_network_unreachable(sleeps):
    with pytest.raises(NetworkUnreachable) as caught:
        getter(sleeps).get(closed_port_url())
    assert "cannot reach" in str(caught.value) and "test_source" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__context__ is None  # no URL leaks
    assert len(sleeps) == 2


def test_a_connect_timeout_counts_as_unreachable(sleeps):
    policy = HttpPolicy(connect_timeout=0.2, read_timeout=1.0, retries=0)
    started = time.monotonic()
    with blackholed_url() as url, pytest.raises(NetworkUnreachable, match="connect timeout"):
        getter(sleeps, policy).get(url)
    assert time.monotonic() - started < 2


def test_the_key_never_reaches_logs_or_errors(httpserver, sleeps, caplog):
    httpserver.expect_request("/weather").respond_with_data("busy", status=502)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SourceUnavailable) as caught:
        getter(sleeps).get(httpserver.url_for("/weather"), {"id": 1, "appid": SECRET})
    assert requests_to(httpserver, "/weather")[0].args["appid"] == SECRET  # the key was sent
    assert "appid=***" in str(caught.value)
    assert SECRET not in str(caught.value) and SECRET not in caplog.text
    assert "appid=***" in caplog.text


def test_safe_url_masks_secret_parameters():
    shown = safe_url("https://api.example/w", {"id": 3448439, "appid": SECRET, "units": "metric"})
    assert shown == "https://api.example/w?id=3448439&appid=***&units=metric"
