"""Micro-batching in one worker (in-process, no socket) and the row checks behind it."""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import time
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from siklus.exceptions import InvalidInput
from siklus.serving import create_app
from siklus.serving._rows import Part, RowPlan
from siklus.training import LoadedModel, conform, infer_signature


@pytest.fixture
def model(bc_xy: tuple[pd.DataFrame, pd.Series], bc_pipeline: Pipeline) -> LoadedModel:
    features, _ = bc_xy
    manifest = {"input_signature": infer_signature(features), "classes": [0, 1]}
    return LoadedModel("m-1", copy.deepcopy(bc_pipeline), manifest)


def _bodies(features: pd.DataFrame, helpers, n: int) -> list[bytes]:
    return [json.dumps(helpers.records(features.iloc[[i]])[0]).encode() for i in range(n)]


async def _invoke_all(invoker, bodies: list[bytes]) -> list[tuple[int, dict]]:
    headers = {"content-type": "application/json"}
    answers = await asyncio.gather(
        *(invoker.invoke(body, "application/json", headers) for body in bodies)
    )
    return [(status, json.loads(payload)) for status, payload, _ in answers]


def test_concurrent_single_rows_share_one_predict_call(
    model: LoadedModel, bc_xy, bc_pipeline: Pipeline, helpers
) -> None:
    features, _ = bc_xy
    invoker = create_app(model, max_payload_bytes=2**20, endpoint_name="b").invoker
    final = model.estimator[-1]
    bodies = _bodies(features, helpers, 24)
    with mock.patch.object(final, "predict_proba", wraps=final.predict_proba) as proba:
        answers = asyncio.run(_invoke_all(invoker, bodies))
    assert proba.call_count < len(bodies)  # one call for all 24 here
    assert invoker.batcher.calls == proba.call_count
    for i, (status, body) in enumerate(answers):
        row = features.iloc[[i]]
        assert status == 200
        assert body["predictions"] == bc_pipeline.predict(row).tolist()
        np.testing.assert_allclose(body["probabilities"], bc_pipeline.predict_proba(row), rtol=1e-9)


def test_one_request_at_a_time_is_predicted_alone(model: LoadedModel, bc_xy, helpers) -> None:
    features, _ = bc_xy
    invoker = create_app(model, max_payload_bytes=2**20, endpoint_name="b").invoker

    async def one_by_one() -> None:
        for body in _bodies(features, helpers, 5):
            status, _, _ = await invoker.invoke(body, "application/json", {})
            assert status == 200

    asyncio.run(one_by_one())
    assert invoker.batcher.calls == 5


def test_a_bad_request_in_a_burst_fails_alone(
    model: LoadedModel, bc_xy, bc_pipeline: Pipeline, helpers
) -> None:
    features, _ = bc_xy
    invoker = create_app(model, max_payload_bytes=2**20, endpoint_name="b").invoker
    bodies = _bodies(features, helpers, 6)
    bodies[2] = b'{"mean radius": "x"}'
    answers = asyncio.run(_invoke_all(invoker, bodies))
    assert [status for status, _ in answers] == [200, 200, 400, 200, 200, 200]
    assert "Missing column(s)" in answers[2][1]["error"]["message"]
    assert answers[5][1]["predictions"] == bc_pipeline.predict(features.iloc[[5]]).tolist()


def test_max_batch_rows_splits_a_burst(model: LoadedModel, bc_xy, helpers) -> None:
    features, _ = bc_xy
    app = create_app(model, max_payload_bytes=2**20, endpoint_name="b")
    app.invoker.batcher.max_rows = 4
    answers = asyncio.run(_invoke_all(app.invoker, _bodies(features, helpers, 10)))
    assert all(status == 200 for status, _ in answers)
    assert app.invoker.batcher.calls == 3  # 4 + 4 + 2 rows


