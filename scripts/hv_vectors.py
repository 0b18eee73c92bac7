#!/usr/bin/env python3
"""Make the hypervolume test vectors that `tests/hypervolume.rs` checks `src/pareto.rs` against.

moocore (pip install moocore) is the reference: for seeded random point sets in 2, 3 and 4
objectives (minimization), it gives the hypervolume, each point's exclusive contribution
(`hv_contributions`) and the non-dominated mask (`is_nondominated`, keep_weakly=False).
Some sets are drawn on an integer grid so that ties and duplicates occur.

    python3 scripts/hv_vectors.py > tests/data/hv_vectors.json
"""

import json
import sys

import moocore
import numpy as np


def case(rng, m, n, grid):
    if grid:
        pts = rng.integers(0, 6, size=(n, m)).astype(float)
        ref = np.full(m, 6.0)
    else:
        pts = rng.random((n, m))
        ref = np.full(m, 1.1)
    return {
        "m": m,
        "points": pts.tolist(),
        "reference": ref.tolist(),
        "hypervolume": float(moocore.hypervolume(pts, ref=ref)),
        "contributions": [float(c) for c in moocore.hv_contributions(pts, ref=ref)],
        "nondominated": [bool(b) for b in moocore.is_nondominated(pts, keep_weakly=False)],
    }


def main():
    rng = np.random.default_rng(2503_23945)
    cases = []
    for m in (2, 3, 4):
        for n in (1, 5, 20, 60):
            for grid in (False, True):
                cases.append(case(rng, m, n, grid))
    json.dump({"moocore": moocore.__version__, "cases": cases}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
