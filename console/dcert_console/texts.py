"""What the console says, in Simplified Chinese (the default) and English (`--lang en`), and how
it refuses: one line on standard error and a non-zero exit, never a traceback."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, Final, TypeVar

import typer
from rich.console import Console

from dcert_shared.i18n import DEFAULT_LANGUAGE, LANGUAGES

T = TypeVar("T")

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "no_database_url": {
        "zh-CN": "未配置 {service} 服务的数据库：请设置 {variable} 或 DATABASE_URL（数据库服务器地址）",
        "en": "No database for the {service} service: set {variable}, or DATABASE_URL (the database server)",
    },
    "settings_invalid": {
        "zh-CN": "{service} 服务的配置不完整：{problem}",
        "en": "The settings of the {service} service are incomplete: {problem}",
    },
    "database_unreachable": {
        "zh-CN": "无法连接 {service} 服务的数据库（{error}）",
        "en": "The database of the {service} service does not answer ({error})",
    },
    "failed": {
        "zh-CN": "操作失败（{error}），详见服务日志；已完成的部分保持不变",
        "en": "It failed ({error}); see the services' logs; what was done before stays done",
    },
    "not_confirmed": {"zh-CN": "未执行：操作未获确认", "en": "Nothing done: not confirmed"},
    "confirm": {"zh-CN": "确认执行吗？", "en": "Go ahead?"},
    "import_plan": {
        "zh-CN": "将把 {path} 中的持证人（{rows} 行）导入证件服务的数据库；未通过检查的行跳过并写入报告。",
        "en": "Will import the holders of {path} ({rows} rows) into the certificate service's database;"
        " rows that fail the checks are skipped and reported.",
    },
    "unknown_service": {
        "zh-CN": "没有名为 {service} 的服务（可选：{choices}）",
        "en": "There is no service called {service} (one of: {choices})",
    },
    # status
    "status.title": {"zh-CN": "各服务状态", "en": "The services"},
    "status.service": {"zh-CN": "服务", "en": "service"},
    "status.version": {"zh-CN": "版本", "en": "version"},
    "status.health": {"zh-CN": "健康", "en": "health"},
    "status.relay_lag": {"zh-CN": "待转发事件", "en": "relay lag"},
    "status.consumer_lag": {"zh-CN": "待消费消息", "en": "consumer lag"},
    "status.dead_letters": {"zh-CN": "死信", "en": "dead letters"},
    "status.oldest_parked": {"zh-CN": "最早未处理事件", "en": "oldest unhandled"},
    "status.unreachable": {"zh-CN": "无法访问", "en": "unreachable"},
    "status.not_configured": {"zh-CN": "未配置", "en": "not configured"},
    # dead letters
    "dead.title": {"zh-CN": "未处理的死信", "en": "Open dead letters"},
    "dead.id": {"zh-CN": "编号", "en": "id"},
    "dead.consumer": {"zh-CN": "消费者", "en": "consumer"},
    "dead.event_type": {"zh-CN": "事件类型", "en": "event type"},
    "dead.error": {"zh-CN": "错误", "en": "error"},
    "dead.tries": {"zh-CN": "尝试次数", "en": "tries"},
    "dead.when": {"zh-CN": "时间", "en": "when"},
    "dead.none": {"zh-CN": "{service}：没有未处理的死信", "en": "{service}: no open dead letters"},
    "dead.plan": {
        "zh-CN": "将按顺序重放 {service} 服务的 {count} 封死信（各消费者按通道顺序）",
        "en": "{count} dead letters of the {service} service will be replayed, in order per lane",
    },
    "dead.nothing_matches": {
        "zh-CN": "{service} 服务没有符合条件的未处理死信",
        "en": "No open dead letter of the {service} service matches",
    },
    "dead.replayed": {
        "zh-CN": "死信 {id}（{consumer}）：{outcome}",
        "en": "dead letter {id} ({consumer}): {outcome}",
    },
    "dead.handled": {"zh-CN": "已处理", "en": "handled"},
    "dead.had_been_handled": {"zh-CN": "此前已处理过", "en": "had been handled before"},
    "dead.failed": {
        "zh-CN": "死信 {id}（{consumer}）再次失败（{error}），其后的死信未重放",
        "en": "dead letter {id} ({consumer}) failed again ({error}); the ones after it were not replayed",
    },
    "dead.webhooks_plan": {
        "zh-CN": "将把 {count} 个失败的 Webhook 投递重新排队",
        "en": "{count} dead webhook deliveries will be queued again",
    },
    "dead.webhooks_replayed": {
        "zh-CN": "已重新排队 {count} 个 Webhook 投递，由运行中的通知服务按原顺序发送",
        "en": "{count} webhook deliveries queued again; the running notification service sends them in order",
    },
    "dead.webhooks_need_criterion": {
        "zh-CN": "重放 Webhook 死信至少需要一个条件（--id、--partner、--subscription 等）",
        "en": "Replaying webhook dead letters needs at least one criterion (--id, --partner, --subscription, ...)",
    },
    # projections
    "projections.plan": {
        "zh-CN": "将根据事件重建 {service} 服务的读模型（{tables}），服务可继续运行",
        "en": "The read models of the {service} service ({tables}) will be rebuilt from the events, "
        "while the service runs",
    },
    "projections.all": {"zh-CN": "全部", "en": "all"},
    "projections.progress": {"zh-CN": "已投影事件", "en": "events projected"},
    "projections.done": {
        "zh-CN": "{service} 服务的读模型已根据 {count} 个事件重建",
        "en": "The read models of the {service} service were rebuilt from {count} events",
    },
    "projections.unknown_table": {
        "zh-CN": "{service} 服务没有名为 {name} 的读模型（可选：{choices}）",
        "en": "The {service} service has no read model called {name} (one of: {choices})",
    },
    "projections.none": {
        "zh-CN": "{service} 服务没有读模型",
        "en": "The {service} service has no read models",
    },
    # monthly runs
    "runs.run_plan": {
        "zh-CN": "将生成（或继续）{region} 地区 {month} 的月度发放",
        "en": "The monthly run of {month} for region {region} will be made (or resumed)",
    },
    "runs.close_plan": {
        "zh-CN": "将关闭发放批次 {run_id} 所在的月份，关闭后不能再改",
        "en": "The month of run {run_id} will be closed; it cannot change afterwards",
    },
    "runs.bad_region": {"zh-CN": "地区代码应为6位数字", "en": "A region is six digits"},
    "runs.bad_month": {"zh-CN": "月份格式应为 YYYY-MM", "en": "A month is YYYY-MM"},
    "runs.written": {"zh-CN": "已写入 {file}", "en": "Written to {file}"},
    # keys
    "keys.use_title": {
        "zh-CN": "数据密钥由哪个主密钥包装",
        "en": "Data keys by the master key that wraps them",
    },
    "keys.master_key": {"zh-CN": "主密钥", "en": "master key"},
    "keys.data_keys": {"zh-CN": "数据密钥数", "en": "data keys"},
    "keys.current": {"zh-CN": "（当前）", "en": " (current)"},
    "keys.unknown_wrapping": {
        "zh-CN": "{service} 服务有 {count} 个数据密钥由未配置的主密钥 {key_id} 包装：请先在 DCERT_PREVIOUS_MASTER_KEYS 中加入该密钥",
        "en": "{count} data keys of the {service} service are wrapped by {key_id}, a master key not "
        "configured: add it to DCERT_PREVIOUS_MASTER_KEYS first",
    },
    "keys.rotate_plan": {
        "zh-CN": "将用当前主密钥 {key_id} 重新包装 {service} 服务的 {count} 个数据密钥（服务可继续运行）",
        "en": "{count} data keys of the {service} service will be re-wrapped by the current master key "
        "{key_id}, while the service runs",
    },
    "keys.progress": {"zh-CN": "已重新包装", "en": "re-wrapped"},
    "keys.rotated": {
        "zh-CN": "{service}：所有数据密钥已由 {key_id} 包装，可从 DCERT_PREVIOUS_MASTER_KEYS 中删除旧主密钥并重启服务",
        "en": "{service}: every data key is wrapped by {key_id}; remove the old master keys from "
        "DCERT_PREVIOUS_MASTER_KEYS and restart the service",
    },
    "keys.ecert_plan": {
        "zh-CN": "将生成新的电子证照签名密钥；旧密钥签发的二维码仍可验证",
        "en": "A new e-certificate signing key will sign from now on; codes of the earlier keys keep verifying",
    },
    "keys.ecert_from_configuration": {
        "zh-CN": "签名密钥由部署配置提供（DCERT_ECERT_SIGNING_SEED）：请修改配置并重启服务",
        "en": "The signing keys come from configuration (DCERT_ECERT_SIGNING_SEED): change it and restart",
    },
    "keys.ecert_rotated": {
        "zh-CN": "新签名密钥 {key_id} 已生效（各实例在 {seconds} 秒内加载）",
        "en": "The new signing key {key_id} signs now (every process loads it within {seconds} s)",
    },
    # pruning
    "prune.plan": {
        "zh-CN": "将清理 {service} 服务中超过保留期且不再需要的数据（事件本身永不清理）",
        "en": "What the {service} service keeps only for a while and no longer needs will be removed "
        "(events never are)",
    },
    "prune.removed": {
        "zh-CN": "{service}：已清理 {what} {count} 条",
        "en": "{service}: {count} {what} removed",
    },
    "prune.nothing": {"zh-CN": "{service}：没有需要清理的数据", "en": "{service}: nothing to remove"},
    "broker_unreachable": {
        "zh-CN": "无法连接消息服务器（{error}）：请检查 NATS_URL",
        "en": "The broker does not answer ({error}): check NATS_URL",
    },
}


class Language:
    """The language of this invocation, chosen once by `--lang`."""

    current: str = DEFAULT_LANGUAGE


def choose_language(lang: str) -> None:
    if lang not in LANGUAGES:
        raise Refused(f"--lang: {' | '.join(LANGUAGES)}")
    Language.current = lang


def say(code: str, **params: object) -> str:
    return MESSAGES[code][Language.current].format(**params)


class Refused(Exception):
    """Something the console will not (or cannot) do, said in one line."""


def refuse(code: str, **params: object) -> Refused:
    return Refused(say(code, **params))


def run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a command's work (made inside, so that a refusal while reading its arguments counts
    too); a refusal becomes one line on standard error and exit status 1."""
    try:
        return asyncio.run(work())
    except Refused as refusal:
        typer.echo(str(refusal), err=True)
        raise typer.Exit(1) from None
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as error:  # by its type only: a database error's message may quote personal data
        typer.echo(say("failed", error=type(error).__name__), err=True)
        raise typer.Exit(1) from None


def ask(plan: str, yes: bool) -> None:
    """Say what will be done (on standard error: standard output stays the command's answer);
    unless `--yes`, go on only when the operator agrees."""
    typer.echo(plan, err=True)
    if yes:
        return
    try:
        agreed = typer.confirm(say("confirm"), default=False, err=True)
    except typer.Abort:  # the input ended (or Ctrl-C): not a yes
        agreed = False
    if not agreed:
        typer.echo("", err=True)
        raise refuse("not_confirmed")


def screen() -> Console:
    """Where tables go: the terminal's width, or wide enough that ids never wrap in a pipe."""
    return Console() if sys.stdout.isatty() else Console(width=240)


YES_HELP: Final = "Do it without asking"
