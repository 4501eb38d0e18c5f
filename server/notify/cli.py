"""``fengqiao notify send|requeue|status`` and ``fengqiao worker``."""

from __future__ import annotations

import json
import time
from typing import Any

import click


def _county(settings: dict[str, Any]):  # type: ignore[no-untyped-def]
    from server.databases import topology_for
    from sync.couch import CouchClient

    client = CouchClient(settings["COUCHDB_URL"])
    return client, client.db(topology_for(settings).county_db())


def _sender(settings: dict[str, Any]):  # type: ignore[no-untyped-def]
    """The configured sender (settings that cannot work: ConfigError, fengqiao prints it)."""
    from .providers import sender_from_settings

    return sender_from_settings(settings)


@click.group("notify", help="通知发件箱 / notification outbox.")
def notify_group() -> None:
    pass


@notify_group.command("send", help="发送到期的待发通知（可重复运行，可与服务同时运行）/ send due notifications "
                      "(idempotent; safe beside running servers).")
@click.option("--limit", default=200, show_default=True, help="本次最多发送条数 / at most this many.")
def notify_send(limit: int) -> None:
    from server.cli import couch_settings

    from .delivery import send_pending

    with couch_settings() as settings:
        client, county = _county(settings)
        with client:
            counts = send_pending(county, _sender(settings), limit=limit)
    click.echo(f"已发送 {counts['sent']}，失败 {counts['failed']}，跳过 {counts['skipped']} / "
               f"sent {counts['sent']}, failed {counts['failed']}, skipped {counts['skipped']}")


@notify_group.command("requeue", help="将发送失败的通知重新排队（先在服务商控制台核实未发出）/ queue a failed "
                      "notification again (check the provider's console first).")
@click.argument("notification_id")
def notify_requeue(notification_id: str) -> None:
    from server.cli import couch_settings

    from .delivery import requeue

    with couch_settings() as settings:
        client, county = _county(settings)
        with client:
            done = requeue(county, notification_id)
    if not done:
        from server.errors import ServerError

        raise ServerError(f"{notification_id} 不存在或不是发送失败状态", f"{notification_id} is missing or not failed",
                          kind="not_found")
    click.echo(f"已重新排队 / queued again: {notification_id}")


@notify_group.command("status", help="发件箱各状态数量 / outbox counts by status and channel.")
def notify_status() -> None:
    from server.cli import couch_settings

    from .delivery import _find

    with couch_settings() as settings:
        client, county = _county(settings)
        with client:
            counts: dict[str, int] = {}
            for status in ("queued", "sending", "failed"):
                counts[status] = len(_find(county, status, {}, 10000)) if county.exists() else 0
    click.echo(json.dumps(counts, ensure_ascii=False))


@click.command("worker", help="通知工作进程：跟随同步事件、每日临期/到期/逾期提醒、发送（可多个同时运行）/ "
               "the notification loop in the foreground (feed, daily reminders, sending); several may run.")
@click.option("--once", is_flag=True, help="只运行一轮后退出 / run one pass and exit.")
def worker(once: bool) -> None:
    from server.cli import couch_settings

    from .scheduler import Scheduler

    with couch_settings() as settings:
        _sender(settings)  # a bad SMS configuration stops here, with its message
        scheduler = Scheduler(settings)
        if once:
            click.echo(json.dumps(scheduler.tick(), ensure_ascii=False, default=str))
            scheduler.stop()
            return
        click.echo(f"通知工作进程已启动 / notification worker running ({scheduler.worker}); Ctrl-C 停止 / to stop")
        scheduler.start()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            scheduler.stop()
