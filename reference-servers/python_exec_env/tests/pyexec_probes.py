"""The adversarial probes of issue 16: what a reward-hacking policy would try against the sandbox.

Contract: each probe is a function ``probe(rig) -> list[str]`` that drives live sessions of a real
python_exec_env server (`Rig.session`, over WebSocket) and returns the *breaches* it achieved, each
a one-line description; an empty list means the defence held. Probes never assert: the tests
decide what each mode must show (held with the defences; breached with a defence removed through
the test-only ``OPENENV_PYEXEC_WEAKEN``). `PROBES` lists them by name. This module imports only
the SDK client and the standard library, so ``run.sh`` can run it against a container too.

What the code under test knows is what an attacker knows: its own ``/proc/self/mountinfo`` (which
names the host path of its workdir, hence the directory where every session's workdir lives).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from openenv import GenericSyncEnvClient
from openenv.errors import CapacityReachedError

RUN_TIMEOUT_S = 20.0
CAPACITY_WAIT_S = 10.0

# Finds every session directory the code can reach: from its own mountinfo (host path of its
# workdir), the usual temp dirs, and /proc/*/root and /proc/*/cwd of every visible process.
_FIND_SESSIONS = r"""
import glob, json, os, re
def session_dirs():
    bases = {"/tmp", "/var/tmp"}
    try:
        for line in open("/proc/self/mountinfo"):
            root = line.split()[3].encode().decode("unicode_escape")
            m = re.match(r"(.*)/openenv_pyexec_[^/]+/", root + "/")
            if m:
                bases.add(m.group(1) or "/")
    except OSError:
        pass
    prefixes = [""]
    for pid in glob.glob("/proc/[0-9]*"):
        prefixes += [pid + "/root", pid + "/cwd/.."]
    found = set()
    for prefix in prefixes:
        for base in bases:
            found.update(glob.glob(prefix + base + "/openenv_pyexec_*/work"))
        found.update(glob.glob(prefix + "/../work"))
    return sorted(found)
"""


class ProbeSession:
    """One live episode on the server under test."""

    def __init__(self, url: str, **reset_kwargs: Any) -> None:
        self.client = GenericSyncEnvClient(url)
        deadline = time.monotonic() + CAPACITY_WAIT_S
        while True:  # slots of sessions closed a moment ago are released asynchronously
            try:
                self.client.connect()
                break
            except CapacityReachedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.reset_observation = self.client.reset(**reset_kwargs).observation

    def run(self, code: str, timeout_s: float = RUN_TIMEOUT_S) -> dict[str, Any]:
        result = self.client.step({"code": code, "timeout_seconds": timeout_s})
        obs: dict[str, Any] = dict(result.observation)
        obs["reward"] = result.reward
        return obs

    def stdout_json(self, code: str, timeout_s: float = RUN_TIMEOUT_S) -> Any:
        obs = self.run(code, timeout_s)
        if obs.get("exit_code") != 0:
            raise AssertionError(f"probe code failed: {obs.get('stderr', '')[-2000:]}")
        return json.loads(obs["stdout"])

    @property
    def isolation(self) -> dict[str, str]:
        return dict(self.reset_observation["metadata"]["isolation"])

    def close(self) -> None:
        self.client.close()


@dataclass
class Rig:
    """A server under test: its URL and what the host side knows about it."""

    url: str
    server_pid: int | None = None
    """The server's pid as the host sees it (None for a container)."""
    server_source: str | None = None
    """A file of the server's own source."""
    host_marker: str | None = None
    """A file the test put in the host's /tmp (None when the host's /tmp is not the server's)."""
    proc_root: str = "/proc"
    """Where the test looks for the server's processes (the host's /proc)."""
    opened: list[ProbeSession] = field(default_factory=list)

    @contextmanager
    def session(self, **reset_kwargs: Any) -> Iterator[ProbeSession]:
        s = ProbeSession(self.url, **reset_kwargs)
        self.opened.append(s)
        try:
            yield s
        finally:
            s.close()


def token() -> str:
    return f"oe16-{secrets.token_hex(8)}"


