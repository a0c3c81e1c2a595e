"""Tables in docs/METHODS.md are rendered from the benchmark logs beside them: a rerun that changes a number
changes the doc, or these fail (the project's rule: no stale number survives a rerun)."""
import importlib
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("marker,module,log", [
    ("latent_dim_rule", "bench_latent_dim_rule", "bench_latent_dim_rule_log.jsonl"),
    ("diagnose_loops", "diagnose_loops", "diagnose_loops_log.jsonl"),
    ("vdae_bars", "bench_vdae_bars", "bench_vdae_bars_log.jsonl"),
    ("diagnose_walk", "diagnose_walk", "diagnose_walk_log.jsonl"),
])
def test_methods_table_is_its_log(marker, module, log):
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    table = importlib.import_module(module).table
    doc = open(os.path.join(ROOT, "docs", "METHODS.md")).read()
    block = doc.split(f"<!-- {marker} table -->\n")[1].split(f"\n<!-- /{marker} table -->")[0]
    assert block == table(os.path.join(ROOT, "docs", log))
