"""``course import moodle|canvas`` on downloads as a Russian class produces them: Cyrillic
names, two students whose names slug alike, zips without the UTF-8 flag (cp866), both Moodle
layouts, hostile entries (a symbolic link and a file "through" it, ``..``, a zip bomb), a
130-character name. Through the ``course`` command; no grading."""

from __future__ import annotations

import json
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest

from course.lms.archive import decode_names
from course.lms.translit import slug, transliterate
from tests.grading.lms_class import course_here

AID = "01_finite_differences"
NB = '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
LONG = "Константин" + "о" * 110 + " Иванов-Петров"  # 130 characters
assert len(LONG) >= 130


def course(*args: str | Path) -> subprocess.CompletedProcess:
    """``course ARGS`` in this process (``lms_class.course_here``): the importers only read and
    write files; ``tests/grading/test_cli.py`` runs the installed console script."""
    return course_here(*args)


class _Legacy(zipfile.ZipInfo):
    """An entry written as old archivers write it: the name's bytes as they are, no UTF-8 flag
    (``filename`` holds them read as cp437, as ``zipfile`` reads such names)."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.filename.encode("cp437"), self.flag_bits & ~0x800


def _zip(
    path: Path, entries: dict[str, str | bytes], *, utf8: bool = True, encoding: str = "utf-8"
) -> Path:
    """A zip; names without the UTF-8 flag are written in ``encoding`` (as a Russian Windows
    archiver writes cp866)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name) if utf8 else _Legacy(name.encode(encoding).decode("cp437"))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    if not utf8:
        with zipfile.ZipFile(path) as zf:
            assert not any(i.flag_bits & 0x800 for i in zf.infolist()), "no UTF-8 flag"
        assert "Смирнова".encode(encoding) in path.read_bytes(), "the name's bytes as written"
    return path


def _ids(out: Path) -> set[str]:
    return {p.name for p in out.iterdir() if p.is_dir()}


def test_gost_system_b() -> None:
    assert transliterate("Щукин Цыган Ёж Юля") == "Shhukin Czy'gan Yozh Yulya"
    assert transliterate("Объезд, Эра, сыр, конь") == "Ob``ezd, E'ra, sy'r, kon`"
    assert slug("Вера Смирнова") == "vera_smirnova" and slug("Пётр Иванов") == "pyotr_ivanov"
    assert slug("John Smith") == slug("john-smith") == "john_smith"
    assert len(slug(LONG)) <= 40 and slug(LONG).startswith("konstantin")


def test_decode_names_detects_cp866_and_cp1251() -> None:
    names = ["Вера Смирнова_12_assignsubmission_file_", "Пётр Иванов_13_assignsubmission_file_"]
    for enc in ("cp866", "cp1251"):
        got, note = decode_names([n.encode(enc) for n in names])
        assert got == enc and note and enc in note, (enc, got, note)
    assert decode_names([n.encode() for n in names])[0] == "utf-8"
    assert decode_names([b"plain_1_assignsubmission_file_"]) == ("cp437", None)


def test_moodle_folders_russian_names_unique_ids(tmp_path: Path) -> None:
    """Every Cyrillic name gets its own readable id; John Smith and john-smith stay two
    students; the ids are remembered for export."""
    people = {
        "Вера Смирнова": 101,
        "Пётр Иванов": 102,
        "John Smith": 103,
        "john-smith": 104,
        LONG: 105,
    }
    src = _zip(
        tmp_path / "moodle.zip",
        {
            f"{name}_{uid}_assignsubmission_file_/{AID}.ipynb": NB.replace("[]", f'[], "u": {uid}')
            for name, uid in people.items()
        },
    )
    r = course(
        "import", "moodle", src, "-a", AID, "--to", tmp_path / "subs", "-w", tmp_path / "grading"
    )
    assert r.returncode == 0, r.stderr
    ids = _ids(tmp_path / "subs")
    assert {"vera_smirnova_101", "pyotr_ivanov_102", "john_smith_103", "john_smith_104"} <= ids
    assert len(ids) == 5, ids
    for sid in ids:  # each its own notebook, none overwritten
        uid = int(sid.rsplit("_", 1)[1])
        text = (tmp_path / "subs" / sid / AID / f"{AID}.ipynb").read_text()
        assert f'"u": {uid}' in text, (sid, text)
    assert "5 submission(s)" in r.stdout, r.stdout
    kept = json.loads((tmp_path / "grading" / "lms" / f"moodle-{AID}.json").read_text())
    assert kept["students"]["vera_smirnova_101"]["name"] == "Вера Смирнова"
    assert (
        kept["students"]["vera_smirnova_101"]["prefix"]
        == "Вера Смирнова_101_assignsubmission_file_"
    )


