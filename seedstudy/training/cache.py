"""On-disk cache of tokenized splits, shared by every seed of a task and by every sweep worker.

A split is tokenized once per (tokenizer, input texts, max length): the key hashes exactly what
produced the features, so a changed template, subset, tokenizer or length is a different entry
and never a stale hit. Entries are folders of NumPy arrays (``features.Features``), memory-mapped
when read, written to a scratch folder and renamed into place, so workers side by side never
read half an entry. ``$SEEDSTUDY_CACHE_DIR`` moves the cache (``off`` disables
it); the default is ``~/.cache/seedstudy``.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from .features import Features

CACHE_ENV = "SEEDSTUDY_CACHE_DIR"
FORMAT = 2  # bump when the feature layout changes (2: NumPy arrays, was JSON lists)
_fingerprints: dict[int, str] = {}


def cache_dir() -> Path | None:
    """Folder of the token cache, or None when disabled (``SEEDSTUDY_CACHE_DIR=off``)."""
    chosen = os.environ.get(CACHE_ENV, "")
    if chosen.lower() == "off":
        return None
    return Path(chosen).expanduser() if chosen else Path.home() / ".cache" / "seedstudy"


def tokenizer_fingerprint(tokenizer) -> str:
    """Hash of a tokenizer's full definition (vocabulary, normaliser, special tokens, inputs)."""
    key = id(tokenizer)
    if key not in _fingerprints:
        backend = tokenizer.backend_tokenizer.to_str() if hasattr(tokenizer, "backend_tokenizer") else ""
        spec = repr((type(tokenizer).__name__, tokenizer.name_or_path, len(tokenizer),
                     tokenizer.model_input_names, tokenizer.pad_token, tokenizer.padding_side, backend))
        _fingerprints[key] = hashlib.sha256(spec.encode()).hexdigest()
    return _fingerprints[key]


def features_key(tokenizer, texts: tuple[list[str], list[str] | None], max_length: int, per: int) -> str:
    """Cache key of one tokenized split: tokenizer, every input text, max length, texts per example."""
    digest = hashlib.sha256(f"{FORMAT}|{tokenizer_fingerprint(tokenizer)}|{max_length}|{per}".encode())
    for segment in texts:
        for text in segment or ():
            digest.update(text.encode())
            digest.update(b"\0")
        digest.update(b"\1")
    return digest.hexdigest()


def cached(key: str, compute: Callable[[], Features]) -> Features:
    """The cached features of ``key`` (memory-mapped), computing and storing them on a miss.

    An entry is a folder of ``.npy`` arrays (``features.Features.save``), written under a scratch
    name and renamed into place; a damaged entry is recomputed and replaced.
    """
    root = cache_dir()
    if root is None:
        return compute()
    folder = root / "tokens" / key
    found = _sound(folder)
    if found is not None:
        return found
    value = compute()  # a miss, or a damaged entry: recomputed and replaced
    scratch = None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".tmp-"))
        value.save(scratch)
        if folder.is_dir() and _sound(folder) is None:  # damaged; a sound one is another worker's
            _set_aside(folder)
        os.replace(scratch, folder)  # fails if a sound entry is there (another worker's): ours goes
    except OSError:  # that, or an unwritable or full cache: it only costs speed
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return value


def _sound(folder: Path) -> Features | None:
    """The entry in ``folder`` when it is there and whole, else None."""
    if not folder.is_dir():
        return None
    try:
        return Features.load(folder)
    except (ValueError, OSError, KeyError):
        return None


def _set_aside(folder: Path) -> None:
    """Move a damaged entry out of the way in one rename, then delete it (a sound one is never
    touched: another worker may have just written it, and readers may have it mapped)."""
    trash = folder.with_name(f".damaged-{folder.name}-{os.getpid()}")
    os.replace(folder, trash)
    shutil.rmtree(trash, ignore_errors=True)