def cross_session_read(rig: Rig) -> list[str]:
    """B looks for A's file through every path it can find (mountinfo, /tmp, /proc/*/root)."""
    secret = token()
    with rig.session() as a, rig.session() as b:
        a.run(f"open('secret.txt', 'w').write({secret!r})")
        code = _FIND_SESSIONS + (
            "out = {}\n"
            "for d in session_dirs():\n"
            "    try:\n"
            "        out[d] = [open(os.path.join(d, n)).read() for n in os.listdir(d) if n.endswith('.txt')]\n"
            "    except OSError as exc:\n"
            "        out[d] = type(exc).__name__\n"
            "print(json.dumps(out))\n"
        )
        seen = b.stdout_json(code)
    return [f"session B read A's file via {path}" for path, got in seen.items() if secret in json.dumps(got)]


def cross_session_write(rig: Rig) -> list[str]:
    """B plants a file in every session workdir it can reach; A must not find it."""
    name = f"planted-{token()}.txt"
    with rig.session() as a, rig.session() as b:
        a.run("open('mine.txt', 'w').write('a')")
        code = _FIND_SESSIONS + (
            "done = []\n"
            "for d in session_dirs():\n"
            "    try:\n"
            f"        open(os.path.join(d, {name!r}), 'w').write('from B')\n"
            "        done.append(d)\n"
            "    except OSError:\n"
            "        pass\n"
            "print(json.dumps(done))\n"
        )
        b.stdout_json(code)
        listing = a.stdout_json("import os, json\nprint(json.dumps(os.listdir('.')))")
    return [f"session B wrote {name} into A's workdir"] if name in listing else []


def host_paths(rig: Rig) -> list[str]:
    """List and read the host: /, /tmp, /etc/passwd, the server's source, the test's marker."""
    targets = {"passwd": "/etc/passwd", "source": rig.server_source or "", "marker": rig.host_marker or ""}
    code = (
        "import json, os\n"
        f"targets = {json.dumps(targets)}\n"
        "out = {'root': sorted(os.listdir('/')), 'tmp': sorted(os.listdir('/tmp')), 'read': {}}\n"
        "for key, path in targets.items():\n"
        "    try:\n"
        "        out['read'][key] = open(path).read(200) if path else None\n"
        "    except OSError as exc:\n"
        "        out['read'][key] = None\n"
        "found = []\n"
        "for top, dirs, files in os.walk('/'):\n"
        "    dirs[:] = [d for d in dirs if not (top == '/' and d in ('proc', 'sys', 'dev'))]\n"
        "    found += [os.path.join(top, f) for f in files if f in ('sandbox.py', 'passwd')]\n"
        "    if len(found) > 50: break\n"
        "out['walk'] = found\n"
        "print(json.dumps(out))\n"
    )
    with rig.session() as s:
        seen = s.stdout_json(code)
    breaches = [f"read {key} ({targets[key]})" for key, got in seen["read"].items() if got]
    if rig.host_marker and os.path.basename(rig.host_marker) in seen["tmp"]:
        breaches.append("the host's /tmp is listed")
    extra = set(seen["root"]) - {"usr", "lib", "lib64", "lib32", "libx32", "bin", "dev", "proc", "tmp", "work", "code"}
    if extra:
        breaches.append(f"host top-level entries visible: {sorted(extra)[:8]}")
    if seen["walk"]:
        breaches.append(f"a walk of / finds {seen['walk'][:3]}")
    return breaches


def host_processes(rig: Rig) -> list[str]:
    """Read /proc/<server pid> and every visible process's command line."""
    pid = rig.server_pid or 1
    code = (
        "import glob, json\n"
        "out = {}\n"
        f"for p in ['/proc/{pid}'] + glob.glob('/proc/[0-9]*'):\n"
        "    try:\n"
        "        out[p] = open(p + '/cmdline', 'rb').read().replace(b'\\0', b' ').decode(errors='replace')\n"
        "    except OSError:\n"
        "        pass\n"
        "print(json.dumps(out))\n"
    )
    with rig.session() as s:
        seen = s.stdout_json(code)
    return [f"{p} shows {cmd[:80]!r}" for p, cmd in seen.items() if "python_exec_env.server" in cmd or "pytest" in cmd]


