"""One writer per output and state store: an exclusive lease in ``FOLDER/_lease.json``.

A run (or a whole ``watch``) takes the lease of its output folder, and of its state store when
that lives elsewhere, before it settles crashed runs or plans anything; a second run on the same
folder is refused at once (``LeaseHeld``, exit code 4) and told who holds it. The lease names its
holder (owner id, host, pid, command, start), carries a heartbeat and an expiry, and is renewed
by a background thread every third of its time to live. Only the holder writes the folder: the
commit checks the lease is still its own before it writes its plan (``verify_lease``).

Every change of the lease file is conditional, so two processes can't both win:

- local disks: an ``flock`` on ``_lease.json.lock`` serialises the read-compare-write (the kernel
  drops the lock when a process dies, so nothing wedges), and the file is replaced by a rename;
- ``s3://``: ``PutObject`` with ``If-None-Match: *`` to create, ``If-Match: ETAG`` to replace;
- ``gs://``: uploads with ``if_generation_match`` (0 to create, the read generation to replace).

A lease is free when it was released, when its expiry has passed (a dead or hung holder on any
host), or at once when its holder ran on this host and its pid is gone (a killed run). Releasing
writes the released time into the file instead of deleting it: on an object store a delete can't
be made conditional everywhere, and an unconditional one could remove a newer holder's lease.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import socket
import sys
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from transforms.output.files import CorruptStateFile, ensure_dir
from transforms.output.layout import LEASE_FILE

DEFAULT_TTL = dt.timedelta(seconds=60)
"""How long a lease lasts without a heartbeat; the holder renews it every third of that."""
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeaseHolder:
    """What ``_lease.json`` says about the process that holds (or held) it."""

    owner: str
    host: str
    pid: int
    command: str
    started_at: str
    heartbeat_at: str
    expires_at: str
    released_at: str | None = None

    def is_free(self, now: dt.datetime, host: str | None = None) -> bool:
        """Released, expired, or held by a process of this host that no longer exists."""
        if self.released_at or dt.datetime.fromisoformat(self.expires_at) <= now:
            return True
        return self.host == (host or socket.gethostname()) and not pid_alive(self.pid)

    def describe(self) -> str:
        return (
            f"{self.owner} (pid {self.pid} on {self.host}, `{self.command}`, started {self.started_at}, "
            f"last heartbeat {self.heartbeat_at}, expires {self.expires_at})"
        )

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> LeaseHolder | None:
        """None for a lease file that is not one (a torn or foreign file is treated as free).

        Raises ``BadLeaseFields`` for a lease of valid JSON whose fields have the wrong types
        (``expires_at: "soon"``, a naive time, a string pid): it can't be told free or held.
        """
        try:
            raw = json.loads(data)
            holder = cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})
        except (ValueError, TypeError, KeyError):
            return None
        holder.check_fields()
        return holder

    def check_fields(self) -> None:
        """Raises ``BadLeaseFields`` naming the first field of the wrong type."""
        for name in ("owner", "host", "command"):
            if not isinstance(getattr(self, name), str):
                raise BadLeaseFields(f"{name} is {getattr(self, name)!r}, not a string")
        if not isinstance(self.pid, int) or isinstance(self.pid, bool):
            raise BadLeaseFields(f"pid is {self.pid!r}, not an integer")
        for name in ("started_at", "heartbeat_at", "expires_at", "released_at"):
            value = getattr(self, name)
            if value is None and name == "released_at":
                continue
            try:
                aware = isinstance(value, str) and dt.datetime.fromisoformat(value).utcoffset() is not None
            except ValueError:
                aware = False
            if not aware:
                raise BadLeaseFields(f"{name} is {value!r}, not an ISO-8601 time with its UTC offset")


class BadLeaseFields(ValueError):
    """A lease file of valid JSON whose fields have the wrong types."""


LEASE_WAY_OUT = "If no run is using this folder, remove the lease (rm {path}); the next run takes a new one."


def read_holder(path: str, data: bytes) -> LeaseHolder | None:
    """``LeaseHolder.from_bytes``; ``CorruptStateFile`` naming ``path`` for fields of the wrong types."""
    try:
        return LeaseHolder.from_bytes(data)
    except BadLeaseFields as err:
        raise CorruptStateFile(path, str(err), LEASE_WAY_OUT) from err


class LeaseHeld(RuntimeError):
    """Another live run holds the lease of this folder."""

    def __init__(self, folder: str, holder: LeaseHolder):
        super().__init__(
            f"{folder} is in use by run {holder.describe()}. One run at a time writes an output and a state"
            f" store: wait for that run to finish (a `watch` holds it until it stops). If that process is gone,"
            f" its lease is taken over at once on {holder.host}, or from any host after {holder.expires_at}."
        )
        self.folder = folder
        self.holder = holder


class LeaseLost(RuntimeError):
    """The lease this run held was taken over (it missed its heartbeats): it must not commit."""


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


# ---------------------------------------------------------------------------------------------
# Conditional stores: read (data, version), create if absent, replace if unchanged.


class LeaseStore:
    """Where one lease file lives; every write is conditional."""

    path: str

    def read(self) -> tuple[bytes, str] | None:
        """The lease file's bytes and a version token; None when there is none."""
        raise NotImplementedError

    def create(self, data: bytes) -> str | None:
        """Writes the file only if there is none; its new version, or None if there was one."""
        raise NotImplementedError

    def replace(self, data: bytes, version: str) -> str | None:
        """Writes the file only if it is still at ``version``; its new version, or None if it changed."""
        raise NotImplementedError


