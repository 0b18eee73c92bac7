"""A `command` evaluator that starts a grandchild (which outlives a plain kill of its parent) and hangs.

usage: spawn_and_hang.py   (writes grandchild.pid and child.pid in its cwd)
"""

import os
import subprocess
import sys
import time
from pathlib import Path

child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
Path("grandchild.pid").write_text(str(child.pid))
Path("child.pid").write_text(str(os.getpid()))
time.sleep(120)
