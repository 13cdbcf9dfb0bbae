"""Segments and audiences: who gets a message."""

__all__: list[str] = []
