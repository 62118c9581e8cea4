#!/usr/bin/env python3
"""Kill campaign (issue 16, item 4): interrupt a small study at random moments
of every stage, resume it each time, and check what is left.

Run through benchmarks/kill_campaign.sh (it finds the binary and python3);
`--help` lists the options. Three phases, each against an uninterrupted
reference made first with the same command:

1. kill -9 of `inferbench run` at --kills random moments. The moments are
   drawn (seeded) as a stage, uniformly among the study's stages, and a
   fraction of that stage's reference duration: the campaign waits until the
   stage starts ("[run i/N] ... (elapsed" on stderr), then for the fraction,
   then kills. A round is one study from an empty output folder: its kills are
   sorted by stage and the study is resumed (the same command) after each;
   the last launch of a round runs to the end.
2. SIGINT (Ctrl-C) of `inferbench run` at --sigints moments, drawn the same
   way: the run must exit 130 and keep what it finished.
3. kill -9 of `inferbench bench` at --worker-kills moments of a study whose
   workers misbehave (the test backend, src/backends/fault): one runs out of
   its --memory-limit, one hangs until its --timeout, two work.

After every interruption: no process of the killed run is left (every process
the campaign starts carries INFERBENCH_KC_TAG=<id> in its environment, which
children inherit; after a grace period, any process still carrying it is a
leftover: reported with its command line, then killed before the resume),
every results database passes `PRAGMA integrity_check` (opened read-only) and
`inferbench results list`, and nothing already recorded went missing (finished
stages and recorded runs only grow). At the end of every round the resume
must exit as the reference did, and its runs (run key and status) must equal
the reference's. Exit 0 when every check held, 1 otherwise (with
--pending-leftovers, 77 when leftovers were the only failure: ctest's skip).
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

TRAIN = {"epochs": 1, "threads": 1, "augment": "light"}
BENCH = {
    "scenarios": ["single-stream"],
    "threads": [1],
    "timing": {"warmup_count": 2, "warmup_seconds": 0, "min_count": 30, "min_seconds": 0, "max_seconds": 1},
}
PRESETS = {
    # About a minute uninterrupted on 2 cores: every stage of the main job
    # (synth, scan, split, tensors, train / export / verify of two models,
    # bench in every backend, report).
    "campaign": {
        "synth": {"per-class": 30, "size": 48},
        "models": [
            {"model": "mobilenet_v2", "size": 32, "train": TRAIN},
            {"model": "efficientnet_b0", "size": 32, "train": TRAIN},
        ],
        "bench": BENCH,
    },
    # For the ctest smoke: one model, two backends (about 15 s uninterrupted).
    "smoke": {
        "synth": {"per-class": 30, "size": 48},
        "models": [{"model": "mobilenet_v2", "size": 32, "train": TRAIN}],
        "verify": {"backends": ["onnxruntime"]},
        "bench": dict(BENCH, backends=["libtorch", "onnxruntime"]),
    },
}

START = re.compile(r"^\[run (\d+)/(\d+)\] (?!.*: up to date, skipped).*\(elapsed [^)]*\)$")
DONE = re.compile(r"^\[run (\d+)/(\d+)\] .*: (done|failed|not run)( in |\s*\()")
TAG = "INFERBENCH_KC_TAG"


def log(msg):
    print(msg, flush=True)


class Campaign:
    def __init__(self, a):
        self.a = a
        self.work = Path(a.work).resolve()
        self.exe = self.work / "inferbench"
        self.rng = random.Random(a.seed)
        self.launches = 0
        self.failures = []  # (phase, what)
        self.leftover_failures = 0
        self.records = []  # one per interruption

    # --- processes ---------------------------------------------------------

    def launch(self, args, log_path, extra_env=None):
        self.launches += 1
        tag = f"{os.getpid()}-{self.launches}"
        env = dict(os.environ)
        env[TAG] = tag
        if self.a.machine_lock != "shared":
            # A machine lock of the campaign's own: other benchmarks on this machine neither wait for it nor hold
            # it up (the campaign measures correctness, not speed); the lock code is exercised all the same.
            env["INFERBENCH_MACHINE_LOCK"] = str(self.work / "machine.lock")
        if extra_env:
            env.update(extra_env)
        err = open(log_path, "w")
        p = subprocess.Popen([str(self.exe)] + args, stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT,
                             env=env, cwd=self.work)
        err.close()
        return p, tag

    @staticmethod
    def tagged(tag):
        """Live processes whose environment carries this launch's tag: pid -> command line."""
        want = f"{TAG}={tag}".encode()
        out = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/environ", "rb") as f:
                    if want not in f.read().split(b"\0"):
                        continue
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
                with open(f"/proc/{d}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                out[int(d)] = cmd
        return out

    def leftovers(self, tag):
        """After the launch ended: what of it is still alive once the grace period is over."""
        deadline = time.monotonic() + self.a.grace
        while True:
            left = self.tagged(tag)
            if not left or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        end = time.monotonic() + 10
        while self.tagged(tag) and time.monotonic() < end:
            time.sleep(0.05)
        return left

    # --- state of an output folder ----------------------------------------

    @staticmethod
    def db_runs(db):
        """(run_key, status) of every run, read-only; None when there is no database."""
        if not db.exists():
            return None
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            return sorted(c.execute("SELECT run_key, status FROM runs").fetchall())
        finally:
            c.close()

    def integrity(self, db):
        """'ok', or what is wrong with the database ('absent' when there is none)."""
        if not db.exists():
            return "absent"
        try:
            c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
            try:
                r = c.execute("PRAGMA integrity_check").fetchall()
            finally:
                c.close()
        except sqlite3.Error as e:
            return f"sqlite: {e}"
        if r != [("ok",)]:
            return f"integrity_check: {r[:5]}"
        p = subprocess.run([str(self.exe), "results", "--db", str(db), "list"], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            return f"`inferbench results list` exit {p.returncode}: {p.stderr.strip()[-300:]}"
        return "ok"

    @staticmethod
    def stages_done(out):
        d = out / "stages"
        if not d.is_dir():
            return set()
        return {p.name for p in d.glob("*.json") if not p.name.endswith(".started.json")}

    @staticmethod
    def study_status(db):
        """The statuses of the studies (their names are the bench stage's key, which differs between rounds:
        the verify reports it hashes hold timings)."""
        if not db.exists():
            return None
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            return sorted(r[0] for r in c.execute("SELECT status FROM studies").fetchall())
        finally:
            c.close()

    @staticmethod
    def log_lines(path):
        try:
            text = path.read_text(errors="replace")
        except OSError:
            return []
        return [x for line in text.split("\n") for x in line.split("\r")]

    def stage_at_end(self, path, names):
        """The stage in flight when the log ends ('before the first stage' when none had started)."""
        current = None
        for line in self.log_lines(path):
            if m := START.match(line):
                current = int(m.group(1))
            elif (m := DONE.match(line)) and current == int(m.group(1)):
                current = None
        if current is None:
            return "between stages"
        return names[current - 1]

    # --- phases --------------------------------------------------------------

    def run_args(self, out):
        return ["run", "--config", str(self.work / "config.json"), "--out", str(out)]

    def reference_run(self):
        out = self.work / "reference"
        shutil.rmtree(out, ignore_errors=True)
        # The reference is made at the same path as the rounds (run keys name the artifacts' paths).
        live = self.work / "out"
        shutil.rmtree(live, ignore_errors=True)
        t0 = time.monotonic()
        p, tag = self.launch(self.run_args(live), self.work / "reference.log")
        rc = p.wait()
        wall = time.monotonic() - t0
        left = self.leftovers(tag)
        record = json.loads((live / "run.json").read_text())
        names = [s["stage"] for s in record["stages"]]
        seconds = [s["seconds"] for s in record["stages"]]
        runs = self.db_runs(live / "results.db")
        studies = self.study_status(live / "results.db")
        live.rename(out)
        log(f"reference: exit {rc}, {wall:.1f} s, {len(names)} stages, {len(runs or [])} runs, studies {studies}")
        if left:
            self.failures.append(("reference", f"leftovers after an uninterrupted run: {left}"))
        if rc not in (0, 6):
            raise SystemExit(f"the uninterrupted reference run failed (exit {rc}); see {self.work}/reference.log")
        return {"rc": rc, "wall": wall, "names": names, "seconds": seconds, "runs": runs, "studies": studies}

    def wait_for_stage(self, p, log_path, index):
        """Until stage `index` (1-based) or a later one starts, or the process ends. True if it started."""
        while p.poll() is None:
            for line in self.log_lines(log_path):
                if (m := START.match(line)) and int(m.group(1)) >= index:
                    return True
            time.sleep(0.02)
        return False

    def run_rounds(self, phase, count, sig, ref):
        """`count` interruptions of `inferbench run` with `sig`, in rounds of at most one per stage on average."""
        names, seconds = ref["names"], ref["seconds"]
        per_round = max(1, int(len(names) * self.a.per_stage))
        done = 0
        rnd = 0
        live = self.work / "out"
        while done < count:
            rnd += 1
            shutil.rmtree(live, ignore_errors=True)
            n = min(per_round, count - done)
            targets = sorted((self.rng.randrange(len(names)), self.rng.random()) for _ in range(n))
            prev_runs, prev_stages = set(), set()
            for i, (stage, frac) in enumerate(targets):
                logp = self.work / "logs" / f"{phase}-r{rnd}-{i}.log"
                p, tag = self.launch(self.run_args(live), logp)
                t0 = time.monotonic()
                started = self.wait_for_stage(p, logp, stage + 1)
                if started:
                    end = time.monotonic() + frac * seconds[stage]
                    while p.poll() is None and time.monotonic() < end:
                        time.sleep(0.01)
                if p.poll() is not None:  # finished before the moment came: the round is complete
                    rc = p.returncode
                    log(f"{phase} round {rnd}: finished (exit {rc}) before kill {i + 1}; the rest move to the next round")
                    self.leftovers(tag)
                    break
                at = self.stage_at_end(logp, names)
                p.send_signal(sig)
                try:
                    rc = p.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    p.kill()
                    rc = p.wait()
                    self.failures.append((phase, f"round {rnd} kill {i + 1}: did not stop within 120 s of {sig.name}"))
                at_after = self.stage_at_end(logp, names)
                left = self.leftovers(tag)
                db = live / "results.db"
                integ = self.integrity(db)
                runs = set(k for k, _ in (self.db_runs(db) or []))
                stages = self.stages_done(live)
                lost_runs = prev_runs - runs
                lost_stages = prev_stages - stages
                prev_runs, prev_stages = runs, stages
                expected_rc = -signal.SIGKILL if sig == signal.SIGKILL else 130
                rec = {"phase": phase, "round": rnd, "kill": i + 1, "target": names[stage], "frac": round(frac, 3),
                       "stage": at if sig == signal.SIGKILL else at_after, "after_s": round(time.monotonic() - t0, 2),
                       "exit": rc, "integrity": integ, "leftovers": sorted(set(left.values())),
                       "leftover_count": len(left), "lost_runs": len(lost_runs), "lost_stages": sorted(lost_stages),
                       "runs_recorded": len(runs), "stages_done": len(stages)}
                self.records.append(rec)
                done += 1
                problems = []
                if rc != expected_rc and not (sig == signal.SIGINT and rc in (0, 6) and p.returncode is not None):
                    problems.append(f"exit {rc}, expected {expected_rc}")
                if integ not in ("ok", "absent"):
                    problems.append(f"database: {integ}")
                if lost_runs or lost_stages:
                    problems.append(f"lost {len(lost_runs)} runs and stages {sorted(lost_stages)}")
                if left:
                    self.leftover_failures += 1
                    problems.append(f"{len(left)} leftover processes: {sorted(set(left.values()))}")
                log(f"{phase} r{rnd} k{i + 1}/{n}: {sig.name} in '{rec['stage']}' after {rec['after_s']} s -> exit {rc}, "
                    f"db {integ}, {len(runs)} runs, {len(stages)} stages done"
                    + ("" if not problems else "  PROBLEM: " + "; ".join(problems)))
                for pr in problems:
                    if "leftover" not in pr:
                        self.failures.append((phase, f"round {rnd} kill {i + 1} ({rec['stage']}): {pr}"))
            # The resume to the end.
            logp = self.work / "logs" / f"{phase}-r{rnd}-final.log"
            p, tag = self.launch(self.run_args(live), logp)
            rc = p.wait()
            left = self.leftovers(tag)
            runs = self.db_runs(live / "results.db")
            studies = self.study_status(live / "results.db")
            equal = runs == ref["runs"]
            integ = self.integrity(live / "results.db")
            self.rounds.append({"phase": phase, "round": rnd, "resume_exit": rc, "completed": rc == ref["rc"],
                                "final_equal": equal, "integrity": integ, "studies": studies,
                                "studies_equal": studies == ref["studies"], "leftovers": len(left)})
            log(f"{phase} round {rnd}: resume to the end exit {rc} (reference {ref['rc']}), runs equal to the "
                f"reference: {'yes' if equal else 'NO'}, db {integ}, studies {studies}")
            if rc != ref["rc"]:
                self.failures.append((phase, f"round {rnd}: the final resume exited {rc}, the reference {ref['rc']}"))
            if not equal:
                self.failures.append((phase, f"round {rnd}: runs differ from the reference: "
                                             f"{sorted(set(runs or []) ^ set(ref['runs'] or []))[:6]}"))
            if integ != "ok":
                self.failures.append((phase, f"round {rnd}: final database {integ}"))
            if left:
                self.failures.append((phase, f"round {rnd}: leftovers after a completed run: {left}"))

    # --- misbehaving workers -------------------------------------------------

    def fault_setup(self):
        tensors = next((self.work / "reference" / "tensors").iterdir())
        meta = json.loads((tensors / "meta.json").read_text())
        size = meta.get("preprocess", {}).get("image_size") or meta.get("image_size") or 32
        classes = meta["classes"]
        models = self.work / "fault-models"
        shutil.rmtree(models, ignore_errors=True)
        models.mkdir()
        failing = ("crash.onnx", {"fault": "crash", "at": "load"}) if self.asan else ("oom.onnx", {"fault": "oom",
                                                                                                 "at": "load"})
        faults = [("ok1.onnx", {"latency_us": 2000}), failing,
                  ("hang.onnx", {"fault": "hang", "at": "load"}), ("ok2.onnx", {"latency_us": 2000})]
        paths = []
        for name, fault in faults:
            p = models / name
            p.write_text("read by nothing but the test backend\n")
            side = {"format": "onnx", "model": "fake",
                    "input": {"layout": "NCHW", "height": size, "width": size, "dynamic_batch": True},
                    "classes": classes, "source": {"test_fault": fault}}
            Path(str(p) + ".json").write_text(json.dumps(side))
            paths.append(str(p))
        return tensors, paths

    def bench_args(self, tensors, paths, db, resume):
        a = ["--quiet", "bench", *paths, "--tensors", str(tensors), "--backends", "test-fault", "--db", str(db),
             "--study", "faults", "--work-dir", str(self.work / "fault-work"), "--order", "sequential",
             "--scenarios", "single-stream", "--threads", "1", "--warmup", "2", "--warmup-seconds", "0",
             "--min-count", "30", "--min-seconds", "0.3", "--max-seconds", "2", "--peak-seconds", "0",
             *([] if self.asan else ["--memory-limit", "1024"]), "--timeout", str(self.a.worker_timeout)]
        return a + (["--resume"] if resume else [])

    def worker_phase(self, count):
        tensors, paths = self.fault_setup()
        env = {"INFERBENCH_TEST_BACKENDS": "1"}
        db = self.work / "faults-reference.db"
        for f in (db, Path(str(db) + "-wal"), Path(str(db) + "-shm")):
            f.unlink(missing_ok=True)
        t0 = time.monotonic()
        p, tag = self.launch(self.bench_args(tensors, paths, db, False), self.work / "faults-reference.log", env)
        rc = p.wait()
        wall = time.monotonic() - t0
        left = self.leftovers(tag)
        ref = self.db_runs(db)
        statuses = sorted(s for _, s in ref or [])
        log(f"workers reference: exit {rc}, {wall:.1f} s, statuses {statuses}")
        self.worker_ref = {"rc": rc, "wall": wall, "statuses": statuses}
        failing = "crashed" if self.asan else "out-of-memory"
        if statuses != sorted(["ok", "ok", failing, "timed-out"]):
            self.failures.append(("workers", f"reference statuses {statuses}: expected ok x2, {failing}, timed-out"))
        if left:
            self.failures.append(("workers", f"leftovers after an uninterrupted bench: {left}"))
        done = 0
        rnd = 0
        while done < count:
            rnd += 1
            live = self.work / "faults.db"
            for f in (live, Path(str(live) + "-wal"), Path(str(live) + "-shm")):
                f.unlink(missing_ok=True)
            shutil.rmtree(self.work / "fault-work", ignore_errors=True)
            resume = False
            prev = set()
            for i in range(min(self.a.per_worker_round, count - done)):
                logp = self.work / "logs" / f"workers-r{rnd}-{i}.log"
                p, tag = self.launch(self.bench_args(tensors, paths, live, resume), logp, env)
                t0 = time.monotonic()
                delay = self.rng.random() * wall
                while p.poll() is None and time.monotonic() - t0 < delay:
                    time.sleep(0.01)
                if p.poll() is not None:
                    self.leftovers(tag)
                    break
                flight = sorted({Path(c.split("--job", 1)[1].strip()).parent.name
                                 for c in self.tagged(tag).values() if " worker --job " in c})
                inflight = self.in_flight(flight)
                p.kill()
                rc = p.wait()
                left = self.leftovers(tag)
                resume = resume or live.exists()
                integ = self.integrity(live)
                keys = set(k for k, _ in (self.db_runs(live) or []))
                lost = prev - keys
                prev = keys
                done += 1
                rec = {"phase": "workers", "round": rnd, "kill": i + 1, "stage": f"bench: worker of {inflight}",
                       "after_s": round(time.monotonic() - t0, 2), "exit": rc, "integrity": integ,
                       "leftovers": sorted(set(left.values())), "leftover_count": len(left), "lost_runs": len(lost),
                       "lost_stages": [], "runs_recorded": len(keys)}
                self.records.append(rec)
                problems = []
                if integ not in ("ok", "absent"):
                    problems.append(f"database: {integ}")
                if lost:
                    problems.append(f"lost {len(lost)} runs")
                if left:
                    self.leftover_failures += 1
                    problems.append(f"{len(left)} leftover processes: {sorted(set(left.values()))}")
                log(f"workers r{rnd} k{i + 1}: SIGKILL with the {inflight} worker in flight after {rec['after_s']} s -> "
                    f"exit {rc}, db {integ}, {len(keys)} runs" + ("" if not problems else "  PROBLEM: " + "; ".join(problems)))
                for pr in problems:
                    if "leftover" not in pr:
                        self.failures.append(("workers", f"round {rnd} kill {i + 1}: {pr}"))
            logp = self.work / "logs" / f"workers-r{rnd}-final.log"
            p, tag = self.launch(self.bench_args(tensors, paths, live, resume or live.exists()), logp, env)
            rc = p.wait()
            left = self.leftovers(tag)
            runs = self.db_runs(live)
            equal = runs == ref
            integ = self.integrity(live)
            self.rounds.append({"phase": "workers", "round": rnd, "resume_exit": rc, "completed": rc == self.worker_ref["rc"],
                                "final_equal": equal, "integrity": integ, "leftovers": len(left)})
            log(f"workers round {rnd}: resume to the end exit {rc} (reference {self.worker_ref['rc']}), runs equal: "
                f"{'yes' if equal else 'NO'}, db {integ}")
            if rc != self.worker_ref["rc"]:
                self.failures.append(("workers", f"round {rnd}: final resume exit {rc}, reference {self.worker_ref['rc']}"))
            if not equal:
                self.failures.append(("workers", f"round {rnd}: runs differ: {sorted(set(runs or []) ^ set(ref or []))}"))
            if integ != "ok":
                self.failures.append(("workers", f"round {rnd}: final database {integ}"))
            if left:
                self.failures.append(("workers", f"round {rnd}: leftovers after a completed bench: {left}"))

    def in_flight(self, run_dirs):
        """Which artifact the worker in flight ran (from its job file), 'no worker' when none."""
        names = []
        for d in run_dirs:
            for job in (self.work / "fault-work").glob(f"*/{d}/job.json"):
                try:
                    j = json.loads(job.read_text())
                    names.append(Path(j.get("artifact", {}).get("path", "") if isinstance(j.get("artifact"), dict)
                                      else j.get("artifact", "?")).name or "?")
                except (OSError, ValueError):
                    names.append("?")
        return ", ".join(sorted(set(names))) if names else "no worker"

    # --- the whole campaign ------------------------------------------------------

    def main(self):
        a = self.a
        t_start = time.monotonic()
        self.work.mkdir(parents=True, exist_ok=True)
        (self.work / "logs").mkdir(exist_ok=True)
        # A copy of the binary: a rebuild of the tree during the campaign does not change what is tested.
        shutil.copy2(a.exe, self.exe)
        # An AddressSanitizer build cannot run under an address-space limit (its
        # shadow memory is reserved at start-up): there the out-of-memory worker
        # becomes one that crashes, and no --memory-limit is given.
        version = subprocess.run([str(self.exe), "--version"], capture_output=True, text=True).stdout
        self.asan = "sanitizers" in version and "address" in version
        (self.work / "config.json").write_text(json.dumps(PRESETS[a.preset], indent=2))
        self.rounds = []
        cpu = next((l.split(":", 1)[1].strip() for l in subprocess.run(["lscpu"], capture_output=True, text=True)
                    .stdout.splitlines() if l.startswith("Model name")), "?")
        log(f"kill campaign: preset {a.preset}, {a.kills} kill -9, {a.sigints} SIGINT, {a.worker_kills} worker kills, "
            f"seed {a.seed}, grace {a.grace} s; binary {a.exe} (copied to {self.exe}); CPU {cpu}; work {self.work}")
        ref = self.reference_run()
        if a.kills:
            self.run_rounds("kill", a.kills, signal.SIGKILL, ref)
        if a.sigints:
            self.run_rounds("sigint", a.sigints, signal.SIGINT, ref)
        if a.worker_kills:
            self.worker_phase(a.worker_kills)
        wall = time.monotonic() - t_start
        self.summary(ref, wall, cpu)

    def summary(self, ref, wall, cpu):
        out = {"command": " ".join(sys.argv), "cpu": cpu, "wall_s": round(wall, 1), "seed": self.a.seed,
               "preset": self.a.preset, "reference": {k: ref[k] for k in ("rc", "wall", "names", "seconds")},
               "reference_runs": len(ref["runs"] or []), "rounds": self.rounds, "interruptions": self.records,
               "failures": self.failures, "leftover_failures": self.leftover_failures}
        phases = sorted({r["phase"] for r in self.records}, key=["kill", "sigint", "workers"].index)
        lines = [f"kill campaign: {len(self.records)} interruptions in {wall / 60:.1f} min (reference study "
                 f"{ref['wall']:.1f} s, {len(ref['names'])} stages, {len(ref['runs'] or [])} runs); CPU {cpu}"]
        for ph in phases:
            recs = [r for r in self.records if r["phase"] == ph]
            rounds = [r for r in self.rounds if r["phase"] == ph]
            per_stage = Counter(r["stage"] for r in recs)
            lines.append(f"\n{ph}: {len(recs)} interruptions, {len(rounds)} rounds")
            lines.append("  per stage: " + ", ".join(f"{k} {v}" for k, v in sorted(per_stage.items())))
            lines.append(f"  exit codes: {dict(Counter(r['exit'] for r in recs))}")
            lines.append(f"  integrity failures: {sum(r['integrity'] not in ('ok', 'absent') for r in recs)} after "
                         f"interruptions, {sum(r['integrity'] != 'ok' for r in rounds)} at the ends of rounds")
            lines.append(f"  runs or stages lost: {sum(bool(r['lost_runs'] or r['lost_stages']) for r in recs)}")
            lines.append(f"  interruptions with leftovers: {sum(r['leftover_count'] > 0 for r in recs)} "
                         f"({sum(r['leftover_count'] for r in recs)} processes: "
                         f"{dict(Counter(self.short(c) for r in recs for c in r['leftovers']))})")
            lines.append(f"  resumes completed: {sum(r['completed'] for r in rounds)}/{len(rounds)} rounds; "
                         f"final set equal to the reference: {sum(r['final_equal'] for r in rounds)}/{len(rounds)}")
            if ph != "workers":
                lines.append(f"  study status at the ends of rounds equal to the reference's: "
                             f"{sum(r['studies_equal'] for r in rounds)}/{len(rounds)}")
        if self.failures:
            lines.append("\nfailures:")
            lines += [f"  {ph}: {w}" for ph, w in self.failures]
        text = "\n".join(lines)
        log("\n" + text)
        (self.work / "summary.txt").write_text(text + "\n")
        (self.work / "summary.json").write_text(json.dumps(out, indent=2) + "\n")
        log(f"\nrecords: {self.work}/summary.json, {self.work}/summary.txt")
        if self.failures:
            sys.exit(1)
        if self.leftover_failures:
            if self.a.pending_leftovers:
                log("waiting for issue 16 fix: leftover processes after a kill (children do not die with their parent)")
                sys.exit(77)
            sys.exit(1)

    @staticmethod
    def short(cmd):
        """'inferbench worker' / 'inferbench train' ... from a command line."""
        words = cmd.split()
        return " ".join([Path(words[0]).name] + [w for w in words[1:3] if not w.startswith("-")]) if words else "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exe", required=True, help="the inferbench binary")
    ap.add_argument("--work", required=True, help="work folder (made; its contents are replaced)")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="campaign")
    ap.add_argument("--kills", type=int, default=100, help="kill -9 moments of `inferbench run`")
    ap.add_argument("--sigints", type=int, default=20, help="SIGINT moments of `inferbench run`")
    ap.add_argument("--worker-kills", type=int, default=20, help="kill -9 moments of a bench with misbehaving workers")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-stage", type=float, default=1.0, help="kills per round, per stage of the study")
    ap.add_argument("--per-worker-round", type=int, default=5, help="kills per round of the worker phase")
    ap.add_argument("--worker-timeout", type=float, default=6.0, help="--timeout of the bench with a hanging worker")
    ap.add_argument("--grace", type=float, default=2.0,
                    help="seconds a killed run's processes get to end before they count as leftovers")
    ap.add_argument("--machine-lock", choices=["private", "shared"], default="private",
                    help="private: INFERBENCH_MACHINE_LOCK in the work folder; shared: the machine's own")
    ap.add_argument("--pending-leftovers", action="store_true",
                    help="exit 77 (skip) instead of 1 when leftovers are the only failure")
    a = ap.parse_args()
    for n in ("kills", "sigints", "worker_kills"):
        if getattr(a, n) < 0:
            ap.error(f"--{n.replace('_', '-')} must not be negative")
    Campaign(a).main()


if __name__ == "__main__":
    main()
