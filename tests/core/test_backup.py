"""`flask backup` and `flask restore`: the full demo, round-tripped row for row and file for file.

The demo is loaded once per module on a SQLite database of its own (and once on PostgreSQL when
TEST_DATABASE_URL points at one), with extra evidence files; every restore goes into a fresh database and
file store, and is compared with the source through the models' own column types (not the backup's
encoding), every column of every table, and every stored file byte for byte.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from audit_app import create_app
from audit_app.core import backup, storage
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from tests.conftest import own_database

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_DATABASE_URL.startswith(("postgresql", "postgres"))
needs_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="needs TEST_DATABASE_URL pointing at PostgreSQL")

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
CSV_BYTES = "case,agency,note\n1,Police,Ré-audit — «quoted»\n".encode()


def _sqlite_app(directory: Path, name: str) -> Flask:
    return create_app(
        "test",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{directory / f'{name}.db'}",
        MAIL_SERVER=None,
        FILE_STORAGE_DIR=str(directory / f"{name}-files"),
    )


def _load_demo(app: Flask) -> None:
    """The full demo, through its command, and a few more evidence files of every kind of content."""
    with app.app_context():
        upgrade()
        result = app.test_cli_runner().invoke(args=["demo", "load"])
        assert result.exit_code == 0, result.output
        partnership_id = db.session.scalar(sa.text("SELECT MIN(id) FROM partnerships"))
        with system_actor("test:backup"):
            for data, name in ((PDF_BYTES, "minutes.pdf"), (PNG_BYTES, "chart.png"), (CSV_BYTES, "cases.csv")):
                storage.store_file(io.BytesIO(data), name, partnership_id=partnership_id, uploaded_by_id=None)
            db.session.commit()
        db.session.remove()


def _backup(app: Flask, path: Path) -> str:
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["backup", "--output", str(path)])
        db.session.remove()
    assert result.exit_code == 0, result.output
    return result.output


def _restore(app: Flask, path: Path, *extra: str):
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["restore", str(path), *extra])
        db.session.remove()
    return result


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Iterator[tuple[Flask, Path]]:
    """The demo on SQLite, and its archive."""
    directory = tmp_path_factory.mktemp("backup-source")
    app = _sqlite_app(directory, "source")
    _load_demo(app)
    archive = directory / "demo.zip"
    _backup(app, archive)
    yield app, archive
    with app.app_context():
        db.engine.dispose()


@pytest.fixture()
def target(tmp_path) -> Iterator[Flask]:
    """An empty SQLite database and file store."""
    app = _sqlite_app(tmp_path, "target")
    yield app
    with app.app_context():
        db.engine.dispose()


# -- comparing two databases and two file stores --


def _tables() -> list[sa.Table]:
    version = sa.table("alembic_version", sa.column("version_num"))
    return [*db.metadata.sorted_tables, version]


def _contents(app: Flask) -> dict[str, list[tuple]]:
    """Every row of every table, every column, read through the models' types, in primary-key order."""
    with app.app_context(), db.engine.connect() as connection:
        contents = {}
        for table in _tables():
            order = list(getattr(table, "primary_key", None) or []) or list(table.columns)
            contents[table.name] = [tuple(row) for row in connection.execute(sa.select(table).order_by(*order))]
        return contents


def _files(app: Flask) -> dict[str, bytes]:
    with app.app_context():
        root = storage.storage_dir()
        return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.glob("??/*")) if path.is_file()}


def assert_same(source: Flask, restored: Flask) -> None:
    expected, actual = _contents(source), _contents(restored)
    assert expected.keys() == actual.keys()
    for name, rows in expected.items():
        assert actual[name] == rows, name
    assert sum(len(rows) for rows in expected.values()) > 20_000  # the full demo, not a sample
    assert len(expected["stored_files"]) >= 4
    files = _files(source)
    assert _files(restored) == files and len(files) >= 4


