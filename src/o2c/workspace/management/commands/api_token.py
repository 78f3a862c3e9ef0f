"""`o2c api-token USERNAME [--name NAME]`: create an API token and print it once on stdout."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from o2c.core import clock
from o2c.workspace import services


class Command(BaseCommand):
    help = "Create a bearer token for the REST API; the token is printed once and only its hash is kept."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="api", help="what the token is for (default: api)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist:
            raise CommandError(f"no user '{options['username']}'", returncode=2) from None
        api_token, token = services.api_token_create(user=user, name=options["name"], now=clock.now())
        self.stdout.write(token)
        sys.stderr.write(
            f"token '{api_token.name}' for {user.get_username()} created; it is not shown again\n"
        )
