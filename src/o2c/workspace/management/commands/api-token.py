"""`o2c api-token`: the hyphenated name of `api_token` (Django names commands after their files)."""

from o2c.workspace.management.commands.api_token import Command

__all__ = ["Command"]
