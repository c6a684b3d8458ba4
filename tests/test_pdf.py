"""seedstudy paper: typesets main.tex with latexmk, or says clearly how to get TeX."""
from __future__ import annotations

import shutil

import pytest

from seedstudy.cli import main
from seedstudy.report.pdf import build_pdf


def test_without_tex_the_error_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    (tmp_path / "main.tex").write_text("\\documentclass{article}\\begin{document}x\\end{document}\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["paper", "--paper-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no TeX installation found" in err and "apt-get install latexmk" in err


def test_missing_source_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="main.tex not found"):
        build_pdf(tmp_path)


@pytest.mark.skipif(shutil.which("latexmk") is None or shutil.which("pdflatex") is None,
                    reason="no TeX installation here (the error path is tested above)")
def test_the_paper_typesets_with_its_generated_tables_and_figures(tmp_path):
    from seedstudy import PROJECT_ROOT

    paper = tmp_path / "paper"
    shutil.copytree(PROJECT_ROOT / "paper", paper, ignore=shutil.ignore_patterns("runs", "factorial"))
    shutil.copytree(PROJECT_ROOT / "figures", tmp_path / "figures")
    pdf = build_pdf(paper)
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")
