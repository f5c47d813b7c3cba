"""A standalone Apache Flink cluster on loopback: one JobManager, N TaskManagers, Beam's Flink job server.

Processes are started from Flink's Java main classes (the jars installed by ``make engines-flink``), so
no ``bin/`` scripts are needed; their PIDs go to ``<state>/pids.json`` and ``stop`` ends them by PID.

    python deploy/flink/cluster.py start [--taskmanagers 2] [--job-server-jar JAR | --no-job-server]
    python deploy/flink/cluster.py status
    python deploy/flink/cluster.py kill-taskmanager 1     # SIGKILL, as a crashed machine
    python deploy/flink/cluster.py start-taskmanager 1
    python deploy/flink/cluster.py stop

Exit codes: 0 done; 2 usage error or Flink not installed; 3 job server jar missing or built for
another Flink version; 4 JobManager unreachable; 5 a TaskManager never registered; 6 a process
this script started died at start-up (its log is named).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

FLINK_VERSION = "1.20.1"
FLINK_MINOR = FLINK_VERSION.rsplit(".", 1)[0]
ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("NEWSBEAM_ENGINES_DIR", ROOT / ".cache" / "engines"))
FLINK_HOME = CACHE / f"flink-{FLINK_VERSION}"
DEFAULT_STATE = CACHE / "flink-cluster"
JOB_SERVER_JAR_NAME = re.compile(r"beam-runners-flink-(\d+\.\d+)-job-server-[\d.]+\.jar$")

EXIT_USAGE, EXIT_JOB_SERVER, EXIT_JOBMANAGER, EXIT_TASKMANAGER, EXIT_DIED = 2, 3, 4, 5, 6

# Flink's own launcher scripts open these packages on Java 17.
JAVA_OPENS = [
    f"--add-opens=java.base/{package}=ALL-UNNAMED"
    for package in (
        "java.lang",
        "java.lang.reflect",
        "java.util",
        "java.util.concurrent",
        "java.util.concurrent.atomic",
        "java.io",
        "java.net",
        "java.nio",
        "sun.nio.ch",
        "java.text",
        "java.time",
    )
]


class ClusterError(Exception):
    """A fault with a one-line message naming the fix and the exit code to leave with."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def flink_config(rest_port: int, rpc_port: int, slots: int, checkpoint_dir: Path) -> str:
    """Flink's config.yaml for a loopback cluster (every address 127.0.0.1)."""
    return f"""\
jobmanager:
  rpc: {{address: 127.0.0.1, port: {rpc_port}}}
  bind-host: 127.0.0.1
  memory: {{process: {{size: 1024m}}}}
rest: {{address: 127.0.0.1, bind-address: 127.0.0.1, port: {rest_port}}}
taskmanager:
  bind-host: 127.0.0.1
  host: 127.0.0.1
  numberOfTaskSlots: {slots}
  memory: {{process: {{size: 1280m}}}}
parallelism: {{default: 1}}
heartbeat: {{interval: 2000, timeout: 10000}}
state:
  checkpoints: {{dir: "file://{checkpoint_dir}/checkpoints"}}
  savepoints: {{dir: "file://{checkpoint_dir}/savepoints"}}
"""


def classpath() -> str:
    lib = FLINK_HOME / "lib"
    jars = sorted(lib.glob("*.jar"))
    if not (lib / f"flink-dist-{FLINK_VERSION}.jar").exists():
        raise ClusterError(
            f"Flink {FLINK_VERSION} is not installed in {FLINK_HOME}: run `make engines-flink`", EXIT_USAGE
        )
    return os.pathsep.join(str(jar) for jar in jars)


def check_job_server_jar(jar: Path) -> None:
    """The jar must exist and be built for this cluster's Flink minor version."""
    if not jar.is_file():
        raise ClusterError(
            f"job server jar {jar} not found: run `make engines-flink` or pass --job-server-jar", EXIT_JOB_SERVER
        )
    match = JOB_SERVER_JAR_NAME.search(jar.name)
    if match is None or match.group(1) != FLINK_MINOR:
        found = match.group(1) if match else "unknown"
        raise ClusterError(
            f"job server jar {jar.name} is for Flink {found}, the cluster runs Flink {FLINK_VERSION}: "
            f"use beam-runners-flink-{FLINK_MINOR}-job-server",
            EXIT_JOB_SERVER,
        )


