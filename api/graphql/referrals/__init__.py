"""The referral queue for the team's weekly review."""
