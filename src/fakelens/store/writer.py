"""The command line's history writer: a child process that opens the HistoryStore while the parent
loads its models, so that importing SQLAlchemy (longer than scoring a photo, as `python -X importtime`
shows) runs on another core.

The parent hands over records in batches (at most BATCH records or WAIT_S seconds old, and at close);
the child stores each batch in one transaction while the parent goes on, and answers with the rows'
ids and the earlier analyses of the same bytes. Every write still goes through HistoryStore, in the child.

    writer = HistoryWriter.start()     # at once, before the models load
    writer.add(record_dict, sha256, report)
    replies = writer.close()           # [{"id": 7, "seen": [{"id": 3, "label": "fake"}]}, ...] in order
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from fakelens.errors import FakelensError, one_line

BATCH = 32  # records per transaction: a commit costs a few ms on SQLite, as much as scoring a face crop
WAIT_S = 0.5  # the next record flushes the batch once its oldest has waited this long (slow videos: each saved at the next)


_PRESTARTED: "HistoryWriter | None" = None


def prestart(argv: list[str]) -> None:
    """Start the writer before the command line is even parsed, when it is going to be needed: the
    CLI calls this first thing, so SQLAlchemy's import overlaps typer's and rich's too. A writer
    nobody takes ends when the parent does (its stdin closes)."""
    global _PRESTARTED
    if len(argv) > 2 and argv[1] == "analyze" and not {"--no-save", "--help"} & set(argv):
        _PRESTARTED = HistoryWriter.start()


class HistoryWriter:
    """A running writer process (see the module docstring)."""

    def __init__(self, proc: subprocess.Popen):
        import queue
        import threading

        self._proc = proc
        self._pending: list[dict] = []
        self._since = 0.0
        self._sent = 0  # batches handed over; each gets one reply line
        self._answers: "queue.Queue[dict]" = queue.Queue()
        # Replies are read on a thread, so the analysis goes on while the child stores a batch.
        threading.Thread(target=self._read, daemon=True).start()
        self.replies: list[dict] = []

    def _read(self) -> None:
        for line in self._proc.stdout:
            self._answers.put(json.loads(line))
        self._answers.put({"error": "the history writer exited"})

    @classmethod
    def take(cls) -> "HistoryWriter":
        """The writer `prestart` started, else a new one."""
        global _PRESTARTED
        writer, _PRESTARTED = _PRESTARTED, None
        return writer if writer is not None and writer._proc.poll() is None else cls.start()

    @classmethod
    def start(cls) -> "HistoryWriter":
        """Spawn the writer; the database is opened in the child (FAKELENS_DB_URL / FAKELENS_DATA_DIR apply)."""
        # stderr: errors come back as replies; the child holds none of the caller's pipes, so `| cat` needn't wait.
        proc = subprocess.Popen([sys.executable, "-m", "fakelens.store.writer"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        return cls(proc)

    def add(self, record: dict, sha256: str | None = None, report: str | None = None) -> None:
        """Queue one analysis record; it is handed over with the next batch."""
        if not self._pending:
            self._since = time.monotonic()
        self._pending.append({"record": record, "sha256": sha256, "report": report})
        if len(self._pending) >= BATCH or time.monotonic() - self._since > WAIT_S:
            self.flush()

    def flush(self) -> None:
        """Hand the queued records over now (the child stores them while the caller goes on)."""
        if not self._pending:
            return
        items, self._pending = self._pending, []
        try:
            self._proc.stdin.write(json.dumps({"items": items}) + "\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the child has exited: its reason (or "exited") is what close() reads
        self._sent += 1

    def close(self) -> list[dict]:
        """Hand over what is queued, wait until every batch is committed, and let the writer end; returns
        one reply per record, in order (raises a one-line FakelensError if the database refused). Not
        waiting for the child's exit (SQLAlchemy's teardown) loses nothing: every batch is committed."""
        try:
            self.flush()
            for _ in range(self._sent):
                reply = self._answers.get()
                if "error" in reply:
                    raise FakelensError(f"history database: {reply['error']}")
                self.replies += reply["rows"]
            self._sent = 0
        finally:
            if self._proc.poll() is None:
                self._proc.stdin.close()
        return self.replies


def _serve() -> None:
    def reply(obj: dict) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    try:
        from fakelens.store.history import HistoryStore

        store, opened = HistoryStore(), None
    except Exception as e:  # noqa: BLE001 (a bad URL or an unwritable folder: told to the parent in one line)
        store, opened = None, f"cannot open it: {one_line(e)}"
    for line in sys.stdin:
        if store is None:
            reply({"error": opened})
            return
        items = json.loads(line)["items"]
        try:
            earlier = store.seen_many([i["sha256"] for i in items if i["sha256"]])
            seen = [earlier.get(i["sha256"], []) if i["sha256"] else [] for i in items]
            ids = store.add_many([(i["record"], i["sha256"], i["report"]) for i in items])
        except Exception as e:  # noqa: BLE001
            reply({"error": one_line(e)})
            continue
        rows = []
        for k, (item, earlier) in enumerate(zip(items, seen)):
            same = [{"id": ids[j], "label": items[j]["record"]["label"]} for j in range(k - 1, -1, -1)
                    if item["sha256"] and items[j]["sha256"] == item["sha256"]]  # earlier in this batch
            rows.append({"id": ids[k], "seen": same + [{"id": r["id"], "label": r["label"]} for r in earlier]})
        reply({"rows": rows})


if __name__ == "__main__":
    # At the parent's priority: a niced writer starves beside busy neighbours and the parent then waits
    # for it at close (benchmarks/results/writer-nice.txt: a photo 10 s at nice 10, 2.9 s at nice 0).
    _serve()
