"""Which classes a verb asks of a class-conditional generator (``--class``), as label numbers.

A run trained with ``--cond`` records its classes in label order (``arch["class_names"]``), so a
class can be asked for by its label (``7``), its name (``Sneaker``, a folder's sub-folder name) or
all at once (``all``); several are comma-separated (``3,5``) or a list in Python. An unconditional
generator refuses a class in one line; a conditional one asked for none draws the classes in the
training data's shares.
"""

from __future__ import annotations

from typing import Any

from ..errors import DcganError

ALL = "all"


def names(meta: dict[str, Any]) -> list[str]:
    """The classes of a generator's or discriminator's metadata, in label order ([]: unconditional)."""
    arch = meta.get("arch") or {}
    return [str(n) for n in arch.get("class_names") or []] if arch.get("cond", "none") != "none" else []


def resolve(spec: Any, meta: dict[str, Any], what: str = "--class") -> list[int] | None:
    """``spec`` (None, a label, a name, "all", "3,5", or a list of labels and names) -> the labels
    asked for, in order; None when nothing was asked. ``what``: the flag named in refusals."""
    if spec is None:
        return None
    known = names(meta)
    if not known:
        raise DcganError(f"{what} {_show(spec)}: this generator was trained without --cond, so it "
                         f"takes no class; drop {what} (or train with --cond projection)")
    if isinstance(spec, str) and spec.strip().lower() == ALL:
        return list(range(len(known)))
    items = spec.split(",") if isinstance(spec, str) else spec if isinstance(spec, (list, tuple)) else [spec]
    out = [_one(item, known, what) for item in items]
    if not out:
        raise DcganError(f"{what}: give a class label, a class name or 'all'")
    return out


def _one(item: Any, known: list[str], what: str = "--class") -> int:
    if isinstance(item, str):
        item = item.strip()
        if item in known:  # a name first: a folder's classes may be called "1", "2", ...
            return known.index(item)
        if item.lstrip("-").isdigit():
            item = int(item)
    if isinstance(item, int) and not isinstance(item, bool) and 0 <= item < len(known):
        return item
    shown = ", ".join(known[:12]) + (f", ... ({len(known)} in all)" if len(known) > 12 else "")
    raise DcganError(f"{what} {item!r} is not one of this generator's classes: a label 0-"
                     f"{len(known) - 1}, a name ({shown}) or 'all'")


def _show(spec: Any) -> str:
    return ",".join(map(str, spec)) if isinstance(spec, (list, tuple)) else str(spec)


def label(ids: list[int] | None, what: str = "--class") -> int | None:
    """The single label of a verb that works at one fixed class (latent walks, D's decision)."""
    if ids is None:
        return None
    if len(ids) != 1:
        raise DcganError(f"{what}: give one class here (got {len(ids)})")
    return ids[0]
