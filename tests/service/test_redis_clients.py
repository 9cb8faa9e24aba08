"""SUPPORTBOT_REDIS_URL names one server, a Sentinel group or a cluster; every client is built from it, and
Celery gets a broker it can use or a clear refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio.cluster import RedisCluster

from service.redis_clients import build_redis, celery_broker, parse_redis_url
from service.settings import Settings
from workers.celery_app import make_celery

SENTINELS = "redis+sentinel://:s3cret@10.0.0.1:26379,10.0.0.2:26380,10.0.0.3:26381/supportbot/2"


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path, _env_file=None, **values)  # type: ignore[call-arg]


def test_a_sentinel_url_names_the_sentinels_the_master_and_the_database() -> None:
    target = parse_redis_url(SENTINELS)
    assert (target.kind, target.master_name, target.db, target.password) == ("sentinel", "supportbot", 2, "s3cret")
    assert target.hosts == [("10.0.0.1", 26379), ("10.0.0.2", 26380), ("10.0.0.3", 26381)]


@pytest.mark.parametrize("url", ["redis+sentinel://10.0.0.1:26379", "redis+sentinel:///supportbot/0",
                                 "redis+sentinel://10.0.0.1/supportbot/0", "redis+sentinel://h:1/name/zero",
                                 "redis+cluster://10.0.0.1:7000/0"])
def test_a_malformed_url_says_what_is_wrong(url: str) -> None:
    with pytest.raises(ValueError, match="redis"):
        parse_redis_url(url)


def test_celery_reaches_the_sentinels_through_kombus_transport(tmp_path: Path) -> None:
    url, options = celery_broker(settings(tmp_path, redis_url=SENTINELS))
    assert url == ("sentinel://:s3cret@10.0.0.1:26379/2;sentinel://:s3cret@10.0.0.2:26380/2;"
                   "sentinel://:s3cret@10.0.0.3:26381/2")
    assert options["master_name"] == "supportbot"
    app = make_celery(settings(tmp_path, redis_url=SENTINELS))
    assert app.conf.broker_transport == "workers.broker:SentinelTransport"
    assert app.conf.broker_transport_options["master_name"] == "supportbot"


def test_a_cluster_is_refused_as_broker_naming_the_alternatives(tmp_path: Path) -> None:
    cluster = "redis+cluster://10.0.0.1:7000,10.0.0.2:7001"
    with pytest.raises(ValueError, match=r"Sentinel.*RabbitMQ.*SUPPORTBOT_BROKER_URL|SUPPORTBOT_BROKER_URL.*amqp"):
        make_celery(settings(tmp_path, redis_url=cluster))
    app = make_celery(settings(tmp_path, redis_url=cluster, broker_url="amqp://guest@10.0.0.9//"))
    assert app.conf.broker_url.startswith("amqp://")
    assert isinstance(build_redis(settings(tmp_path, redis_url=cluster)), RedisCluster)


def test_one_server_keeps_its_url(tmp_path: Path) -> None:
    assert celery_broker(settings(tmp_path, redis_url="redis://10.0.0.1:6379/0")) == ("redis://10.0.0.1:6379/0", {})
    assert make_celery(settings(tmp_path, redis_url="redis://10.0.0.1:6379/0")).conf.broker_transport == \
        "workers.broker:Transport"
