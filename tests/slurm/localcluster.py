"""A one-node SLURM cluster on localhost (munged, slurmctld, slurmd), started without systemd.

Why: the workflow's SLURM profile is only worth something if jobs really go through
``sbatch`` and come back, so the test runs a real (tiny) cluster. Everything lives in one
temp folder (config, keys, sockets, state, logs, pid files) on free ports, so it neither
needs nor touches a system SLURM/munge. ``stop`` ends exactly the daemons this object
started: by their pid files, after checking ``/proc/PID/comm``.

CLI (for a human poking at it): ``python tests/slurm/localcluster.py start|stop DIR``;
``start`` prints ``export SLURM_CONF=...`` for the shell.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scontrol", "sinfo", "scancel", "srun")
# Processes a cluster may spawn besides its daemons (job step managers).
SPAWNED = ("slurmstepd", "slurmscriptd")
FAKE_GPU_FILES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/urandom")
# Where client commands look when SLURM_CONF is unset (slurmd's configless cache). Needed because
# snakemake-executor-plugin-slurm-jobstep (0.6.1) strips every SLURM_* variable, SLURM_CONF
# included, before the srun inside a job; pointing it at our folder lets that srun find us.
CONF_LINK = Path("/run/slurm/conf")
MIN_JOB_AGE = 300  # s a finished job stays visible to squeue (>= 3 x the status-check wait)


class ClusterUnavailable(RuntimeError):
    """SLURM cannot run here (binaries missing, a daemon did not come up): the reason says why."""


def missing_binaries() -> list[str]:
    return [b for b in (*DAEMONS, *CLIENTS) if shutil.which(b) is None]


def processes_named(names: tuple[str, ...]) -> set[int]:
    """Pids of live processes whose ``comm`` is one of ``names`` (used to prove nothing leaked)."""
    pids = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "comm").read_text().strip() in names:
                    pids.add(int(d.name))
            except OSError:
                continue
    return pids


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node_hardware() -> tuple[int, int]:
    """(CPUs, RealMemory MB) as ``slurmd -C`` sees them; memory at 90 % (above the real value
    the node is invalidated; without it a 100 MB request never schedules)."""
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, timeout=30).stdout
    fields = dict(kv.split("=", 1) for kv in out.split() if "=" in kv)
    return int(fields["CPUs"]), int(int(fields["RealMemory"]) * 0.9)


class LocalCluster:
    """``with LocalCluster(root) as c:`` -> ``c.env`` has ``SLURM_CONF`` for client commands."""

    def __init__(self, root: str | os.PathLike | None = None, partition: str = "ppp", gpus: int = 1):
        # munged runs as the munge user, so the folder must be reachable by it (pytest's
        # tmp_path is 0700 root): a fresh 0755 folder under /tmp unless one is given.
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="ppp-slurm-"))
        self.partition = partition
        if not 0 <= gpus <= len(FAKE_GPU_FILES):
            raise ValueError(f"gpus must be 0..{len(FAKE_GPU_FILES)}, got {gpus}")
        self.gpus = gpus  # GRES "gpu" declared on the node: a scheduling token (no real device)
        self.host = socket.gethostname().split(".")[0]
        self.conf = self.root / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self.started: dict[str, int] = {}
        self.linked = False  # we created CONF_LINK (and remove it on stop)
        self.made_link_dir = False

    # -- files ---------------------------------------------------------------------------
    def _munge_dir(self) -> Path:
        return self.root / "munge"

    def _write_files(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        munge = pwd.getpwnam("munge")
        mdir = self._munge_dir()
        mdir.mkdir(exist_ok=True)
        key = mdir / "munge.key"
        key.write_bytes(os.urandom(1024))
        for p, mode in ((mdir, 0o755), (key, 0o400)):  # clients need x on the socket folder
            os.chown(p, munge.pw_uid, munge.pw_gid)
            p.chmod(mode)
        for sub in ("ctld", "slurmd"):
            (self.root / sub).mkdir(exist_ok=True)
        cpus, mem = _node_hardware()
        gres_node = f" Gres=gpu:{self.gpus}" if self.gpus else ""
        self.conf.write_text(
            f"""ClusterName=ppplocal
