"""Read models: one module per projection, plus the shared view store and protocol."""