def test_fast_and_general_paths_give_the_same_frame(bc_xy, helpers) -> None:
    features, _ = bc_xy
    plan = RowPlan(infer_signature(features))
    sample = features.iloc[:40]
    doc = helpers.records(sample)
    rows = plan.fast_rows(doc)
    assert rows is not None  # numbers, text and nulls where nullable: all plainly valid
    fast = plan.frame([Part(rows=rows)])
    general = plan.conform(pd.DataFrame(doc))
    reference = conform(sample.reset_index(drop=True), infer_signature(features))
    pd.testing.assert_frame_equal(fast, general)
    pd.testing.assert_frame_equal(fast, reference)
    mixed = plan.frame([Part(rows=rows[:3]), Part(frame=general.iloc[3:10])])
    pd.testing.assert_frame_equal(mixed, reference.iloc[:10])


@pytest.mark.parametrize(
    ("value", "message"),
    [("1.5", None), (True, "must be a number"), (None, "has a missing value")],
)
def test_general_path_converts_or_refuses(value, message, bc_xy, helpers) -> None:
    features, _ = bc_xy
    plan = RowPlan(infer_signature(features))
    record = helpers.records(features.iloc[:1])[0]
    record["mean texture"] = value
    assert plan.fast_rows(record) is None  # not plainly valid: the general path decides
    if message is None:
        assert plan.conform(pd.DataFrame([record]))["mean texture"].tolist() == [1.5]
    else:
        with pytest.raises(InvalidInput, match=message):
            plan.conform(pd.DataFrame([record]))


def _slow(final, seconds: float, seen: list | None = None):
    """``final.predict_proba`` spending ``seconds`` of CPU first (a dear model), recording the
    thread and scikit-learn's ``assume_finite`` of each call in ``seen``."""
    import sklearn

    real = final.predict_proba

    def predict_proba(data):
        if seen is not None:
            seen.append((threading.current_thread().name, sklearn.get_config()["assume_finite"]))
        if (np.asarray(data)[:, 0] > 1000).any():  # a row the model itself cannot predict
            raise ValueError("the model cannot predict a scaled mean radius over 1000")
        end = time.thread_time() + seconds  # CPU, as a dear model spends it
        while time.thread_time() < end:
            pass
        return real(data)

    return predict_proba


def test_a_dear_model_is_predicted_off_the_event_loop(
    model: LoadedModel, bc_xy, bc_pipeline: Pipeline, helpers
) -> None:
    """A call over ``offload_s`` runs on the predict thread: the event loop stays free to
    take requests meanwhile, and they all go into the one call after it."""
    import sklearn

    features, _ = bc_xy
    invoker = create_app(model, max_payload_bytes=2**20, endpoint_name="b").invoker
    bodies = _bodies(features, helpers, 10)
    seen: list = []

    async def scenario() -> list[tuple[int, dict]]:
        headers = {"content-type": "application/json"}
        await invoker.invoke(bodies[0], "application/json", headers)  # measures the cost
        first = asyncio.ensure_future(invoker.invoke(bodies[1], "application/json", headers))
        await asyncio.sleep(0.02)
        assert not first.done()  # the loop ran while the 0.1 s call was under way
        rest = [invoker.invoke(b, "application/json", headers) for b in bodies[2:]]
        answers = await asyncio.gather(first, *rest)
        return [(status, json.loads(payload)) for status, payload, _ in answers]

    final = model.estimator[-1]
    with (
        sklearn.config_context(assume_finite=True),
        mock.patch.object(final, "predict_proba", side_effect=_slow(final, 0.1, seen)),
    ):
        answers = asyncio.run(scenario())
    assert invoker.batcher.calls == 3  # the first alone, the second alone, the 8 others
    assert [name.startswith("siklus-predict") for name, _ in seen] == [False, True, True]
    assert all(finite for _, finite in seen)  # the loop thread's settings carried over
    for i, (status, body) in enumerate(answers, start=1):
        assert status == 200
        assert body["predictions"] == bc_pipeline.predict(features.iloc[[i]]).tolist()


