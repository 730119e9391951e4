"""One of several processes writing to a shared store at once (see test_multiprocess.py)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tests import netguard

netguard.install()

import weave  # noqa: E402

from voicejudge import Settings, close_tracking, init_tracking  # noqa: E402


class SharedRubric(weave.Object):
    criteria: list[str]


@weave.op
def rank_audio(worker: int, index: int) -> dict:
    return {"worker": worker, "index": index}


def main(home: str, worker: int, go_file: str, calls: int, versions: int) -> None:
    client = init_tracking(project="shared", backend="local", settings=Settings(home=Path(home)))
    while not Path(go_file).exists():
        time.sleep(0.005)
    call_ids, digests = [], []
    every = max(1, calls // versions)
    for index in range(calls):
        _, call = rank_audio.call(worker, index)
        call.feedback.add("voicejudge.test", {"worker": worker, "index": index})
        call_ids.append(call.id)
        if index % every == 0 and len(digests) < versions:
            ref = weave.publish(SharedRubric(criteria=[f"{worker}-{index}"]), name="shared-rubric")
            digests.append(ref.digest)
    client.flush()
    close_tracking()
    print(json.dumps({"call_ids": call_ids, "digests": digests}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
