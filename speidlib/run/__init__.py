"""The run directory: :class:`Run` (paths, step records, artifacts, manifest, provenance).

- :class:`speidlib.run.Run`: one run directory (:mod:`speidlib.run.directory`);
- :mod:`speidlib.run.records`: one typed record per step in ``RUN/config.json``;
- :mod:`speidlib.run.provenance`: the one check "this artifact was made from
  these inputs with these parameters";
- :mod:`speidlib.run.lock`: one writer at a time (:func:`run_lock`, :func:`locked`);
- :mod:`speidlib.run.artifacts`: the scored-pair writers (CSV, BEDPE).

Loading a run's model is :func:`speidlib.model.load.load_run_model`.
"""
from speidlib.run.artifacts import BEDPE_COLUMNS, to_bedpe
from speidlib.run.directory import Run
from speidlib.run.lock import locked, run_lock
from speidlib.run.provenance import check as check_provenance
from speidlib.run.provenance import reason as provenance_reason
from speidlib.run.records import (
    DATASET_SHA256,
    MODEL_SHA256,
    EvaluateRecord,
    MotifsRecord,
    PrepareRecord,
    ScoreRecord,
    StepRecord,
    TrainRecord,
)

__all__ = ["BEDPE_COLUMNS", "DATASET_SHA256", "MODEL_SHA256", "EvaluateRecord", "MotifsRecord",
           "PrepareRecord", "Run", "ScoreRecord", "StepRecord", "TrainRecord", "check_provenance",
           "locked", "provenance_reason", "run_lock", "to_bedpe"]
