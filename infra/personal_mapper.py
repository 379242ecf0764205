"""The eventsourcing mapper that encrypts each young person's personal fields with their key.

Every field an event class names in ``PERSONAL`` is encrypted (AES-GCM, a fresh 12-byte
nonce) with the data key of the young person the event is about, and stored in its place as
base64 text; ``personal_fields`` names the sealed fields. Everything else (event type,
dates, channel, place, outcome, ids, ...) stays readable in the stored state, for
statistics and for the non-identifying read models.

Each field is sealed on its own rather than all of them in one blob: most events have one
personal field, and a text field then decrypts straight to its text, without a second JSON
document to parse per event (that parse was most of the cost of reading an encrypted log).
A text is sealed as its UTF-8 bytes, anything else (a date, None) as the transcoder's JSON.

The associated data binds each ciphertext to its event's originator id, version and field
name, so a ciphertext moved to another field, event or person does not decrypt: it fails
loudly.

Once the person's key is shredded (``DataKeyStore.shred``), the events still decode, with
every personal field set to None; no ``evolve`` reads a personal field, so the aggregate
still replays and the stream still loads.

Whose key: a young person's event is about its originator. An event of another stream with
personal fields and a ``young_person_id`` (a counsellor's ``CaseTaken`` with its reason for
going over the caseload limit) is about that young person, and uses their key. Staff data
(a counsellor's name in ``CounsellorRegistered``) is not a young person's and belongs to no
young person's key: it is stored as it is, and erasing a young person leaves it alone.

The mapper keeps eventsourcing's constructor, so it can be named in ``MAPPER_TOPIC``; the
key store is handed to it afterwards with :func:`use_data_keys`.
"""

from __future__ import annotations

import binascii
import os
from collections.abc import Hashable, Iterable
from functools import cache, lru_cache
from typing import Any, Protocol, cast
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    find_id_convertor,
)
from eventsourcing.utils import get_topic, resolve_topic

from domain.recording import RecordedEvent
from domain.young_person_events import PersonalDataErased, YoungPersonEvent

PERSONAL_MAPPER_TOPIC = "infra.personal_mapper:PersonalDataMapper"

_DomainEvent = DomainEventProtocol[UUID]

# The names of the sealed fields, comma-separated, in clear (names are not data): marks an
# event as sealed, and after a shred names what is set to None, before any upcaster runs.
SEALED_FIELDS = "personal_fields"

_FORMAT = b"\x01"
_NONCE_BYTES = 12
_ASSOCIATED_CONTEXT = b"overgang personal field v1\x00"
_TEXT = b"s"  # the plaintext is a str, UTF-8
_JSON = b"j"  # the plaintext is any other value, in the transcoder's JSON


class DataKeys(Protocol):
    """What the mapper needs of :class:`infra.keys.DataKeyStore`."""

    def key_for(self, young_person_id: UUID, *, create: bool) -> bytes | None: ...

    def is_shredded(self, young_person_id: UUID) -> bool: ...

    def prefetch(self, young_person_ids: Iterable[UUID]) -> None: ...

    def evict(self, young_person_id: UUID) -> None: ...


class NoDataKeysError(RuntimeError):
    """The mapper met personal fields before a key store was handed to it."""


class PersonalDataDecryptionError(MapperDeserialisationError):
    """Sealed personal fields did not decrypt: tampered with, or moved from another event."""


class DataKeyMissingError(MapperDeserialisationError):
    """Sealed personal fields whose young person has neither a data key nor a tombstone."""


@cache
def _personal_fields(cls: type) -> tuple[str, ...]:
    if not (isinstance(cls, type) and issubclass(cls, RecordedEvent)):
        return ()  # snapshots and library events: no declared personal fields
    return tuple(sorted(cls.PERSONAL))


@cache
def _is_young_persons_stream(cls: type) -> bool:
    return isinstance(cls, type) and issubclass(cls, YoungPersonEvent)


@cache
def _seals_by_originator(topic: str) -> bool:
    """Whether events of ``topic`` carry personal fields under their originator's key."""
    cls = resolve_topic(topic)
    return _is_young_persons_stream(cls) and bool(_personal_fields(cls))


