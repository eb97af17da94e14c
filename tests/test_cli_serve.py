"""`vangnet serve`: a real server in a subprocess on a free loopback port, and its refusals."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.conftest import PUBLIC_SCENARIOS, ROOT
from vangnet.cli import _as_tcp, app

runner = CliRunner()
START_TIMEOUT = 60.0


@dataclass
class Server:
    """A `vangnet serve` process and where it listens."""

    process: subprocess.Popen[bytes]
    url: str
    stdout: Path
    stderr: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment without any VANGNET_* of the caller, plus a data directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VANGNET_")}
    return {**env, "VANGNET_DATA_DIR": str(data_dir), **extra}


@contextmanager
def running_server(tmp: Path, *args: str, **env: str) -> Iterator[Server]:
    """Start `vangnet serve` on a free port; yield once /v1/health answers; stop it after."""
    port = free_port()
    out, err = tmp / "serve.stdout", tmp / "serve.stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "vangnet", "serve", "--port", str(port), *args],
            cwd=ROOT,
            env=clean_env(tmp / "data", **env),
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,  # its own process group: nothing outlives the test
        )
    server = Server(process, f"http://127.0.0.1:{port}", out, err)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, f"vangnet serve stopped: {err.read_text()}"
            try:
                if httpx.get(f"{server.url}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"no answer in {START_TIMEOUT} s: {err.read_text()}"
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_serve_answers_on_loopback_and_stops_cleanly(tmp_path: Path) -> None:
    with running_server(tmp_path) as server:
        health = httpx.get(f"{server.url}/v1/health")
        assert health.json()["status"] == "ok"
        r = httpx.post(
            f"{server.url}/v1/evaluaties",
            content=(PUBLIC_SCENARIOS / "P06.claim.json").read_bytes(),
            headers={"content-type": "application/json"},
            timeout=30,
        )
        assert r.status_code == 200 and r.json()["outcome"] == "gedeeltelijk"
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(timeout=30) == 0
    first = server.stdout.read_text().splitlines()[0]
    assert first == (
        f"vangnet (development) luistert op {server.url}; de API staat op {server.url}/v1"
        f" (beschrijving: {server.url}/v1/openapi.json). 1 webproces(sen), elk met 1"
        " regelengine-proces(sen). Stoppen: Ctrl+C."
    )
    assert "Traceback" not in server.stderr.read_text()


@pytest.mark.slow
def test_serve_with_two_web_processes(tmp_path: Path) -> None:
    with running_server(tmp_path, "--workers", "2", VANGNET_ENGINE_WORKERS="2") as server:
        claim = (PUBLIC_SCENARIOS / "P01.claim.json").read_bytes()
        with httpx.Client(base_url=server.url, timeout=30) as client:
            statuses = {
                client.post(
                    "/v1/evaluaties",
                    content=claim,
                    # a new connection each time, so both web processes get requests
                    headers={"content-type": "application/json", "connection": "close"},
                ).status_code
                for _ in range(8)
            }
        assert statuses == {200}
        assert "2 webproces(sen), elk met 2 regelengine-proces(sen)" in server.stdout.read_text()
    assert "Traceback" not in server.stderr.read_text()


def test_listening_sockets_for_several_web_processes_are_declared_tcp() -> None:
    """uvicorn binds the `--workers` socket with proto 0, and asyncio then leaves Nagle on:
    about 40 ms on every keep-alive request after the first (uvicorn issue #3149)."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # as uvicorn binds it
    raw.bind(("127.0.0.1", 0))
    listener = _as_tcp(raw)
    assert listener.proto == socket.IPPROTO_TCP and listener.get_inheritable()

    async def nodelay_of_an_accepted_connection() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def on_connect(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connect, sock=listener)
        async with server:
            _, writer = await asyncio.open_connection(*listener.getsockname())
            nodelay = await accepted
            writer.close()
            await writer.wait_closed()
        return nodelay

    assert asyncio.run(nodelay_of_an_accepted_connection()) == 1


def test_production_without_a_secret_key_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("VANGNET_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("VANGNET_ENV", "production")
    monkeypatch.setenv("VANGNET_DATA_DIR", str(tmp_path))
    result = runner.invoke(app, ["serve", "--port", str(free_port())])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "vangnet start niet: ongeldige instellingen. VANGNET_SECRET_KEY ontbreekt of is korter"
        " dan 32 tekens; in productie start vangnet niet zonder geheime sleutel uit de"
        " omgeving.\n"
    )


def test_a_bad_setting_is_named_and_nothing_starts(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vangnet", "serve", "--port", str(free_port())],
        cwd=ROOT,
        env=clean_env(tmp_path, VANGNET_ENGINE_WORKERS="nul"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "vangnet start niet: ongeldige instellingen. VANGNET_ENGINE_WORKERS='nul': moet een"
        " geheel getal van 1 of meer zijn.\n"
    )