class LocalLeaseStore(LeaseStore):
    """A lease file on a local (or POSIX-locking network) disk, changed under an ``flock``."""

    def __init__(self, path: str):
        self.path = path

    def read(self) -> tuple[bytes, str] | None:
        try:
            with open(self.path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return None
        return data, hashlib.sha256(data).hexdigest()

    def create(self, data: bytes) -> str | None:
        with self._locked():
            if os.path.exists(self.path):
                return None
            return self._write(data)

    def replace(self, data: bytes, version: str) -> str | None:
        with self._locked():
            current = self.read()
            if current is None or current[1] != version:
                return None
            return self._write(data)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        import fcntl

        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        with open(self.path + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, data: bytes) -> str:
        temporary = f"{self.path}.tmp-{uuid.uuid4().hex[:8]}"
        try:
            with open(temporary, "wb") as handle:
                handle.write(data)
            os.replace(temporary, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temporary)
        return hashlib.sha256(data).hexdigest()


class S3LeaseStore(LeaseStore):
    """A lease object on S3 (or an S3-compatible store) changed with If-None-Match / If-Match."""

    def __init__(self, path: str, options: PipelineOptions):
        from apache_beam.io.aws.clients.s3.boto3_client import Client

        self.path = path
        self._bucket, self._key = path[len("s3://") :].split("/", 1)
        self._client = Client(options).client

    def read(self) -> tuple[bytes, str] | None:
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=self._key)
        except self._client.exceptions.NoSuchKey:
            return None
        return response["Body"].read(), response["ETag"]

    def create(self, data: bytes) -> str | None:
        return self._put(data, IfNoneMatch="*")

    def replace(self, data: bytes, version: str) -> str | None:
        return self._put(data, IfMatch=version)

    def _put(self, data: bytes, **condition: str) -> str | None:
        from botocore.exceptions import ClientError

        try:
            response = self._client.put_object(Bucket=self._bucket, Key=self._key, Body=data, **condition)
        except ClientError as err:
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status in (404, 409, 412):  # gone, a concurrent conditional write, precondition failed
                return None
            raise
        return response["ETag"]


class GcsLeaseStore(LeaseStore):
    """A lease object on Google Cloud Storage changed with generation preconditions."""

    def __init__(self, path: str, options: PipelineOptions):
        from apache_beam.io.gcp.gcsio import create_storage_client, parse_gcs_path

        self.path = path
        bucket, name = parse_gcs_path(path)
        self._blob_name = name
        self._bucket = create_storage_client(options).bucket(bucket)

    def read(self) -> tuple[bytes, str] | None:
        from google.api_core.exceptions import NotFound, PreconditionFailed

        blob = self._bucket.get_blob(self._blob_name)
        if blob is None:
            return None
        try:
            return blob.download_as_bytes(if_generation_match=blob.generation), str(blob.generation)
        except (NotFound, PreconditionFailed):  # changed between the two calls: read again
            return self.read()

    def create(self, data: bytes) -> str | None:
        return self._upload(data, 0)

    def replace(self, data: bytes, version: str) -> str | None:
        return self._upload(data, int(version))

    def _upload(self, data: bytes, generation: int) -> str | None:
        from google.api_core.exceptions import PreconditionFailed

        blob = self._bucket.blob(self._blob_name)
        try:
            blob.upload_from_string(data, if_generation_match=generation)
        except PreconditionFailed:
            return None
        return str(blob.generation)