def data_subject(cls: type, originator_id: Any, state: dict[str, Any]) -> UUID | None:
    """The young person whose key protects an event's personal fields (None: nobody's)."""
    if _is_young_persons_stream(cls):
        if not isinstance(originator_id, UUID):
            # Never stored in clear by mistake: a young person's stream is keyed by UUID.
            raise TypeError(f"a young person's event with originator id {originator_id!r}")
        return originator_id
    subject = state.get("young_person_id")
    return subject if isinstance(subject, UUID) else None


def _associated_data(originator_id: UUID, originator_version: int) -> bytes:
    """The part of each field's associated data that names the event (the field name
    follows it)."""
    return _ASSOCIATED_CONTEXT + originator_id.bytes + originator_version.to_bytes(8, "big")


@lru_cache(maxsize=4096)
def _aead(key: bytes) -> AESGCM:
    # Setting up the cipher costs more than sealing a short note with it. Keyed by the key
    # itself, so only a holder of the key can reach an entry; the key store remains the
    # one place that decides whether a person's key may be used.
    return AESGCM(key)


def seal(key: bytes, plaintext: bytes, associated_data: bytes) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _aead(key).encrypt(nonce, plaintext, associated_data)
    return binascii.b2a_base64(_FORMAT + nonce + sealed, newline=False).decode("ascii")


def unseal(key: bytes, sealed: str, associated_data: bytes) -> bytes:
    """The plaintext; raises ``InvalidTag`` (or ``ValueError``) when it does not authenticate."""
    return _open(_aead(key), sealed, associated_data)


def _open(aead: AESGCM, sealed: str, associated_data: bytes) -> bytes:
    # strict_mode: anything but canonical base64 is refused (and it is fast C, where
    # b64decode(validate=True) runs a regular expression over the text first).
    blob = binascii.a2b_base64(sealed, strict_mode=True)
    if blob[:1] != _FORMAT:
        raise ValueError("unknown format of sealed personal fields")
    return aead.decrypt(blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :], associated_data)


