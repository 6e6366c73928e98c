"""Run history in SQLite: every run's prompt, settings, candidates, scores and structures.

The database lives in the user's data directory. When it cannot be opened or written
(locked by another process, damaged, on a read-only disk), the store switches to an
in-memory database, keeps working, and describes the problem in ``problem`` so that
the window can show it. Connections are used from the GUI thread only.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

DATABASE_NAME = "history.sqlite3"
SCHEMA_VERSION = 1
LOCK_TIMEOUT_S = 0.5  # how long a write waits for another process's lock before giving up

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,
    finished TEXT NOT NULL,
    prompt TEXT NOT NULL,
    reference TEXT NOT NULL,
    checkpoint_path TEXT NOT NULL,
    checkpoint_name TEXT NOT NULL,
    num_candidates INTEGER NOT NULL,
    steps INTEGER NOT NULL,
    temperature REAL NOT NULL,
    seed INTEGER NOT NULL,
    device TEXT NOT NULL,
    steps_done INTEGER NOT NULL,
    cancelled INTEGER NOT NULL,
    elapsed_s REAL NOT NULL,
    trajectory TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS candidates (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    sequence TEXT NOT NULL,
    filled TEXT NOT NULL,
    score REAL NOT NULL,
    complete INTEGER NOT NULL,
    PRIMARY KEY (run_id, idx)
);
CREATE TABLE IF NOT EXISTS structures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    sequence TEXT NOT NULL,
    pdb_text TEXT NOT NULL,
    mean_plddt REAL,
    ptm REAL,
    backend TEXT NOT NULL,
    created TEXT NOT NULL
);
"""