def test_a_failing_row_on_the_predict_thread_fails_alone(
    model: LoadedModel, bc_xy, bc_pipeline: Pipeline, helpers
) -> None:
    features, _ = bc_xy
    invoker = create_app(model, max_payload_bytes=2**20, endpoint_name="b").invoker
    invoker.batcher.offload_s = 0.0  # every call goes to the thread
    records = [helpers.records(features.iloc[[i]])[0] for i in range(6)]
    records[3]["mean radius"] = 1e6  # valid for the signature, refused by the model
    bodies = [json.dumps(r).encode() for r in records]
    final = model.estimator[-1]
    with mock.patch.object(final, "predict_proba", side_effect=_slow(final, 0.001)):
        answers = asyncio.run(_invoke_all(invoker, bodies))
    assert [status for status, _ in answers] == [200, 200, 200, 500, 200, 200]
    assert "mean radius over 1000" in answers[3][1]["error"]["message"]
    assert answers[5][1]["predictions"] == bc_pipeline.predict(features.iloc[[5]]).tolist()


class _Fatal(BaseException):
    """What ``except Exception`` does not catch (raised by a model on the predict thread)."""


class _Doubler:
    """A variant-like object: doubles each row's first value; ``fatal`` makes it raise."""

    def __init__(self, fatal: bool = False) -> None:
        self.name = "v"
        self.fatal = fatal
        self.threads: list[str] = []

    def predict(self, parts) -> dict[str, list]:
        self.threads.append(threading.current_thread().name)
        if self.fatal:
            raise _Fatal("the model gave up")
        return {"predictions": [row[0] * 2 for part in parts for row in part.rows]}


async def _settle(futures: list, seconds: float = 5.0) -> list:
    """Every future's outcome; a TimeoutError here is a request that would hang forever."""
    return await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), seconds)


def test_a_call_that_fails_as_a_whole_on_the_thread_fails_every_request() -> None:
    """Not only the first request of the call: none may be left waiting forever."""
    from siklus.serving import MicroBatcher

    batcher = MicroBatcher(512, offload_s=0.0)  # every call goes to the thread
    variant = _Doubler(fatal=True)

    async def scenario() -> list:
        futures = [batcher.submit(variant, Part(rows=[[float(i)]])) for i in range(3)]
        return await _settle(futures)

    outcomes = asyncio.run(scenario())
    assert [type(o) for o in outcomes] == [_Fatal, _Fatal, _Fatal]
    assert variant.threads and variant.threads[0].startswith("siklus-predict")


def test_a_predict_thread_that_cannot_start_leaves_no_request_waiting() -> None:
    """A broken thread pool (its initializer failed) is not the requests' fault: they
    are predicted on the event loop instead, now and afterwards."""
    import sklearn

    from siklus.serving import MicroBatcher

    batcher = MicroBatcher(512, offload_s=0.0)
    variant = _Doubler()
    real = sklearn.set_config

    def set_config(**kwargs):
        if threading.current_thread().name.startswith("siklus-predict"):
            raise RuntimeError("cannot set scikit-learn's config on this thread")
        return real(**kwargs)

    async def scenario() -> tuple[list, list]:
        first = await _settle([batcher.submit(variant, Part(rows=[[float(i)]])) for i in range(3)])
        later = await _settle([batcher.submit(variant, Part(rows=[[10.0 + i]])) for i in range(2)])
        return first, later

    with mock.patch.object(sklearn, "set_config", side_effect=set_config):
        first, later = asyncio.run(scenario())
    assert first == [{"predictions": [0.0]}, {"predictions": [2.0]}, {"predictions": [4.0]}]
    assert later == [{"predictions": [20.0]}, {"predictions": [22.0]}]
    assert variant.threads == ["MainThread", "MainThread"]  # each batch once, on the loop


