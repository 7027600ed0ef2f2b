"""``python -m codec``: the dnacodec command-line tool."""

from codec.cli import run

if __name__ == "__main__":
    run()
