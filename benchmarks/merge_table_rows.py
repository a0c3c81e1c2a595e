"""Replace one model's rows of a ``compare`` table by a rerun of that model alone (the others unchanged).

    python -m vdae_core compare --datasets circle,torus,bunny --models vdae --seeds 5 --workers 2 \
        --out /tmp/table1_vdae.md
    python benchmarks/merge_table_rows.py --into docs/results/table1.md --rows /tmp/table1_vdae.json

When only one model's defaults change, rerunning the whole table (42 minutes on 2 cores) repeats every other
model's runs bit for bit; this rewrites ``--into``'s .json, .csv and .md with the new rows of the models found in
``--rows`` and keeps the rest. The Markdown ends with both commands.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from vdae_core.study.compare import PAPER_TABLE1, aggregate, markdown_table, table_files  # noqa: E402


def merge(into_md: str, rows_json: str) -> str:
    stem = into_md[:-3] if into_md.endswith(".md") else into_md
    with open(stem + ".json") as fh:
        base = json.load(fh)
    with open(rows_json) as fh:
        new = json.load(fh)
    models = {r["model"] for r in new["rows"]}
    rows = [r for r in base["rows"] if r["model"] not in models] + new["rows"]
    rows.sort(key=lambda r: (r["dataset"], r["model"], r["seed"]))
    md = markdown_table(aggregate(rows), paper=PAPER_TABLE1)
    replaced = f"Rows of {', '.join(sorted(models))} replaced by `python benchmarks/merge_table_rows.py`"
    old_tail = open(into_md).read().split("\nCommand: ", 1)
    kept = [ln for ln in ("Command: " + old_tail[1].strip()).splitlines() if not ln.startswith(replaced)] \
        if len(old_tail) > 1 else []
    md += "\n" + "\n".join(kept + [f"{replaced} from {os.path.basename(rows_json)} ({len(new['rows'])} runs, "
                                    f"wall time {new['wall_s']:.0f} s)."]) + "\n"
    for ext, data in table_files(rows, {"wall_s": base["wall_s"],
                                        "replaced": {m: new["wall_s"] for m in models}}).items():
        with open(stem + ext, "wb") as fh:
            fh.write(data)
    with open(into_md, "w") as fh:
        fh.write(md)
    return md


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--into", required=True, help="the table's .md (its .json and .csv beside it)")
    ap.add_argument("--rows", required=True, help="the .json of a compare run of the replacing model(s)")
    a = ap.parse_args()
    print(merge(a.into, a.rows))


if __name__ == "__main__":
    main()
