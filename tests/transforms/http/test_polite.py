"""A host that holds the run is named in a warning while it does, once per request."""

from __future__ import annotations

import logging

from tests.http_server import Reply
from transforms.http.client import FetchPolicy
from transforms.http.polite import FetchSession, FetchSettings, slow_request_message

SETTINGS = FetchSettings(host_delay=0, policy=FetchPolicy(allow_private_network=True), slow_warning_seconds=0.3)


def test_a_stalled_host_is_named_once_while_it_holds_the_run(loopback_server, caplog):
    loopback_server.route("/slow", Reply(200, b"late", {"Content-Type": "text/plain"}, delay=1.5))
    loopback_server.route("/fast", Reply(200, b"soon", {"Content-Type": "text/plain"}))
    session = FetchSession(SETTINGS)
    try:
        with caplog.at_level(logging.WARNING, logger="transforms.http.polite"):
            assert session.get(loopback_server.url("/fast")).status == 200
            assert not caplog.records
            assert session.get(loopback_server.url("/slow")).status == 200
    finally:
        session.close()
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "127.0.0.1" in warnings[0] and "/slow" in warnings[0] and "--http-total-timeout" in warnings[0]


def test_the_message_hides_credentials():
    message = slow_request_message("https://user:secret@example.com/feed.xml", 7.2, 60)
    assert "secret" not in message and "held the run for 7s" in message and "60s" in message
