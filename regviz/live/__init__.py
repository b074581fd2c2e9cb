"""Custom trainings for a server with many readers, run in worker processes.

`service`: the bounded queue, the shared jobs and the result cache (`TrainingService`);
`jobs`: a job's state and the `JobStatus` a reader draws; `pool`: one generation of
worker processes; `tables`: the small tables the live charts draw. What runs inside
a worker is `regviz.worker`. Nothing here imports torch or Streamlit.
"""

from regviz.live.jobs import (
    ACTIVE,
    CANCELLED,
    DIVERGED,
    DONE,
    FAILED,
    QUEUED,
    RUNNING,
    STARTING,
    Estimate,
    JobStatus,
    ServiceBusy,
    Ticket,
    TrainingFailed,
    training_steps,
)
from regviz.live.service import TrainingService

__all__ = [
    "ACTIVE",
    "CANCELLED",
    "DIVERGED",
    "DONE",
    "FAILED",
    "QUEUED",
    "RUNNING",
    "STARTING",
    "Estimate",
    "JobStatus",
    "ServiceBusy",
    "Ticket",
    "TrainingFailed",
    "TrainingService",
    "training_steps",
]
