"""Execute a chapter notebook with papermill, the study's only executor.

``run_chapter("00_setup", "default")`` converts ``notebooks/00_setup.md`` (jupytext) to a notebook,
injects ``params/default/00_setup.yaml`` plus ``profile``, executes it and moves the executed notebook
to ``results/default/00_setup/00_setup.ipynb`` only if every cell succeeded, so a failed run never
leaves a half-written output behind (make then retries it next time).
"""

from __future__ import annotations

import ast
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import DeepLeakError
from .paths import repo_root, results_dir
from .profiles import load_params


def chapters(root: Path | None = None) -> list[str]:
    """Chapter stems, in build order (file names sort in chapter order)."""
    nb_dir = (root or repo_root()) / "notebooks"
    return sorted(p.stem for p in nb_dir.glob("*.md"))


def parameter_names(notebook: Any) -> list[str]:
    """Names assigned in the cell tagged ``parameters`` (literals only, per the house rules)."""
    for cell in notebook.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            tree = ast.parse(cell.source)
            names = []
            for node in tree.body:
                if not isinstance(node, ast.Assign) or len(node.targets) != 1:
                    raise DeepLeakError("the parameters cell may only contain simple assignments of literals")
                ast.literal_eval(node.value)  # raises for anything but a literal
                names.append(node.targets[0].id)  # type: ignore[attr-defined]
            return names
    raise DeepLeakError("notebook has no cell tagged 'parameters'; tag one")


def _hide_injected_parameters(path: Path) -> None:
    """Tag papermill's injected-parameters cell ``remove-cell`` so the book shows prose, not plumbing."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    nbformat.write(nb, path)


def run_chapter(stem: str, profile: str, *, progress: bool = True, root: Path | None = None) -> Path:
    """Execute one chapter for one profile; returns the executed notebook's path."""
    import jupytext
    import papermill as pm

    root = root or repo_root()
    known = chapters(root)
    if stem not in known:
        raise DeepLeakError(f"unknown chapter {stem!r}; choose one of: {', '.join(known)}")
    params = load_params(profile, stem, root / "params")
    src = jupytext.read(root / "notebooks" / f"{stem}.md")
    names = parameter_names(src)
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise DeepLeakError(
            f"params/{profile}/{stem}.yaml sets {', '.join(unknown)}, which notebooks/{stem}.md does not "
            f"take; valid keys: {', '.join(n for n in names if n != 'profile')}"
        )
    out_dir = results_dir(profile) / stem
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"{stem}.ipynb"
    params = {**params, "profile": profile}
    os.environ["DEEPLEAK_ROOT"] = str(root)  # the kernel inherits it, so paths resolve from the repo
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".run-") as tmp:
        tmp_in, tmp_out = Path(tmp) / "in.ipynb", Path(tmp) / f"{stem}.ipynb"
        jupytext.write(src, tmp_in)
        try:
            pm.execute_notebook(
                str(tmp_in), str(tmp_out), parameters=params, cwd=str(root),
                kernel_name="python3", progress_bar=progress, language="python",
            )
        except pm.PapermillExecutionError as err:
            raise DeepLeakError(
                f"chapter {stem} failed in cell {err.exec_count}: {err.ename}: {err.evalue}".splitlines()[0]
            ) from err
        _hide_injected_parameters(tmp_out)
        (out_dir / "params.json").write_text(json.dumps(params, indent=2, sort_keys=True))
        os.replace(tmp_out, final)
    return final
