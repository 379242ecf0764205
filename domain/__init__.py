"""Overgang's domain: the young person's stream, counsellors, institutions and their rules.

Imports only the standard library and ``eventsourcing``; nothing here knows about HTTP,
SQL or GraphQL.
"""
