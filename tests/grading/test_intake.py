"""Unit tests of :mod:`course.pipeline.intake`: LMS downloads into nbgrader's submitted layout
(in-process; ``tests/grading/test_lms_import.py`` runs the same importers through ``course import``),
and the explanation of a folder ``course autograde`` cannot read.

No grading and no kernel: small zips and folders in ``tmp_path``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from course.lms.archive import Limits
from course.pipeline.intake import (
    EXPECTED_LAYOUT,
    explain_layout,
    import_canvas,
    import_download,
    import_moodle,
)

AID = "01_finite_differences"
NB = '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def _zip(path: Path, entries: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


# --- Moodle ---------------------------------------------------------------------------------------
def test_moodle_folders_every_file_kept_and_remembered(tmp_path: Path) -> None:
    src = _zip(
        tmp_path / "m.zip",
        {
            f"Вера Смирнова_11_assignsubmission_file_/{AID}.ipynb": NB,
            "Вера Смирнова_11_assignsubmission_file_/data/x.csv": "1,2",
            f"Иван Петров_12_assignsubmission_file_/{AID}.ipynb": NB,
        },
    )
    out = import_download("moodle", src, AID, tmp_path / "subs", workdir=tmp_path / "w")
    assert out.mapping == {
        "Вера Смирнова_11_assignsubmission_file_": "vera_smirnova_11",
        "Иван Петров_12_assignsubmission_file_": "ivan_petrov_12",
    }
    assert out.files == 3 and out.skipped == []
    assert _tree(tmp_path / "subs") == {
        f"vera_smirnova_11/{AID}/{AID}.ipynb",
        f"vera_smirnova_11/{AID}/data/x.csv",
        f"ivan_petrov_12/{AID}/{AID}.ipynb",
    }
    kept = json.loads((tmp_path / "w" / "lms" / f"moodle-{AID}.json").read_text())
    assert kept["layout"] == "folders" and kept["assignment"] == AID
    assert kept["students"]["ivan_petrov_12"] == {
        "uid": "12",
        "name": "Иван Петров",
        "prefix": "Иван Петров_12_assignsubmission_file_",
        "late": False,
    }


def test_moodle_ids_from_the_roster_or_the_lms(tmp_path: Path) -> None:
    src = _zip(
        tmp_path / "m.zip",
        {
            f"Вера Смирнова_21_assignsubmission_file_/{AID}.ipynb": NB,
            f"Иван Петров_22_assignsubmission_file_/{AID}.ipynb": NB,
            f"Anna Lee_23_assignsubmission_file_/{AID}.ipynb": NB,
        },
    )
    roster = tmp_path / "roster.csv"
    # a BOM, spaces around the header, a name in the other order, an LMS id, one not listed
    roster.write_text(
        "\ufeff id , first_name , last_name , moodle_id\nvs,Вера,Смирнова,\nip,x,y,22\n",
        encoding="utf-8",
    )
    out = import_moodle(src, AID, tmp_path / "subs", roster)
    assert sorted(out.values()) == ["anna_lee_23", "ip", "vs"], out
    by_lms = import_moodle(src, AID, tmp_path / "subs2", ids="lms")
    assert sorted(by_lms.values()) == ["21", "22", "23"]


def test_moodle_clash_names_both_and_writes_nothing(tmp_path: Path) -> None:
    src = _zip(
        tmp_path / "m.zip",
        {
            f"A B_31_assignsubmission_file_/{AID}.ipynb": NB,
            f"C D_32_assignsubmission_file_/{AID}.ipynb": NB,
        },
    )
    roster = tmp_path / "r.csv"
    roster.write_text("id,name\nsame,A B\nsame,C D\n")
    with pytest.raises(ValueError, match="would both be student 'same'") as err:
        import_download("moodle", src, AID, tmp_path / "subs", roster)
    assert "A B_31" in str(err.value) and "C D_32" in str(err.value)
    assert not (tmp_path / "subs").exists()


def test_a_newer_download_replaces_the_older_and_merges_what_export_needs(
    tmp_path: Path,
) -> None:
    first = _zip(
        tmp_path / "1.zip",
        {
            f"A B_41_assignsubmission_file_/{AID}.ipynb": NB,
            "A B_41_assignsubmission_file_/old.txt": "old",
        },
    )
    second = _zip(
        tmp_path / "2.zip",
        {
            f"A B_41_assignsubmission_file_/{AID}.ipynb": NB,
            f"C D_42_assignsubmission_file_/{AID}.ipynb": NB,
        },
    )
    subs, work = tmp_path / "subs", tmp_path / "w"
    import_download("moodle", first, AID, subs, workdir=work)
    import_download("moodle", second, AID, subs, workdir=work)
    assert not (subs / "a_b_41" / AID / "old.txt").exists(), "the older files are gone"
    kept = json.loads((work / "lms" / f"moodle-{AID}.json").read_text())
    assert set(kept["students"]) == {"a_b_41", "c_d_42"}


def test_moodle_flat_and_unexplained_entries(tmp_path: Path) -> None:
    src = _zip(
        tmp_path / "m.zip",
        {
            f"A B_51_assignsubmission_file_{AID}.ipynb": NB,
            "readme.txt": "hello",
            f"a/b/A B_52_assignsubmission_file_{AID}.ipynb": NB,  # flat, but two folders down
        },
    )
    out = import_download("moodle", src, AID, tmp_path / "subs", workdir=tmp_path / "w")
    assert out.mapping == {"A B_51_assignsubmission_file_": "a_b_51"}
    assert sorted(name for name, _ in out.skipped) == [
        f"a/b/A B_52_assignsubmission_file_{AID}.ipynb",
        "readme.txt",
    ]
    assert all("not in a Moodle submission" in why for _, why in out.skipped)
    kept = json.loads((tmp_path / "w" / "lms" / f"moodle-{AID}.json").read_text())
    assert kept["layout"] == "flat"


def test_nothing_recognised_is_an_error_naming_the_skipped(tmp_path: Path) -> None:
    src = _zip(tmp_path / "m.zip", {"homework.ipynb": NB})
    with pytest.raises(ValueError, match="no Moodle submission folders") as err:
        import_download("moodle", src, AID, tmp_path / "subs")
    assert "1 entries skipped: homework.ipynb" in str(err.value)
    with pytest.raises(ValueError, match="no Canvas submission files"):
        import_download("canvas", src, AID, tmp_path / "subs")


# --- Canvas ---------------------------------------------------------------------------------------
def test_canvas_late_flag_and_second_upload_names(tmp_path: Path) -> None:
    src = _zip(
        tmp_path / "c.zip",
        {
            f"smithjohn_LATE_61_901_{AID}.ipynb": NB,
            "leeanna_62_902_notes-1.txt": "only one notes file: its name is restored",
            f"leeanna_62_903_{AID}.ipynb": NB,
            f"leeanna_62_904_{AID}-1.ipynb": NB,  # two of one name: both kept as they are
        },
    )
    out = import_canvas(src, AID, tmp_path / "subs")
    assert sorted(out.values()) == ["leeanna_62", "smithjohn_61"]
    late = tmp_path / "subs" / "smithjohn_61" / AID / "canvas-late.txt"
    assert "LATE" in late.read_text()
    assert not (tmp_path / "subs" / "leeanna_62" / AID / "canvas-late.txt").exists()
    assert _tree(tmp_path / "subs" / "leeanna_62") == {
        f"{AID}/notes.txt",
        f"{AID}/{AID}.ipynb",
        f"{AID}/{AID}-1.ipynb",
    }


def test_long_names_are_shortened_to_fit_the_file_system(tmp_path: Path) -> None:
    long = "ж" * 150 + ".ipynb"  # 306 bytes in UTF-8
    src = _zip(tmp_path / "m.zip", {f"A B_71_assignsubmission_file_/{long}": NB})
    import_download("moodle", src, AID, tmp_path / "subs")
    (written,) = (tmp_path / "subs" / "a_b_71" / AID).iterdir()
    assert written.suffix == ".ipynb" and len(written.name.encode()) <= 200
    assert written.name.startswith("жжж")


def test_files_over_the_cap_are_skipped_the_rest_imported(tmp_path: Path) -> None:
    src = _zip(
        tmp_path / "m.zip",
        {
            f"A B_81_assignsubmission_file_/{AID}.ipynb": NB,
            "A B_81_assignsubmission_file_/video.bin": "x" * 5000,
        },
    )
    limits = Limits(per_file=1000)
    out = import_download("moodle", src, AID, tmp_path / "subs", limits=limits)
    assert [name for name, _ in out.skipped] == ["A B_81_assignsubmission_file_/video.bin"], (
        out.skipped
    )
    assert _tree(tmp_path / "subs") == {f"a_b_81/{AID}/{AID}.ipynb"}


# --- explain_layout -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "layout,seen,hint",
    [
        ({"Ann_1_assignsubmission_file_/x.ipynb": NB}, "1 Moodle submission folders", "moodle"),
        ({"lee_2_3_x.ipynb": NB}, "1 Canvas submission files", "course import canvas"),
        ({"hw.ipynb": NB, "hw2.ipynb": NB}, "2 notebooks directly", "<student_id>/<assignment_id>"),
        ({"alice/hw.ipynb": NB}, "no assignment folder", "<student_id>/<assignment_id>"),
        ({"alice/03_reverse/hw.ipynb": NB}, "unknown assignments (e.g. alice/03_reverse)", AID),
        ({"alice/01_finite_differences/hw.ipynb": NB}, "1 student folders", None),
    ],
)
def test_explain_layout_says_what_is_there_and_what_to_do(
    tmp_path: Path, layout: dict[str, str], seen: str, hint: str | None
) -> None:
    for name, text in layout.items():
        path = tmp_path / "subs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    text = explain_layout(tmp_path / "subs", [AID])
    assert text.startswith(f"no submissions found in {tmp_path / 'subs'}: "), text
    assert seen in text and EXPECTED_LAYOUT in text, text
    if hint is None:
        assert "Hint" not in text, text
    else:
        assert "Hint:" in text and hint in text.split("Hint:", 1)[1], text


def test_explain_layout_of_an_empty_folder(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    assert explain_layout(tmp_path, [AID]).startswith(
        f"no submissions found in {tmp_path}: nothing"
    )
