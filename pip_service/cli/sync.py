"""``pip-service sync CONNECTION``: one sync now, with a live progress display."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from pip_service.cli.admin import resolve_connection
from pip_service.cli.base import FAILED, app, err, fail, load_settings, out, run, started
from pip_service.sync.engine import RequestedMode, SyncResult
from pip_service.sync.progress import SyncProgress


class Mode(StrEnum):
    """How much to sync."""

    AUTO = "auto"
    FULL = "full"
    INCREMENTAL = "incremental"


_REQUESTED: dict[Mode, RequestedMode] = {
    Mode.AUTO: None,
    Mode.FULL: "full",
    Mode.INCREMENTAL: "incremental",
}


@app.command()
def sync(
    connection: Annotated[str, typer.Argument(help="Connection name or id")],
    mode: Annotated[Mode, typer.Option(help="auto: incremental when possible")] = Mode.AUTO,
    force: Annotated[
        bool,
        typer.Option(
            help="Apply a full run even if it deletes more than PIP_SYNC_MAX_DELETE_FRACTION "
            "of a stream's records"
        ),
    ] = False,
) -> None:
    """Sync one connection now and rebuild the documents it feeds."""
    result: SyncResult = run(_sync(connection, _REQUESTED[mode], force))
    if result.status != "success":
        reason = f"[{result.error_code}] {result.error}"
        raise fail(f"sync of {connection!r} {result.status}: {reason}", FAILED)
    out.print(
        f"sync of {connection!r} succeeded (run {result.run_id}, {result.mode}): "
        f"{result.fetched} fetched, {result.created} created, {result.updated} updated, "
        f"{result.unchanged} unchanged, {result.deleted} deleted"
    )


async def _sync(reference: str, mode: RequestedMode, force: bool) -> SyncResult:
    async with started(load_settings()) as runtime:
        async with runtime.sessions() as session:
            found = await resolve_connection(session, reference)
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(
            *columns, console=err, transient=True, disable=not err.is_terminal
        ) as progress:
            task = progress.add_task(f"syncing {found.name}", total=None)

            def show(figures: SyncProgress) -> None:
                text = (
                    f"syncing {found.name}: {figures.stream} · {figures.records:,} records · "
                    f"{figures.pages} pages · {figures.records_per_second:,.0f}/s"
                )
                progress.update(task, description=text)

            return await runtime.run_connection(
                found.id, mode=mode, trigger="cli", on_progress=show, force=force
            )
