"""On-disk cache of tokenized splits, shared by every seed of a task and by every sweep worker.

A split is tokenized once per (tokenizer, input texts, max length): the key hashes exactly what
produced the features, so a changed template, subset, tokenizer or length is a different entry
and never a stale hit. Entries are written to a scratch file and renamed into place, so workers
side by side never read half a file. ``$SEEDSTUDY_CACHE_DIR`` moves the cache (``off`` disables
it); the default is ``~/.cache/seedstudy``.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

CACHE_ENV = "SEEDSTUDY_CACHE_DIR"
FORMAT = 1  # bump when the feature layout changes
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


def cached(key: str, compute: Callable[[], list[dict]]) -> list[dict]:
    """The cached value of ``key``, computing and storing it on a miss."""
    root = cache_dir()
    if root is None:
        return compute()
    path = root / "tokens" / f"{key}.json"  # JSON, not pickle: a shared cache must not run code
    if path.is_file():
        try:
            return json.loads(path.read_text())
        except (ValueError, OSError):
            pass  # a damaged entry is recomputed and replaced
    value = compute()
    scratch = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=".tmp-", delete=False) as tmp:
            scratch = tmp.name
            json.dump(value, tmp, separators=(",", ":"))
        os.replace(scratch, path)
    except OSError:  # an unwritable or full cache only costs speed
        if scratch and os.path.exists(scratch):
            os.unlink(scratch)
    return value