def test_a_call_cancelled_before_it_ran_cancels_its_requests() -> None:
    """A call still queued when the predict thread's pool is shut down is cancelled: its
    requests are cancelled too (rather than left waiting), and later ones still run."""
    from siklus.serving import MicroBatcher

    batcher = MicroBatcher(512, offload_s=0.0)
    started = threading.Event()
    release = threading.Event()

    class _Slow(_Doubler):
        def predict(self, parts):
            started.set()
            release.wait(5)
            return super().predict(parts)

    first, second = _Slow(), _Doubler()
    second.name = "w"

    async def scenario() -> tuple[list, list]:
        running = batcher.submit(first, Part(rows=[[1.0]]))
        queued = [batcher.submit(second, Part(rows=[[float(i)]])) for i in range(2)]
        await asyncio.sleep(0)  # the flush: both calls go to the one predict thread
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
        assert batcher._executor is not None
        batcher._executor.shutdown(wait=False, cancel_futures=True)
        release.set()
        return await _settle([running]), await _settle(queued)

    done, cancelled = asyncio.run(scenario())
    assert done == [{"predictions": [2.0]}]
    assert all(isinstance(o, asyncio.CancelledError) for o in cancelled)


def test_a_dear_variant_waits_for_the_clients_of_its_last_call(
    model: LoadedModel, bc_xy, bc_pipeline: Pipeline, helpers
) -> None:
    """Clients sending one request at a time: after a call of 4 with 4 more arrived
    meanwhile, the 4 waiting linger until the first 4 clients are back and all 8 go in
    one call; when nobody comes back, the waiting requests go at the deadline."""
    features, _ = bc_xy
    invoker = create_app(model, max_payload_bytes=2**20, endpoint_name="b").invoker
    batcher = invoker.batcher
    batcher.max_linger_s = 10.0  # bounded by a quarter of the call's cost: 20 ms here
    sizes: list[int] = []
    batcher.on_batch = lambda rows, variant: sizes.append(rows)
    bodies = _bodies(features, helpers, 16)
    headers = {"content-type": "application/json"}

    def send(chunk: list[bytes]) -> list[asyncio.Future]:
        return [
            asyncio.ensure_future(invoker.invoke(b, "application/json", headers)) for b in chunk
        ]

    async def scenario() -> list:
        await invoker.invoke(bodies[0], "application/json", headers)  # measures the cost
        first = send(bodies[1:5])
        await asyncio.sleep(0.01)  # the call of 4 runs on the predict thread
        second = send(bodies[5:9])
        answered = await asyncio.gather(*first)
        assert batcher.lingering == {"primary"}  # 4 waiting, 8 expected
        rest = await asyncio.gather(*second, *send(bodies[9:13]))
        assert sizes == [1, 4, 8] and not batcher.lingering
        alone = await asyncio.gather(*send(bodies[13:15]))  # nobody else comes
        assert sizes == [1, 4, 8, 2]
        return [*answered, *rest, *alone]

    final = model.estimator[-1]
    with mock.patch.object(final, "predict_proba", side_effect=_slow(final, 0.08)):
        answers = asyncio.run(scenario())
    order = [*range(1, 5), *range(5, 9), *range(9, 13), 13, 14]
    for i, (status, payload, _) in zip(order, answers, strict=True):
        assert status == 200
        row = features.iloc[[i]]
        assert json.loads(payload)["predictions"] == bc_pipeline.predict(row).tolist()


