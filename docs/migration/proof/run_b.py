"""(b) live migration of a VM whose root disk is a LOCAL qcow2 overlay over a base image present
on both hosts: NBD export on the destination + blockdev-mirror sync=top on the source, then RAM
migration with pause-before-switchover (libvirt's sequence). Source in netns mpA, dest in mpB.
Options: --copy-mode=write-blocking  --no-pause (cancel the mirror after completion instead)
         --abort (migrate_cancel mid-way; shows the cleanup)"""
import json, os, shutil, subprocess, sys, time
from qmp import *

T = "/tmp/migproof/transcript-b.log"
MIG_PORT, NBD_PORT = 49152, 49153
A, B = "/tmp/migproof/hA", "/tmp/migproof/hB"
COPY_MODE = next((a.split("=")[1] for a in sys.argv if a.startswith("--copy-mode=")), "background")
PAUSE = "--no-pause" not in sys.argv
ABORT = "--abort" in sys.argv

def locks(tag):
    msg = f"locks {tag}: " + json.dumps(file_locks({"A": A, "B": B}, "disk.qcow2"))
    print(msg); open(T, "a").write(f"# {msg}\n")

for d in (A, B):
    kill(d); shutil.rmtree(d, ignore_errors=True); os.makedirs(f"{d}/images")
    shutil.copy("/tmp/migproof/config.iso", d)
    shutil.copy("/tmp/migproof/base.qcow2", f"{d}/images/base.qcow2")   # the image cache copy
if os.path.exists(T): os.remove(T)
def overlay(d):
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", f"{d}/images/base.qcow2",
                    f"{d}/disk.qcow2", "64M"], check=True)
overlay(A)
# data that exists only in the source's overlay before the VM starts (16 MiB .. 32 MiB - 4 KiB)
subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0xa5 16M 8M", "-c", "write -P 0x3c 24M 8188K",
                f"{A}/disk.qcow2"], check=True, capture_output=True)
root = lambda d: {"driver": "qcow2", "node-name": "root0", "file": {"driver": "file", "filename": f"{d}/disk.qcow2"}}

launch("mpA", qemu_args(A, root(A)))
src = QMP(f"{A}/qmp.sock", "src", T)
wait_console(A, "CIEL-TICK 3 ok")
print("source guest ticking")

t0 = time.time()
# --- destination host: empty overlay on its own copy of the base, same virtual size
overlay(B)
launch("mpB", qemu_args(B, root(B), incoming=True, paused=True))
dst = QMP(f"{B}/qmp.sock", "dst", T)
print("dest named nodes:", [(n["node-name"], n["drv"], n["file"]) for n in dst.cmd("query-named-block-nodes", flat=True)])
dst.cmd("migrate-set-capabilities", capabilities=[{"capability": "events", "state": True},
                                                  {"capability": "late-block-activate", "state": True}])
dst.cmd("nbd-server-start", addr={"type": "inet", "data": {"host": "192.168.200.2", "port": str(NBD_PORT)}})
locks("dest started, before export")
dst.cmd("block-export-add", type="nbd", id="mig-root0", node_name="root0", name="root0", writable=True)
locks("dest exported root0")
dst.cmd("migrate-incoming", uri=f"tcp:192.168.200.2:{MIG_PORT}")

# --- source: NBD client node + mirror of the overlay's own data
src.cmd("blockdev-add", driver="nbd", node_name="mig-root0",
        server={"type": "inet", "host": "192.168.200.2", "port": str(NBD_PORT)}, export="root0")
t_mirror = time.time()
src.cmd("blockdev-mirror", job_id="mig-root0", device="root0", target="mig-root0", sync="top",
        copy_mode=COPY_MODE)
src.wait_event("BLOCK_JOB_READY", lambda d: d["device"] == "mig-root0", 300)
t_ready = time.time()
print(f"mirror READY after {t_ready - t_mirror:.2f}s:", src.cmd("query-block-jobs"))

caps = [{"capability": "events", "state": True}]
if PAUSE:
    caps.append({"capability": "pause-before-switchover", "state": True})
