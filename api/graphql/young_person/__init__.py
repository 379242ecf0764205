"""A young person: timeline, risk flags, plan and transitions in one type."""
