"""A small round-robin load balancer for tests and benchmarks: what sits in front of
several `us-coach web` processes in production (nginx, a cloud load balancer). A backend
that refuses the connection or drops it is skipped and the next one tried; a backend's
own answer (403, 503 with Retry-After, 200) is passed back as it is."""

from __future__ import annotations

import itertools

import aiohttp
from aiohttp import web

PASS_HEADERS = ("Retry-After", "Content-Type")


class Balancer:
    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self._turn = itertools.count()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""
        self.skipped = 0

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        app = web.Application(client_max_size=2 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.url = f"http://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        first = next(self._turn)
        for offset in range(len(self.backends)):
            backend = self.backends[(first + offset) % len(self.backends)]
            try:
                async with self._session.request(
                    request.method, backend + request.rel_url.path_qs, data=body, headers=headers
                ) as answer:
                    content = await answer.read()
                    passed = {k: answer.headers[k] for k in PASS_HEADERS if k in answer.headers}
                    return web.Response(status=answer.status, body=content, headers=passed)
            except (aiohttp.ClientConnectionError, OSError):
                self.skipped += 1  # down or dying: the next backend
        return web.Response(status=502, text="no backend answered")
