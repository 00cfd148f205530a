"""The supervisor restarts a task that dies, and the task board shows it down meanwhile."""

from __future__ import annotations

import asyncio

from vigie.supervisor import Backoff, TaskBoard, supervise


def test_a_dead_task_is_shown_down_until_it_runs_again() -> None:
    board = TaskBoard()
    seen: list[list[str]] = []
    failures: list[str] = []
    runs = 0

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        seen.append(board.down())
        if runs <= 2:
            raise RuntimeError(f"boom {runs}")
        await asyncio.sleep(10)

    async def main() -> None:
        task = asyncio.create_task(
            supervise(
                "ingest",
                flaky,
                backoff=Backoff(first=0.05, cap=0.05),
                on_failure=lambda name, exc: failures.append(f"{name}: {exc}"),
                board=board,
            )
        )
        await asyncio.sleep(0.02)
        assert board.down() == ["ingest"], "between the failure and the restart"
        await asyncio.sleep(0.2)
        assert board.down() == [], "running again"
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    assert runs == 3
    assert failures == ["ingest: boom 1", "ingest: boom 2"]
    assert seen == [[], [], []], "a running task is never shown down"