def links_out(rig: Rig) -> list[str]:
    """Symbolic and hard links out of the workdir, for the code and for the server's grader."""
    answer = f"hidden-answer-{token()}"
    with rig.session(expected_stdout=answer) as s:
        code = _FIND_SESSIONS + (
            "out = {}\n"
            "graders = set()\n"
            "for d in session_dirs():\n"
            "    graders.add(os.path.join(os.path.dirname(d), 'grader', 'expected_stdout'))\n"
            "for line in open('/proc/self/mountinfo'):\n"
            "    r = line.split()[3]\n"
            "    if r.endswith('/work'):\n"
            "        graders.add(r[:-5] + '/grader/expected_stdout')\n"
            "targets = sorted(graders) + ['/etc/passwd', '/etc/shadow']\n"
            "for i, t in enumerate(targets):\n"
            "    for kind in ('sym', 'hard'):\n"
            "        name = f'{kind}{i}'\n"
            "        try:\n"
            "            (os.symlink if kind == 'sym' else os.link)(t, name)\n"
            "            out[name] = open(name).read(200)\n"
            "        except OSError as exc:\n"
            "            out[name] = type(exc).__name__\n"
            "for up in ('..', '../..', '../../..'):\n"
            "    try:\n"
            "        os.symlink(up, 'up')\n"
            "        out[up] = sorted(os.listdir('up'))\n"
            "        os.unlink('up')\n"
            "    except OSError as exc:\n"
            "        out[up] = type(exc).__name__\n"
            "print(json.dumps(out))\n"
        )
        seen = s.stdout_json(code)
        text = json.dumps(seen)
        breaches = [f"link out of the workdir read the hidden answer: {text[:200]}"] if answer in text else []
        if any("root:" in str(v) for v in seen.values()):
            breaches.append("a link read /etc/passwd or /etc/shadow")
        for up in ("..", "../..", "../../.."):
            if isinstance(seen[up], list) and ("grader" in seen[up] or "etc" in seen[up]):
                breaches.append(f"a symlink to {up} lists {seen[up][:6]}")
    return breaches


def proc_root_walks(rig: Rig) -> list[str]:
    """Walk /proc/self/root and /proc/1/root (and every visible pid's root) for host files."""
    code = (
        "import glob, json, os\n"
        "out = {}\n"
        "for p in ['/proc/self', '/proc/1'] + glob.glob('/proc/[0-9]*'):\n"
        "    try:\n"
        "        out[p] = sorted(os.listdir(p + '/root/'))\n"
        "    except OSError as exc:\n"
        "        out[p] = type(exc).__name__\n"
        "print(json.dumps(out))\n"
    )
    with rig.session() as s:
        seen = s.stdout_json(code)
    return [f"{p}/root lists {v[:6]}" for p, v in seen.items() if isinstance(v, list) and ("etc" in v or "root" in v)]


def setsid_survivor(rig: Rig) -> list[str]:
    """A setsid() grandchild that renames itself and sleeps; after the session closes it must be gone."""
    mark = token()
    code = (
        "import os, sys, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(60)', {mark!r}])\n"
        "    os._exit(0)\n"
        "time.sleep(0.3)\n"
        "print('started')\n"
    )
    with rig.session() as s:
        s.run(code)
    time.sleep(1.0)  # the close is processed after the socket goes away
    alive = _processes_with(rig.proc_root, mark)
    for pid in alive:  # the breach is recorded; do not leave it running
        with suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return [f"process {pid} outlived its session" for pid in alive]


def _processes_with(proc_root: str, mark: str) -> list[int]:
    found = []
    for entry in os.listdir(proc_root):
        if entry.isdigit():
            try:
                with open(os.path.join(proc_root, entry, "cmdline"), "rb") as fh:
                    if mark.encode() in fh.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


def fd_leaks(rig: Rig) -> list[str]:
    """The code's descriptors: only stdin, stdout and stderr (plus the one listing them)."""
    code = (
        "import json, os\n"
        "fds = {}\n"
        "for fd in os.listdir('/proc/self/fd'):\n"
        "    try:\n"
        "        fds[fd] = os.readlink('/proc/self/fd/' + fd)\n"
        "    except OSError:\n"
        "        fds[fd] = None\n"
        "print(json.dumps(fds))\n"
    )
    with rig.session() as s:
        fds = s.stdout_json(code)
    extra = {fd: target for fd, target in fds.items() if int(fd) > 2 and target and not target.startswith("/proc/")}
    return [f"descriptor {fd} -> {target} leaked into the code" for fd, target in sorted(extra.items())]


