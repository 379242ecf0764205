"""Composition root and processes: settings, bootstrap, CLI, runners.

Nothing outside infra/ imports from here (tests may).
"""
