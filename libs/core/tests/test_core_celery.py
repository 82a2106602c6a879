from __future__ import annotations

import pytest
import redis
from kombu.transport import redis as kombu_redis

from sdp_core import keys
from sdp_core.celery_config import make_celery
from sdp_core.queues import DEFAULT_PRIORITY, QUEUES, Queue, TaskName, queue_for
from sdp_core.sender_backend import result_backend_url
from sdp_core.settings import CommonSettings


def test_every_task_routes_to_its_queue() -> None:
    app = make_celery("t", CommonSettings(redis_url="redis://localhost:6379/0"))
    router = app.amqp.router
    for name in TaskName:
        route = router.route({}, name.value)
        assert route["queue"].name == queue_for(name.value).value
    with pytest.raises(ValueError, match="no queue"):
        queue_for("billing.charge")


def test_a_send_by_name_gets_the_default_priority_unless_it_names_one(
    redis_url: str, redis_client: redis.Redis
) -> None:
    app = make_celery("t", CommonSettings(redis_url=redis_url))
    try:
        # task_default_priority alone applies to registered tasks only, never to send_task.
        app.send_task(TaskName.etl_transform.value)
        app.send_task(TaskName.etl_transform.value, queue=Queue.etl.value, priority=None)
        app.send_task(TaskName.etl_transform.value, priority=0)
    finally:
        app.close()
    lists = keys.queue_keys(Queue.etl)
    assert redis_client.llen(lists[DEFAULT_PRIORITY]) == 2
    assert redis_client.llen(lists[0]) == 1


def test_shared_configuration_is_safe_by_default() -> None:
    conf = make_celery("t", CommonSettings(redis_url="redis://localhost:6379/0")).conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_send_task_events and conf.task_send_sent_event
    assert conf.accept_content == ["json"] and conf.task_serializer == "json"
    assert conf.result_expires.total_seconds() == 86_400
    assert {q.name for q in conf.task_queues} == {q.value for q in QUEUES}
    assert conf.broker_transport_options["priority_steps"] == list(range(10))


def test_queue_keys_are_kombus_and_cover_every_priority_step(redis_url: str) -> None:
    app = make_celery("t", CommonSettings(redis_url=redis_url))
    try:
        with app.connection_for_write() as connection:
            channel = connection.default_channel
            assert isinstance(channel, kombu_redis.Channel)
            q_for_pri = channel._q_for_pri  # type: ignore[attr-defined]
            kombu_keys = [q_for_pri(Queue.etl.value, step) for step in keys.PRIORITY_STEPS]
    finally:
        app.close()
    assert keys.queue_keys(Queue.etl) == kombu_keys
    # kombu's default, which a client configured with the broker URL alone uses.
    assert kombu_redis.Channel.sep == keys.PRIORITY_SEP
    assert kombu_keys[1:] == [f"etl\x06\x16{step}" for step in range(1, 10)]


def test_sending_leaves_no_result_subscription_unread(
    redis_url: str, redis_client: redis.Redis
) -> None:
    # Celery's own Redis backend subscribed and unsubscribed per send on a connection nothing
    # read: after about 170k sends a send blocked for its 120 s socket timeout.
    before = {c["id"] for c in redis_client.client_list()}
    app = make_celery("t", CommonSettings(redis_url=redis_url))
    try:
        with app.producer_or_acquire() as producer:
            for _ in range(200):
                app.send_task(TaskName.system_noop.value, producer=producer)
        opened = [c for c in redis_client.client_list() if c["id"] not in before]
        assert not [c for c in opened if c["cmd"] in ("subscribe", "unsubscribe")]
    finally:
        app.close()
        redis_client.delete(*keys.queue_keys(Queue.system))


def test_only_a_redis_result_backend_is_replaced() -> None:
    assert result_backend_url("redis://r:6379/1").endswith("+redis://r:6379/1")
    assert result_backend_url("rediss://r:6380/0").endswith("+rediss://r:6380/0")
    assert result_backend_url("db+postgresql://u@h/db") == "db+postgresql://u@h/db"
