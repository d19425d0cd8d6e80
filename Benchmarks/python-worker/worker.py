#!/usr/bin/env python3
"""A straightforward Python worker, for comparison only (issue 24).

What a team would write first in Python for aicc-notify's job, measured by
`aicc-notify bench --worker-executable Benchmarks/python-worker/worker.py`
beside the Swift worker (BENCHMARKS.md): confluent-kafka (librdkafka) for
Kafka, aiohttp for AICC and /readyz, sqlite3 in WAL for the idempotency store.

Per request, the same durable steps as the Swift worker before issue 24:
claim the key (one committed statement), note the attempt before the call
(another), call tokenByAkSk once and createVoiceNotification, record the
outcome (a third), produce the result, and commit offsets once a poll's
batch is done and its results are acknowledged. One JSON `info` log line per
result on stderr, as the Swift worker writes one.

It reads the worker's own AICC_NOTIFY_* variables (the ones the bench sets)
and is not a product: no retries, no validation beyond what the bench's
requests need, no dead letters, no callbacks. Needs `pip install
confluent-kafka aiohttp`; started as `worker.py run`.
"""

import asyncio
import json
import os
import signal
import sqlite3
import sys
from datetime import datetime, timezone

import aiohttp
from aiohttp import web
from confluent_kafka import Consumer, Producer

ENV = os.environ
REQUESTS = "notification.requests"
RESULTS = "notification.results"
TOKEN_PATH = "/apigovernance/api/oauth/tokenByAkSk"
CREATE_PATH = "/apiaccess/rest/voiceNotification/v1/createVoiceNotification"


def kafka_properties():
    properties = {"bootstrap.servers": ENV["AICC_NOTIFY_KAFKA_BOOTSTRAP_SERVERS"]}
    for pair in filter(None, ENV.get("AICC_NOTIFY_KAFKA_PROPERTIES", "").split(",")):
        name, _, value = pair.partition("=")
        properties[name.strip()] = value.strip()
    return properties


class Store:
    """Idempotency keys in one SQLite file, WAL; each write its own commit."""

    def __init__(self, url):
        path, _, query = url[len("sqlite:"):].partition("?")
        synchronous = "NORMAL" if "synchronous=normal" in query else "FULL"
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute(f"PRAGMA synchronous = {synchronous}")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, request_id TEXT NOT NULL,"
            " state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, call_pending INTEGER NOT NULL DEFAULT 0,"
            " outcome TEXT, call_serial_no TEXT, result BLOB)")

    def claim(self, key, request_id):
        """None when claimed; the stored result when the key is done."""
        cursor = self.db.execute(
            "INSERT INTO keys (key, request_id, state) VALUES (?, ?, 'claimed') ON CONFLICT (key) DO NOTHING",
            (key, request_id))
        if cursor.rowcount == 1:
            return None
        row = self.db.execute("SELECT result FROM keys WHERE key = ?", (key,)).fetchone()
        return row[0] if row and row[0] is not None else b""

    def attempt_started(self, key):
        self.db.execute("UPDATE keys SET attempts = attempts + 1, call_pending = 1 WHERE key = ?", (key,))

    def outcome(self, key, outcome, serial, result):
        self.db.execute(
            "UPDATE keys SET state = 'done', outcome = ?, call_serial_no = ?, result = ?, call_pending = 0 WHERE key = ?",
            (outcome, serial, result, key))


def voice_content(items):
    parts = []
    for item in items:
        if "voiceId" in item:
            parts.append(item["voiceId"])
        else:
            parts.append("$" + item["text"] + "$")
    return "~".join(parts)


def mask(number):
    return "*" * max(0, len(number) - 4) + number[-4:]