def utc_now() -> str:
    """Return the current UTC time as ISO 8601 text with seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class StoredCandidate:
    """One candidate of a stored run; filled: 0-based residue indices that the model filled."""

    index: int
    sequence: str
    filled: list[int]
    score: float
    complete: bool


@dataclass
class StoredStructure:
    """A predicted structure of one candidate sequence; ptm is None when the backend gives none."""

    sequence: str
    pdb_text: str
    mean_plddt: float | None
    ptm: float | None
    backend: str
    created: str


@dataclass
class RunRecord:
    """Everything needed to show a run again.

    reference: residues known for masked positions (0-based position -> letter), used
    for sequence recovery; trajectory: (step, masked positions left per candidate) for
    every reported step; times are ISO 8601 UTC.
    """

    prompt: str
    reference: dict[int, str]
    checkpoint_path: str
    checkpoint_name: str
    num_candidates: int
    steps: int
    temperature: float
    seed: int
    device: str
    steps_done: int
    cancelled: bool
    started: str
    finished: str
    elapsed_s: float
    candidates: list[StoredCandidate]
    trajectory: list[tuple[int, list[int]]] = field(default_factory=list)
    run_id: int | None = None


@dataclass
class RunSummary:
    """One line of the history list."""

    run_id: int
    started: str
    prompt: str
    num_candidates: int
    best_score: float | None
    cancelled: bool
    checkpoint_name: str


def describe_database_error(path: Path | None, error: Exception) -> str:
    """Turn an SQLite or file-system error into a message that names the problem and the fix."""
    where = str(path) if path is not None else "the history database"
    text = str(error).lower()
    memory_note = "Runs of this session are kept in memory only and are lost when you close the app."
    if "locked" in text or "busy" in text:
        return f"The history database {where} is locked by another program (another sedd-gui window?). {memory_note}"
    if "readonly" in text or "read-only" in text or isinstance(error, PermissionError):
        return f"The history database {where} is read-only ({error}). {memory_note} Fix the permissions to keep history."
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return (f"The history database {where} is damaged ({error}). {memory_note} "
                "Move the file away to start a new history.")
    return f"The history database {where} cannot be used ({error}). {memory_note}"


class HistoryStore:
    """SQLite store of runs; falls back to memory instead of raising when the file fails."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path is not None else None
        self.problem: str | None = None
        self._connection: sqlite3.Connection | None = None
        if self.path is None:
            self._connection = self._connect_memory()
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=LOCK_TIMEOUT_S)
            self._prepare(connection)
            self._connection = connection
        except (sqlite3.Error, OSError) as error:
            self._fall_back(error)

    @property
    def in_memory(self) -> bool:
        return self.path is None or self.problem is not None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # Writing ------------------------------------------------------------------

    def add_run(self, record: RunRecord) -> int:
        """Store a run with its candidates and return its id (also set on ``record.run_id``)."""
        run_id = self._write(self._insert_run, record)
        record.run_id = run_id
        return run_id

    def add_structure(self, run_id: int, sequence: str, pdb_text: str, mean_plddt: float | None,
                      ptm: float | None, backend: str) -> int:
        """Store a predicted structure of one candidate of run ``run_id`` and return its id.

        NaN pLDDT or pTM values are stored as NULL.
        """
        values = (run_id, sequence, pdb_text, _finite_or_none(mean_plddt), _finite_or_none(ptm), backend, utc_now())
        return self._write(self._insert_structure, values)

    def delete_run(self, run_id: int) -> None:
        self._write(self._delete_run, run_id)

    # Reading ------------------------------------------------------------------

    def list_runs(self, limit: int = 1000) -> list[RunSummary]:
        """Return the newest runs first."""
        rows = self._read(
            "SELECT r.id, r.started, r.prompt, r.num_candidates, MAX(c.score), r.cancelled, r.checkpoint_name "
            "FROM runs r LEFT JOIN candidates c ON c.run_id = r.id AND c.complete "
            "GROUP BY r.id ORDER BY r.id DESC LIMIT ?", (limit,))
        return [RunSummary(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6]) for row in rows]

    def load_run(self, run_id: int) -> RunRecord:
        """Return the stored run ``run_id``; raises KeyError when there is none."""
        rows = self._read(
            "SELECT prompt, reference, checkpoint_path, checkpoint_name, num_candidates, steps, temperature, seed, "
            "device, steps_done, cancelled, started, finished, elapsed_s, trajectory FROM runs WHERE id = ?",
            (run_id,))
        if not rows:
            raise KeyError(f"run {run_id} is not in the history")
        row = rows[0]
        candidates = [
            StoredCandidate(index, sequence, json.loads(filled), score, bool(complete))
            for index, sequence, filled, score, complete in self._read(
                "SELECT idx, sequence, filled, score, complete FROM candidates WHERE run_id = ? ORDER BY idx",
                (run_id,))
        ]
        reference = {int(position): letter for position, letter in json.loads(row[1]).items()}
        trajectory = [(int(step), list(masked)) for step, masked in json.loads(row[14])]
        return RunRecord(row[0], reference, row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9],
                         bool(row[10]), row[11], row[12], row[13], candidates, trajectory, run_id)

    def structures(self, run_id: int) -> list[StoredStructure]:
        """Return the structures stored for run ``run_id``, oldest first."""
        rows = self._read("SELECT sequence, pdb_text, mean_plddt, ptm, backend, created FROM structures "
                          "WHERE run_id = ? ORDER BY id", (run_id,))
        return [StoredStructure(*row) for row in rows]

    # Internals ----------------------------------------------------------------

    @staticmethod
    def _prepare(connection: sqlite3.Connection) -> None:
        connection.execute("PRAGMA foreign_keys = ON")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"schema version {version} is newer than this sedd-gui supports "
                                        f"({SCHEMA_VERSION}); update sedd-gui")
        if version < SCHEMA_VERSION:
            with connection:
                connection.executescript(_SCHEMA)
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        # A read of every table finds a damaged file now rather than at the first save.
        for table in ("runs", "candidates", "structures"):
            connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()

    def _connect_memory(self) -> sqlite3.Connection:
        connection = sqlite3.connect(":memory:", timeout=LOCK_TIMEOUT_S)
        self._prepare(connection)
        return connection

    def _fall_back(self, error: Exception) -> None:
        """Switch to an in-memory database, copying the runs that the file still lets us read."""
        self.problem = describe_database_error(self.path, error)
        log.warning("history database unusable, using memory: %s", self.problem)
        if self._connection is not None:
            self._connection.close()
        self._connection = self._connect_memory()
        if self.path is not None and self.path.is_file():
            self._copy_into_memory()

    def _copy_into_memory(self) -> None:
        # Plain SELECTs through ATTACH honour the lock timeout; sqlite3's backup() would retry forever.
        connection = self._connection
        try:
            connection.execute("ATTACH DATABASE ? AS stored", (str(self.path),))
        except sqlite3.Error as error:
            log.warning("could not read the history file: %s", error)
            return
        try:
            with connection:
                for table in ("runs", "candidates", "structures"):
                    connection.execute(f"INSERT INTO main.{table} SELECT * FROM stored.{table}")
        except sqlite3.Error as error:
            log.warning("could not copy the history into memory: %s", error)
        finally:
            connection.execute("DETACH DATABASE stored")

    def _write(self, operation, argument):
        try:
            with self._connection:
                return operation(self._connection, argument)
        except sqlite3.Error as error:
            if self.problem is not None:
                raise
            self._fall_back(error)
            with self._connection:
                return operation(self._connection, argument)

    def _read(self, query: str, parameters: tuple) -> list[tuple]:
        try:
            return self._connection.execute(query, parameters).fetchall()
        except sqlite3.Error as error:
            if self.problem is not None:
                raise
            self._fall_back(error)
            return self._connection.execute(query, parameters).fetchall()

    @staticmethod
    def _insert_run(connection: sqlite3.Connection, record: RunRecord) -> int:
        cursor = connection.execute(
            "INSERT INTO runs (started, finished, prompt, reference, checkpoint_path, checkpoint_name, "
            "num_candidates, steps, temperature, seed, device, steps_done, cancelled, elapsed_s, trajectory) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record.started, record.finished, record.prompt,
             json.dumps({str(k): v for k, v in record.reference.items()}), record.checkpoint_path,
             record.checkpoint_name, record.num_candidates, record.steps, record.temperature, record.seed,
             record.device, record.steps_done, int(record.cancelled), record.elapsed_s,
             json.dumps([[step, masked] for step, masked in record.trajectory])))
        run_id = cursor.lastrowid
        connection.executemany(
            "INSERT INTO candidates (run_id, idx, sequence, filled, score, complete) VALUES (?, ?, ?, ?, ?, ?)",
            [(run_id, c.index, c.sequence, json.dumps(c.filled), c.score, int(c.complete))
             for c in record.candidates])
        return run_id

    @staticmethod
    def _insert_structure(connection: sqlite3.Connection, values: tuple) -> int:
        cursor = connection.execute(
            "INSERT INTO structures (run_id, sequence, pdb_text, mean_plddt, ptm, backend, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", values)
        return cursor.lastrowid

    @staticmethod
    def _delete_run(connection: sqlite3.Connection, run_id: int) -> None:
        connection.execute("DELETE FROM structures WHERE run_id = ?", (run_id,))
        connection.execute("DELETE FROM candidates WHERE run_id = ?", (run_id,))
        connection.execute("DELETE FROM runs WHERE id = ?", (run_id,))


def _finite_or_none(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)
