"""Every text field of every event says whether it is personal.

Personal fields are encrypted per young person and shredded on erasure; non-identifying
ones stay readable for statistics. A text field that is neither would silently stay
readable after erasure, so this test fails until the event class declares it.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import re
import types
import typing
from typing import Any

import pytest

import domain
from domain.recording import RecordedEvent

# An organisation's name identifies no person; it is the one "name" that is not personal.
NOT_A_PERSONS_NAME = {("InstitutionRegistered", "name")}

# Field names that always hold a person's name, contact details, birth date or free text.
ALWAYS_PERSONAL = re.compile(r"^(name|.*_name|phone|date_of_birth|notes?|reasons?|.*_reason)$")


def _import_all_domain_modules() -> None:
    for module in pkgutil.walk_packages(domain.__path__, prefix="domain."):
        importlib.import_module(module.name)


def _subclasses(cls: type[RecordedEvent]) -> list[type[RecordedEvent]]:
    found: list[type[RecordedEvent]] = []
    sub: type[RecordedEvent]
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def event_classes() -> list[type[RecordedEvent]]:
    _import_all_domain_modules()
    # Only Overgang's own classes: a test module may define events of its own.
    classes: set[type[RecordedEvent]] = {
        cls
        for cls in _subclasses(RecordedEvent)
        if dataclasses.is_dataclass(cls) and cls.__module__.startswith("domain.")
    }
    return sorted(classes | {RecordedEvent}, key=lambda cls: (cls.__module__, cls.__qualname__))


def _declaring_class(cls: type, field: str) -> type:
    for klass in cls.__mro__:
        if field in vars(klass).get("__annotations__", {}):
            return klass
    raise AssertionError(f"{cls.__name__}.{field} is declared nowhere")


def domain_fields(cls: type) -> dict[str, Any]:
    """The dataclass fields declared by Overgang's classes, with resolved types.

    Fields of the eventsourcing library (originator_id, originator_topic, ...) are plumbing,
    not facts about anyone, so they are left out.
    """
    assert dataclasses.is_dataclass(cls)
    hints = typing.get_type_hints(cls)
    return {
        field.name: hints[field.name]
        for field in dataclasses.fields(cls)
        if _declaring_class(cls, field.name).__module__.startswith("domain.")
    }


def mentions_str(annotation: Any) -> bool:
    if annotation is str:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        return any(mentions_str(arg) for arg in typing.get_args(annotation))
    return False


CLASSES = event_classes()


def test_the_event_classes_are_discovered() -> None:
    names = {cls.__name__ for cls in CLASSES}
    # A few from each aggregate, so a broken discovery cannot pass vacuously.
    assert {"Referred", "ContactRecorded", "DecisionRecorded", "PersonalDataErased"} <= names
    assert {"CounsellorRegistered", "CaseTaken", "InstitutionRegistered"} <= names
    assert len(CLASSES) >= 45


def test_the_actor_is_an_actor_not_text() -> None:
    from domain.actors import Actor

    assert domain_fields(RecordedEvent)["actor"] is Actor


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_every_text_field_is_declared_personal_or_non_identifying(cls: type) -> None:
    fields = domain_fields(cls)
    personal = cls.PERSONAL  # type: ignore[attr-defined]
    non_identifying = cls.NON_IDENTIFYING  # type: ignore[attr-defined]

    problems = []
    for name, annotation in sorted(fields.items()):
        if not mentions_str(annotation):
            continue
        declared = (name in personal) + (name in non_identifying)
        if declared == 0:
            problems.append(
                f"{cls.__name__}.{name} is text but in neither {cls.__name__}.PERSONAL nor "
                f"{cls.__name__}.NON_IDENTIFYING: add it to PERSONAL if it can identify or "
                "describe a person (it will be encrypted and shredded on erasure), otherwise "
                "to NON_IDENTIFYING"
            )
        elif declared == 2:
            problems.append(
                f"{cls.__name__}.{name} is in both PERSONAL and NON_IDENTIFYING: "
                "remove it from one of them"
            )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_the_declarations_name_only_existing_fields(cls: type) -> None:
    fields = set(domain_fields(cls))

    for declaration in ("PERSONAL", "NON_IDENTIFYING"):
        unknown = set(getattr(cls, declaration)) - fields
        assert not unknown, (
            f"{cls.__name__}.{declaration} names {sorted(unknown)}, which are not fields of "
            f"{cls.__name__}: remove them or fix the spelling"
        )


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_names_contact_details_notes_and_reasons_are_personal(cls: type) -> None:
    must_be_personal = {
        name
        for name in domain_fields(cls)
        if ALWAYS_PERSONAL.match(name) and (cls.__name__, name) not in NOT_A_PERSONS_NAME
    }

    missing = must_be_personal - set(cls.PERSONAL)  # type: ignore[attr-defined]
    assert not missing, (
        f"{cls.__name__} has {sorted(missing)} outside PERSONAL: names, phone numbers, "
        "dates of birth, notes and reasons are always personal; add them to "
        f"{cls.__name__}.PERSONAL"
    )


def test_the_known_personal_fields_are_declared() -> None:
    from domain import young_person_events as ev
    from domain.counsellor import CaseTaken, CounsellorRegistered

    assert {"name", "phone", "date_of_birth", "referrer_name", "reason"} <= ev.Referred.PERSONAL
    assert "note" in ev.ContactRecorded.PERSONAL
    assert {"reasons", "facts_relied_on"} <= ev.DecisionRecorded.PERSONAL
    assert "name" in CounsellorRegistered.PERSONAL
    assert "over_limit_reason" in CaseTaken.PERSONAL
