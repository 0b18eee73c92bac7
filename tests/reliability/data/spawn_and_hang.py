"""A `command` evaluator that starts a grandchild (which outlives a plain kill of its parent) and hangs.

usage: spawn_and_hang.py   (writes grandchild.pid and child.pid in its cwd)
"""

import os
import subprocess
import sys
import time

child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open("grandchild.pid", "w").write(str(child.pid))
open("child.pid", "w").write(str(os.getpid()))
time.sleep(120)
