"""The `o2c` console command: every Django management command with O2C's settings."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "o2c.config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["o2c", *sys.argv[1:]])


if __name__ == "__main__":
    main()
