"""Backups: the whole database and the file store in one portable archive (`flask backup`, `flask restore`).

An archive is a zip file:

- ``manifest.json``: the format, when it was made, the migration revision, and per table its columns (name and
  kind), row count and the SHA-256 of its rows file; per stored file its path and SHA-256;
- ``tables/<table>.jsonl``: one JSON array per row, in primary-key order, values in a form that reads back
  the same on SQLite and PostgreSQL (datetimes in UTC ISO 8601, dates, decimals as strings, bytes in base64,
  JSON columns wrapped so a JSON null stays apart from SQL NULL);
- ``files/<aa>/<sha256>``: the file store's content, named by hash as on disk.

The tables are read from the database itself (reflected), every one, ``alembic_version`` included, in one
transaction (a consistent snapshot). It is not a ``pg_dump``: an archive made on SQLite restores on
PostgreSQL and back, and no client tool version has to match the server's.

A restore goes into an empty database: the schema is built by the migrations up to the archive's revision,
the files are written first (named by hash, so a file with no row is harmless, and removed again if the rows
fail), then the rows are inserted in one transaction in dependency order (self-references set afterwards),
PostgreSQL's sequences moved past the largest id, and every table's count and checksum compared with the
manifest before the transaction commits. Anything wrong leaves the database without the rows.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from . import clock
from .storage import _SHA256, storage_dir

FORMAT = "audit-app-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ARCHIVE_PREFIX = "audit-backup-"
_BATCH = 1000
#: tables the migrations themselves fill (the shared answer scales): rows there do not make a database "in use".
#: tests/core/test_backup.py checks that a freshly migrated database has rows in no other table.
SEEDED_BY_MIGRATIONS = frozenset({"scales", "scale_levels"})
_CHUNK = 1024 * 1024


class BackupError(RuntimeError):
    """The archive cannot be made or restored; the message says why, in words for the operator."""


# -- values: database <-> JSON --


def column_kind(column: sa.Column) -> str:
    """How a column's values are written in an archive."""
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return "bool"
    if isinstance(kind, sa.Integer):
        return "int"
    if isinstance(kind, sa.Float):
        return "float"
    if isinstance(kind, sa.Numeric):
        return "decimal"
    if isinstance(kind, sa.DateTime):
        return "datetime"
    if isinstance(kind, sa.Date):
        return "date"
    if isinstance(kind, sa.Time):
        return "time"
    if isinstance(kind, sa.JSON):
        return "json"
    if isinstance(kind, sa.LargeBinary):
        return "bytes"
    if isinstance(kind, sa.String):  # Text, VARCHAR, and enums stored as strings
        return "str"
    raise BackupError(f"The column {column.table.name}.{column.name} has a type backups do not know: {kind!r}")


def _encode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        if value.tzinfo is None:  # SQLite keeps no offset: every datetime is stored in UTC
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if kind in ("date", "time"):
        return value.isoformat()
    if kind == "decimal":
        return str(value)
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind == "float":
        return float(value)
    if kind == "bool":
        return bool(value)
    return value


def _decode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        return datetime.fromisoformat(value).astimezone(UTC)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "time":
        return time.fromisoformat(value)
    if kind == "decimal":
        return Decimal(value)
    if kind == "bytes":
        return base64.b64decode(value, validate=True)
    if kind == "json":
        return value["v"]  # {"v": ...}: a JSON value (null included); a bare null is SQL NULL
    return value


def _line(values: list[Any]) -> bytes:
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8") + b"\n"


@dataclass
class TableDump:
    name: str
    columns: list[tuple[str, str]]
    rows: int = 0
    sha256: str = ""


def _reflect(connection: sa.Connection) -> sa.MetaData:
    metadata = sa.MetaData()
    with warnings.catch_warnings():
        # SQLite: indexes on expressions (lower(name)) are not reflected; backups need only columns and keys
        warnings.filterwarnings("ignore", message="Skipped unsupported reflection", category=sa.exc.SAWarning)
        metadata.reflect(bind=connection)
    return metadata


def _ordered_tables(metadata: sa.MetaData) -> tuple[list[sa.Table], dict[str, list[str]]]:
    """Tables parents first, and per table the columns to set after every row is in (self-references and
    foreign keys caught in a cycle)."""
    deferred: dict[str, list[str]] = {}
    tables: list[sa.Table] = []
    for table, constraints in sa.schema.sort_tables_and_constraints(metadata.tables.values()):
        if table is not None:
            tables.append(table)
            for constraint in table.foreign_key_constraints:
                if constraint.referred_table is table:
                    deferred.setdefault(table.name, []).extend(c.name for c in constraint.columns)
        else:  # the foreign keys left over from cycles
            for constraint in constraints:
                deferred.setdefault(constraint.table.name, []).extend(c.name for c in constraint.columns)
    return tables, deferred


