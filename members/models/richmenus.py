"""Which rich menu each member gets: per-segment rules, and the menu each member has."""

__all__: list[str] = []
