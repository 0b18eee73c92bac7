"""A `command` evaluator that records the argv it received, then writes good QoR.

usage: echo_args.py OUTPUT VALUE   (writes argv.json beside OUTPUT)
"""

import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
(out.parent / "argv.json").write_text(json.dumps(sys.argv[1:]))
out.write_text(json.dumps({"f1": len(sys.argv[2]), "f2": 1.0}))