def lease_store(folder: str, options: PipelineOptions | None = None) -> LeaseStore:
    """The lease store of ``folder`` on its file system."""
    path = lease_path(folder)
    scheme = FileSystems.get_scheme(path)
    if scheme is None:
        return LocalLeaseStore(path)
    if scheme == "s3":
        return S3LeaseStore(path, options or PipelineOptions([]))
    if scheme == "gs":
        return GcsLeaseStore(path, options or PipelineOptions([]))
    raise ValueError(f"no lease for {scheme}:// folders (local, s3:// and gs:// have one)")


def lease_path(folder: str) -> str:
    return FileSystems.join(folder.rstrip("/"), LEASE_FILE)


# ---------------------------------------------------------------------------------------------
# The lease a process holds.


class Lease:
    """A held lease; renewed by a daemon thread until ``release``."""

    def __init__(self, store: LeaseStore, holder: LeaseHolder, version: str, ttl: dt.timedelta):
        self.store, self.holder, self._version, self._ttl = store, holder, version, ttl
        self.lost = False
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._heartbeat, name="lease-heartbeat", daemon=True)
        self._thread.start()

    @property
    def owner(self) -> str:
        return self.holder.owner

    def renew(self, now: dt.datetime | None = None) -> bool:
        """Pushes the expiry forward; False (and ``lost``) when someone else took the lease over."""
        now = now or _now()
        with self._lock:
            if self.lost:
                return False
            renewed = replace(self.holder, heartbeat_at=now.isoformat(), expires_at=(now + self._ttl).isoformat())
            version = self.store.replace(renewed.to_bytes(), self._version)
            if version is None:
                self.lost = True
                log.error("lost the lease of %s: another run took it over", self.store.path)
                return False
            self.holder, self._version = renewed, version
            return True

    def release(self) -> None:
        """Stops the heartbeat and marks the lease released (unless it was lost)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()
        with self._lock:
            if not self.lost:
                released = replace(self.holder, released_at=_now().isoformat())
                if self.store.replace(released.to_bytes(), self._version) is None:
                    log.error("could not release the lease of %s: another run took it over", self.store.path)

    def _heartbeat(self) -> None:
        interval = self._ttl.total_seconds() / 3
        while not self._stop.wait(interval):
            try:
                if not self.renew():
                    return
            except Exception:  # a transient store error: the next beat tries again before the expiry
                log.exception("could not renew the lease of %s", self.store.path)


def acquire(
    store: LeaseStore,
    command: str = "",
    ttl: dt.timedelta = DEFAULT_TTL,
    *,
    owner: str | None = None,
    now: dt.datetime | None = None,
) -> Lease:
    """Takes the lease (or a free one over); raises ``LeaseHeld`` naming the live holder."""
    now = now or _now()
    folder = store.path.rsplit("/", 1)[0]
    mine = LeaseHolder(
        owner=owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
        host=socket.gethostname(),
        pid=os.getpid(),
        command=command or " ".join(["python -m pipeline", *sys.argv[1:2]]),
        started_at=now.isoformat(),
        heartbeat_at=now.isoformat(),
        expires_at=(now + ttl).isoformat(),
    )
    data = mine.to_bytes()
    holder = None
    for _ in range(5):
        current = store.read()
        if current is None:
            version = store.create(data)
        else:
            holder = read_holder(store.path, current[0])
            if holder is not None and not holder.is_free(now):
                raise LeaseHeld(folder, holder)
            version = store.replace(data, current[1])
            if version is not None and holder is not None and not holder.released_at:
                log.warning("took over the stale lease of %s from %s", folder, holder.describe())
        if version is not None:
            return Lease(store, mine, version, ttl)
    current = store.read()  # lost every race: someone else holds it now
    raise LeaseHeld(folder, (read_holder(store.path, current[0]) if current else None) or holder or mine)


def verify_lease(folder: str, owner: str) -> None:
    """Raises ``LeaseLost`` unless ``folder``'s lease is still held by ``owner`` (read through FileSystems)."""
    path = lease_path(folder)
    try:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            holder = read_holder(path, handle.read())
    except OSError as err:
        raise LeaseLost(f"cannot read the lease {path}: {err}") from err
    if holder is None or holder.owner != owner or holder.released_at:
        who = holder.describe() if holder else "nobody"
        raise LeaseLost(f"{path} is no longer held by this run ({owner}) but by {who}; not committing")