def _rows(connection: sa.Connection, table: sa.Table, columns: list[tuple[str, str]]) -> Iterator[list[Any]]:
    """The table's rows, encoded, in primary-key order (every column's order when it has no key)."""
    selected: list[Any] = []
    for name, kind in columns:
        selected.append(table.c[name])
        if kind == "json":
            selected.append(table.c[name].is_(None))
    order = list(table.primary_key.columns) or [table.c[name] for name, _ in columns]
    result = connection.execution_options(yield_per=_BATCH).execute(sa.select(*selected).order_by(*order))
    for row in result:
        values: list[Any] = []
        index = 0
        for _, kind in columns:
            value = row[index]
            index += 1
            if kind == "json":
                is_sql_null = row[index]
                index += 1
                values.append(None if is_sql_null else {"v": value})
            else:
                values.append(_encode(kind, value))
        yield values


def _dump_table(connection: sa.Connection, table: sa.Table, sink: IO[bytes] | None) -> TableDump:
    columns = [(column.name, column_kind(column)) for column in table.columns]
    dump = TableDump(table.name, columns)
    digest = hashlib.sha256()
    for values in _rows(connection, table, columns):
        line = _line(values)
        digest.update(line)
        if sink is not None:
            sink.write(line)
        dump.rows += 1
    dump.sha256 = digest.hexdigest()
    return dump


def _snapshot(connection: sa.Connection) -> None:
    """PostgreSQL: one consistent snapshot for the whole backup, with no statement timeout."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        connection.exec_driver_sql("SET LOCAL statement_timeout = 0")


def _revision(connection: sa.Connection) -> str | None:
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    revisions = list(connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    return revisions[0] if len(revisions) == 1 else None


# -- making an archive --


@dataclass
class BackupSummary:
    path: Path
    revision: str
    tables: int
    rows: int
    files: int
    file_bytes: int
    size: int
    missing_files: list[str] = field(default_factory=list)


def default_backup_path(directory: Path) -> Path:
    return directory / f"{ARCHIVE_PREFIX}{clock.now().strftime('%Y%m%dT%H%M%SZ')}.zip"


def make_backup(path: Path) -> BackupSummary:
    """Write an archive of the database and the file store to ``path`` (through a temporary file and a
    rename: an archive at ``path`` is always whole)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=".backup-", suffix=".tmp", delete=False)  # noqa: SIM115 - renamed or removed below
    tmp_path = Path(handle.name)
    try:
        with handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            summary = _write_archive(archive, path)
        with tmp_path.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    summary.size = path.stat().st_size
    return summary


def _write_archive(archive: zipfile.ZipFile, path: Path) -> BackupSummary:
    tables: list[TableDump] = []
    with db.engine.connect() as connection, connection.begin():
        _snapshot(connection)
        revision = _revision(connection)
        if revision is None:
            raise BackupError("The database has no migration revision: run `flask db upgrade` first.")
        metadata = _reflect(connection)
        ordered, _ = _ordered_tables(metadata)
        for table in ordered:
            with archive.open(f"tables/{table.name}.jsonl", "w", force_zip64=True) as sink:
                tables.append(_dump_table(connection, table, sink))
        referenced: set[str] = set()
        if "stored_files" in metadata.tables:
            referenced = set(connection.execute(sa.select(metadata.tables["stored_files"].c.sha256)).scalars())
    files = []
    for blob in _blobs(storage_dir()):
        digest = hashlib.sha256()
        size = 0
        with (
            blob.open("rb") as source,
            archive.open(f"files/{blob.parent.name}/{blob.name}", "w", force_zip64=True) as sink,
        ):
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                sink.write(chunk)
                size += len(chunk)
        files.append({"path": f"{blob.parent.name}/{blob.name}", "sha256": digest.hexdigest(), "size": size})
    on_disk = {entry["path"].split("/")[1] for entry in files}
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": clock.now().isoformat(),
        "alembic_revision": revision,
        "database": db.engine.dialect.name,
        "tables": [
            {"name": t.name, "columns": [list(c) for c in t.columns], "rows": t.rows, "sha256": t.sha256}
            for t in tables
        ],
        "files": files,
    }
    archive.writestr(MANIFEST, json.dumps(manifest, indent=1))
    return BackupSummary(
        path=path,
        revision=revision,
        tables=len(tables),
        rows=sum(t.rows for t in tables),
        files=len(files),
        file_bytes=sum(entry["size"] for entry in files),
        size=0,
        missing_files=sorted(referenced - on_disk),
    )


