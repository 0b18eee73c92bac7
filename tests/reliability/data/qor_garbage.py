"""A `command` evaluator that writes garbage QoR: the n-th run writes kind KINDS[n], later runs good QoR.

usage: qor_garbage.py OUTPUT X Y   (the counter file is $DIFFUSE_TEST_COUNTER)
"""

import sys
from pathlib import Path

from evals import next_count  # same folder: the script's folder is first on sys.path

KINDS = ["nan", "infinity", "string", "missing", "nonjson", "list", "empty", "huge", "binary", "exit3", "noqor"]


out, x, y = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
n = next_count()
kind = KINDS[n] if n < len(KINDS) else "ok"
good = f'"f1": {x * x + y}, "f2": {(1 - x) ** 2 + 0.5 * y}'
text = {
    "nan": '{"f1": NaN, "f2": 1.0}',
    "infinity": '{"f1": 1.0, "f2": Infinity}',
    "string": '{"f1": "fast", "f2": 1.0}',
    "missing": '{"f1": 1.0}',
    "nonjson": "f1 = 1.0\nf2 = 2.0\n",
    "list": "[1.0, 2.0]",
    "empty": "",
    "huge": '{"f1": 1.0, "f2": 1.0, "pad": "' + "x" * (2 << 20) + '"}',
    "ok": "{" + good + "}",
}
if kind == "binary":
    Path(out).write_bytes(b"\xff\xfe\x00garbage\x80")
elif kind == "exit3":
    print("the flow fell over", file=sys.stderr)
    sys.exit(3)
elif kind != "noqor":
    Path(out).write_text(text[kind])
