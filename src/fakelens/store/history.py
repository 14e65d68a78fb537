"""The history of analyses, in SQLite by default (any SQLAlchemy URL, e.g. PostgreSQL, works).

One data directory holds the database, uploads and artifacts: FAKELENS_DATA_DIR when set,
otherwise the user's data directory (platformdirs). The CLI, the web app and batch scans share it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Integer, LargeBinary, String, create_engine, delete,
                        func, inspect, select, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from fakelens import paths
from fakelens.records import Analysis
import fakelens.store.keys as _keys


def data_dir() -> Path:
    """fakelens.paths.data_dir(), created if missing."""
    d = paths.data_dir()
    d.mkdir(parents=True, exist_ok=True)
    return d


class _Base(DeclarativeBase):
    pass


class AnalysisRow(_Base):
    """One analysis: the searchable fields, and the whole `fakelens analyze` JSON record."""

    __tablename__ = "analyses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued, running, done, failed
    path: Mapped[str] = mapped_column(String(4096))
    sha256: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    kind: Mapped[str | None] = mapped_column(String(8), nullable=True)
    label: Mapped[str | None] = mapped_column(String(16), index=True, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    model: Mapped[str | None] = mapped_column(String(128), nullable=True)
    report: Mapped[str | None] = mapped_column(String(4096), nullable=True)
    record: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # The web app's uploads: the key that made it (None: the CLI, or a server without keys), the name
    # the client gave (shown, never used as a path), the stored bytes (for quotas) and a thumbnail.
    owner: Mapped[int | None] = mapped_column(Integer, index=True, nullable=True)
    filename: Mapped[str | None] = mapped_column(String(255), nullable=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    thumbnail: Mapped[str | None] = mapped_column(String(4096), nullable=True)

    def to_dict(self) -> dict:
        return {"id": self.id, "created": _utc(self.created).isoformat(), "status": self.status, "path": self.path,
                "sha256": self.sha256, "kind": self.kind, "label": self.label, "score": self.score,
                "model": self.model, "report": self.report, "result": self.record, "owner": self.owner,
                "filename": self.filename, "size": self.size, "thumbnail": self.thumbnail}


def _utc(t: datetime) -> datetime:
    """SQLite hands datetimes back without their zone: they were stored in UTC."""
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


class ApiKeyRow(_Base):
    """An API key of `fakelens serve`: its public id, a salted scrypt hash of its secret, never the secret."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    digest: Mapped[bytes] = mapped_column(LargeBinary(64))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    def to_key(self) -> _keys.ApiKey:
        return _keys.ApiKey(self.id, self.name, self.key_id, _utc(self.created),
                            _utc(self.revoked) if self.revoked else None)


class FeedbackRow(_Base):
    """A reader's rating of one analysis's explanations (seed 000 asks users how clear and helpful they are)."""

    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analyses.id"), index=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    clarity: Mapped[int] = mapped_column(Integer)
    helpfulness: Mapped[int] = mapped_column(Integer)
    agree: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    comment: Mapped[str] = mapped_column(String(4000), default="")