def _blobs(root: Path) -> Iterator[Path]:
    if not root.exists():
        return
    for blob in sorted(root.glob("??/*")):
        if blob.is_file() and _SHA256.fullmatch(blob.name) and blob.parent.name == blob.name[:2]:
            yield blob


def prune_backups(directory: Path, keep_days: int, keep: Path) -> list[Path]:
    """Delete this command's archives in ``directory`` older than ``keep_days`` (never ``keep``); which."""
    cutoff = clock.now() - timedelta(days=keep_days)
    removed = []
    for old in sorted(directory.glob(f"{ARCHIVE_PREFIX}*.zip")):
        if old.resolve() != keep.resolve() and datetime.fromtimestamp(old.stat().st_mtime, UTC) < cutoff:
            old.unlink()
            removed.append(old)
    return removed


# -- restoring --


@dataclass
class RestoreSummary:
    revision: str
    tables: int
    rows: int
    files: int
    files_written: int


def read_manifest(archive: zipfile.ZipFile) -> dict[str, Any]:
    """The archive's manifest, checked to be one of ours; BackupError otherwise."""
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except KeyError:
        raise BackupError("This is not a backup archive of this application: it has no manifest.json.") from None
    except (ValueError, zipfile.BadZipFile, OSError) as error:
        raise BackupError(f"The archive's manifest cannot be read: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("This is not a backup archive of this application (its manifest is of another format).")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"The archive is in backup format {manifest.get('format_version')!r}; this version of the application "
            f"reads format {FORMAT_VERSION}."
        )
    for key in ("alembic_revision", "tables", "files"):
        if key not in manifest:
            raise BackupError(f"The archive's manifest has no {key!r}.")
    return manifest


