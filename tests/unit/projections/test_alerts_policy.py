"""The quiet thresholds: from settings into the domain and the alerts read model, checked
with clear messages, and a view built with other thresholds is noticed."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from domain.alerts import QuietLimits, QuietPolicy
from domain.vocabulary import QuietPhase, TransitionKind
from infra.bootstrap import build_services
from infra.settings import Settings
from projections.alerts import AlertsProjection, AlertsView, policy_fingerprint
from projections.store import SQLiteViewStore

TRIAL = {"bridge_building": {"preparing": {"quiet_days": 3, "escalation_days": 6}}}


def test_the_default_settings_give_the_default_policy() -> None:
    assert Settings().quiet_policy() == QuietPolicy()


def test_thresholds_per_kind_and_phase_come_from_json_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OVERGANG_ALERT_THRESHOLDS_BY_KIND", json.dumps(TRIAL))
    monkeypatch.setenv("OVERGANG_ALERT_NEW_EDUCATION_QUIET_DAYS", "4")

    policy = Settings().quiet_policy()

    assert policy.by_kind == {
        (TransitionKind.BRIDGE_BUILDING, QuietPhase.PREPARING): QuietLimits(
            quiet=timedelta(days=3), escalate=timedelta(days=6)
        )
    }
    assert policy.new_education.quiet == timedelta(days=4)
    assert policy.general == QuietPolicy().general


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{not json", "is not valid JSON"),
        ('{"ferry": {}}', "unknown transition kind 'ferry'"),
        ('{"bridge_building": {"later": {}}}', "unknown phase"),
        ('{"bridge_building": {"preparing": {"quiet_days": 3}}}', '"escalation_days": m'),
        (
            '{"bridge_building": {"preparing": {"quiet_days": 3, "escalation_days": 2}}}',
            "escalation_days must be longer than quiet_days",
        ),
        (
            '{"bridge_building": {"preparing": {"quiet_days": -1, "escalation_days": 2}}}',
            "days must be positive numbers",
        ),
    ],
)
def test_bad_thresholds_by_kind_are_refused_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("OVERGANG_ALERT_THRESHOLDS_BY_KIND", value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert "OVERGANG_ALERT_THRESHOLDS_BY_KIND" in str(refused.value)
    assert message in str(refused.value)


def test_an_escalation_threshold_not_longer_than_the_quiet_one_is_refused() -> None:
    with pytest.raises(ValidationError, match="OVERGANG_ALERT_ESCALATION_DAYS must be longer"):
        Settings(alert_quiet_days=14, alert_escalation_days=14)
    with pytest.raises(ValidationError, match="NEW_EDUCATION_ESCALATION_DAYS must be longer"):
        Settings(alert_new_education_quiet_days=10)


def test_the_policy_reaches_the_application_and_the_alerts_read_model(tmp_path: Path) -> None:
    settings = Settings(database_url=None, data_dir=tmp_path / "var", alert_quiet_days=3)
    services = build_services(settings)
    try:
        [projection] = [p for p in services.projections.projections if p.name == "alerts"]
        assert isinstance(projection, AlertsProjection)
        assert services.app.quiet_policy.general.quiet == timedelta(days=3)
        assert projection.policy == services.app.quiet_policy
        with services.views.transaction(readonly=True) as cur:
            built_with = AlertsView.policy_fingerprint(cur)
        assert built_with == policy_fingerprint(services.app.quiet_policy)
    finally:
        services.close()


def test_fingerprints_tell_thresholds_apart() -> None:
    shorter = QuietPolicy(general=QuietLimits(timedelta(days=6), timedelta(days=14)))
    assert policy_fingerprint(QuietPolicy()) == policy_fingerprint(QuietPolicy())
    assert policy_fingerprint(shorter) != policy_fingerprint(QuietPolicy())


def test_a_view_built_with_other_thresholds_warns_until_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SQLiteViewStore(tmp_path / "views.db")
    shorter = QuietPolicy(general=QuietLimits(timedelta(days=6), timedelta(days=14)))
    try:
        with store.transaction() as cur:
            AlertsProjection().create_tables(cur)
        with caplog.at_level(logging.WARNING), store.transaction() as cur:
            AlertsProjection(shorter).create_tables(cur)
    finally:
        store.close()
    assert "overgang projections rebuild alerts" in caplog.text
