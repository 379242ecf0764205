"""`overgang webhooks deliver` and the webhook settings, as a user meets them."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from infra.cli import main
from infra.settings import Settings
from tests.backends import Backend
from tests.fakes import FakeClock
from tests.webhooks import SECRET, open_services, raise_an_alert, running_receiver


@pytest.fixture
def sqlite_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Backend:
    """Embedded, from the environment (the command line is the same on PostgreSQL)."""
    backend = Backend(name="sqlite", data_dir=tmp_path / "var")
    monkeypatch.setenv("OVERGANG_DATA_DIR", str(backend.data_dir))
    monkeypatch.delenv("OVERGANG_DATABASE_URL", raising=False)
    return backend


def test_webhooks_deliver_sends_what_is_due_once(
    sqlite_backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with running_receiver() as receiver:
        monkeypatch.setenv("OVERGANG_WEBHOOK_URLS", receiver.url)
        monkeypatch.setenv("OVERGANG_WEBHOOK_SECRET", SECRET)
        clock = FakeClock()  # in the past: the delivery is due when the command runs
        with open_services(Settings(), clock) as services:
            raise_an_alert(services, clock)

        assert main(["webhooks", "deliver"]) == 0
        first = json.loads(capsys.readouterr().out)
        assert main(["webhooks", "deliver"]) == 0
        second = json.loads(capsys.readouterr().out)

    assert first == {"sent": 1, "retried": 0, "failed": 0}
    assert second == {"sent": 0, "retried": 0, "failed": 0}
    assert [r.json["event"] for r in receiver.received] == ["alert.raised"]


def test_webhook_urls_without_a_secret_refuse_to_start(
    sqlite_backend: Backend, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OVERGANG_WEBHOOK_URLS", "https://hooks.example/overgang?token=t0ps3cret")
    monkeypatch.delenv("OVERGANG_WEBHOOK_SECRET", raising=False)

    with caplog.at_level(logging.ERROR, logger="overgang"):
        assert main(["webhooks", "deliver"]) == 2

    assert "OVERGANG_WEBHOOK_SECRET is required" in caplog.text
    assert "t0ps3cret" not in caplog.text


@pytest.mark.parametrize(
    "urls",
    ["ftp://hooks.example/x", "hooks.example/x", "https://", '["https://ok.example", 5]'],
)
def test_webhook_urls_must_be_http_urls(urls: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERGANG_WEBHOOK_URLS", urls)
    monkeypatch.setenv("OVERGANG_WEBHOOK_SECRET", SECRET)

    with pytest.raises(ValueError, match="webhook_urls"):
        Settings()


def test_webhook_urls_are_a_json_list_or_comma_separated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OVERGANG_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("OVERGANG_WEBHOOK_URLS", " https://a.example/h , http://b.example:81/ ")
    assert Settings().webhook_urls == ["https://a.example/h", "http://b.example:81/"]
    monkeypatch.setenv("OVERGANG_WEBHOOK_URLS", '["https://a.example/h"]')
    assert Settings().webhook_urls == ["https://a.example/h"]
    monkeypatch.setenv("OVERGANG_WEBHOOK_URLS", "")
    assert Settings().webhook_urls == []
