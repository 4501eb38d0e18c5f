"""``fengqiao users add|import|list``: accounts."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.table import Table

from schemas import vocab
from sync.couch import CouchClient
from sync.users import ROLES

from .cli import console, couch_settings


@click.group("users", help="账号：添加、导入、列表 / accounts: add, import, list.")
def users_group() -> None:
    pass


def _user_context(settings: dict[str, Any]):  # type: ignore[no-untyped-def]
    from server.databases import topology_for
    from sync.users import UserStore

    client = CouchClient(settings["COUCHDB_URL"])
    topology = topology_for(settings)
    return client, topology, UserStore(client, topology.prefix, topology.county_code)


@users_group.command("add", help="添加账号（密码从标准输入读取）/ add an account, password from stdin.")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES),
              help="角色 / role: " + ", ".join(f"{code} {zh}" for code, (zh, _) in vocab.ROLES.items()) + ".")
@click.option("--area", "areas", required=True,
              help="区域代码，逗号分隔 / area codes, comma-separated (15-digit grids, 9-digit township, 6-digit county).")
@click.option("--password-stdin", is_flag=True, required=True,
              help="从标准输入读取密码（避免出现在命令历史中）/ read the password from stdin.")
@click.option("--display-name", default="", help="显示姓名 / display name.")
@click.option("--phone", default=None, help="手机号 / phone number.")
@click.option("--replace", is_flag=True, help="覆盖已有账号 / replace an existing account.")
def users_add(username: str, role: str, areas: str, password_stdin: bool, display_name: str,
              phone: str | None, replace: bool) -> None:
    from sync.users import provision

    password = sys.stdin.readline().rstrip("\r\n")
    with couch_settings() as settings:
        client, topology, store = _user_context(settings)
        with client:
            user = provision(client, topology, store, username, role, areas.split(","), password,
                             display_name=display_name, phone=phone, replace=replace, must_change=True)
    console.print(f"已添加 / added: {user.username} ({user.role}) {', '.join(user.area_codes)}")
    console.print("首次登录须修改此密码 / the password must be changed at first login")
    console.print(f"同步地址 / sync URL: {{server}}/sync/{user.username}")


@users_group.command("import", help="从 CSV 批量导入账号（全部校验通过才写入）/ import accounts from CSV, all or nothing.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--replace", is_flag=True, help="覆盖已有账号 / replace existing accounts.")
def users_import(file: str, replace: bool) -> None:
    """CSV columns: username, role, area_codes (separated by ``;``), password, display_name, phone."""
    import csv

    from sync.users import UserError, check_password_strength, provision, validate_user

    with couch_settings() as settings:
        county = settings["FENGQIAO_COUNTY"]
        try:
            with open(file, encoding="utf-8-sig", newline="") as handle:
                rows = list(csv.DictReader(handle))
        except UnicodeDecodeError as exc:
            raise click.ClickException(f"{file}: 文件不是 UTF-8 编码 / not UTF-8 ({exc})") from exc
        required = {"username", "role", "area_codes", "password"}
        if not rows or not required <= set(rows[0]):
            raise click.ClickException(
                f"{file}: 缺少列 / missing columns: {', '.join(sorted(required - set(rows[0] if rows else [])))}")
        problems = []
        seen: set[str] = set()
        for number, row in enumerate(rows, start=2):
            try:
                validate_user(row["username"], row["role"], row["area_codes"].split(";"), county)
                check_password_strength(row["password"], row["username"], row.get("display_name") or "")
                if row["username"] in seen:
                    raise UserError("username", "文件中重复", "appears twice in the file")
                seen.add(row["username"])
            except UserError as exc:
                problems.append(f"{file}:{number}: {exc.message_zh} / {exc.message_en}")
        if problems:
            raise click.ClickException("未导入任何账号 / nothing imported:\n" + "\n".join(problems))
        client, topology, store = _user_context(settings)
        with client:
            if not replace:
                clashes = [r["username"] for r in rows if store.get(r["username"]) is not None]
                if clashes:
                    raise click.ClickException(
                        f"账号已存在，未导入任何账号 / accounts exist, nothing imported: {', '.join(clashes)}")
            for row in rows:
                provision(client, topology, store, row["username"], row["role"],
                          row["area_codes"].split(";"), row["password"],
                          display_name=row.get("display_name") or "", phone=row.get("phone") or None,
                          replace=replace, must_change=True)
    console.print(f"已导入 {len(rows)} 个账号 / imported {len(rows)} accounts")


@users_group.command("list", help="列出账号 / list accounts.")
def users_list() -> None:
    with couch_settings() as settings:
        client, _, store = _user_context(settings)
        with client:
            users = store.all()
    table = Table("用户名 username", "角色 role", "区域 areas", "姓名 name")
    for user in users:
        table.add_row(user.username, user.role, ", ".join(user.area_codes), user.display_name)
    console.print(table)


