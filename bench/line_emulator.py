"""Run the LINE sandbox for a benchmark: ``python bench/line_emulator.py --port N ...``.

The same as ``python -m linebot.sandbox``; started through this file so that the benchmark's
emulator has a command line of its own (a ``pkill -f linebot.sandbox`` elsewhere on the machine,
e.g. a test run's cleanup, does not stop it mid-run).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from linebot.sandbox.__main__ import main

if __name__ == "__main__":
    main()
