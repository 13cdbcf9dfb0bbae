"""Phone pages."""

ROUTES: list = []
