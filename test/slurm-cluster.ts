/**
 * A real single-node Slurm cluster for the tests (issue 14): Debian's slurm-wlm and munge, installed
 * with apt when missing (as root), started directly (there is no systemd here) on loopback with a
 * configuration in a temporary folder, and stopped by the PIDs in their pid files. Short credential
 * lifetime and scheduler intervals so that a requeued task reruns in about 12 s instead of minutes.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";

export interface Cluster {
  /** Environment for sbatch, squeue, scontrol (SLURM_CONF). */
  env: NodeJS.ProcessEnv;
  dir: string;
  /** Cancels every job, stops the daemons this cluster started (waiting until they are gone) and removes its folder. */
  stop(): Promise<void>;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** `count` distinct free loopback ports (held open together while chosen, so they differ). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((ok, fail) => {
      const s = createServer();
      s.once("error", fail);
      s.listen(0, "127.0.0.1", () => ok(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise<void>((ok) => s.close(() => ok()))));
  return ports;
}

const have = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

/** Starts the cluster, or says why Slurm is not available (not root, apt failed); throws if the daemons do not come up. */
export async function startCluster(): Promise<Cluster | { unavailable: string }> {
  if (process.getuid?.() !== 0) return { unavailable: "not root: the test cluster's daemons run as root" };
  if (!have("slurmctld") || !have("slurmd") || !have("munged") || !have("sbatch")) {
    const r = spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "slurm-wlm", "munge"], { encoding: "utf8", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (r.status !== 0) return { unavailable: `apt-get install slurm-wlm munge failed: ${(r.stderr || r.stdout).trim().split("\n").slice(-1)[0]}` };
  }
  const dir = mkdtempSync(join(tmpdir(), "sparsewire-slurm-"));
  const started: string[] = [];
  let env: NodeJS.ProcessEnv = process.env;
  const stop = async () => {
    spawnSync("scancel", ["--full", "--user", "root"], { env, stdio: "ignore" });
    const pids = started.map((f) => (existsSync(f) ? Number(readFileSync(f, "utf8").trim()) : NaN)).filter((p) => p > 0);
    for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGTERM");
    for (let i = 0; i < 50 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
    for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  };
  try {
    // munge: the key comes with the package; the daemon runs as the munge user.
    if (spawnSync("sh", ["-c", "munge -n | unmunge"], { stdio: "ignore" }).status !== 0) {
      for (const d of ["/run/munge", "/var/log/munge", "/var/lib/munge"]) mkdirSync(d, { recursive: true });
      execFileSync("chown", ["munge:munge", "/run/munge", "/var/log/munge", "/var/lib/munge"]);
      execFileSync("runuser", ["-u", "munge", "--", "/usr/sbin/munged"]);
      if (existsSync("/run/munge/munged.pid")) started.push("/run/munge/munged.pid");
    }
    const host = hostname().split(".")[0]!;
    const [ctlPort, dPort] = await freePorts(2);
    mkdirSync(join(dir, "state"));
    mkdirSync(join(dir, "spool"));
    const conf = join(dir, "slurm.conf");
    writeFileSync(conf, [
      "ClusterName=sparsewire-test",
      `SlurmctldHost=${host}(127.0.0.1)`,
      "SlurmUser=root",
      "AuthType=auth/munge",
      "AuthInfo=cred_expire=10",
      `StateSaveLocation=${dir}/state`,
      `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`,
      `SlurmdPidFile=${dir}/slurmd.pid`,
      `SlurmctldLogFile=${dir}/slurmctld.log`,
      `SlurmdLogFile=${dir}/slurmd.log`,
      `SlurmctldPort=${ctlPort}`,
      `SlurmdPort=${dPort}`,
      "ProctrackType=proctrack/linuxproc",
      "TaskPlugin=task/none",
      "JobAcctGatherType=jobacct_gather/none",
      "SelectType=select/cons_tres",
      "SelectTypeParameters=CR_CPU",
      "SchedulerParameters=bf_interval=1,sched_interval=2",
      "ReturnToService=2",
      "MpiDefault=none",
      `NodeName=${host} NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN`,
      "PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
      "",
    ].join("\n"));
    env = { ...process.env, SLURM_CONF: conf };
    execFileSync("slurmctld", ["-f", conf], { env });
    started.push(join(dir, "slurmctld.pid"));
    execFileSync("slurmd", ["-f", conf], { env });
    started.push(join(dir, "slurmd.pid"));
    for (let i = 0; i < 100; i++) {
      const s = spawnSync("sinfo", ["-h", "-o", "%T"], { encoding: "utf8", env });
      if (s.status === 0 && /idle/.test(s.stdout)) return { env, dir, stop };
      await new Promise((r) => setTimeout(r, 100));
    }
    const log = existsSync(join(dir, "slurmctld.log")) ? readFileSync(join(dir, "slurmctld.log"), "utf8").trim().split("\n").slice(-1)[0] : "no log";
    throw new Error(`the Slurm node did not become idle within 10 s (${log})`);
  } catch (error) {
    // Slurm is installed: a cluster that does not come up is a failure, not a reason to skip.
    await stop();
    throw error;
  }
}
