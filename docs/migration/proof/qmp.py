"""Tiny QMP client + helpers for the migration proofs (python3, no dependencies).

Every command sent and every reply/event received is appended, as one JSON line with the
side's tag, to the transcript given to QMP() -- that is where RECIPE.md's sequences come from.
"""
import json, os, socket, subprocess, time

class QMPError(Exception):
    pass

class QMP:
    def __init__(self, path, tag, transcript=None, timeout=30):
        self.tag, self.transcript, self.events = tag, transcript, []
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.f = self.sock.makefile("rw")
        self._read()                      # greeting
        self.cmd("qmp_capabilities")

    def log(self, arrow, obj):
        line = f"[{self.tag}] {arrow} {json.dumps(obj)}"
        if self.transcript:
            with open(self.transcript, "a") as t:
                t.write(f"{time.time():.3f} {line}\n")

    def _read(self, block=True, timeout=None):
        self.sock.settimeout(timeout if block else 0.05)
        try:
            line = self.f.readline()
        except (socket.timeout, BlockingIOError):
            return None
        finally:
            self.sock.settimeout(None)
        if not line:
            raise EOFError(f"{self.tag}: QMP closed")
        msg = json.loads(line)
        if "event" in msg:
            self.log("<- event", msg)
            self.events.append(msg)
        elif "QMP" not in msg:
            self.log("<-", msg)
        return msg

    def cmd(self, execute, quiet=False, **arguments):
        req = {"execute": execute}
        if arguments:
            req["arguments"] = {k.replace("_", "-") if k not in ("node_name_",) else k: v
                                for k, v in arguments.items()}
        if not quiet:
            self.log("->", req)
        self.f.write(json.dumps(req) + "\n")
        self.f.flush()
        while True:
            msg = self._read()
            if "return" in msg:
                return msg["return"]
            if "error" in msg:
                raise QMPError(f"{self.tag} {execute}: {msg['error']}")

    def raw(self, req):
        """Send a request dict as is (for argument names with underscores)."""
        self.log("->", req)
        self.f.write(json.dumps(req) + "\n")
        self.f.flush()
        while True:
            msg = self._read()
            if "return" in msg:
                return msg["return"]
            if "error" in msg:
                raise QMPError(f"{self.tag} {req['execute']}: {msg['error']}")

    def poll_events(self):
        while self._read(block=False) is not None:
            pass

    def wait_event(self, name, pred=lambda d: True, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for i, e in enumerate(self.events):
                if e["event"] == name and pred(e.get("data", {})):
                    return self.events.pop(i)
            try:
                self._read(timeout=max(0.01, deadline - time.time()))
            except socket.timeout:
                pass
        raise TimeoutError(f"{self.tag}: no {name} event")

    def close(self):
        self.sock.close()


def qemu_args(host_dir, root_json, extra=(), incoming=False, paused=False):
    """The command line Ciel's agent builds (qemu.rs launch_args), TCG, 256 MiB, no NIC;
    root disk as -blockdev with explicit node name root0 (recommended), config drive as Ciel
    does it today (-drive if=virtio, readonly)."""
    d = host_dir
    a = ["qemu-system-x86_64", "-name", "guest=migtest,debug-threads=off",
         "-uuid", "11111111-2222-3333-4444-555555555555",
         "-nodefaults", "-no-user-config", "-display", "none", "-accel", "tcg",
         "-m", "256", "-smp", "1",
         "-chardev", f"file,id=console,path={d}/console.log,append=on", "-serial", "chardev:console",
         "-qmp", f"unix:{d}/qmp.sock,server=on,wait=off",
         "-vnc", f"unix:{d}/vnc.sock",
         "-blockdev", json.dumps(root_json),
         "-device", "virtio-blk-pci,drive=root0,id=rootdisk",
         "-pidfile", f"{d}/qemu.pid", "-daemonize",
         "-drive", f"file={d}/config.iso,if=virtio,format=raw,readonly=on",
         *extra,
         "-device", "VGA,id=video0",
         "-kernel", "/tmp/migproof/guest/vmlinuz", "-initrd", "/tmp/migproof/guest/initrd.img",
         "-append", "console=ttyS0 root=/dev/vda"]
    if paused:
        a.append("-S")
    if incoming:
        a += ["-incoming", "defer"]
    return a


def launch(netns, args):
    for f in ("qmp.sock",):
        pass
    p = subprocess.run(["ip", "netns", "exec", netns, *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"qemu failed: {p.stderr.strip()}")


def kill(host_dir):
    try:
        pid = int(open(f"{host_dir}/qemu.pid").read())
        os.kill(pid, 9)
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass


def wait_console(host_dir, text, timeout=120, after=0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            data = open(f"{host_dir}/console.log", errors="replace").read()
            if text in data[after:]:
                return data
        except FileNotFoundError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{host_dir}: console never showed {text!r}")


def ticks(host_dir):
    data = open(f"{host_dir}/console.log", errors="replace").read()
    return [l for l in data.splitlines() if l.startswith(("CIEL-TICK", "CIEL-BAD"))]


PERMS = {0: "consistent-read", 1: "write", 2: "write-unchanged", 3: "resize"}

def file_locks(host_dirs, needle):
    """QEMU's image locks (OFD locks on bytes 100+bit = 'I use perm', 200+bit = 'I do not share
    perm'), read from /proc/PID/fdinfo of each QEMU for files whose path contains needle."""
    out = {}
    for name, d in host_dirs.items():
        try:
            pid = open(f"{d}/qemu.pid").read().strip()
            fds = os.listdir(f"/proc/{pid}/fd")
        except (FileNotFoundError, ProcessLookupError):
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                info = open(f"/proc/{pid}/fdinfo/{fd}").read()
            except OSError:
                continue
            if needle not in target:
                continue
            uses, noshare = set(), set()
            for l in info.splitlines():
                if l.startswith("lock:"):
                    f = l.split()
                    lo, hi = int(f[-2]), int(f[-1])
                    for b in range(lo, hi + 1):
                        (uses if b < 200 else noshare).add(PERMS.get(b % 100, b))
            out[f"{name}:{os.path.basename(target)}"] = {"uses": sorted(uses), "unshared": sorted(noshare)}
    return out