def test_a_client_alone_never_waits(model: LoadedModel, bc_xy, helpers) -> None:
    """One request at a time: each call held one request and none arrived meanwhile, so
    the next request is predicted at once, however dear the model."""
    features, _ = bc_xy
    invoker = create_app(model, max_payload_bytes=2**20, endpoint_name="b").invoker
    batcher = invoker.batcher
    lingered: list[set[str]] = []

    async def one_by_one() -> None:
        for body in _bodies(features, helpers, 4):
            pending = asyncio.ensure_future(invoker.invoke(body, "application/json", {}))
            await asyncio.sleep(0.002)  # within the 5 ms a linger would last
            lingered.append(batcher.lingering)
            status, _, _ = await pending
            assert status == 200

    final = model.estimator[-1]
    with mock.patch.object(final, "predict_proba", side_effect=_slow(final, 0.02)):
        asyncio.run(one_by_one())
    assert batcher.calls == 4 and lingered == [set()] * 4


class _Dear(_Doubler):
    """A variant-like object spending ``seconds`` of CPU per call (a dear model)."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def predict(self, parts) -> dict[str, list]:
        end = time.thread_time() + self.seconds
        while time.thread_time() < end:
            pass
        return super().predict(parts)


async def _until(condition, seconds: float = 5.0) -> None:
    """Wait (in loop turns) until ``condition()`` holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.0005)


def test_a_linger_that_did_not_pay_is_not_repeated_at_once() -> None:
    """Open-loop traffic (each request from a new client): the clients of the last call
    do not come back, so lingering for them only adds wait. After a linger whose
    deadline passed with none of them back, the next chance to linger is let pass."""
    from siklus.serving import MicroBatcher

    batcher = MicroBatcher(512, max_linger_s=10.0)  # a quarter of the call: 10 ms here
    variant = _Dear(0.04)
    lingered: list[bool] = []

    async def scenario() -> list:
        first = await _settle([batcher.submit(variant, Part(rows=[[0.0]]))])  # the cost
        running = batcher.submit(variant, Part(rows=[[1.0]]))
        await _until(lambda: "v" in batcher._busy)
        answers = [first[0]]
        for value in (2.0, 3.0):  # one request arrives during each call, nobody after
            arrived = batcher.submit(variant, Part(rows=[[value]]))
            answers += await _settle([running])
            await asyncio.sleep(0)  # the flush after the call
            lingered.append(batcher.lingering == {"v"})
            await _until(lambda: "v" in batcher._busy)  # its call, after any linger
            running = arrived
        answers += await _settle([running])
        return answers

    answers = asyncio.run(scenario())
    assert answers == [{"predictions": [v * 2]} for v in (0.0, 1.0, 2.0, 3.0)]
    assert lingered == [True, False]  # waited for the first call's client once, in vain


class _EarlyTimers(asyncio.SelectorEventLoop):
    """An event loop whose timers may fire a little before their time, as uvloop's do
    (it rounds a delay to whole milliseconds)."""

    def call_at(self, when, callback, *args, context=None):
        return super().call_at(when - 0.003, callback, *args, context=context)


def test_a_linger_ends_when_its_timer_fires_even_early() -> None:
    """The waiting requests go when the linger's timer fires, whatever the loop's clock
    says then: they are not left waiting for a request that may never come."""
    from siklus.serving import MicroBatcher

    batcher = MicroBatcher(512, max_linger_s=10.0)  # 10 ms, the timer firing at 7 ms
    variant = _Dear(0.04)

    async def scenario() -> list:
        answers = await _settle([batcher.submit(variant, Part(rows=[[0.0]]))])  # the cost
        running = batcher.submit(variant, Part(rows=[[1.0]]))
        await _until(lambda: "v" in batcher._busy)
        arrived = batcher.submit(variant, Part(rows=[[2.0]]))
        answers += await _settle([running])
        await asyncio.sleep(0)
        assert batcher.lingering == {"v"}  # 1 waiting, 2 expected
        return answers + await _settle([arrived], 1.0)

    with asyncio.Runner(loop_factory=_EarlyTimers) as runner:
        answers = runner.run(scenario())
    assert answers == [{"predictions": [v * 2]} for v in (0.0, 1.0, 2.0)]


