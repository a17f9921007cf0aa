#!/usr/bin/env python3
"""`make pi-check`: edgecnn on emulated Raspberry Pi OS (trixie and bookworm, arm64 and armhf).

The work is in the `picheck` package beside this file (see its __init__ and docs/pi.md);
this file only puts scripts/ on sys.path and runs picheck.main. Exit status: 0 every
check passed; 1 a check failed (a label differs, an import the recipe must leave working
fails, a step broke); 2 something to install or fix first (one line says what).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from picheck.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
