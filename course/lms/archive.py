"""An LMS download read safely, as a zip or as a folder: names decoded, sizes capped, symbolic
links never followed, every entry that is not taken reported with its reason.

Names in a zip: UTF-8 when the entry's flag (bit 11) says so; otherwise the raw bytes are
decoded as UTF-8 if they are valid UTF-8 (Info-ZIP and macOS write it without the flag), else
as cp866 (Russian Windows archivers), cp1251 or cp437, whichever reads as most Cyrillic
letters — one guess per archive, reported as a note. Python's ``zipfile`` itself reads every
unflagged name as cp437.

Caps (the download's own, before anything is written): :data:`LIMITS` — in total, per file,
and the compression ratio of any file above 1 MiB; declared sizes are checked first and the
bytes really read are counted while they are copied (a header can lie).
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = [
    "LIMITS",
    "Entry",
    "Limits",
    "Listing",
    "TooLarge",
    "copy_entry",
    "decode_names",
    "open_download",
]


@dataclass(frozen=True)
class Limits:
    """Bytes a download may unpack to: in total, per file; the largest compression ratio of a
    file above ``ratio_from`` bytes (a notebook compresses about 5–20 : 1)."""

    total: int = 1 << 30
    per_file: int = 200 << 20  # as autograde's cap on a zip in a submission
    ratio: float = 200.0
    ratio_from: int = 1 << 20


LIMITS = Limits()


class TooLarge(ValueError):
    """More bytes than a cap allows."""


@dataclass
class Entry:
    """One file of the download: its path (decoded components), declared size, and opener."""

    parts: tuple[str, ...]
    size: int
    open: Callable[[], IO[bytes]]

    @property
    def name(self) -> str:
        return "/".join(self.parts)


@dataclass
class Listing:
    """The files taken, the entries not taken (name, reason), and notes (encodings)."""

    entries: list[Entry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


_CANDIDATES = ("cp866", "cp1251", "cp437")
_RUSSIAN = set("абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ")


def _cyrillic_score(text: str) -> int:
    return sum(ch in _RUSSIAN for ch in text)


def decode_names(raw: list[bytes]) -> tuple[str, str | None]:
    """The encoding of names written without the UTF-8 flag: ``("utf-8", note)`` when all are
    valid UTF-8 with some non-ASCII; else the candidate with most Cyrillic letters (ties: cp437,
    zipfile's default); the note says what was chosen, None when every name is ASCII."""
    wide = [b for b in raw if any(c > 127 for c in b)]
    if not wide:
        return "cp437", None
    try:
        for b in wide:
            b.decode("utf-8")
        return "utf-8", (
            f"{len(wide)} zip name(s) without the UTF-8 flag read as UTF-8 (they are valid UTF-8)"
        )
    except UnicodeDecodeError:
        pass
    scores = {
        enc: sum(_cyrillic_score(b.decode(enc, "replace")) for b in wide) for enc in _CANDIDATES
    }
    best = max(_CANDIDATES, key=lambda e: (scores[e], e == "cp437"))
    if scores[best] == 0:
        best = "cp437"
    return best, (
        f"{len(wide)} zip name(s) without the UTF-8 flag read as {best} (detected "
        f"among {', '.join(_CANDIDATES)}; e.g. "
        f"{wide[0].decode(best, 'replace')!r})"
    )


def _bad_path(parts: tuple[str, ...]) -> str | None:
    if not parts or any(p in ("", ".", "..") for p in parts):
        return "a path with '..', '.' or an empty part (outside the download?)"
    if "__MACOSX" in parts or parts[-1] == ".DS_Store":
        return "macOS metadata"
    if any("\x00" in p or "\\" in p for p in parts):
        return "a name with a NUL or a backslash"
    return None


def _zip_listing(zf: zipfile.ZipFile, limits: Limits) -> Listing:
    out = Listing()
    infos = zf.infolist()
    raw = [i.filename.encode("cp437") for i in infos if not i.flag_bits & 0x800]
    enc, note = decode_names(raw)
    if note:
        out.notes.append(note)
    declared = sum(i.file_size for i in infos)
    if declared > limits.total:
        raise TooLarge(
            f"the download unpacks to {declared >> 20} MiB, more than the "
            f"{limits.total >> 20} MiB allowed (a zip bomb?); nothing was written"
        )
    named = []
    for i in infos:
        name = (
            i.filename if i.flag_bits & 0x800 else i.filename.encode("cp437").decode(enc, "replace")
        )
        named.append((i, tuple(p for p in name.replace("\\", "/").split("/")), name))
    links = {parts for i, parts, _ in named if stat.S_ISLNK(i.external_attr >> 16)}
    for info, parts, name in named:
        if name.endswith("/") or info.is_dir():
            continue
        if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
            out.skipped.append((name, "an absolute path"))
            continue
        reason = _bad_path(parts)
        if parts in links:
            reason = "a symbolic link (never followed)"
        elif any(parts[:k] in links for k in range(1, len(parts))):
            link = next("/".join(parts[:k]) for k in range(1, len(parts)) if parts[:k] in links)
            reason = f"inside the symbolic link {link} (never followed)"
        elif info.file_size > limits.per_file:
            reason = (
                f"{info.file_size >> 20} MiB unpacked, more than "
                f"{limits.per_file >> 20} MiB per file"
            )
        elif info.file_size > limits.ratio_from and info.file_size > limits.ratio * max(
            info.compress_size, 1
        ):
            reason = (
                f"compressed {info.file_size // max(info.compress_size, 1)} : 1, more "
                f"than {limits.ratio:g} : 1 (a zip bomb?)"
            )
        if reason:
            out.skipped.append((name, reason))
            continue
        out.entries.append(Entry(parts, info.file_size, functools.partial(zf.open, info)))
    return out


def _opener(path: str) -> Callable[[], IO[bytes]]:
    """Opens ``path`` for reading bytes when called (one closure per file)."""
    return lambda: open(path, "rb")  # the caller closes it


def _fs_name(name: str) -> str:
    """A file name as the file system gave it; bytes that were not UTF-8 are decoded as the
    zip names are (an unzipped cp866 archive keeps cp866 bytes)."""
    if not any("\udc80" <= ch <= "\udcff" for ch in name):
        return name
    raw = os.fsencode(name)
    enc, _ = decode_names([raw])
    return raw.decode(enc, "replace")


def _dir_listing(root: Path, limits: Limits) -> Listing:
    out = Listing()
    total = 0
    for base, dirs, files in os.walk(root, followlinks=False):
        rel = Path(base).relative_to(root).parts
        for d in list(dirs):
            if os.path.islink(os.path.join(base, d)):
                dirs.remove(d)
                out.skipped.append(("/".join((*rel, d)), "a symbolic link (never followed)"))
        dirs.sort()
        for f in sorted(files):
            path = os.path.join(base, f)
            parts = tuple(_fs_name(p) for p in (*rel, f))
            st = os.lstat(path)
            reason = _bad_path(parts)
            if stat.S_ISLNK(st.st_mode):
                reason = "a symbolic link (never followed)"
            elif not stat.S_ISREG(st.st_mode):
                reason = "not a regular file"
            elif st.st_size > limits.per_file:
                reason = f"{st.st_size >> 20} MiB, more than {limits.per_file >> 20} MiB per file"
            if reason:
                out.skipped.append(("/".join(parts), reason))
                continue
            total += st.st_size
            if total > limits.total:
                raise TooLarge(f"the download holds more than {limits.total >> 20} MiB")
            out.entries.append(Entry(parts, st.st_size, _opener(path)))
    return out


@contextlib.contextmanager
def open_download(src: Path, limits: Limits = LIMITS) -> Iterator[Listing]:
    """The files of a download (a zip or a folder), open while the context lasts."""
    src = Path(src)
    if src.is_dir():
        yield _dir_listing(src, limits)
        return
    if not src.is_file():
        raise FileNotFoundError(f"no file or folder {src}")
    if not zipfile.is_zipfile(src):
        raise ValueError(f"{src}: neither a folder nor a zip file")
    with zipfile.ZipFile(src) as zf:
        yield _zip_listing(zf, limits)


def copy_entry(entry: Entry, target: Path, limits: Limits = LIMITS) -> int:
    """Stream ``entry`` to ``target`` and return its size; at most ``limits.per_file`` bytes
    (more raises :class:`TooLarge` and removes the partial file)."""
    written = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with entry.open() as src, open(target, "wb") as dst:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > limits.per_file:
                    raise TooLarge(
                        f"more than {limits.per_file >> 20} MiB unpacked (the zip "
                        f"header said {entry.size} bytes)"
                    )
                dst.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return written
