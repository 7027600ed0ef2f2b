"""``python -m codec``: the dnacodec command-line tool."""

import sys

from codec.cli import main

if __name__ == "__main__":
    sys.exit(main())