def test_moodle_flat_layout_and_cp866_zip(tmp_path: Path) -> None:
    """The flat layout is read; a zip without the UTF-8 flag written in cp866 decodes to the
    real names, with a note."""
    src = _zip(
        tmp_path / "flat.zip",
        {
            f"Вера Смирнова_201_assignsubmission_file_{AID}.ipynb": NB,
            f"Пётр Иванов_202_assignsubmission_file_{AID}.ipynb": NB,
        },
        utf8=False,
        encoding="cp866",
    )
    r = course("import", "moodle", src, "-a", AID, "--to", tmp_path / "subs", "-w", tmp_path / "w")
    assert r.returncode == 0, r.stderr
    assert _ids(tmp_path / "subs") == {"vera_smirnova_201", "pyotr_ivanov_202"}
    assert (tmp_path / "subs" / "vera_smirnova_201" / AID / f"{AID}.ipynb").is_file()
    assert "note:" in r.stdout and "cp866" in r.stdout, r.stdout
    kept = json.loads((tmp_path / "w" / "lms" / f"moodle-{AID}.json").read_text())
    assert kept["layout"] == "flat"


def test_roster_mapping_two_users_to_one_id_is_an_error(tmp_path: Path) -> None:
    src = _zip(
        tmp_path / "m.zip",
        {
            f"John Smith_301_assignsubmission_file_/{AID}.ipynb": NB,
            f"john-smith_302_assignsubmission_file_/{AID}.ipynb": NB,
        },
    )
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "id,name,email\njsmith,John Smith,js@example.org\njsmith,john-smith,js2@example.org\n",
        encoding="utf-8",
    )
    r = course(
        "import",
        "moodle",
        src,
        "-a",
        AID,
        "--to",
        tmp_path / "subs",
        "--roster",
        roster,
        "-w",
        tmp_path / "w",
    )
    assert r.returncode == 2, r.stdout
    assert "John Smith_301" in r.stderr and "john-smith_302" in r.stderr, r.stderr
    assert "jsmith" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "subs").exists(), "nothing written"
    # a roster that tells them apart: its ids
    roster.write_text("id,name,moodle_id\njsmith,John Smith,301\njsmith2,x,302\n")
    r = course(
        "import",
        "moodle",
        src,
        "-a",
        AID,
        "--to",
        tmp_path / "subs",
        "--roster",
        roster,
        "-w",
        tmp_path / "w",
    )
    assert r.returncode == 0, r.stderr
    assert _ids(tmp_path / "subs") == {"jsmith", "jsmith2"}


def _symlink_info(name: str, target: str) -> tuple[zipfile.ZipInfo, str]:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target


