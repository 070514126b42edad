#!/usr/bin/python3
# A Marian-protocol WebSocket client for tests/cli/serve_cli_test.cpp (Debian's python3-websockets).
#   ws_client.py check HOST PORT    messages, a refused upgrade, a half-sent message; prints JSON
#   ws_client.py idle HOST PORT     opens a connection and waits (the server's SIGTERM must close it)
import asyncio
import base64
import json
import os
import socket
import sys
import time

import websockets

mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
base = f"ws://{host}:{port}"


async def check(out):
    async with websockets.connect(base + "/translate?source=en&target=de") as ws:
        await ws.send("open the file\nsave\n\n>>fr<< print the copy")
        out["reply"] = await ws.recv()
        await ws.send(">>xx<< hello")
        out["error"] = await ws.recv()
    try:
        async with websockets.connect(base + "/translate?source=qq&target=de"):
            out["refused"] = 0
    except websockets.exceptions.InvalidStatusCode as e:
        out["refused"] = e.status_code


def handshake():
    s = socket.create_connection((host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /translate?source=en&target=de HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    return s, s.recv(4096).split(b"\r\n")[0].decode()


if mode == "check":
    out = {}
    asyncio.run(check(out))
    # A message whose frame header arrives and nothing more: dropped after the server's --timeout.
    s, out["handshake"] = handshake()
    s.sendall(bytes([0x81, 0x80 | 100]))
    t0 = time.time()
    s.settimeout(30)
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    out["dropped_after_s"] = time.time() - t0
    print(json.dumps(out))
elif mode == "idle":
    s, status = handshake()
    print(status, flush=True)
    s.settimeout(60)
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
