"""The timeline area: a young person and every fact of their case, in time order."""
