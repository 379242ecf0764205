"""REST commands under ``/api/v1``: one router per resource."""

from __future__ import annotations

from fastapi import APIRouter

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    """Every REST command, under ``/api/v1``."""
    # Imported here, not above: `api.idempotency`, which every resource imports, takes its
    # input types from `api.rest.common`, so importing the package must not import them.
    from api.rest import (
        alerts,
        contacts,
        counsellors,
        decision_audit,
        decisions,
        demo,
        institutions,
        personal_data,
        plans,
        referrals,
        signals,
        transitions,
        young_people,
    )

    router = APIRouter(prefix=API_PREFIX)
    for resource in (
        referrals,
        young_people,
        contacts,
        plans,
        transitions,
        signals,
        decisions,
        counsellors,
        institutions,
        personal_data,
        decision_audit,
        alerts,
        demo,
    ):
        router.include_router(resource.router)
    return router