def rest_get(rest_port: int, path: str, timeout: float = 2.0) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{rest_port}{path}", timeout=timeout) as response:
        return json.load(response)


def registered_taskmanagers(rest_port: int) -> list[str]:
    return [tm["id"] for tm in rest_get(rest_port, "/taskmanagers")["taskmanagers"]]


class Cluster:
    """The processes of one loopback cluster, recorded in a state folder."""

    def __init__(self, state: Path, rest_port: int = 8081, rpc_port: int = 6123, slots: int = 1) -> None:
        self.state = state
        self.rest_port = rest_port
        self.rpc_port = rpc_port
        self.slots = slots
        self.conf = state / "conf"
        self.logs = state / "log"

    # -- PIDs -------------------------------------------------------------------------------------
    @property
    def pid_file(self) -> Path:
        return self.state / "pids.json"

    def pids(self) -> dict[str, int]:
        return json.loads(self.pid_file.read_text()) if self.pid_file.exists() else {}

    def _record(self, name: str, pid: int | None) -> None:
        pids = self.pids()
        if pid is None:
            pids.pop(name, None)
        else:
            pids[name] = pid
        self.state.mkdir(parents=True, exist_ok=True)
        self.pid_file.write_text(json.dumps(pids, indent=1))

    # -- processes --------------------------------------------------------------------------------
    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it open
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        self._record(name, process.pid)
        return process

    def write_config(self) -> None:
        self.conf.mkdir(parents=True, exist_ok=True)
        (self.conf / "config.yaml").write_text(flink_config(self.rest_port, self.rpc_port, self.slots, self.state))

    def start_jobmanager(self, timeout: float = 60.0) -> None:
        command = ["java", "-Xmx512m", *JAVA_OPENS, "-cp", classpath()]
        command += [
            "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
            "--configDir",
            str(self.conf),
        ]
        process = self._spawn("jobmanager", command)
        self._wait(lambda: bool(rest_get(self.rest_port, "/overview")), process, "jobmanager", timeout, EXIT_JOBMANAGER)

    def taskmanager_resources(self) -> tuple[list[str], list[str]]:
        """JVM flags and dynamic options for a TaskManager, computed by Flink's BashJavaUtils."""
        utils = FLINK_HOME / "bin" / "bash-java-utils.jar"
        command = [
            "java",
            "-cp",
            f"{utils}{os.pathsep}{classpath()}",
            "org.apache.flink.runtime.util.bash.BashJavaUtils",
        ]
        out = subprocess.run(
            [*command, "GET_TM_RESOURCE_PARAMS", "--configDir", str(self.conf)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        ).stdout
        results = [
            line.split(":", 1)[1] for line in out.splitlines() if line.startswith("BASH_JAVA_UTILS_EXEC_RESULT:")
        ]
        if len(results) < 2:
            raise ClusterError(f"Flink could not size a TaskManager from {self.conf / 'config.yaml'}", EXIT_TASKMANAGER)
        return results[0].split(), results[1].split()

    def start_taskmanager(self, index: int, timeout: float = 60.0) -> None:
        try:
            before = set(registered_taskmanagers(self.rest_port))
        except OSError as error:
            raise ClusterError(
                f"JobManager unreachable on 127.0.0.1:{self.rest_port} ({error}): run `cluster.py start` first",
                EXIT_JOBMANAGER,
            ) from error
        name = f"taskmanager-{index}"
        if name in before:  # a killed TaskManager stays listed until its heartbeat times out
            if self.pids().get(name):
                raise ClusterError(f"{name} is running: `cluster.py kill-taskmanager {index}` first", EXIT_USAGE)
            deadline = time.monotonic() + timeout
            while name in registered_taskmanagers(self.rest_port) and time.monotonic() < deadline:
                time.sleep(0.5)
        jvm, dynamic = self.taskmanager_resources()
        command = [
            "java",
            *jvm,
            *JAVA_OPENS,
            "-cp",
            classpath(),
            "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
        ]
        command += ["--configDir", str(self.conf), *dynamic, "-D", f"taskmanager.resource-id={name}"]
        process = self._spawn(name, command)
        try:
            self._wait(
                lambda: name in registered_taskmanagers(self.rest_port), process, name, timeout, EXIT_TASKMANAGER
            )
        except ClusterError:
            self.kill(name)
            raise

    def start_job_server(self, jar: Path, job_port: int = 8099, timeout: float = 90.0) -> None:
        command = ["java", "-jar", str(jar), f"--flink-master=127.0.0.1:{self.rest_port}", f"--job-port={job_port}"]
        command += [f"--artifact-port={job_port - 1}", f"--expansion-port={job_port - 2}"]
        process = self._spawn("jobserver", command)
        self._wait(lambda: port_open(job_port), process, "jobserver", timeout, EXIT_JOB_SERVER)

    def _wait(self, ready, process: subprocess.Popen, name: str, timeout: float, exit_code: int) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ClusterError(
                    f"{name} exited with {process.returncode} at start-up: see {self.logs / name}.log", EXIT_DIED
                )
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.5)
        what = "never registered with the JobManager" if name.startswith("taskmanager") else "not ready"
        raise ClusterError(f"{name} {what} within {timeout:.0f} s: see {self.logs / name}.log", exit_code)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> bool:
        pid = self.pids().get(name)
        if pid is None:
            return False
        try:
            os.kill(pid, sig)
            if sig == signal.SIGTERM:
                wait_gone(pid, 20.0) or os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._record(name, None)
        return True

    def stop(self) -> list[str]:
        order = sorted(self.pids(), key=lambda name: (name == "jobmanager", name))
        for name in order:
            self.kill(name, signal.SIGTERM)
        return order


