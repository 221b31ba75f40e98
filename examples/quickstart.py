"""typedj in one file: a small calcium-imaging pipeline, declared, filled, computed, queried.

Run it with ``python examples/quickstart.py`` (or ``bash examples/run.sh`` on a fresh
machine). With no database configured it uses the embedded one, ``typedj.db`` in the
working directory; set ``TYPEDJ_DATABASE_URL=mysql://user:pass@host:port`` to run the
same code on a MySQL/MariaDB server.

The pipeline: subjects have imaging sessions; each session has scans recorded to files;
``Trace`` imports each scan's fluorescence (cells x frames) from its file; ``Activity``
detects calcium events in every cell, once per set of analysis parameters, with one
``Activity.Cell`` part row per cell.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np

import typedj as tj
from typedj import Attr, Blob, Computed, Imported, Key, Lookup, Manual, Part, Ref

started = time.perf_counter()
RAW = Path(tempfile.mkdtemp(prefix="quickstart-raw-"))  # where the "microscope" writes its files

schema = tj.Schema("quickstart")
if schema.list_tables():  # a previous run: start again from nothing
    schema.drop()
    schema = tj.Schema("quickstart")


@schema
class Subject(Manual):
    """A mouse."""

    subject_id: Key[int]
    sex: Literal["M", "F", "U"] = "U"
    date_of_birth: date
    line: str = Attr(max_length=32, comment="transgenic line")


@schema
class Session(Manual):
    """One imaging day."""

    subject: Key[Ref[Subject]]
    session_id: Key[tj.int16]
    session_date: date
    experimenter: str = Attr(max_length=32)


@schema
class Scan(Manual):
    """A two-photon scan of one field of view, written to a file by the microscope."""

    session: Key[Ref[Session]]
    scan_id: Key[tj.int16]
    frame_rate: float = Attr(comment="Hz")
    depth: tj.float32 = Attr(comment="microns below the surface")
    raw_file: str = Attr(max_length=255)


@schema
class AnalysisParams(Lookup):
    """Event detection settings."""

    params_id: Key[tj.int16]
    threshold: float = Attr(comment="z-score of dF/F that starts an event")
    min_gap: float = Attr(comment="seconds between events")
    contents = [(1, 2.5, 0.5), (2, 3.5, 1.0)]


@schema
class Trace(Imported):
    """Fluorescence of every cell of a scan, imported from the scan's file."""

    scan: Key[Ref[Scan]]
    n_cells: tj.int32
    fluorescence: Blob[np.ndarray] = Attr(comment="cells x frames")

    def make(self, key: dict[str, object]) -> None:
        path = (Scan & key).fetch1("raw_file")
        data = np.load(path)
        self.insert1({**key, "n_cells": data.shape[0], "fluorescence": data})


@schema
class Activity(Computed):
    """Calcium events of every cell of a scan, for one set of analysis parameters."""

    trace: Key[Ref[Trace]]
    params: Key[Ref[AnalysisParams]]
    n_events: tj.int32
    mean_rate: float = Attr(comment="events per minute, averaged over cells")

    class Cell(Part):
        activity: Key[Ref[Activity]]
        cell_id: Key[tj.int32]
        n_events: tj.int32
        event_rate: float = Attr(comment="events per minute")
        peak_dff: float
        onsets: Blob[np.ndarray] = Attr(comment="frame of each event onset")

    def make(self, key: dict[str, object]) -> None:
        fluorescence = (Trace & key).fetch1("fluorescence")
        rate = (Scan & key).fetch1("frame_rate")
        threshold, min_gap = (AnalysisParams & key).fetch1("threshold", "min_gap")
        baseline = np.percentile(fluorescence, 20, axis=1, keepdims=True)
        dff = (fluorescence - baseline) / baseline
        z = (dff - np.median(dff, axis=1, keepdims=True)) / dff.std(axis=1, keepdims=True)
        minutes = fluorescence.shape[1] / rate / 60
        cells = []
        for cell_id, row in enumerate(z):
            onsets = detect_onsets(row, threshold, int(min_gap * rate))
            cells.append({
                **key, "cell_id": cell_id, "n_events": len(onsets), "event_rate": len(onsets) / minutes,
                "peak_dff": float(dff[cell_id].max()), "onsets": onsets,
            })
        total = sum(c["n_events"] for c in cells)
        mean_rate = float(np.mean([c["event_rate"] for c in cells]))
        self.insert1({**key, "n_events": total, "mean_rate": mean_rate})
        Activity.Cell.insert(cells)