src.cmd("migrate-set-capabilities", capabilities=caps)
src.cmd("migrate-set-parameters", downtime_limit=500, max_bandwidth=(8 << 20) if ABORT else (1 << 30))
src.cmd("migrate", uri=f"tcp:192.168.200.2:{MIG_PORT}")
if ABORT:
    time.sleep(1.5)
    src.cmd("migrate_cancel")
    src.wait_event("MIGRATION", lambda d: d["status"] == "cancelled", 30)
    # the mirror is still running (READY); cancel it with force (its data on the dest is thrown away)
    src.cmd("block-job-cancel", device="mig-root0", force=True)
    src.wait_event("BLOCK_JOB_CANCELLED", lambda d: d["device"] == "mig-root0", 30)
    src.cmd("blockdev-del", node_name="mig-root0")
    print("source after abort:", src.cmd("query-status"), src.cmd("query-block-jobs"))
    time.sleep(1)
    print("dest qemu alive:", os.path.exists(f"{B}/qemu.pid"))
    n0 = len(ticks(A)); time.sleep(4); print("source ticking:", n0, "->", len(ticks(A)), ticks(A)[-1])
    locks("after abort")
    kill(A); kill(B); sys.exit(0)

while True:
    m = src.cmd("query-migrate", quiet=True)
    if m["status"] in ("pre-switchover", "completed", "failed", "cancelled"):
        break
    time.sleep(0.2)
src.log("=", {"query-migrate": m})
if PAUSE:
    src.wait_event("MIGRATION", lambda d: d["status"] == "pre-switchover", 30)
    # the guest is paused now: let the mirror drain and end without pivot (target == source)
    print("jobs at pre-switchover:", src.cmd("query-block-jobs"))
    src.cmd("block-job-cancel", device="mig-root0")
    ev = src.wait_event("BLOCK_JOB_COMPLETED", lambda d: d["device"] == "mig-root0", 60)
    print("mirror ended:", ev["data"])
    src.cmd("migrate-continue", state="pre-switchover")
while True:
    m = src.cmd("query-migrate", quiet=True)
    if m["status"] in ("completed", "failed", "cancelled"):
        break
    time.sleep(0.1)
t_done = time.time()
src.log("=", {"final query-migrate": m})
print("source:", json.dumps({k: m.get(k) for k in ("status", "downtime", "total-time", "setup-time")}),
      "ram transferred", m["ram"]["transferred"])
if not PAUSE:
    print("jobs after completion:", src.cmd("query-block-jobs"))
    src.cmd("block-job-cancel", device="mig-root0")
    ev = src.wait_event("BLOCK_JOB_COMPLETED", lambda d: d["device"] == "mig-root0", 60)
    print("mirror ended:", ev["data"])
dst.wait_event("MIGRATION", lambda d: d["status"] == "completed", 60)
src.cmd("blockdev-del", node_name="mig-root0")
dst.cmd("block-export-del", id="mig-root0")
dst.wait_event("BLOCK_EXPORT_DELETED", lambda d: d["id"] == "mig-root0", 30)
dst.cmd("nbd-server-stop")
print("dest status before cont:", dst.cmd("query-status"), "source:", src.cmd("query-status"))
locks("completed, before cont")
cmp = subprocess.run(["qemu-img", "compare", "-U", f"{A}/disk.qcow2", f"{B}/disk.qcow2"], capture_output=True, text=True)
print("qemu-img compare -U src dst:", cmp.returncode, cmp.stdout.strip(), cmp.stderr.strip())
open(T, "a").write(f"# qemu-img compare: rc={cmp.returncode} {cmp.stdout.strip()}\n")
dst.cmd("cont")
t_run = time.time()
print(f"mirror to READY {t_ready - t_mirror:.2f}s; dest start -> completed {t_done - t0:.2f}s, -> running {t_run - t0:.2f}s; "
      f"downtime {m.get('downtime')} ms; migrate total-time {m.get('total-time')} ms")
locks("dest running")
src.cmd("quit")
time.sleep(6)
print("dest status:", dst.cmd("query-status"))
print("last source ticks:", ticks(A)[-2:])
print("dest ticks since resume:", ticks(B)[-4:])
print("BAD lines on dest:", [t for t in ticks(B) if "BAD" in t])
for d in (A, B):
    info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json", f"{d}/disk.qcow2"], capture_output=True, text=True).stdout)
    print(d, "overlay actual-size", info["actual-size"], "backing", info.get("backing-filename"))
dst.cmd("quit")
