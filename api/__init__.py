"""The HTTP edge: REST commands under ``/api/v1``, GraphQL at ``/graphql``, bearer-JWT auth.

Nothing here connects to anything at import time: ``api.app.create_app(services)`` receives
services built by the composition root (``infra.bootstrap``) and only routes to them.
"""