@contextlib.contextmanager
def hold_leases(
    folders: Sequence[str], options: PipelineOptions | None = None, command: str = "", ttl: dt.timedelta = DEFAULT_TTL
) -> Iterator[str]:
    """Holds the lease of every folder (an output and its state store) for the block; yields the owner id.

    Folders below another one in the list share its lease. All or nothing: a refused folder
    releases the ones already taken. A local folder created for the lease is removed again when
    the run wrote nothing else into it (say its input matched nothing).

    A folder is also refused (``LeaseHeld``) while another process holds the lease of a folder
    enclosing it (a state store inside another run's output), or of a folder of the list that
    shares an enclosing lease (another run's state store inside this output). That is checked
    after taking the leases, so of two runs racing for nested folders at most one goes on.
    """
    wanted = sorted({_absolute(f) for f in folders})
    chosen: list[str] = []
    for folder in wanted:
        if not any(folder.startswith(parent + "/") for parent in chosen):
            chosen.append(folder)
    others = sorted({parent for folder in wanted for parent in _enclosing(folder)} | set(wanted) - set(chosen))
    refuse_other_holders(others, None, options)  # refused before leaving a lease file anywhere
    leases: list[Lease] = []
    created = [f for f in chosen if FileSystems.get_scheme(f) is None and not os.path.exists(f)]
    try:
        for folder in chosen:
            if FileSystems.get_scheme(folder) is None:
                ensure_dir(folder)
            owner = leases[0].owner if leases else None  # one owner id for all, so the commit checks one name
            leases.append(acquire(lease_store(folder, options), command, ttl, owner=owner))
        refuse_other_holders(others, leases[0].owner, options)  # again: a racing run may have taken one meanwhile
        yield leases[0].owner
        lost = [lease.store.path for lease in leases if lease.lost]
        if lost:
            raise LeaseLost(f"the lease of {', '.join(lost)} was taken over during the run")
    finally:
        for lease in reversed(leases):
            lease.release()
        for folder in created:
            _remove_if_only_the_lease(folder)


def refuse_other_holders(folders: Sequence[str], owner: str | None, options: PipelineOptions | None = None) -> None:
    """Raises ``LeaseHeld`` when a live lease of another owner lies in one of ``folders`` (read only)."""
    now = _now()
    for folder in folders:
        store = lease_store(folder, options)
        current = store.read()
        holder = read_holder(store.path, current[0]) if current else None
        if holder is not None and holder.owner != owner and not holder.is_free(now):
            raise LeaseHeld(folder, holder)


def _absolute(folder: str) -> str:
    folder = folder.rstrip("/") or "/"
    return os.path.abspath(folder) if FileSystems.get_scheme(folder) is None else folder


def _enclosing(folder: str) -> list[str]:
    """Every folder that encloses ``folder``, nearest first (local: up to the root; remote: up to the bucket)."""
    if FileSystems.get_scheme(folder) is None:
        parents = []
        while (parent := os.path.dirname(folder)) != folder:
            parents.append(parent)
            folder = parent
        return parents
    scheme, _, path = folder.partition("://")
    parts = path.split("/")
    return [f"{scheme}://{'/'.join(parts[:n])}" for n in range(len(parts) - 1, 0, -1)]


def _remove_if_only_the_lease(folder: str) -> None:
    names = {LEASE_FILE, LEASE_FILE + ".lock"}
    try:
        if set(os.listdir(folder)) <= names:
            for name in names:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os.path.join(folder, name))
            os.rmdir(folder)
    except OSError:  # someone else is using it now: leave it
        pass


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