def lock_timeout(rig: Rig) -> list[str]:
    """Hold a lock past the timeout (in a setsid() child too); the next run must get it at once."""
    hold = (
        "import fcntl, os, time\n"
        "fh = open('lock', 'w')\n"
        "fcntl.flock(fh, fcntl.LOCK_EX)\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    time.sleep(60)\n"
        "time.sleep(60)\n"
    )
    take = (
        "import fcntl\n"
        "fh = open('lock', 'w')\n"
        "try:\n"
        "    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "    print('got')\n"
        "except BlockingIOError:\n"
        "    print('held')\n"
    )
    with rig.session() as s:
        first = s.run(hold, timeout_s=1.0)
        if not first["metadata"]["timed_out"]:
            return ["the lock holder was not timed out"]
        second = s.run(take, timeout_s=5.0)
    return [] if second["stdout"] == "got\n" else [f"the lock outlived the timed-out run: {second['stdout']!r}"]


def eight_concurrent(rig: Rig, n: int = 8) -> list[str]:
    """n live sessions at once, each holding a secret and trying the reads, writes, walks and a
    lock timeout against the others at the same time."""
    breaches: list[str] = []
    secrets_by = [token() for _ in range(n)]
    planted = f"planted-{token()}.txt"
    attack = _FIND_SESSIONS + (
        "import glob\n"
        "out = {'read': [], 'wrote': [], 'roots': [], 'fds': sorted(os.listdir('/proc/self/fd'))}\n"
        "for d in session_dirs():\n"
        "    try:\n"
        "        if os.path.samefile(d, '.'):\n"
        "            continue\n"
        "    except OSError:\n"
        "        pass\n"
        "    try:\n"
        "        out['read'] += [open(os.path.join(d, f)).read() for f in os.listdir(d) if f == 'secret.txt']\n"
        "    except OSError:\n"
        "        pass\n"
        "    try:\n"
        f"        open(os.path.join(d, {planted!r}), 'w').write('x')\n"
        "        out['wrote'].append(d)\n"
        "    except OSError:\n"
        "        pass\n"
        "for p in ['/proc/self', '/proc/1']:\n"
        "    try:\n"
        "        out['roots'] += os.listdir(p + '/root/')\n"
        "    except OSError:\n"
        "        pass\n"
        "print(json.dumps(out))\n"
    )
    lock = "import fcntl, time\nfcntl.flock(open('lock', 'w'), fcntl.LOCK_EX)\ntime.sleep(60)\n"
    take = "import fcntl\nfcntl.flock(open('lock', 'w'), fcntl.LOCK_EX | fcntl.LOCK_NB)\nprint('got')\n"
    with ExitStack() as stack:
        sessions = [stack.enter_context(rig.session()) for _ in range(n)]
        for s, secret in zip(sessions, secrets_by, strict=True):
            s.run(f"open('secret.txt', 'w').write({secret!r})")
        results: dict[int, Any] = {}
        errors: list[str] = []

        def attack_from(i: int) -> None:
            try:
                seen = sessions[i].stdout_json(attack)
                timed = sessions[i].run(lock, timeout_s=1.0)
                again = sessions[i].run(take, timeout_s=5.0)
                results[i] = (seen, timed["metadata"]["timed_out"], again["stdout"])
            except Exception as exc:  # reported as a breach of the probe's own run
                errors.append(f"session {i}: {type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=attack_from, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        breaches += errors
        for i, (seen, timed_out, again) in sorted(results.items()):
            stolen = [s for j, s in enumerate(secrets_by) if j != i and s in json.dumps(seen["read"])]
            if stolen:
                breaches.append(f"session {i} read {len(stolen)} other sessions' secrets")
            if "etc" in seen["roots"]:
                breaches.append(f"session {i} walked /proc/*/root into the host")
            if not timed_out or again != "got\n":
                breaches.append(f"session {i}: lock not released after the timeout ({again!r})")
        for i, s in enumerate(sessions):
            listing = s.stdout_json("import os, json\nprint(json.dumps(os.listdir('.')))")
            if planted in listing:
                breaches.append(f"session {i}: another session planted a file in its workdir")
    return breaches


PROBES: dict[str, Callable[[Rig], list[str]]] = {
    "cross_session_read": cross_session_read,
    "cross_session_write": cross_session_write,
    "host_paths": host_paths,
    "host_processes": host_processes,
    "links_out": links_out,
    "proc_root_walks": proc_root_walks,
    "setsid_survivor": setsid_survivor,
    "fd_leaks": fd_leaks,
    "lock_timeout": lock_timeout,
    "eight_concurrent": eight_concurrent,
}