class PersonalDataMapper(Mapper[UUID]):
    """eventsourcing's mapper, with each young person's personal fields sealed under
    their own data key (and the optional whole-state compressor and cipher as usual)."""

    def __init__(self, transcoder: Any, compressor: Any = None, cipher: Any = None) -> None:
        super().__init__(transcoder, compressor=compressor, cipher=cipher)
        self.data_keys: DataKeys | None = None

    def _keys(self) -> DataKeys:
        if self.data_keys is None:
            raise NoDataKeysError(
                "personal fields met before a data key store was attached: "
                "call infra.personal_mapper.use_data_keys(app, keys)"
            )
        return self.data_keys

    def prefetch_keys(self, stored_events: Iterable[StoredEvent]) -> None:
        """Load at once the data keys that decoding ``stored_events`` will need.

        Optional: without it each young person's key is read on first use. A reader of the
        log that starts cold (a projection worker, a rebuild) saves one round trip per
        young person by calling this with each batch before decoding it.
        """
        if self.data_keys is None:
            return
        subjects = {
            stored.originator_id
            for stored in stored_events
            if isinstance(stored.originator_id, UUID) and _seals_by_originator(stored.topic)
        }
        if subjects:
            self.data_keys.prefetch(subjects)

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        cls = type(domain_event)
        personal = _personal_fields(cls)
        if not personal:
            return super().to_stored_event(domain_event)
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        subject = data_subject(cls, originator_id, state)
        if subject is None:
            return super().to_stored_event(domain_event)
        if SEALED_FIELDS in state:
            raise TypeError(f"{cls.__name__} has a field named like the sealed field names")

        key = self._keys().key_for(subject, create=True)
        assert key is not None  # create=True makes one or raises
        event = _associated_data(originator_id, originator_version)
        for name in personal:
            value = state[name]
            plaintext = (
                _TEXT + value.encode()
                if type(value) is str
                else _JSON + self.transcoder.encode(value)
            )
            state[name] = seal(key, plaintext, event + name.encode())
        state[SEALED_FIELDS] = ",".join(personal)
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        stored_state = self.transcoder.encode(state)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(cls),
            state=stored_state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        # eventsourcing's own steps, with the personal fields opened before any upcasting,
        # so that an upcaster sees the event as it was recorded.
        cls = resolve_topic(stored_event.topic)
        stored_state = stored_event.state
        try:
            if self.cipher:
                stored_state = self.cipher.decrypt(stored_state)
            if self.compressor:
                stored_state = self.compressor.decompress(stored_state)
            event_state: dict[str, Any] = self.transcoder.decode(stored_state)
        except Exception as error:
            raise MapperDeserialisationError(
                f"Failed to deserialise state of stored event with topic "
                f"'{stored_event.topic}', originator_id '{stored_event.originator_id}' and "
                f"originator_version {stored_event.originator_version}: {error}"
            ) from error

        id_convertor = find_id_convertor(cls, cast(Hashable, type(stored_event.originator_id)))
        originator_id = id_convertor(stored_event.originator_id)
        if SEALED_FIELDS in event_state:
            self._open_personal_fields(cls, stored_event, originator_id, event_state)
        event_state["originator_id"] = originator_id
        event_state["originator_version"] = stored_event.originator_version
        class_version = getattr(cls, "class_version", 1)
        from_version = event_state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
            from_version += 1

        domain_event: _DomainEvent = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", event_state)
        if cls is PersonalDataErased and self.data_keys is not None:
            # Every process that reads the log (projection workers, above all) forgets an
            # erased person's key when it sees the erasure, not when the cache entry expires.
            self.data_keys.evict(domain_event.originator_id)
        return domain_event

    def _open_personal_fields(
        self, cls: type, stored_event: StoredEvent, originator_id: Any, state: dict[str, Any]
    ) -> None:
        # Read for every event of a log: kept to the few steps it needs.
        names = state.pop(SEALED_FIELDS).split(",")
        subject = (
            originator_id
            if _is_young_persons_stream(cls)
            else data_subject(cls, originator_id, state)
        )
        if not isinstance(subject, UUID):
            raise PersonalDataDecryptionError(
                f"{_where(stored_event)} has sealed fields but no young person"
            )
        keys = self.data_keys or self._keys()
        key = keys.key_for(subject, create=False)
        if key is None:
            if not keys.is_shredded(subject):
                raise DataKeyMissingError(
                    f"{_where(stored_event)}: young person {subject} has no data key and was "
                    "never erased"
                )
            # Erased: the facts stay, the personal fields are gone.
            state.update(dict.fromkeys(names))
            return
        event = _associated_data(originator_id, stored_event.originator_version)
        aead = _aead(key)
        for name in names:
            try:
                plaintext = _open(aead, state[name], event + name.encode())
            except (InvalidTag, ValueError, TypeError, KeyError):
                raise PersonalDataDecryptionError(
                    f"{_where(stored_event)}: personal field {name} does not authenticate "
                    "(altered, or taken from another field or event)"
                ) from None
            body = plaintext[1:]
            state[name] = body.decode() if plaintext[:1] == _TEXT else self.transcoder.decode(body)


class SealedPersonalDataMapper(PersonalDataMapper):
    """Decodes events without ever opening a personal field: each is set to None, as after
    an erasure.

    For readers that must not see personal data at all (the evaluators' replay): no data
    key is asked for, so nothing personal can reach them even by mistake, and decoding
    skips the decryption.
    """

    def _open_personal_fields(
        self, cls: type, stored_event: StoredEvent, originator_id: Any, state: dict[str, Any]
    ) -> None:
        state.update(dict.fromkeys(state.pop(SEALED_FIELDS).split(",")))


def _where(stored_event: StoredEvent) -> str:
    return (
        f"{stored_event.topic} event {stored_event.originator_version} "
        f"of {stored_event.originator_id}"
    )


def use_data_keys(app: Application[Any], keys: DataKeys) -> None:
    """Hand ``keys`` to ``app``'s mapper (built from ``MAPPER_TOPIC``)."""
    mapper = app.mapper
    if not isinstance(mapper, PersonalDataMapper):
        raise TypeError(
            f"the application's mapper is {type(mapper).__name__}, not PersonalDataMapper: "
            f"set MAPPER_TOPIC={PERSONAL_MAPPER_TOPIC}"
        )
    mapper.data_keys = keys
