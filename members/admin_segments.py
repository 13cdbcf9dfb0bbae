"""Admin for segments and audiences (imported by members.admin)."""
