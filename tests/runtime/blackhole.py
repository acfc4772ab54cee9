"""A loopback TCP proxy that can go silent: a network cut that closes nothing."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass(eq=False)
class _Link:
    writers: tuple[asyncio.StreamWriter, ...]
    silent: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class BlackholeProxy:
    """Forwards 127.0.0.1:<port> to a target. ``blackhole()`` stops forwarding on every link,
    new ones included, without closing anything: bytes are read and dropped, as on a dead
    route. ``forward()`` heals the route: silenced links are reset (as the far end would),
    and links made from then on forward again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = 0
        self.silent = False
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.silent:
            link = _Link((writer,), silent=True)
            self._links.add(link)
            link.tasks.append(asyncio.create_task(self._pipe(link, reader, None)))
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            writer.close()
            return
        link = _Link((writer, up_writer), silent=self.silent)
        self._links.add(link)
        link.tasks.append(asyncio.create_task(self._pipe(link, reader, up_writer)))
        link.tasks.append(asyncio.create_task(self._pipe(link, up_reader, writer)))

    async def _pipe(
        self, link: _Link, src: asyncio.StreamReader, dst: asyncio.StreamWriter | None
    ) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await src.read(65536):
                if link.silent or dst is None:
                    continue  # dropped on the floor
                dst.write(data)
                await dst.drain()
        self._close(link)

    def _close(self, link: _Link) -> None:
        for writer in link.writers:
            writer.close()
        self._links.discard(link)

    def blackhole(self) -> None:
        self.silent = True
        for link in self._links:
            link.silent = True

    def forward(self) -> None:
        self.silent = False
        for link in [link for link in self._links if link.silent]:
            for task in link.tasks:
                task.cancel()
            self._close(link)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            for task in link.tasks:
                task.cancel()
            self._close(link)
