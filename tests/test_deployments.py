"""Proof of consent under real deployments: several servers and worker processes on one
ledger, workers killed, the database cut or silent, the disk read-only or full.

Simulated browsers (each with its own cookies, taking its CSRF token from the preference
page as a browser does) make choices on every server in turn. Afterwards a fresh process
must show, through ``GET /consent/data``, every choice that was acknowledged (303), in
order, nothing twice, and nothing of a browser that was erased.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from consent_middleware import ConsentPolicy

from .ledgers import POSTGRES_DSN, postgres_schema, postgres_url
from .relay import Relay
from .servers import ROOT, free_port

POLICY = ConsentPolicy.default()
CHOICES: list[tuple[str, tuple[str, ...]]] = [
    ("accept_all", ()),
    ("save", ("analytics",)),
    ("reject_all", ()),
    ("save", ("personalisation", "marketing")),
    ("save", ("session_personalisation",)),
]
KEY = "deployment-test-key-" * 3
COOKIE = re.compile(r"([^=;\s]+)=([^;]*)(.*)")


@dataclass
class Server:
    kind: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def stop(self) -> None:
        """A graceful stop, as a deployment does it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(kind: str, env: dict[str, str], *extra: str) -> Server:
    port = free_port()
    log = Path(tempfile.mkstemp(prefix=f"consent-{kind}-", suffix=".log")[1])
    if kind == "uvicorn":
        command = ["-m", "uvicorn", "tests.deployment_app:asgi", "--port", str(port)]
        command += ["--log-level", "warning", *extra]
    else:
        command = ["-m", "gunicorn", "tests.deployment_app:wsgi", "-b", f"127.0.0.1:{port}"]
        command += ["--log-level", "warning", "--graceful-timeout", "20", *extra]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, *command],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(kind, f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(server.url + "/consent/state", timeout=2)
            return server
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"{kind} did not start: {log.read_text()}") from None
            time.sleep(0.1)


@dataclass
class Browser:
    """One shopper's browser: its cookies, and what the shop acknowledged to it."""

    number: int
    cookies: dict[str, str] = field(default_factory=dict)
    acknowledged: list[tuple[str, ...]] = field(default_factory=list)
    #: For each acknowledged choice, whether it granted anything the one before did not.
    grants: list[bool] = field(default_factory=list)
    #: Grants answered "could not be saved" (503).
    refused_grants: int = 0
    #: What each refused grant asked for.
    refused: list[tuple[str, ...]] = field(default_factory=list)
    #: Choices sent whose answer never came (a worker killed mid-request).
    unanswered: int = 0
    consent_id: str | None = None
    erased: bool = False
    #: An erasure was sent but its answer never came: it may or may not have happened.
    erasure_unanswered: bool = False
    server_errors: list[str] = field(default_factory=list)

    def send(self, client: httpx.Client, method: str, url: str, **kwargs: object) -> httpx.Response:
        header = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers = dict(kwargs.pop("headers", {}) or {})  # type: ignore[call-overload]
        if header:
            headers["Cookie"] = header
        response = client.request(method, url, headers=headers, **kwargs)  # type: ignore[arg-type]
        for line in response.headers.get_list("set-cookie"):
            match = COOKIE.match(line)
            if match is None:
                continue
            name, value, attributes = match.groups()
            if "Max-Age=0" in attributes:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        if response.status_code >= 500 and response.status_code != 503:
            self.server_errors.append(f"{method} {url}: {response.status_code}")
        return response

    def token(self, client: httpx.Client, base: str) -> str:
        page = self.send(client, "GET", base + "/consent")
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert match, page.text
        return match.group(1)

    def choose(
        self, client: httpx.Client, base: str, action: str, purposes: tuple[str, ...]
    ) -> None:
        try:
            token = self.token(client, base)
        except httpx.TransportError:
            return  # nothing was sent
        form = [("action", action), ("csrf_token", token), *(("purpose", p) for p in purposes)]
        try:
            response = self.send(
                client,
                "POST",
                base + "/consent",
                content=urlencode(form).encode(),
                headers={"Origin": base, "Content-Type": "application/x-www-form-urlencoded"},
            )
        except httpx.TransportError:
            self.unanswered += 1
            return
        chosen = POLICY.grant(POLICY.accept_all_ids if action == "accept_all" else purposes)
        before = set(self.acknowledged[-1]) if self.acknowledged else POLICY.required_ids
        if response.status_code == 303:
            self.acknowledged.append(tuple(sorted(chosen)))
            self.grants.append(not chosen <= before)
            self.consent_id = _consent_id(self.cookies["consent"])
        else:
            assert response.status_code == 503, (response.status_code, response.text)
            self.refused_grants += 1
            self.refused.append(tuple(sorted(chosen)))
            if any(c.startswith("consent=") for c in response.headers.get_list("set-cookie")):
                # The grant was refused; the part of the choice that withdrew took effect.
                self.acknowledged.append(tuple(sorted(chosen & before)))
                self.grants.append(False)

    def shop(self, client: httpx.Client, base: str) -> None:
        with contextlib.suppress(httpx.TransportError):
            response = self.send(client, "GET", base + "/")
            assert response.status_code == 200

    def erase(self, client: httpx.Client, base: str) -> None:
        try:
            token = self.token(client, base)
        except httpx.TransportError:
            return  # nothing was sent
        try:
            response = self.send(
                client,
                "POST",
                base + "/consent/forget",
                data={"csrf_token": token},
                headers={"Origin": base},
            )
        except httpx.TransportError:
            self.erasure_unanswered = True
            return
        self.erased = self.erased or response.status_code == 200


