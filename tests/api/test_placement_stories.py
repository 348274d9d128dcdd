"""Placement's HTTP surface as declarative stories (tests/api/placement_stories/*.yaml).

Each story gets a cloud of its own, so that searches (candidates, listings) see only
the providers that story made.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.conftest import start_cloud
from tests.api.placement_story import run_story

STORIES = sorted((Path(__file__).parent / "placement_stories").glob("*.yaml"))


@pytest.mark.parametrize("story", STORIES, ids=[s.stem for s in STORIES])
async def test_story(story: Path, tmp_path: Path) -> None:
    cloud, process = await start_cloud(tmp_path)
    try:
        async with cloud.client("placement") as client:
            await run_story(story, client, await cloud.admin_token())
    finally:
        await process.bus.close()
        await process.db.close()
