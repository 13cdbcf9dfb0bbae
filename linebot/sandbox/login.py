"""LINE Login emulation (filled in below)."""

ROUTES: list = []