def burst(
    servers: list[Server],
    browsers: list[Browser],
    choices: int,
    progress: Callable[[int], None] = lambda done: None,
) -> None:
    """Every browser makes ``choices`` choices, each on the next server, shopping between;
    every third browser then asks for erasure."""
    done = 0
    lock = threading.Lock()

    def visit(browser: Browser) -> None:
        nonlocal done
        rng = random.Random(browser.number)
        with httpx.Client(timeout=60, follow_redirects=False) as client:
            for n in range(choices):
                base = servers[(browser.number + n) % len(servers)].url
                browser.choose(client, base, *rng.choice(CHOICES))
                browser.shop(client, base)
            if browser.number % 3 == 0 and browser.consent_id:
                browser.erase(client, servers[browser.number % len(servers)].url)
        with lock:
            done += 1
            progress(done)

    with ThreadPoolExecutor(12) as pool:
        list(pool.map(visit, browsers))


def check(url: str, browsers: list[Browser], *, grants_only: bool = False) -> dict[str, int]:
    """Read every browser's data back through a fresh server on the same ledger: what was
    acknowledged is there, in order, once; nothing of an erased browser is. With
    ``grants_only``, acknowledged refusals may be missing (they could not be made durable)."""
    counts = {"acknowledged": 0, "lost": 0, "duplicated": 0, "resurrected": 0}
    with httpx.Client(timeout=60) as client:
        for browser in browsers:
            assert browser.server_errors == [], browser.server_errors
            if browser.consent_id is None:
                continue
            cookie = {"Cookie": f"consent={browser.cookies.get('consent', '')}"}
            if browser.erased:
                data = client.get(url + "/consent/data", headers=_signed(browser)).json()
                counts["resurrected"] += len(data["history"])
                continue
            data = client.get(url + "/consent/data", headers=cookie).json()
            assert "history_note" not in data
            recorded = [tuple(sorted(h["granted"])) for h in data["history"]]
            if browser.erasure_unanswered and not recorded:
                continue  # the erasure happened; only its answer was lost
            required = [
                choice
                for choice, grant in zip(browser.acknowledged, browser.grants, strict=True)
                if grant or not grants_only
            ]
            counts["acknowledged"] += len(required)
            if not _in_order(required, recorded):
                counts["lost"] += 1
            extra = Counter(recorded) - Counter(browser.acknowledged)
            if grants_only:
                # A commit cut by a failing disk has no certain outcome: the grant was refused
                # to the browser, yet its record may have reached the disk before the error.
                # It records what the shopper asked for; it was never applied.
                extra -= Counter(browser.refused)
            surplus = extra.total()
            if surplus > browser.unanswered:
                counts["duplicated"] += surplus - browser.unanswered
    return counts


def _consent_id(value: str) -> str:
    """The consent id a cookie of ours carries, read as the middleware reads it."""
    from consent_middleware.core.codec import ConsentCookieCodec, ConsentState

    state = ConsentCookieCodec(POLICY, [KEY]).decode(value, time.time())
    assert type(state) is ConsentState, state
    return state.consent_id


def _signed(browser: Browser) -> dict[str, str]:
    # An erased browser's cookie is gone; a cookie for its old id proves its data is too.
    from consent_middleware.core.codec import ConsentCookieCodec, ConsentState

    assert browser.consent_id is not None
    codec = ConsentCookieCodec(POLICY, [KEY])
    value = codec.encode(ConsentState(browser.consent_id, POLICY.required_ids, int(time.time())))
    return {"Cookie": f"consent={value}"}


def _in_order(acknowledged: list[tuple[str, ...]], recorded: list[tuple[str, ...]]) -> bool:
    position = iter(recorded)
    return all(any(choice == seen for seen in position) for choice in acknowledged)


