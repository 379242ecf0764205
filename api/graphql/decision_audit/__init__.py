"""The decision audit: every authority decision with its legal completeness (auditors)."""