def detect_onsets(z: np.ndarray, threshold: float, gap: int) -> np.ndarray:
    """Frames where ``z`` rises above ``threshold``, at least ``gap`` frames apart."""
    rising = np.flatnonzero((z[1:] >= threshold) & (z[:-1] < threshold)) + 1
    kept: list[int] = []
    for frame in rising:
        if not kept or frame - kept[-1] >= gap:
            kept.append(int(frame))
    return np.array(kept, dtype=np.int64)


def record(path: Path, rng: np.random.Generator, n_cells: int, frames: int, rate: float) -> None:
    """What the microscope writes: baseline, noise and decaying calcium transients per cell."""
    kernel = np.exp(-np.arange(int(2 * rate)) / (0.6 * rate))
    spikes = rng.random((n_cells, frames)) < rng.uniform(0.002, 0.02, (n_cells, 1))
    transients = np.array([np.convolve(s, kernel)[:frames] for s in spikes])
    data = 100 + 60 * transients + rng.normal(0, 4, (n_cells, frames))
    np.save(path, data.astype(np.float32))


# -- data entry ---------------------------------------------------------------------

rng = np.random.default_rng(2024)
Subject.insert([
    {"subject_id": 1, "sex": "F", "date_of_birth": date(2024, 1, 15), "line": "GCaMP6s"},
    {"subject_id": 2, "sex": "M", "date_of_birth": date(2024, 2, 3), "line": "GCaMP6s"},
    {"subject_id": 3, "sex": "F", "date_of_birth": date(2024, 2, 20), "line": "GCaMP8m"},
])
sessions, scans = [], []
for subject_id in (1, 2, 3):
    for session_id in (1, 2):
        sessions.append({"subject_id": subject_id, "session_id": session_id,
                         "session_date": date(2024, 6, subject_id * 2 + session_id), "experimenter": "ana"})
        for scan_id in (1, 2):
            path = RAW / f"scan_{subject_id}_{session_id}_{scan_id}.npy"
            record(path, rng, n_cells=16, frames=1800, rate=15.0)
            scans.append({"subject_id": subject_id, "session_id": session_id, "scan_id": scan_id,
                          "frame_rate": 15.0, "depth": 150.0 + 50 * scan_id, "raw_file": str(path)})
Session.insert(sessions)
Scan.insert(scans)
bad_row = {**scans[0], "scan_id": 3, "frame_rate": "fast"}  # literal in insert1: a plugin error
try:
    Scan.insert1(bad_row)
except tj.ValidationError as error:
    print(f"refused as expected: {error.problems[0]}")

# -- computation ----------------------------------------------------------------------

Trace.populate(display_progress=True)
Activity.populate(display_progress=True)
shutil.rmtree(RAW)

# -- queries --------------------------------------------------------------------------

print()
print(f"{len(Subject)} subjects, {len(Session)} sessions, {len(Scan)} scans, "
      f"{len(Trace)} traces, {len(Activity)} activity rows, {len(Activity.Cell)} cell rows")

print("\nMost active cells (a join of four tables, restricted):")
active = (Activity.Cell * Scan * Session * Subject) & {"params_id": 1} & "event_rate > 8"
for row in active.to_dicts(order_by=["event_rate DESC", "KEY"], limit=5):
    print(f"  subject {row['subject_id']} ({row['line']}) session {row['session_id']} "
          f"scan {row['scan_id']} cell {row['cell_id']:2d}: {row['event_rate']:.2f} events/min")

print("\nEvents per subject and parameter set (an aggregation):")
per_subject = tj.U("subject_id", "params_id").aggr(
    Activity.Cell, n_cells="count(*)", events="sum(n_events)", mean_rate="avg(event_rate)"
)
for row in per_subject.to_dicts(order_by=["params_id", "subject_id"]):
    print(f"  subject {row['subject_id']} params {row['params_id']}: {row['n_cells']} cells, "
          f"{row['events']} events, {row['mean_rate']:.3f} events/min")

print("\nSubjects with their number of scans:")
print(Subject.aggr(Scan, "line", n_scans="count(*)"))

totals = {p: int(sum((Activity & {"params_id": p}).fetch("n_events"))) for p in (1, 2)}
print(f"\nevents detected: params 1: {totals[1]}, params 2: {totals[2]}")

diagram_class = getattr(tj, "Diagram", None)
if diagram_class is not None and shutil.which("dot"):
    try:
        saved = diagram_class(schema).save("quickstart.svg")
        print(f"pipeline diagram written to {saved}")
    except tj.MissingDependencyError as exc:  # the diagrams extra is not installed
        print(f"pipeline diagram skipped ({exc})")
else:
    print("pipeline diagram skipped (install graphviz to draw it)")

print(f"database: {schema.connection.url}")
print(f"done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