@contextlib.contextmanager
def deployment(
    ledger_url: str, spool: Path | None, *servers: tuple[str, tuple[str, ...]]
) -> Iterator[tuple[list[Server], dict[str, str]]]:
    env = {"CONSENT_TEST_LEDGER": ledger_url, "CONSENT_TEST_KEY": KEY}
    if spool is not None:
        env["CONSENT_TEST_SPOOL"] = str(spool)
    started: list[Server] = []
    try:
        for kind, extra in servers:
            started.append(start(kind, env, *extra))
        yield started, env
    finally:
        for server in started:
            server.stop()
            server.log.unlink(missing_ok=True)


@contextlib.contextmanager
def fresh(servers: list[Server], env: dict[str, str], spool: Path | None) -> Iterator[str]:
    """Stop ``servers`` gracefully, then start one new server on the same ledger and wait
    until the journals that ended processes left are claimed."""
    for old in servers:
        old.stop()
    server = start("uvicorn", env)
    try:
        if spool is not None:
            deadline = time.monotonic() + 60
            while list(spool.glob("*.journal")):
                assert time.monotonic() < deadline, list(spool.glob("*.journal"))
                time.sleep(0.1)
        yield server.url
    finally:
        server.stop()
        server.log.unlink(missing_ok=True)


UVICORN_AND_GUNICORN = (("uvicorn", ("--workers", "2")), ("gunicorn", ("-w", "3")))