def test_cancelled_requests_are_not_predicted() -> None:
    """A request whose client gave up (its future cancelled) before its call is left
    out of the call; a call of only such requests is not made."""
    from siklus.serving import MicroBatcher

    batcher = MicroBatcher(512)
    variant = _Doubler()

    async def scenario() -> list:
        gone = [batcher.submit(variant, Part(rows=[[float(i)]])) for i in range(3)]
        for future in gone:
            future.cancel()
        await asyncio.sleep(0)
        assert variant.threads == [] and batcher.calls == 0
        gone = batcher.submit(variant, Part(rows=[[5.0]]))
        kept = batcher.submit(variant, Part(rows=[[6.0]]))
        gone.cancel()
        return await _settle([kept])

    assert asyncio.run(scenario()) == [{"predictions": [12.0]}]
    assert batcher.calls == 1


def test_a_fatal_error_on_the_event_loop_leaves_no_request_waiting() -> None:
    """A cheap variant's call (on the event loop) raising what ``except Exception`` does
    not catch fails its requests, and the other variants' requests of the same turn
    still get their answers."""
    from siklus.serving import MicroBatcher

    batcher = MicroBatcher(512)  # both cheap: predicted on the event loop
    fatal, fine = _Doubler(fatal=True), _Doubler()
    fine.name = "w"

    async def scenario() -> list:
        futures = [
            batcher.submit(fatal, Part(rows=[[1.0]])),
            batcher.submit(fine, Part(rows=[[2.0]])),
        ]
        futures.append(batcher.submit(fatal, Part(rows=[[3.0]])))
        return await _settle(futures, 1.0)

    outcomes = asyncio.run(scenario())
    assert [type(o) for o in outcomes] == [_Fatal, dict, _Fatal]
    assert outcomes[1] == {"predictions": [4.0]}


def test_a_variant_that_turned_cheap_and_back_does_not_linger_for_old_clients() -> None:
    """The count of the last call on the thread is forgotten while the variant is
    predicted on the event loop: when it turns dear again, nobody is awaited."""
    from siklus.serving import MicroBatcher

    batcher = MicroBatcher(512, max_linger_s=10.0)
    variant = _Dear(0.04)

    async def scenario() -> None:
        await _settle([batcher.submit(variant, Part(rows=[[0.0]]))])  # the cost: dear
        await _settle([batcher.submit(variant, Part(rows=[[float(i)]])) for i in range(4)])
        batcher._cost["v"] = 0.0  # turned cheap (its calls got smaller, say)
        await _settle([batcher.submit(variant, Part(rows=[[5.0]]))])
        batcher._cost["v"] = 0.04  # and dear again
        last = batcher.submit(variant, Part(rows=[[6.0]]))
        await asyncio.sleep(0)
        assert not batcher.lingering and "v" in batcher._busy
        assert await _settle([last]) == [{"predictions": [12.0]}]

    asyncio.run(scenario())


def test_requests_cancelled_while_lingering_end_the_linger() -> None:
    from siklus.serving import MicroBatcher

    batcher = MicroBatcher(512, max_linger_s=10.0)
    variant = _Dear(0.04)

    async def scenario() -> None:
        await _settle([batcher.submit(variant, Part(rows=[[0.0]]))])  # the cost
        running = batcher.submit(variant, Part(rows=[[1.0]]))
        await _until(lambda: "v" in batcher._busy)
        arrived = batcher.submit(variant, Part(rows=[[2.0]]))
        await _settle([running])
        await asyncio.sleep(0)
        assert batcher.lingering == {"v"}
        arrived.cancel()
        await _until(lambda: not batcher.lingering)  # at its deadline at the latest
        calls = batcher.calls
        assert await _settle([batcher.submit(variant, Part(rows=[[3.0]]))]) == [
            {"predictions": [6.0]}
        ]
        assert batcher.calls == calls + 1  # the cancelled request was not predicted

    asyncio.run(scenario())
