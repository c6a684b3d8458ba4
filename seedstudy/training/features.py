"""A tokenized split as flat NumPy arrays: every token row end to end, and where each row starts.

Row ``r`` of a column is ``column[offsets[r]:offsets[r + 1]]``; example ``i`` owns rows
``i * per`` to ``i * per + per - 1`` (``per`` = 1, or the choices of a multiple-choice task).
Arrays rather than lists of Python ints: ReCoRD's ~1.4 M (query, candidate) rows would be tens
of GB as Python objects, and a few GB as int32 arrays that ``training.cache`` memory-maps, so
seeds and workers share the pages instead of each parsing its own copy.

Batches are padded here, as ``tokenizer.pad(padding="longest")`` pads (same side, same pad
values; tested equal), without building a Python list per token.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ID_COLUMN = "input_ids"
DTYPES = {"input_ids": np.int32, "token_type_ids": np.int8, "attention_mask": np.int8}


@dataclass(frozen=True)
class Features:
    """Token columns of ``len(self)`` examples with ``per`` rows each (see the module docstring)."""

    columns: dict[str, np.ndarray]
    offsets: np.ndarray  # int64, rows + 1
    per: int = 1

    @classmethod
    def from_lists(cls, encoding: dict[str, list[list[int]]], keys: Sequence[str], per: int = 1) -> Features:
        """From a tokenizer's unpadded output (one list of ints per row, for each key)."""
        rows = encoding[ID_COLUMN]
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(r) for r in rows], out=offsets[1:])
        columns = {}
        for key in keys:
            flat = np.fromiter((t for row in encoding[key] for t in row), dtype=np.int64, count=offsets[-1])
            dtype = DTYPES.get(key, np.int32)
            if len(flat) and (flat.min() < np.iinfo(dtype).min or flat.max() > np.iinfo(dtype).max):
                raise ValueError(f"token column {key!r} holds values outside {np.dtype(dtype).name}")
            columns[key] = flat.astype(dtype)
        return cls(columns, offsets, per)

    @classmethod
    def concat(cls, tables: Sequence[Features]) -> Features:
        """The examples of ``tables`` one after the other (tables of one layout)."""
        if not tables:
            raise ValueError("no token tables to join")
        sizes = [t.offsets[-1] for t in tables]
        starts = np.cumsum([0, *sizes[:-1]])
        offsets = np.concatenate([tables[0].offsets[:1]] + [t.offsets[1:] + s for t, s in zip(tables, starts)])
        columns = {k: np.concatenate([t.columns[k] for t in tables]) for k in tables[0].columns}
        return cls(columns, offsets.astype(np.int64), tables[0].per)

    def __len__(self) -> int:
        """Examples (not rows)."""
        return (len(self.offsets) - 1) // self.per

    def __iter__(self):
        """Refused: iterate ``to_lists()`` for examples, or use the arrays."""
        raise TypeError("a token table is not iterable: use table.to_lists() or its arrays")

    def __getitem__(self, index: slice | Sequence[int] | np.ndarray) -> Features:
        """The examples at ``index`` (a slice or positions), in that order, as a new table.

        One integer is refused: a table is not a sequence of examples (iterating it by
        position would stop silently at the first error), and a table of one is ``table[[i]]``.
        """
        if isinstance(index, (int, np.integer)):
            raise TypeError("index a token table with a slice or a list of positions (table[[i]] for one)")
        examples = np.arange(len(self))[index] if isinstance(index, slice) else np.asarray(index, dtype=np.int64)
        rows = (examples[:, None] * self.per + np.arange(self.per)).reshape(-1)
        starts, ends = self.offsets[rows], self.offsets[rows + 1]
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(ends - starts, out=offsets[1:])
        take = _ranges(starts, ends)
        return Features({k: np.asarray(v[take]) for k, v in self.columns.items()}, offsets, self.per)

    def __eq__(self, other: object) -> bool:
        """Same rows, choices and tokens in every column."""
        return (isinstance(other, Features) and self.per == other.per
                and np.array_equal(self.offsets, other.offsets) and self.columns.keys() == other.columns.keys()
                and all(np.array_equal(v, other.columns[k]) for k, v in self.columns.items()))

    def row_lengths(self) -> np.ndarray:
        """Tokens in every row."""
        return np.diff(self.offsets)

    def lengths(self) -> np.ndarray:
        """Tokens in every example (for multiple choice: its longest choice)."""
        return self.row_lengths().reshape(-1, self.per).max(axis=1)

    def save(self, folder: Path) -> None:
        """One ``.npy`` per column plus the offsets and a small JSON header (no pickles: a shared
        cache must not run code)."""
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "offsets.npy", self.offsets)
        for key, values in self.columns.items():
            np.save(folder / f"{key}.npy", values)
        (folder / "header.json").write_text(json.dumps({"per": self.per, "columns": list(self.columns)}))

    @classmethod
    def load(cls, folder: Path) -> Features:
        """The table saved in ``folder``, memory-mapped (pages are read when touched, and shared)."""
        header = json.loads((folder / "header.json").read_text())
        offsets = np.load(folder / "offsets.npy", mmap_mode="r", allow_pickle=False)
        columns = {k: np.load(folder / f"{k}.npy", mmap_mode="r", allow_pickle=False) for k in header["columns"]}
        if (len(offsets) - 1) % header["per"] or any(len(v) != offsets[-1] for v in columns.values()):
            raise ValueError(f"token cache entry {folder} is inconsistent")
        return cls(columns, offsets, header["per"])

    def to_lists(self) -> list[dict]:
        """Per example, each column as Python lists (one list per choice for multiple choice)."""
        out = []
        for i in range(len(self)):
            rows = range(i * self.per, (i + 1) * self.per)
            cut = {k: [v[self.offsets[r]:self.offsets[r + 1]].tolist() for r in rows]
                   for k, v in self.columns.items()}
            out.append(cut if self.per > 1 else {k: v[0] for k, v in cut.items()})
        return out

    def padded(self, pad_values: dict[str, int], side: str = "right") -> dict[str, np.ndarray]:
        """Every row padded to the longest: (examples, tokens), or (examples, choices, tokens)."""
        lengths = self.row_lengths()
        width = int(lengths.max()) if len(lengths) else 0
        position = np.arange(width)
        filled = position < lengths[:, None] if side == "right" else position >= (width - lengths)[:, None]
        out = {}
        for key, values in self.columns.items():
            grid = np.full((len(lengths), width), pad_values.get(key, 0), dtype=np.int64)
            grid[filled] = values  # row-major order of the filled cells = the rows end to end
            out[key] = grid if self.per == 1 else grid.reshape(len(self), self.per, width)
        return out


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The concatenation of ``arange(s, e)`` for every pair (vectorised: one index per token)."""
    sizes = ends - starts
    total = int(sizes.sum())
    first_out = np.cumsum(sizes) - sizes  # where each range begins in the output
    return np.arange(total, dtype=np.int64) + np.repeat(starts - first_out, sizes)


def pad_values(tokenizer) -> dict[str, int]:
    """What ``tokenizer.pad`` fills each column with: the pad token, type id 0 (or the
    tokenizer's), mask 0."""
    return {"input_ids": tokenizer.pad_token_id, "attention_mask": 0,
            "token_type_ids": getattr(tokenizer, "pad_token_type_id", 0)}
