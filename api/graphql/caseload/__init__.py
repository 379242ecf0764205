"""A counsellor's caseload: active young people with contact, transition, milestone, flags."""
