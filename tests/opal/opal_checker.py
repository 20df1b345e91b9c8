"""Run with ``.opal-venv/bin/python``: parse the PIP's OPAL JSON with the real opal-common models.

Usage: ``opal_checker.py CASES.json``. CASES maps a model name (``DataSourceConfig``,
``ServerDataSourceConfig``, ``DataUpdate``) to a list of JSON documents. For each
document it prints one line of JSON: ``{"model", "index", "ok", "error"?, "parsed"?}``
where ``parsed`` is OPAL's own ``.dict()`` of what it understood (to compare with
what was sent). It also prints a ``DataUpdateReport`` as OPAL's client would send
it (``{"model": "report", ...}``) so the PIP's model can be checked the other way.
This file never imports the PIP (different pydantic major versions).
"""

import json
import sys

from opal_common.schemas.data import (
    DataEntryReport,
    DataSourceConfig,
    DataSourceEntry,
    DataUpdate,
    DataUpdateReport,
    ServerDataSourceConfig,
)

MODELS = {
    "DataSourceConfig": DataSourceConfig,
    "ServerDataSourceConfig": ServerDataSourceConfig,
    "DataUpdate": DataUpdate,
}


def check(model_name, index, document):
    """One line of result for one document."""
    try:
        parsed = MODELS[model_name].parse_obj(document)
    except Exception as err:  # any validation failure is a contract failure to report
        return {"model": model_name, "index": index, "ok": False, "error": str(err)}
    return {
        "model": model_name,
        "index": index,
        "ok": True,
        "parsed": json.loads(parsed.json(by_alias=True)),
    }


def sample_report():
    """A report like the one opal-client posts to an update's callbacks."""
    entry = DataSourceEntry(
        url="http://pip/opal/pip-data/identity/users",
        topics=["pip_identity"],
        dst_path="/pip/identity/users",
    )
    report = DataUpdateReport(
        update_id="u-1",
        reports=[DataEntryReport(entry=entry, fetched=True, saved=True, hash="abc")],
    )
    return json.loads(report.json())


def main():
    with open(sys.argv[1]) as handle:
        cases = json.load(handle)
    for model_name, documents in cases.items():
        for index, document in enumerate(documents):
            print(json.dumps(check(model_name, index, document)))
    print(json.dumps({"model": "report", "ok": True, "parsed": sample_report()}))


if __name__ == "__main__":
    main()