SlurmctldHost={self.host}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={mdir}/munge.socket.2
SlurmUser=root
SlurmdUser=root
StateSaveLocation={self.root}/ctld
SlurmdSpoolDir={self.root}/slurmd
SlurmctldPidFile={self.root}/slurmctld.pid
SlurmdPidFile={self.root}/slurmd.pid
SlurmctldLogFile={self.root}/slurmctld.log
SlurmdLogFile={self.root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU={max(100, mem // (2 * cpus))}
MinJobAge={MIN_JOB_AGE}
JobCompType=jobcomp/filetxt
JobCompLoc={self.root}/jobcomp.txt
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
GresTypes=gpu
NodeName={self.host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem}{gres_node} State=UNKNOWN
PartitionName={self.partition} Nodes={self.host} Default=NO MaxTime=INFINITE State=UP
"""
        )
        # GRES gpu needs one device file per unit; any character device will do for scheduling.
        files = ",".join(FAKE_GPU_FILES[: self.gpus])
        (self.root / "gres.conf").write_text(f"NodeName={self.host} Name=gpu File={files} Count={self.gpus}\n"
                                             if self.gpus else "")

    # -- daemons -------------------------------------------------------------------------
    def _spawn(self, name: str, cmd: list[str], pidfile: Path) -> None:
        """Run a self-daemonising ``cmd``; record its pid from ``pidfile`` once it is alive."""
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=self.env)
        if proc.returncode != 0:
            raise ClusterUnavailable(f"{name} did not start (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
        pid = self._wait_pidfile(pidfile, name)
        self.started[name] = pid

    def _wait_pidfile(self, pidfile: Path, name: str, timeout: float = 15) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                pid = int(pidfile.read_text().split()[0])
                if _comm(pid) == name:
                    return pid
            except (OSError, ValueError, IndexError):
                pass
            time.sleep(0.05)
        raise ClusterUnavailable(f"{name} wrote no live pid to {pidfile} within {timeout:.0f} s; log: "
                                 f"{self._log_tail(name)}")

    def _log_tail(self, name: str) -> str:
        log = self.root / ("munge/munged.log" if name == "munged" else f"{name}.log")
        try:
            return log.read_text()[-800:]
        except OSError:
            return "(no log)"

    def start(self, timeout: float = 60) -> LocalCluster:
        if missing := missing_binaries():
            raise ClusterUnavailable(f"SLURM/munge binaries not on PATH: {', '.join(missing)} (apt-get install "
                                     "slurmctld slurmd slurm-client munge)")
        try:
            pwd.getpwnam("munge")
        except KeyError as e:
            raise ClusterUnavailable("no 'munge' user (the munge package creates it)") from e
        if os.geteuid() != 0:
            raise ClusterUnavailable("starting slurmd needs root (it runs jobs as their submitting user)")
        stale = CONF_LINK.is_symlink() and not CONF_LINK.exists()
        if stale and os.readlink(CONF_LINK).startswith(os.path.join(tempfile.gettempdir(), "ppp-slurm-")):
            CONF_LINK.unlink()  # left by a run of ours that was killed before it could clean up
        if CONF_LINK.exists() or CONF_LINK.is_symlink():
            raise ClusterUnavailable(f"{CONF_LINK} exists (a SLURM node runs here already): not touching it")
        self._write_files()
        mdir = self._munge_dir()
        try:
            self.made_link_dir = not CONF_LINK.parent.exists()
            CONF_LINK.parent.mkdir(parents=True, exist_ok=True)
            CONF_LINK.symlink_to(self.root)
            self.linked = True
            self._spawn(
                "munged",
                ["runuser", "-u", "munge", "--", "munged", f"--socket={mdir}/munge.socket.2",
                 f"--key-file={mdir}/munge.key",
                 f"--pid-file={mdir}/munged.pid", f"--log-file={mdir}/munged.log", f"--seed-file={mdir}/munged.seed"],
                mdir / "munged.pid",
            )
            self._spawn("slurmctld", ["slurmctld", "-f", str(self.conf)], self.root / "slurmctld.pid")
            self._spawn("slurmd", ["slurmd", "-f", str(self.conf)], self.root / "slurmd.pid")
            self._wait_node_idle(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_node_idle(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        state = ""
        while time.monotonic() < end:
            try:  # sinfo can hang while the controller is not up: always under `timeout`
                state = self.run("sinfo", "-h", "-N", "-o", "%t", "-p", self.partition, timeout=10).stdout.strip()
            except subprocess.TimeoutExpired:
                state = "(sinfo timed out)"
            if state in ("idle", "mix"):
                return
            if state.startswith(("inval", "drain")):
                reasons = [line for line in (self.root / "slurmctld.log").read_text().splitlines()
                           if "state to" in line]

                raise ClusterUnavailable(f"node state {state!r}: {' | '.join(reasons)[-500:]}")
            time.sleep(0.2)
        raise ClusterUnavailable(f"node not idle within {timeout:.0f} s (state {state!r}); slurmd log: "
                                 f"{self._log_tail('slurmd')}")

    def run(self, *cmd: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """A SLURM client command against this cluster."""
        return subprocess.run(["timeout", str(int(timeout)), *cmd], capture_output=True, text=True, env=self.env,
                              timeout=timeout + 5)

    def stop(self, timeout: float = 20) -> None:
        """Cancel leftover jobs, then SIGTERM (SIGKILL after ``timeout``) what we started, last first."""
        if "slurmctld" in self.started:
            self.run("scancel", "--full", "-p", self.partition, timeout=10)
        for name in reversed(list(self.started)):
            pid = self.started[name]
            if _comm(pid) != name:  # gone already, or the pid was reused by someone else
                continue
            os.kill(pid, signal.SIGTERM)
            end = time.monotonic() + timeout
            while _comm(pid) == name and time.monotonic() < end:
                time.sleep(0.05)
            if _comm(pid) == name:
                os.kill(pid, signal.SIGKILL)
        self.started.clear()
        for pid in self.job_processes():  # a job step that outlived its slurmd: ours by its env
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.linked and CONF_LINK.is_symlink() and Path(os.readlink(CONF_LINK)) == self.root:
            CONF_LINK.unlink()
            self.linked = False
            if self.made_link_dir and not any(CONF_LINK.parent.iterdir()):
                CONF_LINK.parent.rmdir()

    def job_processes(self) -> set[int]:
        """Live processes carrying this cluster's SLURM_CONF (job steps, their srun and tasks)."""
        mark = f"SLURM_CONF={self.conf}".encode()
        pids = set()
        for d in Path("/proc").iterdir():
            if d.name.isdigit() and int(d.name) != os.getpid():
                try:
                    if mark in (d / "environ").read_bytes().split(b"\0"):
                        pids.add(int(d.name))
                except OSError:
                    continue
        return pids

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _comm(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


if __name__ == "__main__":
    action, root = sys.argv[1], Path(sys.argv[2])
    cluster = LocalCluster(root)
    if action == "start":
        cluster.start()
        print(f"export SLURM_CONF={cluster.conf}")
    elif action == "stop":  # the pids this folder's daemons wrote, in start order
        for name, pidfile in (("munged", "munge/munged.pid"), ("slurmctld", "slurmctld.pid"), ("slurmd", "slurmd.pid")):
            try:
                cluster.started[name] = int((root / pidfile).read_text().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        cluster.linked = True  # stop() removes the link only if it points at this folder
        cluster.stop()
    else:
        sys.exit(f"usage: {sys.argv[0]} start|stop DIR")
