"""Study-scoped pseudonyms: what evaluators see instead of a young person's id.

Each study has its own key, derived from one secret (``OVERGANG_PSEUDONYM_SECRET``) and the
study's name with HMAC-SHA256; a young person's pseudonym is the HMAC of their id under the
study's key. So within a study the same person always has the same pseudonym (a replay run
again, or to another date, lines up with the last one), while two studies' pseudonyms of
one person cannot be linked without the secret, and no pseudonym leads back to an id.

The secret never leaves the operator's side: evaluators get pseudonyms, never the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from uuid import UUID

from infra.keys import KeyConfigurationError, development_master_key
from infra.settings import Settings

log = logging.getLogger(__name__)

DEVELOPMENT_SECRET_FILE = "pseudonym.key"

# Domain separation: the secret derives study keys and nothing else.
_STUDY_KEY_CONTEXT = b"overgang study pseudonym key v1\x00"
PERSON = "yp"
"""The pseudonym prefix of a young person."""
_PSEUDONYM_CHARACTERS = 16  # base32: 80 bits, far beyond collisions among millions


class StudyPseudonyms:
    """The pseudonyms of one study."""

    def __init__(self, secret: bytes, study: str) -> None:
        if not study.strip():
            raise ValueError("a study needs a name")
        self.study = study
        self._key = hmac.digest(secret, _STUDY_KEY_CONTEXT + study.encode(), hashlib.sha256)
        self._known: dict[tuple[str, str], str] = {}

    def of(self, identifier: UUID | str, kind: str = PERSON) -> str:
        """The pseudonym of an id (a UUID, or any text id): ``kind``-, then 16 characters.

        Each kind of id (a young person, a transition, ...) has its own prefix; the HMAC
        covers the kind too, so one id never has the same pseudonym as two kinds.
        """
        # Remembered as given, too: a replay asks for the same ids millions of times.
        given = (kind, identifier if isinstance(identifier, str) else identifier.hex)
        known = self._known.get(given)
        if known is None:
            text = _canonical(identifier)
            digest = hmac.digest(self._key, f"{kind}\x00{text}".encode(), hashlib.sha256)
            encoded = base64.b32encode(digest).decode().lower()
            known = f"{kind}-{encoded[:_PSEUDONYM_CHARACTERS]}"
            self._known[given] = known
        return known


def _canonical(identifier: UUID | str) -> str:
    """A UUID as 32 hex digits whichever way it is written; any other id as it is."""
    if isinstance(identifier, UUID):
        return identifier.hex
    try:
        return UUID(identifier).hex
    except ValueError:
        return identifier


def study_pseudonyms(settings: Settings, study: str) -> StudyPseudonyms:
    """The pseudonyms of ``study`` under the configured secret.

    Outside embedded development the secret must be configured; an embedded run makes a
    development secret once, in ``data_dir``.
    """
    secret = settings.pseudonym_secret_material()
    if secret is None:
        if not settings.is_embedded:
            raise KeyConfigurationError(
                "OVERGANG_PSEUDONYM_SECRET is not set. With a PostgreSQL database a "
                "pseudonym secret is required: base64 of 32 random bytes. Keep it stable "
                "and secret: evaluators' pseudonyms are derived from it."
            )
        path = settings.data_dir / DEVELOPMENT_SECRET_FILE
        secret = development_master_key(path)
        log.warning(
            "embedded development mode: pseudonyms are derived from the development "
            "secret in %s; set OVERGANG_PSEUDONYM_SECRET for anything but development",
            path,
        )
    return StudyPseudonyms(secret, study)
