"""A GTP engine that starts only once: ``python start_once_engine.py MARKER -- REAL ENGINE ARGV...``.

The first start creates MARKER and becomes the real engine; every later start (with MARKER present)
writes an error on stderr and exits 2 before answering anything, as an engine that cannot start on a
worker (a missing licence, library or file there) would.
"""

import os
import sys


def main() -> None:
    marker = sys.argv[1]
    real = sys.argv[sys.argv.index("--") + 1:]
    if os.path.exists(marker):
        sys.stderr.write("fatal: cannot start here (no licence on this node)\n")
        sys.exit(2)
    open(marker, "w").close()
    os.execvp(real[0], real)


if __name__ == "__main__":
    main()
