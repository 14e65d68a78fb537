"""The history of analyses, in SQLite by default (any SQLAlchemy URL, e.g. PostgreSQL, works).

One data directory holds the database, uploads and artifacts: FAKELENS_DATA_DIR when set,
otherwise the user's data directory (platformdirs). The CLI, the web app and batch scans share it.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from platformdirs import user_data_dir
from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from fakelens.records import Analysis


def data_dir() -> Path:
    """FAKELENS_DATA_DIR, else the platform's user data directory for fakelens (created if missing)."""
    d = Path(os.environ.get("FAKELENS_DATA_DIR") or user_data_dir("fakelens"))
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

    def to_dict(self) -> dict:
        return {"id": self.id, "created": self.created.isoformat(), "status": self.status, "path": self.path,
                "sha256": self.sha256, "kind": self.kind, "label": self.label, "score": self.score,
                "model": self.model, "report": self.report, "result": self.record}


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

    def add(self, analysis: Analysis | dict, sha256: str | None = None, report: str | None = None) -> int:
        """Store a finished analysis (an Analysis, or its JSON record as a scan writes it); returns its id."""
        rec = json.loads(json.dumps(analysis if isinstance(analysis, dict) else analysis.to_dict()))
        row = AnalysisRow(created=datetime.now(timezone.utc), status="failed" if rec["label"] == "error" else "done",
                          path=rec["path"], sha256=sha256, kind=rec.get("kind"), label=rec["label"],
                          score=rec.get("score"), model=rec.get("model"), report=report, record=rec)
        with Session(self.engine) as s:
            s.add(row)
            s.commit()
            return row.id

    def create(self, path: str, sha256: str | None = None) -> int:
        """A queued analysis (the web app's upload), to be finished by `finish`."""
        row = AnalysisRow(created=datetime.now(timezone.utc), status="queued", path=path, sha256=sha256)
        with Session(self.engine) as s:
            s.add(row)
            s.commit()
            return row.id

    def set_status(self, id: int, status: str) -> None:
        with Session(self.engine) as s:
            s.get(AnalysisRow, id).status = status
            s.commit()

    def finish(self, id: int, analysis: Analysis, report: str | None = None) -> None:
        with Session(self.engine) as s:
            row = s.get(AnalysisRow, id)
            row.status = "failed" if analysis.label == "error" else "done"
            row.kind, row.label, row.score, row.model = analysis.kind, analysis.label, analysis.score, analysis.model
            row.report, row.record = report, json.loads(json.dumps(analysis.to_dict()))
            s.commit()

    def get(self, id: int) -> dict | None:
        with Session(self.engine) as s:
            row = s.get(AnalysisRow, id)
            return row.to_dict() if row else None

    def seen(self, sha256: str) -> list[dict]:
        """Earlier analyses of the same bytes, newest first."""
        q = select(AnalysisRow).where(AnalysisRow.sha256 == sha256).order_by(AnalysisRow.id.desc())
        with Session(self.engine) as s:
            return [r.to_dict() for r in s.scalars(q)]

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

    def list(self, limit: int = 50, label: str | None = None) -> list[dict]:
        """Newest first."""
        q = select(AnalysisRow).order_by(AnalysisRow.id.desc()).limit(limit)
        if label:
            q = q.where(AnalysisRow.label == label)
        with Session(self.engine) as s:
            return [r.to_dict() for r in s.scalars(q)]