@contextlib.contextmanager
def ledger_url(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    with postgres_schema() as schema:
        yield postgres_url(schema)


LEDGERS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("kind", LEDGERS)
def test_several_servers_and_workers_keep_every_acknowledged_choice(
    kind: str, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    with (
        ledger_url(kind, tmp_path) as url,
        deployment(url, spool, *UVICORN_AND_GUNICORN) as (
            servers,
            env,
        ),
    ):
        browsers = [Browser(n) for n in range(150)]
        burst(servers, browsers, choices=4)
        with fresh(servers, env, spool) as reader:
            counts = check(reader, browsers)
    # No fault: every choice of the 100 browsers not erased was acknowledged and is there.
    assert counts == {"acknowledged": 400, "lost": 0, "duplicated": 0, "resurrected": 0}


def test_preloaded_gunicorn_workers_record_too(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with deployment(url, spool, ("gunicorn", ("-w", "2", "--preload"))) as (servers, env):
        browsers = [Browser(n) for n in range(20)]
        burst(servers, browsers, choices=2)
        # Read while the preloaded servers still run: nothing waits for their shutdown.
        from consent_middleware.ledger.sqlite import SQLiteLedger

        ledger = SQLiteLedger(tmp_path / "ledger.db")
        for browser in browsers:
            if browser.consent_id and not browser.erased:
                history = ledger.history(browser.consent_id)
                assert len(history) >= len(browser.acknowledged)
        ledger.close()
        with fresh(servers, env, spool) as reader:
            counts = check(reader, browsers)
    assert counts == {**counts, "lost": 0, "duplicated": 0, "resurrected": 0}


def test_workers_killed_mid_burst_lose_nothing_acknowledged(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with deployment(url, spool, ("gunicorn", ("-w", "3")), ("gunicorn", ("-w", "2"))) as (
        servers,
        env,
    ):
        killed: list[int] = []

        def kill_some(done: int) -> None:
            if done % 15 == 0:
                for server in servers:
                    workers = server.workers()
                    if workers:
                        victim = random.Random(done).choice(workers)
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(victim, signal.SIGKILL)
                            killed.append(victim)

        browsers = [Browser(n) for n in range(90)]
        burst(servers, browsers, choices=4, progress=kill_some)
        assert killed
        with fresh(servers, env, spool) as reader:
            counts = check(reader, browsers)
    assert counts["acknowledged"] > 100
    assert counts == {**counts, "lost": 0, "duplicated": 0, "resurrected": 0}


@pytest.mark.postgres
@pytest.mark.parametrize("failure", ["cut", "black_hole"])
def test_postgres_cut_or_silent_mid_burst_loses_nothing(failure: str, tmp_path: Path) -> None:
    assert POSTGRES_DSN
    spool = tmp_path / "spool"
    with postgres_schema() as schema:
        relay, relayed = Relay.to_url(postgres_url(schema))
        try:
            with deployment(relayed, spool, *UVICORN_AND_GUNICORN) as (servers, env):

                def fail_then_heal(done: int) -> None:
                    if done == 20:
                        getattr(relay, failure)()
                    elif done == 60:
                        # While the store is away, a worker dies with events in its journal.
                        workers = servers[1].workers()
                        if workers:
                            os.kill(workers[0], signal.SIGKILL)
                    elif done == 70:
                        relay.restore()

                browsers = [Browser(n) for n in range(100)]
                burst(servers, browsers, choices=3, progress=fail_then_heal)
                relay.restore()
                with fresh(servers, env, spool) as reader:
                    counts = check(reader, browsers)
        finally:
            relay.close()
    assert counts["acknowledged"] > 100
    assert counts == {**counts, "lost": 0, "duplicated": 0, "resurrected": 0}


def _run(*command: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(command, capture_output=True)
    except FileNotFoundError as error:
        pytest.skip(f"{command[0]} is not installed: {error}")


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A small filesystem of its own at ``path`` (needs root and a kernel that allows it)."""
    path.mkdir()
    mounted = _run("mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        _run("umount", "-l", str(path))


@contextlib.contextmanager
def ext4(path: Path, size: str) -> Iterator[tuple[Path, str]]:
    """An ext4 filesystem in a file, mounted at ``path`` as a disk is, that turns read-only
    on its first error (``errors=remount-ro``); yields the mount point and the device."""
    image = path.with_suffix(".img")
    _run("truncate", "-s", size, str(image))
    attached = _run("losetup", "--find", "--show", str(image))
    if attached.returncode != 0:
        pytest.skip(f"cannot attach a loop device here: {attached.stderr.decode().strip()}")
    device = attached.stdout.decode().strip()
    try:
        path.mkdir()
        made = _run("mkfs.ext4", "-q", "-F", device)
        mounted = _run("mount", "-o", "errors=remount-ro", device, str(path))
        if made.returncode or mounted.returncode:
            pytest.skip(f"cannot make an ext4 disk here: {(made.stderr + mounted.stderr)!r}")
        yield path, device
    finally:
        _run("umount", "-l", str(path))
        _run("losetup", "-d", device)


def turn_read_only(device: str) -> None:
    """What the kernel does to a disk that fails: ext4 remounts it read-only, writers or not."""
    trigger = Path(f"/sys/fs/ext4/{Path(device).name}/trigger_fs_error")
    trigger.write_text("consent deployment test\n")


def repair(path: Path, device: str) -> None:
    """What an operator does next: unmount, check, mount again."""
    assert _run("umount", str(path)).returncode == 0
    assert _run("e2fsck", "-fy", device).returncode in (0, 1)
    assert _run("mount", "-o", "errors=remount-ro", device, str(path)).returncode == 0


def test_a_disk_that_fills_up_loses_nothing_acknowledged(tmp_path: Path) -> None:
    # The default layout: the spool beside the SQLite ledger, on the same small disk. While
    # it is full, grants are refused (503) and refusals still take effect.
    with tmpfs(tmp_path / "disk", "16m") as disk:
        url = f"sqlite:///{disk / 'ledger.db'}"
        filler = disk / "filler"
        with deployment(url, None, *UVICORN_AND_GUNICORN) as (servers, env):

            def fill_then_free(done: int) -> None:
                if done == 20:
                    # Opening may already fail: then the disk is full, as wanted.
                    with contextlib.suppress(OSError), filler.open("wb") as out:
                        while True:
                            out.write(b"\0" * 65536)
                            out.flush()
                            os.fsync(out.fileno())
                elif done == 60:
                    filler.unlink(missing_ok=True)

            browsers = [Browser(n) for n in range(90)]
            burst(servers, browsers, choices=3, progress=fill_then_free)
            refused = sum(b.refused_grants for b in browsers)
            with fresh(servers, env, disk / "ledger.db-spool") as reader:
                counts = check(reader, browsers)
    assert refused > 0  # the disk was full for a while
    assert counts["acknowledged"] > 100
    assert counts == {**counts, "lost": 0, "duplicated": 0, "resurrected": 0}


def test_a_disk_that_turns_read_only_loses_no_acknowledged_grant(tmp_path: Path) -> None:
    # The disk holding the ledger and the spool beside it fails for good mid-burst. Grants
    # are refused from then on; refusals take effect in the browser but can only be kept in
    # memory, so they are not required afterwards. After the operator's repair, a fresh
    # server shows every acknowledged grant.
    with ext4(tmp_path / "disk", "64M") as (disk, device):
        url = f"sqlite:///{disk / 'ledger.db'}"
        with deployment(url, None, *UVICORN_AND_GUNICORN) as (servers, env):

            def fail(done: int) -> None:
                if done == 30:
                    turn_read_only(device)

            browsers = [Browser(n) for n in range(90)]
            burst(servers, browsers, choices=3, progress=fail)
            for server in servers:
                server.stop()
            repair(disk, device)
            with fresh([], env, disk / "ledger.db-spool") as reader:
                counts = check(reader, browsers, grants_only=True)
    assert sum(b.refused_grants for b in browsers) > 0
    assert counts["acknowledged"] > 20
    assert counts == {**counts, "lost": 0, "duplicated": 0, "resurrected": 0}