def port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE, help="folder for config, logs, PIDs, checkpoints")
    parser.add_argument("--rest-port", type=int, default=8081)
    parser.add_argument("--rpc-port", type=int, default=6123)
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start a JobManager, TaskManagers and the job server")
    start.add_argument("--taskmanagers", type=int, default=2)
    start.add_argument("--slots", type=int, default=1, help="task slots per TaskManager")
    start.add_argument(
        "--job-server-jar", type=Path, default=CACHE / f"beam-runners-flink-{FLINK_MINOR}-job-server-2.77.0.jar"
    )
    start.add_argument("--no-job-server", action="store_true", help="the Flink cluster only")
    start.add_argument("--timeout", type=float, default=60.0, help="seconds each process may take to be ready")
    sub.add_parser("status", help="print the registered TaskManagers and running jobs as JSON")
    sub.add_parser("stop", help="stop every process this script started, by PID")
    for name in ("kill-taskmanager", "start-taskmanager"):
        command = sub.add_parser(name)
        command.add_argument("index", type=int)
    command.add_argument("--timeout", type=float, default=60.0, help="seconds it may take to register")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    cluster = Cluster(args.state, args.rest_port, args.rpc_port, getattr(args, "slots", 1))
    try:
        if args.command == "start":
            if not args.no_job_server:
                check_job_server_jar(args.job_server_jar)
            classpath()
            if cluster.pids():
                raise ClusterError(
                    f"a cluster is already recorded in {cluster.pid_file}: run `cluster.py stop` first", EXIT_USAGE
                )
            cluster.write_config()
            try:
                cluster.start_jobmanager(args.timeout)
                for index in range(1, args.taskmanagers + 1):
                    cluster.start_taskmanager(index, args.timeout)
                if not args.no_job_server:
                    cluster.start_job_server(args.job_server_jar, timeout=args.timeout)
            except BaseException:
                cluster.stop()
                raise
            print(f"Flink {FLINK_VERSION} on 127.0.0.1:{args.rest_port}: {args.taskmanagers} TaskManagers registered")
        elif args.command == "status":
            print(json.dumps({"pids": cluster.pids(), "taskmanagers": registered_taskmanagers(args.rest_port)}))
        elif args.command == "stop":
            print("stopped: " + (", ".join(cluster.stop()) or "nothing was running"))
        elif args.command == "kill-taskmanager":
            if not cluster.kill(f"taskmanager-{args.index}"):
                raise ClusterError(f"no taskmanager-{args.index} recorded in {cluster.pid_file}", EXIT_USAGE)
        elif args.command == "start-taskmanager":
            if not (cluster.conf / "config.yaml").exists():
                raise ClusterError(
                    f"no cluster configured in {cluster.state}: run `cluster.py start` first", EXIT_USAGE
                )
            cluster.start_taskmanager(args.index, args.timeout)
    except ClusterError as error:
        print(f"cluster.py: {error}", file=sys.stderr)
        return error.exit_code
    except OSError as error:
        if args.command == "status":
            print(f"cluster.py: JobManager unreachable on 127.0.0.1:{args.rest_port} ({error})", file=sys.stderr)
            return EXIT_JOBMANAGER
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
