"""The outcomes: what became of the young people, as of a date (aggregates only)."""
