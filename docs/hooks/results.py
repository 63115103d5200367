"""MkDocs hook: the experiments' committed plots join the site where they are, not as copies.

The plots live beside the results they are drawn from (`experiments/recovery/results*/`);
copying them under docs/ would make two files that drift apart. Each is added to the
build as `plots/<results folder>/<name>.png`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
PLOT_FOLDERS = "experiments/recovery/results*"


def on_files(files: Files, config: Any) -> Files:
    for plot in sorted(ROOT.glob(f"{PLOT_FOLDERS}/*.png")):
        files.append(File.generated(config, f"plots/{plot.parent.name}/{plot.name}", abs_src_path=str(plot)))
    return files
