"""Quiet-transition alerts: the team's list, acknowledging and resolving, and a live feed."""
