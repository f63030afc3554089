"""OnDemandModel in process: one load for concurrent first requests; unload frees the model."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from typing import Any

from siklus.serving.serverless import OnDemandModel


class _Model:
    """Stands in for a LoadedModel: what matters here is identity and lifetime."""


def test_concurrent_first_requests_share_one_load_and_all_count_as_cold() -> None:
    loads: list[float] = []

    def load() -> Any:
        time.sleep(0.2)  # a slow load: the other requests arrive while it runs
        return _Model()

    holder = OnDemandModel(load, idle_timeout=60, on_load=loads.append)
    got: list[tuple[Any, float | None]] = []

    def request() -> None:
        model, cold = holder.acquire()
        got.append((model, cold))
        holder.release()

    threads = [threading.Thread(target=request) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    holder.close()
    assert len(loads) == 1 and loads[0] >= 200
    assert len({id(model) for model, _ in got}) == 1
    assert all(cold == loads[0] for _, cold in got)  # each waited for that load
    _, cold = holder.acquire()
    assert cold is None  # warm now
    holder.release()


def test_idle_model_is_unloaded_and_freed_but_not_while_in_use() -> None:
    unloads: list[bool] = []
    holder = OnDemandModel(_Model, idle_timeout=0.05, on_unload=lambda: unloads.append(True))
    holder.close()  # drive unloading by hand, not by the background thread
    model, cold = holder.acquire()
    assert cold is not None
    ref = weakref.ref(model)
    time.sleep(0.1)
    assert not holder.unload_if_idle()  # a request is in flight
    holder.release()
    del model
    assert not holder.unload_if_idle()  # just released: not idle long enough
    time.sleep(0.1)
    assert holder.unload_if_idle() and unloads == [True]
    gc.collect()
    assert ref() is None and not holder.loaded  # no reference left: memory released
    _, cold = holder.acquire()
    assert cold is not None  # loaded again on the next request
    holder.release()