def now_rfc3339():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Worker:
    def __init__(self):
        self.base = ENV["AICC_NOTIFY_AICC_BASE_URL"].rstrip("/")
        self.app_key = ENV["AICC_NOTIFY_AICC_APP_KEY"]
        self.app_secret = ENV["AICC_NOTIFY_AICC_APP_SECRET"]
        self.concurrency = int(ENV.get("AICC_NOTIFY_AICC_MAX_CONCURRENCY", "64"))
        self.store = Store(ENV.get("AICC_NOTIFY_STORE_URL", "sqlite:python-worker.db"))
        consumer = kafka_properties()
        consumer.update({
            "group.id": ENV.get("AICC_NOTIFY_KAFKA_GROUP_ID", "aicc-notify"),
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        })
        self.consumer = Consumer(consumer)
        producer = kafka_properties()
        producer.update({"enable.idempotence": True, "linger.ms": 5})
        self.producer = Producer(producer)
        self.assigned = False
        self.token = None
        self.token_lock = asyncio.Lock()
        self.stopping = asyncio.Event()

    # AICC

    async def access_token(self, session):
        async with self.token_lock:
            if self.token is None:
                async with session.post(
                        self.base + TOKEN_PATH, json={"app_key": self.app_key, "app_secret": self.app_secret},
                        headers={"X-Token-Expire": "3600"}) as response:
                    body = await response.json(content_type=None)
                    self.token = body["AccessToken"]
            return self.token

    async def create(self, session, request):
        token = await self.access_token(session)
        body = {"voiceContent": voice_content(request["voiceContent"]), "called": request["called"]}
        if "priority" in request:
            body["priority"] = str(request["priority"])
        headers = {"X-APP-Key": self.app_key, "Authorization": "Bearer " + token}
        async with session.post(self.base + CREATE_PATH, json=body, headers=headers) as response:
            return response.status, await response.json(content_type=None)

    # One request

    async def handle(self, session, slots, message, delivered):
        request = json.loads(message.value())
        request_id = request["requestId"]
        key = request.get("idempotencyKey") or request_id
        stored = self.store.claim(key, request_id)
        if stored is not None:
            self.produce(key, stored, delivered)
            return
        async with slots:
            self.store.attempt_started(key)
            try:
                status, answer = await self.create(session, request)
            except aiohttp.ClientError as error:
                status, answer = 0, {"retCode": "-1", "retMsg": str(error)}
        serial = (answer.get("result") or {}).get("callSerialNo")
        outcome = "accepted" if status == 200 and answer.get("retCode") == "0" else "failed"
        result = {
            "requestId": request_id, "idempotencyKey": key, "outcome": outcome, "attempts": 1,
            "completedAt": now_rfc3339(),
        }
        if serial:
            result["callSerialNo"] = serial
        if outcome != "accepted":
            result["error"] = {"code": "aicc.retCode." + str(answer.get("retCode")), "message": str(answer.get("retMsg"))}
        value = json.dumps(result, separators=(",", ":")).encode()
        self.store.outcome(key, outcome, serial, value)
        self.produce(key, value, delivered)
        print(json.dumps({
            "ts": result["completedAt"], "level": "info", "msg": "result", "requestId": request_id,
            "outcome": outcome, "called": mask(request["called"]), "callSerialNo": serial,
        }), file=sys.stderr)

    def produce(self, key, value, delivered):
        def report(error, _message):
            delivered.append(error)
        while True:
            try:
                self.producer.produce(RESULTS, key=key.encode(), value=value, on_delivery=report)
                return
            except BufferError:
                self.producer.poll(0.01)

    # Loops

    async def consume(self):
        loop = asyncio.get_running_loop()
        slots = asyncio.Semaphore(self.concurrency)

        def on_assign(consumer, partitions):
            self.assigned = True

        def on_revoke(consumer, partitions):
            self.assigned = False

        self.consumer.subscribe([REQUESTS], on_assign=on_assign, on_revoke=on_revoke)
        connector = aiohttp.TCPConnector(limit=self.concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            while not self.stopping.is_set():
                messages = await loop.run_in_executor(None, self.consumer.consume, 500, 0.1)
                messages = [m for m in messages if m.error() is None]
                if not messages:
                    continue
                delivered = []
                await asyncio.gather(*(self.handle(session, slots, m, delivered) for m in messages))
                remaining = await loop.run_in_executor(None, self.producer.flush, 30)
                if remaining == 0 and not any(delivered):
                    await loop.run_in_executor(None, lambda: self.consumer.commit(asynchronous=False))
                else:
                    print(json.dumps({"level": "error", "msg": "results not delivered; not committing"}), file=sys.stderr)
        self.consumer.close()

    async def serve(self):
        async def readyz(_request):
            return web.Response(status=200 if self.assigned else 503, text="ready" if self.assigned else "not ready")

        app = web.Application()
        app.router.add_get("/readyz", readyz)
        app.router.add_get("/healthz", lambda _request: web.Response(text="ok"))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        host, _, port = ENV.get("AICC_NOTIFY_HTTP_LISTEN", "127.0.0.1:8080").rpartition(":")
        await web.TCPSite(runner, host or "127.0.0.1", int(port)).start()
        await self.stopping.wait()
        await runner.cleanup()

    async def run(self):
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        await asyncio.gather(self.consume(), self.serve())


if __name__ == "__main__":
    if sys.argv[1:] != ["run"]:
        print("usage: worker.py run", file=sys.stderr)
        sys.exit(2)
    asyncio.run(Worker().run())
