"""GraphQL at ``/graphql``: read models for dashboards, one package per area.

``schema.py`` assembles the areas and builds the router; ``context.py`` is what every
resolver gets (services, the caller, per-request DataLoaders); ``permissions.py`` decides
from the context alone; ``errors.py`` gives every error a stable ``extensions.code``.
Each area (``timeline/``, ...) has its ``types.py`` (built from view rows) and
``queries.py``.
"""
