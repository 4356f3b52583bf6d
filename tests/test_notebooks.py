"""Notebook hygiene (house rules) and profile consistency, checked statically with ast and jupytext."""

from __future__ import annotations

import ast
from pathlib import Path

import jupytext
import pytest
import yaml

from deepleak_lib.runner import chapters, parameter_names

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.md"))
PROFILES = ("smoke", "default", "paper")


def test_there_are_chapters():
    assert "00_setup" in chapters(REPO)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_definitions_in_notebooks(path):
    nb = jupytext.read(path)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Lambda))]
        assert not defs, f"{path.name}: logic belongs in deepleak_lib, found {type(defs[0]).__name__}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_matches_the_parameters_cell(path, profile):
    names = set(parameter_names(jupytext.read(path)))
    assert "profile" in names
    params_file = REPO / "params" / profile / f"{path.stem}.yaml"
    assert params_file.is_file(), f"missing {params_file}"
    params = yaml.safe_load(params_file.read_text()) or {}
    assert set(params) <= names
    # every top-level key is commented somewhere in its block (house rule 4)
    blocks: list[list[str]] = []
    for line in params_file.read_text().splitlines():
        if line and not line[0].isspace() and not line.startswith(("#", "{")):
            blocks.append([])
        if blocks:
            blocks[-1].append(line)
    for block in blocks:
        assert any("#" in line for line in block), f"{params_file.name}: uncommented key: {block[0]}"


def test_toc_lists_every_chapter():
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [c["file"] for c in toc["chapters"]]
    assert [f for f in files if f in chapters(REPO)] == chapters(REPO)