def _assert_nothing_restored(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection:
        assert backup.database_has_data(connection) == []
        db.engine.dispose()
    assert _files(app) == {}


# -- round trips --


def test_round_trip_on_sqlite_row_for_row_and_file_for_file(source, target):
    source_app, archive = source
    result = _restore(target, archive)
    assert result.exit_code == 0, result.output
    assert "every table's count and checksum match the archive" in result.output
    assert_same(source_app, target)
    # a restored database is in use: a new row gets the next id
    with target.app_context(), system_actor("test:backup"):
        partnership_id = db.session.scalar(sa.text("SELECT MIN(id) FROM partnerships"))
        stored = storage.store_made_file(
            b"after the restore\n", "note.txt", storage.TEXT, partnership_id=partnership_id
        )
        db.session.commit()
        assert stored.id == len(_contents(source_app)["stored_files"]) + 1
        db.session.remove()


def test_a_database_holding_data_is_refused_unless_forced(source, tmp_path):
    source_app, archive = source
    # a second copy to restore over, so the module's source stays as it was
    other = _sqlite_app(tmp_path, "other")
    first = _restore(other, archive)
    assert first.exit_code == 0, first.output
    with other.app_context():
        db.session.execute(
            sa.text(
                "UPDATE partnerships SET name = 'Changed after the backup' WHERE id = (SELECT MIN(id) FROM partnerships)"
            )
        )
        db.session.commit()
        db.session.remove()
    refused = _restore(other, archive)
    assert refused.exit_code != 0
    assert "Nothing was restored. The database is not empty" in refused.output
    assert "--force" in refused.output
    with other.app_context():
        assert db.session.scalar(sa.text("SELECT MIN(name) FROM partnerships")) == "Changed after the backup"
        db.session.remove()
    forced = _restore(other, archive, "--force")
    assert forced.exit_code == 0, forced.output
    assert "--force: deleting every table of the database" in forced.output
    assert_same(source_app, other)
    with other.app_context():
        db.engine.dispose()


def test_a_freshly_migrated_database_counts_as_empty(target):
    """Only the tables the migrations fill hold rows in a new database (else SEEDED_BY_MIGRATIONS is stale)."""
    with target.app_context():
        upgrade()
        with db.engine.connect() as connection:
            assert backup.database_has_data(connection) == []
            assert set(backup.database_has_data(connection, seeded=True)) <= backup.SEEDED_BY_MIGRATIONS


# -- damaged, foreign and newer archives: a clear error, nothing restored --


def _rewritten(archive: Path, out: Path, change) -> Path:
    """A copy of ``archive`` with members changed by ``change(name, data) -> data`` (a valid zip)."""
    with zipfile.ZipFile(archive) as old, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, change(info.filename, old.read(info)))
    return out


def test_rows_that_fail_to_insert_leave_no_rows_and_no_files(source, target, tmp_path):
    """An archive whose checksums hold but whose rows break a foreign key (its first partnership taken out):
    the insert fails part way, the transaction rolls back and the files already written are removed."""
    _, archive = source
    with zipfile.ZipFile(archive) as zipped:
        rows = zipped.read("tables/partnerships.jsonl").splitlines(keepends=True)[1:]
    new_rows = b"".join(rows)

    def change(name: str, data: bytes) -> bytes:
        if name == "tables/partnerships.jsonl":
            return new_rows
        if name == backup.MANIFEST:
            manifest = json.loads(data)
            for entry in manifest["tables"]:
                if entry["name"] == "partnerships":
                    entry["rows"], entry["sha256"] = len(rows), hashlib.sha256(new_rows).hexdigest()
            return json.dumps(manifest).encode()
        return data

    result = _restore(target, _rewritten(archive, tmp_path / "orphans.zip", change))
    assert result.exit_code == 1 and "Nothing was restored" in result.output
    assert "rows do not fit the schema" in result.output or "refer to rows that are not in it" in result.output
    _assert_nothing_restored(target)


