"""results.md (report_table.py) and the PNG charts (report_charts.py) from a run's results.

Also runnable alone, to redraw from a saved run: python bench/report.py [bench/results]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from report_charts import charts
from report_table import markdown


def write(results: dict[str, Any], out: Path) -> str:
    """Write results.md, with the charts linked below the table, and the charts; the markdown."""
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(results)
    made = charts(results, out)
    text += "\n" + "".join(f"![{p.stem}]({p.name})\n" for p in made)
    (out / "results.md").write_text(text)
    return text


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent / "results")
    print(write(json.loads((folder / "results.json").read_text()), folder))
