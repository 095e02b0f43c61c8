"""(a) live migration with shared storage: one qcow2 file (stand-in for an RBD image) opened by
both QEMUs. Source in netns mpA (192.168.200.1), destination in mpB (192.168.200.2)."""
import json, os, shutil, subprocess, sys, time
from qmp import *

T = "/tmp/migproof/transcript-a.log"
PORT = 49152
A, B = "/tmp/migproof/hA", "/tmp/migproof/hB"
SHARED = "/tmp/migproof/shared/disk.qcow2"
CANCEL = "--cancel" in sys.argv

def locks(tag):
    msg = f"locks {tag}: " + json.dumps(file_locks({"A": A, "B": B}, "disk.qcow2"))
    print(msg)
    open(T, "a").write(f"# {msg}\n")

for d in (A, B):
    kill(d); shutil.rmtree(d, ignore_errors=True); os.makedirs(d)
    shutil.copy("/tmp/migproof/config.iso", d)
os.makedirs("/tmp/migproof/shared", exist_ok=True)
if os.path.exists(T): os.remove(T)
subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", "/tmp/migproof/base.qcow2", SHARED], check=True)
root = {"driver": "qcow2", "node-name": "root0", "file": {"driver": "file", "filename": SHARED}}

launch("mpA", qemu_args(A, root))
src = QMP(f"{A}/qmp.sock", "src", T)
wait_console(A, "CIEL-TICK 3 ok")
print("source guest ticking")
locks("source running")

t0 = time.time()
launch("mpB", qemu_args(B, root, incoming=True, paused=True))
dst = QMP(f"{B}/qmp.sock", "dst", T)
locks("destination started -incoming defer")
dst.cmd("migrate-set-capabilities", capabilities=[{"capability": "events", "state": True},
                                                  {"capability": "late-block-activate", "state": True}])
dst.cmd("migrate-incoming", uri=f"tcp:192.168.200.2:{PORT}")

src.cmd("migrate-set-capabilities", capabilities=[{"capability": "events", "state": True}])
src.cmd("migrate-set-parameters", downtime_limit=500, max_bandwidth=(8 << 20) if CANCEL else (1 << 30))
print(json.dumps(src.cmd("query-migrate-parameters")))
src.cmd("migrate", uri=f"tcp:192.168.200.2:{PORT}")
while True:
    m = src.cmd("query-migrate", quiet=CANCEL is False)
    if m["status"] in ("completed", "failed", "cancelled"):
        break
    if CANCEL and m.get("ram", {}).get("transferred", 0) > 1 << 20:
        locks("mid-migration")
        src.cmd("migrate_cancel")
        CANCEL = "done"
    time.sleep(0.2)
src.log("=", {"final query-migrate": m})
print("source:", json.dumps(m))
t_done = time.time()
if m["status"] == "cancelled" or CANCEL == "done":
    src.wait_event("MIGRATION", lambda d: d["status"] == "cancelled", 30)
    print("source status after cancel:", src.cmd("query-status"))
    try:
        print("dest status:", dst.cmd("query-status"))
    except Exception as e:
        print("dest:", e)
    time.sleep(1)
    print("dest qemu alive:", os.path.exists(f"{B}/qemu.pid"))
    locks("after cancel")
    n0 = len(ticks(A)); time.sleep(4); n1 = len(ticks(A))
    print(f"source still ticking after cancel: {n0} -> {n1}", ticks(A)[-1])
    kill(B); kill(A)
    sys.exit(0)
dst.wait_event("MIGRATION", lambda d: d["status"] == "completed", 60)
print("dest status before cont:", dst.cmd("query-status"), "source:", src.cmd("query-status"))
locks("completed, dest not yet cont")
n_src = len(ticks(A))
dst.cmd("cont")
t_run = time.time()
print(f"total (dest start -> completed) {t_done - t0:.2f}s, (to dest running) {t_run - t0:.2f}s, downtime {m.get('downtime')} ms, "
      f"migrate total-time {m.get('total-time')} ms, setup {m.get('setup-time')} ms")
locks("dest running")
time.sleep(5)
print("dest status:", dst.cmd("query-status"))
print("last source ticks:", ticks(A)[-2:])
print("dest console ticks since resume:", ticks(B)[-5:])
src.cmd("quit")
time.sleep(1)
locks("source quit")
bad = [t for t in ticks(B) if "BAD" in t]
print("BAD lines on dest:", bad)
dst.cmd("quit")
