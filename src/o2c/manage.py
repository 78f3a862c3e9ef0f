"""The `o2c` console command: every Django management command with O2C's settings."""

import os
import sys

if __name__ == "__main__":
    # run as a file (`python src/o2c/manage.py`), its own folder would come first on the path, and the
    # `collections` app there would hide the standard library's module of that name
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [path for path in sys.path if os.path.abspath(path or ".") != here]
    sys.path.insert(0, os.path.dirname(here))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "o2c.config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["o2c", *sys.argv[1:]])


if __name__ == "__main__":
    main()