class HistoryStore:
    """`HistoryStore()` opens (and creates) the database FAKELENS_DB_URL names (any SQLAlchemy URL, e.g.
    postgresql+psycopg://user@host/db), else SQLite at data_dir()/history.db."""

    def __init__(self, url: str | None = None):
        self.url = url or os.environ.get("FAKELENS_DB_URL") or f"sqlite:///{data_dir() / 'history.db'}"
        self.engine = create_engine(self.url)
        _Base.metadata.create_all(self.engine)
        self._migrate()

    def _migrate(self) -> None:
        """Databases made before the web app had keys lack the newer columns of `analyses`: add them."""
        have = {c["name"] for c in inspect(self.engine).get_columns("analyses")}
        missing = [c for c in ("owner", "filename", "size", "thumbnail") if c not in have]
        if not missing:
            return
        types = {"owner": "INTEGER", "filename": "VARCHAR(255)", "size": "BIGINT", "thumbnail": "VARCHAR(4096)"}
        with self.engine.begin() as conn:
            for c in missing:
                conn.execute(text(f"ALTER TABLE analyses ADD COLUMN {c} {types[c]}"))
            conn.execute(text("CREATE INDEX IF NOT EXISTS ix_analyses_owner ON analyses (owner)"))

    def add(self, analysis: Analysis | dict, sha256: str | None = None, report: str | None = None) -> int:
        """Store a finished analysis (an Analysis, or its JSON record as a scan writes it); returns its id."""
        return self.add_many([(analysis, sha256, report)])[0]

    def add_many(self, items: list[tuple[Analysis | dict, str | None, str | None]]) -> list[int]:
        """Store several (analysis, sha256, report) in one transaction (one commit: a few ms each on SQLite)."""
        rows = []
        for analysis, sha256, report in items:
            rec = json.loads(json.dumps(analysis if isinstance(analysis, dict) else analysis.to_dict()))  # JSON-safe
            rows.append(AnalysisRow(created=datetime.now(timezone.utc),
                                    status="failed" if rec["label"] == "error" else "done", path=rec["path"],
                                    sha256=sha256, kind=rec.get("kind"), label=rec["label"], score=rec.get("score"),
                                    model=rec.get("model"), report=report, record=rec))
        with Session(self.engine) as s:
            s.add_all(rows)
            s.flush()
            ids = [row.id for row in rows]  # read before the commit expires them (one SELECT each after)
            s.commit()
            return ids

    def create(self, path: str, sha256: str | None = None, owner: int | None = None, filename: str | None = None,
               size: int | None = None, kind: str | None = None) -> int:
        """A queued analysis (the web app's upload), to be finished by `finish`."""
        row = AnalysisRow(created=datetime.now(timezone.utc), status="queued", path=path, sha256=sha256, owner=owner,
                          filename=filename, size=size, kind=kind)
        with Session(self.engine) as s:
            s.add(row)
            s.commit()
            return row.id

    def set_status(self, id: int, status: str) -> bool:
        """False when the analysis is gone (deleted while queued)."""
        with Session(self.engine) as s:
            row = s.get(AnalysisRow, id)
            if row is None:
                return False
            row.status = status
            s.commit()
            return True

    def finish(self, id: int, analysis: Analysis, report: str | None = None, thumbnail: str | None = None) -> bool:
        """Record the result of a queued analysis; False when it was deleted meanwhile."""
        with Session(self.engine) as s:
            row = s.get(AnalysisRow, id)
            if row is None:
                return False
            row.status = "failed" if analysis.label == "error" else "done"
            row.kind, row.label, row.score, row.model = analysis.kind, analysis.label, analysis.score, analysis.model
            row.report, row.record = report, json.loads(json.dumps(analysis.to_dict()))
            row.thumbnail = thumbnail
            s.commit()
            return True

    def get(self, id: int, owner: int | None | object = ...) -> dict | None:
        """One analysis; with `owner` (a key's id, or None for a server without keys) only if it is theirs."""
        with Session(self.engine) as s:
            row = s.get(AnalysisRow, id)
            if row is None or (owner is not ... and row.owner != owner):
                return None
            return row.to_dict()

    def usage(self, owner: int | None) -> int:
        """Bytes of stored uploads that belong to `owner`."""
        q = select(func.coalesce(func.sum(AnalysisRow.size), 0)).where(_owned(owner))
        with Session(self.engine) as s:
            return int(s.scalar(q))

    def delete(self, id: int, owner: int | None | object = ...) -> dict | None:
        """Remove an analysis (with `owner`: only if it is theirs), its ratings, and the files fakelens made
        for it under the data directory: the stored upload, report, thumbnail and explanation maps. A
        file outside the data directory (the input of a `fakelens analyze`) is never touched. Returns
        the removed row, or None when there was none."""
        with Session(self.engine) as s:
            row = s.get(AnalysisRow, id)
            if row is None or (owner is not ... and row.owner != owner):
                return None
            gone = row.to_dict()
            s.execute(delete(FeedbackRow).where(FeedbackRow.analysis_id == id))
            s.delete(row)
            s.commit()
        remove_files(gone)
        return gone

    def older_than(self, cutoff: datetime) -> list[int]:
        """Ids of finished analyses created before `cutoff` (queued and running ones are left to the worker)."""
        q = select(AnalysisRow.id).where(AnalysisRow.created < cutoff, AnalysisRow.status.in_(("done", "failed")))
        with Session(self.engine) as s:
            return list(s.scalars(q))

    # API keys (fakelens keys create/list/revoke); the server authenticates requests with verify_key.
    def create_key(self, name: str) -> str:
        """A new key named `name` (no other unrevoked key may have that name); returns the key itself,
        which is stored only as a salted hash and cannot be shown again. ValueError for a bad or taken name."""
        if not _keys.NAME_RE.fullmatch(name):
            raise ValueError(f"a key name is 1-64 letters, digits or ._@- characters, not {name!r}")
        key_id, secret, token = _keys.new_token()
        salt = secrets.token_bytes(16)
        with Session(self.engine) as s:
            if s.scalar(select(ApiKeyRow.id).where(ApiKeyRow.name == name, ApiKeyRow.revoked.is_(None))):
                raise ValueError(f"a key named {name!r} exists already (revoke it first)")
            s.add(ApiKeyRow(name=name, key_id=key_id, salt=salt, digest=_keys.hash_secret(secret, salt),
                            created=datetime.now(timezone.utc)))
            s.commit()
        return token

    def list_keys(self) -> list[_keys.ApiKey]:
        """Every key ever made, oldest first (revoked ones too)."""
        with Session(self.engine) as s:
            return [r.to_key() for r in s.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id))]

    def has_keys(self) -> bool:
        """Whether any key was ever made: then the server asks for one (revoking the last key does not open it)."""
        with Session(self.engine) as s:
            return s.scalar(select(ApiKeyRow.id).limit(1)) is not None

    def revoke_key(self, name: str) -> int:
        """Revoke the unrevoked key named `name`; returns how many (0: no such key)."""
        with Session(self.engine) as s:
            rows = list(s.scalars(select(ApiKeyRow).where(ApiKeyRow.name == name, ApiKeyRow.revoked.is_(None))))
            for r in rows:
                r.revoked = datetime.now(timezone.utc)
            s.commit()
            return len(rows)

    def find_key(self, token: str) -> tuple[_keys.ApiKey, bytes, bytes] | None:
        """The unrevoked key a token names by its public id, with its salt and hash (the caller checks the
        secret: see `verify_key`); None for a malformed, unknown or revoked key."""
        parsed = _keys.parse_token(token)
        if parsed is None:
            return None
        with Session(self.engine) as s:
            row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == parsed[0]))
            if row is None or row.revoked is not None:
                return None
            return row.to_key(), row.salt, row.digest

    def verify_key(self, token: str) -> _keys.ApiKey | None:
        """The unrevoked key `token` is, or None (its secret checked against the salted hash in constant time)."""
        found = self.find_key(token)
        if found is None or not _keys.secret_matches(_keys.parse_token(token)[1], found[1], found[2]):
            return None
        return found[0]

    def seen(self, sha256: str) -> list[dict]:
        """Earlier analyses of the same bytes, newest first."""
        return self.seen_many([sha256])[sha256]

    def seen_many(self, digests: list[str]) -> dict[str, list[dict]]:
        """`seen` for several digests in one query: {sha256: rows, newest first}."""
        found: dict[str, list[dict]] = {d: [] for d in digests}
        q = select(AnalysisRow).where(AnalysisRow.sha256.in_(set(digests))).order_by(AnalysisRow.id.desc())
        with Session(self.engine) as s:
            for r in s.scalars(q):
                found[r.sha256].append(r.to_dict())
        return found

    def add_feedback(self, analysis_id: int, clarity: int, helpfulness: int, agree: bool | None = None,
                     comment: str = "") -> int:
        """Store a rating (1-5 each) of an analysis; ValueError for an unknown analysis or a rating out of range."""
        if not (1 <= clarity <= 5 and 1 <= helpfulness <= 5):
            raise ValueError("clarity and helpfulness are ratings from 1 to 5")
        with Session(self.engine) as s:
            if s.get(AnalysisRow, analysis_id) is None:
                raise LookupError(f"no analysis {analysis_id}")
            row = FeedbackRow(analysis_id=analysis_id, created=datetime.now(timezone.utc), clarity=clarity,
                              helpfulness=helpfulness, agree=agree, comment=comment[:4000])
            s.add(row)
            s.commit()
            return row.id

    def feedback(self) -> list[dict]:
        """Every rating with the methods whose maps the reader saw (from the analysis record)."""
        q = select(FeedbackRow, AnalysisRow).join(AnalysisRow, FeedbackRow.analysis_id == AnalysisRow.id)
        out = []
        with Session(self.engine) as s:
            for fb, a in s.execute(q):
                shown = (a.record or {}).get("explanations") or []
                methods = sorted({m for e in shown for m in e.get("methods_run", [e.get("method")]) if m})
                out.append({"analysis": a.id, "label": a.label, "methods": methods, "clarity": fb.clarity,
                            "helpfulness": fb.helpfulness, "agree": fb.agree, "comment": fb.comment,
                            "created": fb.created.isoformat()})
        return out

    def list(self, limit: int = 50, label: str | None = None, owner: int | None | object = ...,
             search: str | None = None) -> list[dict]:
        """Newest first; with `owner` only theirs, with `search` only those whose upload name contains it."""
        q = select(AnalysisRow).order_by(AnalysisRow.id.desc()).limit(limit)
        if label:
            q = q.where(AnalysisRow.label == label)
        if owner is not ...:
            q = q.where(_owned(owner))
        if search:
            q = q.where(func.lower(AnalysisRow.filename).contains(search.lower(), autoescape=True))
        with Session(self.engine) as s:
            return [r.to_dict() for r in s.scalars(q)]


def _owned(owner: int | None):
    return AnalysisRow.owner.is_(None) if owner is None else AnalysisRow.owner == owner


def remove_files(row: dict) -> None:
    """Delete what fakelens stored for an analysis under the data directory (never anything outside it)."""
    root = data_dir().resolve()
    paths = [row.get("report"), row.get("thumbnail")]
    stored = Path(row["path"]).resolve() if row.get("path") else None
    if stored is not None and stored.is_relative_to(root / "uploads"):  # an upload, not someone's own file
        paths += [str(stored), str(root / "artifacts" / stored.stem)]  # and the web worker's explanation maps
    for p in filter(None, paths):
        p = Path(p).resolve()
        if not p.is_relative_to(root) or p == root:
            continue
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
