"""Typeset the paper: ``paper/main.tex`` (with the generated tables and figures) to ``main.pdf``.

latexmk drives the TeX runs (it reruns until references settle); without a TeX installation the
error says how to get one. The PDF is a build product, written beside main.tex.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .. import PROJECT_ROOT

INSTALL_HINT = ("install TeX, e.g. on Debian/Ubuntu: sudo apt-get install latexmk texlive-latex-recommended "
                "texlive-fonts-recommended; on macOS: MacTeX; elsewhere TeX Live (tug.org/texlive)")


def build_pdf(paper_dir: str | Path | None = None, timeout: float = 600) -> Path:
    """Run latexmk on ``main.tex`` in ``paper_dir`` (default: the project's paper/); returns the PDF."""
    folder = Path(paper_dir or PROJECT_ROOT / "paper").expanduser().resolve()
    source = folder / "main.tex"
    if not source.is_file():
        raise FileNotFoundError(f"{source} not found: expected the paper's LaTeX source there")
    latexmk = shutil.which("latexmk")
    if latexmk is None or shutil.which("pdflatex") is None:
        raise RuntimeError(f"no TeX installation found (latexmk and pdflatex are not on PATH): {INSTALL_HINT}")
    done = subprocess.run([latexmk, "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
                           source.name], cwd=folder, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        errors = [line for line in done.stdout.splitlines() if ":" in line and ".tex:" in line][:3]
        raise RuntimeError(f"latexmk failed on {source} (exit {done.returncode}): "
                           f"{' | '.join(errors) or 'see ' + str(folder / 'main.log')}")
    return folder / "main.pdf"
