"""Typed identifiers, so a counsellor's id cannot be passed where a young person's is meant."""

from typing import NewType
from uuid import UUID

YoungPersonId = NewType("YoungPersonId", UUID)
CounsellorId = NewType("CounsellorId", UUID)
InstitutionId = NewType("InstitutionId", UUID)
ContactId = NewType("ContactId", UUID)
MilestoneId = NewType("MilestoneId", UUID)
TransitionId = NewType("TransitionId", UUID)
DecisionId = NewType("DecisionId", UUID)
# Teams are named by the municipality (for example "aalborg-mobil"), not generated.
TeamId = NewType("TeamId", str)
