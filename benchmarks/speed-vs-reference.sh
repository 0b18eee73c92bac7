#!/usr/bin/env bash
# DiffuSE's speed against the PyTorch reference implementation (commit 9201a62), measured one
# after the other on this machine with the same setting: 500 results of the synthetic problem
# (every 25th failed), a cold fit, a warm refit, and a proposal of 8.
#
#     benchmarks/speed-vs-reference.sh
#
# The reference runs from `git archive 9201a62` in target/reference-9201a62, in its own venv
# (benchmarks/.ref-venv). torch is large: when benchmarks/peers/.venv exists its packages are
# reused through a .pth file instead of downloading torch again.
set -euo pipefail
cd "$(dirname "$0")/.."
REF=target/reference-9201a62
VENV=benchmarks/.ref-venv
if [ ! -f "$REF/benchmarks/diffuse_speed.py" ]; then
    mkdir -p "$REF"
    git archive 9201a62 | tar -x -C "$REF"
fi
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    peers_site=$(ls -d benchmarks/peers/.venv/lib/python3*/site-packages 2>/dev/null | head -n 1 || true)
    # The reference's own dependencies (its pyproject.toml); torch, botorch, optuna, numpy,
    # scipy and moocore come from the peers' venv when it is there.
    deps=("pyyaml>=6" "optuna-integration>=4" "rich>=13" "matplotlib>=3.7" "dask[distributed]>=2024.1")
    if [ -n "$peers_site" ]; then
        site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
        realpath "$peers_site" > "$site/peers.pth"
    else
        deps+=("numpy>=1.24" "scipy>=1.10" "optuna>=4.5,<6" "moocore>=0.1.4" "torch>=2.2" "botorch>=0.12")
    fi
    "$VENV/bin/pip" install --quiet "${deps[@]}"
    # The reference itself, for its evaluator entry points (no dependencies: they are above).
    "$VENV/bin/pip" install --quiet --no-deps "$REF"
fi
echo "== diffuse-dse (Rust, dfdx)"
cargo bench --bench diffuse
echo "== reference (Python, PyTorch, commit 9201a62)"
"$VENV/bin/python" "$REF/benchmarks/diffuse_speed.py" --observations 500 --batch 8 --repeats 3
