"""Tables in docs/METHODS.md and docs/BENCHMARKS.md are rendered from the benchmark logs beside them: a rerun that changes a number
changes the doc, or these fail (the project's rule: no stale number survives a rerun)."""
import importlib
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("doc_name,marker,module,log", [
    ("METHODS.md", "latent_dim_rule", "bench_latent_dim_rule", "bench_latent_dim_rule_log.jsonl"),
    ("METHODS.md", "diagnose_loops", "diagnose_loops", "diagnose_loops_log.jsonl"),
    ("METHODS.md", "vdae_bars", "bench_vdae_bars", "bench_vdae_bars_log.jsonl"),
    ("METHODS.md", "diagnose_walk", "diagnose_walk", "diagnose_walk_log.jsonl"),
    ("BENCHMARKS.md", "walk_cost", "bench_walk_cost", "bench_walk_cost_log.jsonl"),
    ("METHODS.md", "gw_scale", "bench_gw_scale", "bench_gw_scale_log.jsonl"),
    ("RESULTS.md", "latent_dims", "sweep_latent_dims", "sweep_latent_dims_log.jsonl"),
    ("RESULTS.md", "table1_summary", "table1_summary", "results/table1.json"),
])
def test_doc_table_is_its_log(doc_name, marker, module, log):
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    table = importlib.import_module(module).table
    doc = open(os.path.join(ROOT, "docs", doc_name)).read()
    block = doc.split(f"<!-- {marker} table -->\n")[1].split(f"\n<!-- /{marker} table -->")[0]
    assert block == table(os.path.join(ROOT, "docs", log))
