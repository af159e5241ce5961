"""Compliance in the flows: re-evaluate after every batch, and once a day on a schedule.

Dates move even when nothing else does (a policy expires overnight), hence the daily
``compliance-daily`` deployment (flow ``coi-compliance-daily``) that ``coi serve`` runs at
``COI_COMPLIANCE_CRON``.  The batches (``coi ingest``, the inbox watcher) end with
:func:`evaluate_compliance` for their own certificates' vendors, so a certificate that makes
a vendor deficient is noticed within the batch that brought it; every watcher pass also
retries the notices that are due.  A compliance problem
(a broken profile file, a webhook that is down) is logged and never fails a batch: the
certificates are stored either way.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task

from compliance.service import refresh_and_notify
from models.db import make_engine, migrate


def _log(logger: Any, result: dict[str, Any]) -> None:
    if result["error"]:
        logger.warning("compliance not evaluated: %s", result["error"])
    for w in result["warnings"]:
        logger.warning("%s", w)
    for c in result["changes"]:
        logger.info("vendor %s: %s -> %s", c["vendor"], c["previous"] or "new", c["status"])
    if result["sent"] or result["failed"] or result["pending"]:
        logger.info("notices: %d sent, %d failed, %d still pending", result["sent"],
                    result["failed"], result["pending"])


@task(name="evaluate-compliance")
def evaluate_compliance(db_url: str, documents: list[int]) -> dict[str, Any] | None:
    """The end of a batch: the vendors of the certificates in ``documents`` (none: only the
    notices that are due are sent), one try per notice.  Never raises (a batch's
    certificates are stored already)."""
    logger = get_run_logger()
    try:
        result = refresh_and_notify(db_url, documents=documents, quick=True,
                                    evaluate=bool(documents))
    except Exception as exc:
        logger.error("compliance evaluation failed: %r", exc)
        return None
    _log(logger, result)
    return result


@flow(name="coi-compliance-daily", persist_result=False, log_prints=False)
def compliance_flow(db_url: str) -> dict[str, Any]:
    """Re-evaluate every vendor as of today and send the notices of any change."""
    engine = make_engine(db_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    result = refresh_and_notify(db_url)
    _log(get_run_logger(), result)
    return result