def test_bad_entries_are_skipped_one_line_each_the_rest_imported(tmp_path: Path) -> None:
    """A symbolic link, an entry through it, '..', a Canvas name ending in '..', a zip bomb
    and a 130-character Cyrillic name: reported, not fatal."""
    src = tmp_path / "canvas.zip"
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"смирноваВера_401_5001_{AID}.ipynb", NB)
        zf.writestr(f"ивановпётр_402_5002_{AID}-1.ipynb", NB)
        zf.writestr(f"{LONG.replace(' ', '')}_403_5003_{AID}.ipynb", NB)
        zf.writestr(*_symlink_info("link_404_5004_x", "/etc"))
        zf.writestr("link_404_5004_x/passwd", "through the link")
        zf.writestr("x_1_2_..", "dots")
        zf.writestr("../evil_405_5005_a.ipynb", NB)
        zf.writestr("bomb_406_5006_big.ipynb", b"0" * (300 << 20))  # 300 MiB → ~300 KiB
    r = course("import", "canvas", src, "-a", AID, "--to", tmp_path / "subs", "-w", tmp_path / "w")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    ids = _ids(tmp_path / "subs")
    assert "smirnovavera_401" in ids and "ivanovpyotr_402" in ids, ids
    assert any(i.endswith("_403") and i.startswith("konstantin") for i in ids), ids
    assert (tmp_path / "subs" / "ivanovpyotr_402" / AID / f"{AID}.ipynb").is_file(), (
        "Canvas's -1 suffix removed"
    )
    skipped = [line for line in r.stdout.splitlines() if line.startswith("skipped: ")]
    reasons = "\n".join(skipped)
    assert len(skipped) == 5, r.stdout
    assert "link_404_5004_x: a symbolic link" in reasons
    assert "link_404_5004_x/passwd: inside the symbolic link" in reasons
    assert "x_1_2_..: the file name after the ids is '..'" in reasons
    assert "../evil" in reasons and "bomb_406_5006_big.ipynb: " in reasons, reasons
    assert "more than 200 MiB per file" in reasons or "zip bomb" in reasons, reasons
    assert not any("bomb" in i for i in ids)


@pytest.mark.parametrize("declared", [2 << 30])
def test_zip_bomb_total_refused_before_writing(tmp_path: Path, declared: int) -> None:
    """A download whose entries declare more than the total cap is refused at once (one
    line, status 2), nothing written — the sizes in the headers are read, not the data."""
    src = tmp_path / "bomb.zip"
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as zf:
        for k in range(12):  # 12 × 100 MiB of zeros: ≈ 1.2 GiB declared, ≈ 1.2 MB on disk
            zf.writestr(
                f"Вера Смирнова_{500 + k}_assignsubmission_file_/z{k}.bin", b"\0" * (100 << 20)
            )
    assert src.stat().st_size < 4 << 20
    r = course("import", "moodle", src, "-a", AID, "--to", tmp_path / "subs", "-w", tmp_path / "w")
    assert r.returncode == 2 and "MiB" in r.stderr and "zip bomb" in r.stderr, r.stderr
    assert not (tmp_path / "subs").exists()


def test_folder_source_never_follows_symlinks(tmp_path: Path) -> None:
    dl = tmp_path / "dl"
    good = dl / "Вера Смирнова_601_assignsubmission_file_"
    good.mkdir(parents=True)
    (good / f"{AID}.ipynb").write_text(NB)
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "answers.ipynb").write_text("SECRET")
    (good / "linked").symlink_to(secret)
    (good / "file-link.ipynb").symlink_to(secret / "answers.ipynb")
    r = course("import", "moodle", dl, "-a", AID, "--to", tmp_path / "subs", "-w", tmp_path / "w")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "subs" / "vera_smirnova_601" / AID
    assert sorted(p.name for p in out.rglob("*")) == [f"{AID}.ipynb"]
    assert r.stdout.count("symbolic link (never followed)") == 2, r.stdout


def test_help_shows_layouts() -> None:
    r = course("import", "--help")
    assert r.returncode == 0
    for text in (
        "assignsubmission_file_/",
        "assignsubmission_file_03_reverse_mode.ipynb",
        "_LATE_",
        "subs/vera_smirnova_1234/03_reverse_mode/",
        "GOST 7.79-2000",
    ):
        assert text in r.stdout, text
