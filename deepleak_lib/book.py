"""Stage the Jupyter Book sources for one profile.

The book only renders (``execute_notebooks: 'off'``); papermill has executed the chapters into
``results/<profile>/``. Staging copies the hand-written pages (``book/``), the book config and those
executed notebooks into ``_build/<profile>/src`` so profiles never overwrite each other's pages.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .errors import DeepLeakError
from .paths import repo_root, results_dir
from .runner import chapters


def stage_book(profile: str, root: Path | None = None) -> Path:
    root = root or repo_root()
    src = root / "_build" / profile / "src"
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(root / "book", src)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, src / name)
    for stem in chapters(root):
        nb = results_dir(profile) / stem / f"{stem}.ipynb"
        if not nb.is_file():
            raise DeepLeakError(f"{nb} is missing: run `make book PROFILE={profile}` (or `deepleak run {stem}`)")
        shutil.copy2(nb, src / f"{stem}.ipynb")
    return src