def _open_archive(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise BackupError(f"No archive at {path}.") from None
    except (zipfile.BadZipFile, OSError) as error:
        raise BackupError(f"{path} is not a readable backup archive (damaged or truncated?): {error}") from None


def _known_revisions() -> tuple[set[str], str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    return {rev.revision for rev in script.walk_revisions()}, script.get_current_head()


def database_has_data(connection: sa.Connection, *, seeded: bool = False) -> list[str]:
    """The tables holding at least one row, other than alembic_version and (unless ``seeded``) the tables the
    migrations fill."""
    metadata = _reflect(connection)
    skip = {"alembic_version"} | (set() if seeded else SEEDED_BY_MIGRATIONS)
    return [
        name
        for name, table in sorted(metadata.tables.items())
        if name not in skip and connection.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first()
    ]


def empty_database() -> None:
    """Drop every table (``restore --force``)."""
    with db.engine.begin() as connection:
        metadata = _reflect(connection)
        metadata.drop_all(bind=connection)


def restore_backup(path: Path, *, force: bool = False, say: Callable[[str], None] = lambda _: None) -> RestoreSummary:
    """Restore ``path`` into the app's database and file store; see the module's docstring."""
    from flask_migrate import upgrade

    archive = _open_archive(path)
    with archive:
        manifest = read_manifest(archive)
        revision = manifest["alembic_revision"]
        known, head = _known_revisions()
        if revision not in known:
            raise BackupError(
                f"The archive is at migration revision {revision}, which this version of the application does not "
                f"have (its newest is {head}): the archive comes from a newer version. Restore it with that version."
            )
        _check_members(archive, manifest)
        with db.engine.connect() as connection:
            full = database_has_data(connection)
            current = _revision(connection)
            has_tables = bool(sa.inspect(connection).get_table_names())
        if full and not force:
            raise BackupError(
                f"The database is not empty ({len(full)} tables hold rows, e.g. {', '.join(full[:3])}). Restore into "
                "an empty database, or pass --force to delete everything in it first."
            )
        if has_tables and (full or current != revision):
            if full:
                say(f"--force: deleting every table of the database ({len(full)} held rows)")
            empty_database()
        db.session.remove()
        upgrade(revision=revision)
        from .logs import configure_logging

        configure_logging(current_app)  # the migrations' logging set-up (alembic.ini) replaced the app's
        # SQLite: the migrations switch foreign keys off on their connection; start from fresh connections,
        # which switch them on (audit_app/__init__.py)
        db.engine.dispose()
        written = _write_files(archive, manifest)
        try:
            rows = _insert_rows(archive, manifest)
        except sa.exc.IntegrityError as error:
            for blob in written:
                blob.unlink(missing_ok=True)
            raise BackupError(f"The archive's rows do not fit the schema (inconsistent?): {error.orig}") from None
        except BaseException:
            for blob in written:
                blob.unlink(missing_ok=True)
            raise
    return RestoreSummary(
        revision=revision,
        tables=len(manifest["tables"]),
        rows=rows,
        files=len(manifest["files"]),
        files_written=len(written),
    )


def _check_members(archive: zipfile.ZipFile, manifest: dict[str, Any]) -> None:
    """Read the whole archive once, before the database is touched: every table's rows against its count and
    checksum, every file against its SHA-256 (and every member against its zip CRC)."""
    names = set(archive.namelist())
    for entry in manifest["tables"]:
        if f"tables/{entry['name']}.jsonl" not in names:
            raise BackupError(f"The archive has no rows file for the table {entry['name']}: it is incomplete.")
        for _ in _archived_rows(archive, entry):
            pass
    for entry in manifest["files"]:
        sha256 = str(entry.get("sha256", ""))
        if not _SHA256.fullmatch(sha256) or entry.get("path") != f"{sha256[:2]}/{sha256}":
            raise BackupError(f"The manifest names a file in an unexpected way: {entry.get('path')!r}.")
        if f"files/{entry['path']}" not in names:
            raise BackupError(f"The archive has no content for the file {entry['path']}: it is incomplete.")
        digest = hashlib.sha256()
        try:
            with archive.open(f"files/{entry['path']}") as source:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
            raise BackupError(f"The file {entry['path']} cannot be read from the archive (damaged?): {error}") from None
        if digest.hexdigest() != sha256:
            raise BackupError(f"The file {entry['path']} in the archive does not match its SHA-256: damaged.")


def _write_files(archive: zipfile.ZipFile, manifest: dict[str, Any]) -> list[Path]:
    """Write the archive's files into the file store, each checked against its SHA-256; the ones written
    (not already there), removed again if any fails."""
    root = storage_dir()
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for entry in manifest["files"]:
            final = root / entry["path"]
            if final.exists() and _file_sha256(final) == entry["sha256"]:
                continue
            final.parent.mkdir(parents=True, exist_ok=True)
            handle = tempfile.NamedTemporaryFile(dir=root / "tmp", prefix="restore-", delete=False)  # noqa: SIM115 - renamed or removed below
            tmp_path = Path(handle.name)
            try:
                digest = hashlib.sha256()
                with handle, archive.open(f"files/{entry['path']}") as source:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        handle.write(chunk)
                    handle.flush()
                    os.fsync(handle.fileno())
                if digest.hexdigest() != entry["sha256"]:
                    raise BackupError(f"The file {entry['path']} in the archive does not match its SHA-256: damaged.")
                os.replace(tmp_path, final)
                written.append(final)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
                raise BackupError(f"The file {entry['path']} cannot be read from the archive: {error}") from None
            finally:
                tmp_path.unlink(missing_ok=True)
    except BaseException:
        for blob in written:
            blob.unlink(missing_ok=True)
        raise
    return written


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _insert_rows(archive: zipfile.ZipFile, manifest: dict[str, Any]) -> int:
    """Every table's rows in one transaction; counts and checksums compared before it commits."""
    total = 0
    with db.engine.connect() as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
        metadata = _reflect(connection)
        ordered, deferred = _ordered_tables(metadata)
        entries = {entry["name"]: entry for entry in manifest["tables"]}
        missing = sorted(set(entries) - set(metadata.tables))
        extra = sorted(set(metadata.tables) - set(entries))
        if missing or extra:
            raise BackupError(
                "The archive's tables do not match the schema at its revision"
                + (f"; not in the schema: {', '.join(missing)}" if missing else "")
                + (f"; not in the archive: {', '.join(extra)}" if extra else "")
            )
        for table in reversed(ordered):  # the rows the migrations put in are in the archive too
            if table.name != "alembic_version":
                connection.execute(table.delete())
        updates: list[tuple[sa.Table, list[str], list[dict[str, Any]]]] = []
        for table in ordered:
            entry = entries[table.name]
            columns = [(name, kind) for name, kind in entry["columns"]]
            unknown = [name for name, _ in columns if name not in table.c]
            if unknown or len(columns) != len(table.columns):
                raise BackupError(f"The archive's columns of {table.name} do not match the schema at its revision.")
            if table.name == "alembic_version":
                total += entry["rows"]
                continue  # written by the migrations
            later = deferred.get(table.name, [])
            key = [column.name for column in table.primary_key.columns]
            pending: list[dict[str, Any]] = []
            table_updates: list[dict[str, Any]] = []
            for row in _archived_rows(archive, entry):
                values = {name: _archived_value(kind, value) for (name, kind), value in zip(columns, row, strict=True)}
                if later and any(values[name] is not None for name in later):
                    table_updates.append({**{f"k_{k}": values[k] for k in key}, **{f"v_{n}": values[n] for n in later}})
                    for name in later:
                        values[name] = None
                pending.append(values)
                if len(pending) >= _BATCH:
                    connection.execute(table.insert(), pending)
                    pending = []
            if pending:
                connection.execute(table.insert(), pending)
            if table_updates:
                updates.append((table, later, table_updates))
            total += entry["rows"]
        for table, later, rows in updates:
            statement = (
                table.update()
                .where(*(table.c[k] == sa.bindparam(f"k_{k}") for k in [c.name for c in table.primary_key.columns]))
                .values({name: sa.bindparam(f"v_{name}") for name in later})
            )
            connection.execute(statement, rows)
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise BackupError(
                    f"The archive's rows refer to rows that are not in it ({len(broken)} references, the first in "
                    f"{broken[0][0]}): it is inconsistent."
                )
        _reset_sequences(connection, ordered)
        _verify(connection, ordered, entries)
    return total


def _archived_value(kind: str, value: Any) -> Any:
    if kind == "json":
        return sa.null() if value is None else (sa.JSON.NULL if value["v"] is None else value["v"])
    return _decode(kind, value)


def _archived_rows(archive: zipfile.ZipFile, entry: dict[str, Any]) -> Iterator[list[Any]]:
    digest = hashlib.sha256()
    count = 0
    width = len(entry["columns"])
    try:
        with archive.open(f"tables/{entry['name']}.jsonl") as source:
            for line in source:
                digest.update(line)
                row = json.loads(line)
                if not isinstance(row, list) or len(row) != width:
                    raise BackupError(f"A row of {entry['name']} in the archive has the wrong shape: damaged.")
                count += 1
                yield row
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError) as error:
        if isinstance(error, BackupError):
            raise
        raise BackupError(f"The rows of {entry['name']} cannot be read from the archive (damaged?): {error}") from None
    if count != entry["rows"] or digest.hexdigest() != entry["sha256"]:
        raise BackupError(f"The rows of {entry['name']} do not match the manifest's count and checksum: damaged.")


def _reset_sequences(connection: sa.Connection, tables: list[sa.Table]) -> None:
    """PostgreSQL: every serial or identity key's sequence continues after the largest restored id."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        key = list(table.primary_key.columns)
        if len(key) != 1 or not isinstance(key[0].type, sa.Integer):
            continue
        sequence = connection.execute(
            sa.text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": connection.dialect.identifier_preparer.quote(table.name), "column": key[0].name},
        ).scalar()
        if sequence:
            connection.execute(
                sa.select(
                    sa.func.setval(
                        sa.text("CAST(:sequence AS regclass)").bindparams(sequence=sequence),
                        sa.func.coalesce(sa.select(sa.func.max(key[0])).scalar_subquery(), 1),
                        sa.select(sa.literal(1)).select_from(table).exists(),
                    )
                )
            )


def _verify(connection: sa.Connection, tables: list[sa.Table], entries: dict[str, dict[str, Any]]) -> None:
    """Read every table back and compare its count and checksum with the manifest."""
    wrong = []
    for table in tables:
        entry = entries[table.name]
        dump = _dump_table(connection, table, None)
        if dump.rows != entry["rows"] or dump.sha256 != entry["sha256"]:
            wrong.append(f"{table.name} ({dump.rows} rows, {entry['rows']} in the archive)")
    if wrong:
        raise BackupError("After restoring, these tables do not read back as archived: " + "; ".join(wrong))


def verify_files(manifest: dict[str, Any]) -> list[str]:
    """The manifest's files that are not in the file store with their content."""
    root = storage_dir()
    return [
        entry["path"]
        for entry in manifest["files"]
        if not (root / entry["path"]).is_file() or _file_sha256(root / entry["path"]) != entry["sha256"]
    ]