def test_a_truncated_archive_is_refused(source, target, tmp_path):
    _, archive = source
    data = archive.read_bytes()
    for cut in (len(data) // 2, len(data) - 100):
        damaged = tmp_path / f"cut-{cut}.zip"
        damaged.write_bytes(data[:cut])
        result = _restore(target, damaged)
        assert result.exit_code == 1
        assert "Nothing was restored" in result.output and "damaged or truncated" in result.output
        assert "Traceback" not in result.output
    _assert_nothing_restored(target)


def test_an_altered_row_is_refused_and_nothing_is_restored(source, target, tmp_path):
    _, archive = source

    def change(name: str, data: bytes) -> bytes:
        if name == "tables/partnerships.jsonl":
            return data.replace(b"Northbridge", b"Southbridge", 1)
        return data

    result = _restore(target, _rewritten(archive, tmp_path / "altered.zip", change))
    assert result.exit_code == 1
    assert "The rows of partnerships do not match the manifest's count and checksum: damaged." in result.output
    _assert_nothing_restored(target)


def test_an_altered_file_is_refused(source, target, tmp_path):
    _, archive = source

    def change(name: str, data: bytes) -> bytes:
        return data + b"!" if name.startswith("files/") else data

    result = _restore(target, _rewritten(archive, tmp_path / "altered.zip", change))
    assert result.exit_code == 1
    assert "does not match its SHA-256: damaged" in result.output
    _assert_nothing_restored(target)


def test_a_flipped_byte_is_caught(source, target, tmp_path):
    """A byte changed inside the zip (its CRC no longer matches)."""
    _, archive = source
    with zipfile.ZipFile(archive) as zipped:
        info = zipped.getinfo("tables/audit_events.jsonl")
    data = bytearray(archive.read_bytes())
    data[info.header_offset + 200] ^= 0xFF
    damaged = tmp_path / "flipped.zip"
    damaged.write_bytes(bytes(data))
    result = _restore(target, damaged)
    assert result.exit_code == 1 and "Nothing was restored" in result.output
    _assert_nothing_restored(target)


def test_an_archive_from_a_newer_version_is_refused(source, target, tmp_path):
    _, archive = source

    def change(name: str, data: bytes) -> bytes:
        if name == backup.MANIFEST:
            manifest = json.loads(data)
            manifest["alembic_revision"] = "f00dfeedbeef"
            return json.dumps(manifest).encode()
        return data

    result = _restore(target, _rewritten(archive, tmp_path / "newer.zip", change))
    assert result.exit_code == 1
    assert "revision f00dfeedbeef" in result.output and "comes from a newer version" in result.output
    with target.app_context(), db.engine.connect() as connection:
        assert sa.inspect(connection).get_table_names() == []  # not even a schema


def test_a_foreign_archive_is_refused(target, tmp_path):
    foreign = tmp_path / "photos.zip"
    with zipfile.ZipFile(foreign, "w") as zipped:
        zipped.writestr("holiday.jpg", b"\xff\xd8\xff")
    result = _restore(target, foreign)
    assert result.exit_code == 1
    assert "not a backup archive of this application" in result.output
    not_zip = tmp_path / "notes.zip"
    not_zip.write_bytes(b"just text")
    assert "not a readable backup archive" in _restore(target, not_zip).output


def test_backup_keeps_archives_for_the_days_asked(source, tmp_path):
    source_app, _ = source
    directory = tmp_path / "backups"
    directory.mkdir()
    old = directory / "audit-backup-20200101T000000Z.zip"
    old.write_bytes(b"old")
    os.utime(old, (0, 0))
    unrelated = directory / "keep-me.zip"
    unrelated.write_bytes(b"mine")
    os.utime(unrelated, (0, 0))
    with source_app.app_context():
        result = source_app.test_cli_runner().invoke(args=["backup", "--output", f"{directory}/", "--keep-days", "30"])
    assert result.exit_code == 0, result.output
    assert "Deleted audit-backup-20200101T000000Z.zip" in result.output
    assert not old.exists() and unrelated.exists()
    assert len(list(directory.glob("audit-backup-*.zip"))) == 1


# -- PostgreSQL --


@pytest.mark.postgres
@needs_postgres
def test_sqlite_to_postgresql(source, tmp_path):
    source_app, archive = source
    with own_database(tmp_path, "restore_pg", FILE_STORAGE_DIR=str(tmp_path / "pg-files")) as app:
        result = _restore(app, archive)
        assert result.exit_code == 0, result.output
        assert_same(source_app, app)


@pytest.mark.postgres
@needs_postgres
def test_round_trip_on_postgresql(tmp_path):
    with ExitStack() as stack:
        pg_source = stack.enter_context(own_database(tmp_path, "backup_src", FILE_STORAGE_DIR=str(tmp_path / "a")))
        _load_demo(pg_source)
        archive = tmp_path / "pg.zip"
        _backup(pg_source, archive)
        pg_target = stack.enter_context(own_database(tmp_path, "backup_dst", FILE_STORAGE_DIR=str(tmp_path / "b")))
        result = _restore(pg_target, archive)
        assert result.exit_code == 0, result.output
        assert_same(pg_source, pg_target)
        # the sequences continue after the restored ids
        with pg_target.app_context(), system_actor("test:backup"):
            partnership_id = db.session.scalar(sa.text("SELECT MIN(id) FROM partnerships"))
            stored = storage.store_made_file(b"after\n", "note.txt", storage.TEXT, partnership_id=partnership_id)
            db.session.commit()
            assert stored.id == db.session.scalar(sa.text("SELECT MAX(id) FROM stored_files"))
            db.session.remove()


def test_a_database_that_cannot_be_reached_is_said_in_words(source, tmp_path):
    _, archive = source
    app = create_app(
        "test",
        SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:1/nowhere",
        FILE_STORAGE_DIR=str(tmp_path / "files"),
        MAIL_SERVER=None,
    )
    written = _restore(app, archive)
    assert written.exit_code == 1 and "Nothing was restored: the database cannot be reached" in written.output
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["backup", "--output", str(tmp_path / "x.zip")])
    assert result.exit_code == 1 and "No backup was written: the database cannot be reached" in result.output
    assert not (tmp_path / "x.zip").exists() and list(tmp_path.glob(".backup-*")) == []
    assert not (tmp_path / "files").exists() or _files(app) == {}
