"""A cluster on this machine, for the tests, the benchmark and a first try: a PostgreSQL server
from the ``pgserver`` wheel, and a Dask scheduler and workers started with Dask's own commands
(``dask scheduler``, ``dask worker``) as separate processes on the loopback interface.

    with postgres(tmp / "pg") as db_url, DaskProcesses(tmp / "dask", workers=2) as dask:
        autograde_on_cluster(opts, dask.address, db_url)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["DaskProcesses", "create_database", "postgres", "start_postgres", "stop_postgres"]


#: pg_hba.conf of :func:`postgres`: every connection, socket or TCP, needs the password
HBA = """\
# written by course.cluster.loopback: password (SCRAM-SHA-256) authentication for everyone
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
"""


@contextlib.contextmanager
def postgres(folder: Path, password: str | None = None) -> Iterator[str]:
    """A PostgreSQL server (``pgserver``: PostgreSQL's binaries as a wheel) with its data in
    ``folder``, stopped afterwards; yields the URL of its ``postgres`` database (unix socket)
    with the password of user ``postgres`` (``password``, or a random one). Authentication is
    SCRAM-SHA-256 for every connection (``pgserver`` starts with ``trust``, which would let any
    process that finds the socket in — a student's kernel among them — change the gradebook)."""
    import secrets

    import pgserver

    folder.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(folder, cleanup_mode="stop")
    try:
        yield _require_password(server, folder, password or secrets.token_urlsafe(24))
    finally:
        with contextlib.suppress(Exception):
            server.cleanup()


def stop_postgres(folder: Path) -> None:
    """Stop (``pg_ctl stop -m fast``) the server :func:`postgres` started in ``folder``, as a
    crash or a restart of the database would (tests of the faults)."""
    import pgserver
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # made at import time

    server = pgserver.get_server(folder)
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user, timeout=60)


def start_postgres(folder: Path) -> None:
    """Start again the server of ``folder`` that :func:`stop_postgres` stopped (the same
    socket, password and ``pg_hba.conf``)."""
    import pgserver

    server = pgserver.get_server(folder)
    with server._lock:
        server.ensure_postgres_running()


def _require_password(server: Any, folder: Path, password: str) -> str:
    """Set the password, switch ``pg_hba.conf`` to SCRAM, reload; check that the password is
    now needed. Returns the URL with the password."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    from .gradebook import sqlalchemy_url

    if not password.replace("-", "").replace("_", "").isalnum():
        raise ValueError("the database password: letters, digits, '-' and '_' only")
    trusted = server.get_uri()  # postgresql://postgres:@/postgres?host=SOCKET_DIR
    engine = create_engine(sqlalchemy_url(trusted), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SET password_encryption = 'scram-sha-256'"))
            conn.execute(text(f"ALTER USER postgres WITH PASSWORD '{password}'"))
            hba = Path(conn.execute(text("SHOW hba_file")).scalar_one())
            hba.write_text(HBA)  # in place: the file keeps its owner
            conn.execute(text("SELECT pg_reload_conf()"))
    finally:
        engine.dispose()
    url = trusted.replace("postgres:@", f"postgres:{password}@", 1)
    probe = create_engine(sqlalchemy_url(trusted))
    try:
        for _ in range(50):  # the reload is asynchronous
            try:
                with probe.connect():
                    pass
            except OperationalError:
                return url
            time.sleep(0.1)
    finally:
        probe.dispose()
    raise RuntimeError(f"PostgreSQL in {folder} still accepts connections without a password")


def create_database(url: str, name: str) -> str:
    """Create database ``name`` on the server of ``url``; its URL."""
    from sqlalchemy import create_engine, text

    from .gradebook import sqlalchemy_url

    engine = create_engine(sqlalchemy_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    base, _, query = url.partition("?")
    return base.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")


class DaskProcesses:
    """``dask scheduler`` and ``workers`` × ``dask worker --nthreads 1`` (each under its
    nanny, which restarts a killed worker process), on 127.0.0.1."""

    def __init__(self, folder: Path, workers: int = 2, env: dict[str, str] | None = None):
        self.folder = Path(folder)
        self.n = workers
        bindir = str(Path(sys.executable).parent)
        self.env = {
            **os.environ,
            **(env or {}),
            "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
        }
        self.dask = str(Path(bindir) / "dask")
        self.procs: list[subprocess.Popen[bytes]] = []
        self.address = ""

    def _start(self, args: list[str], log: str) -> subprocess.Popen[bytes]:
        out = open(self.folder / log, "wb")
        proc = subprocess.Popen(
            [self.dask, *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.folder,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def __enter__(self) -> DaskProcesses:
        self.folder.mkdir(parents=True, exist_ok=True)
        info = self.folder / "scheduler.json"
        info.unlink(missing_ok=True)
        self._start(
            [
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(info),
            ],
            "scheduler.log",
        )
        deadline = time.monotonic() + 60
        while not info.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.address = json.loads(info.read_text())["address"]
        for i in range(self.n):
            self.add_worker(f"w{i}")
        self.wait_for_workers(self.n)
        return self

    def add_worker(self, name: str) -> None:
        """Start one more worker process (under a nanny)."""
        self._start(
            [
                "worker",
                self.address,
                "--nthreads",
                "1",
                "--nworkers",
                "1",
                "--name",
                name,
                "--no-dashboard",
                "--host",
                "127.0.0.1",
                "--local-directory",
                str(self.folder / name),
            ],
            f"{name}.log",
        )

    def client(self) -> Any:
        from distributed import Client

        return Client(self.address, timeout=60)

    def wait_for_workers(self, n: int, timeout: float = 120) -> None:
        with self.client() as client:
            client.wait_for_workers(n, timeout=timeout)

    def worker_pids(self, client: Any) -> dict[str, int]:
        """``{worker address: pid}`` of the worker processes (not their nannies)."""
        return client.run(os.getpid)

    def __exit__(self, *exc: Any) -> None:
        for proc in reversed(self.procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in reversed(self.procs):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
