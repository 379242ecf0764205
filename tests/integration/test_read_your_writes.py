"""A write in this process wakes the in-process projection runner: no waiting for a poll."""

from __future__ import annotations

import time
from pathlib import Path

from infra.bootstrap import build_services
from infra.settings import Settings
from tests.factories import a_context, a_referral


def test_a_write_is_projected_long_before_the_next_poll_on_sqlite(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, projection_poll_interval=30.0)
    services = build_services(settings)
    services.projections.start_in_thread()
    try:
        services.projections.wait_for(0, timeout=5)  # the runner has started its first wait
        time.sleep(0.2)
        position = services.app.refer(a_referral(), a_context()).position

        began = time.monotonic()
        reached = services.projections.wait_for(position, timeout=10)
        waited = time.monotonic() - began
    finally:
        services.close()

    assert reached
    # Without the wake-up the runner would sleep out its 30 s poll interval.
    assert waited < 5
