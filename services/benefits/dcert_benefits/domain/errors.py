"""Errors of the benefits context, each with a stable code and texts in zh-CN and en."""

from __future__ import annotations

from dcert_shared.problems import Conflict, Forbidden, NotFound, ValidationFailed


class CertificateNotFound(NotFound):
    code = "certificate_not_found"
    title_zh = "未找到该残疾人证的补贴信息"
    title_en = "No benefits found for this certificate"


class RunNotFound(NotFound):
    code = "run_not_found"
    title_zh = "未找到该月度发放批次"
    title_en = "Monthly run not found"


class FactTypeOutsidePolicy(Forbidden):
    code = "fact_type_outside_policy"
    title_zh = "该事实类型不在本单位数据共享策略的授权范围内"
    title_en = "The partner's data-sharing policy does not allow reporting this fact type"


class FactIdReused(Conflict):
    code = "fact_id_reused"
    title_zh = "该事实编号已用于内容不同的事实"
    title_en = "This fact id was already used for a different fact"


class FactInvalid(ValidationFailed):
    code = "fact_invalid"
    title_zh = "事实内容不完整或不正确"
    title_en = "The fact is incomplete or invalid"


class RunInvalid(ValidationFailed):
    code = "run_invalid"
    title_zh = "发放月份或地区不正确"
    title_en = "The month or region of the run is invalid"


class HandoffNotFound(NotFound):
    code = "handoff_not_found"
    title_zh = "未找到该跨省转移补贴衔接记录"
    title_en = "Benefit handoff not found"


class PolicyNotFound(NotFound):
    code = "policy_not_found"
    title_zh = "未找到该补贴政策"
    title_en = "Benefit policy not found"


class PolicyInvalid(ValidationFailed):
    code = "policy_invalid"
    title_zh = "政策文件不符合格式要求或规则相互冲突"
    title_en = "The policy document breaks the schema or its rules contradict each other"


class PolicyVersionStale(Conflict):
    code = "policy_version_stale"
    title_zh = "政策版本号不是当前版本之后的新版本，请基于最新版本修改"
    title_en = "The policy version is not newer than the current one: start again from the latest version"


class SimulationInvalid(ValidationFailed):
    code = "simulation_invalid"
    title_zh = "模拟测算的月份或地区不正确"
    title_en = "The month or region of the simulation is invalid"


class MonthNotBegun(Conflict):
    code = "month_not_begun"
    title_zh = "该月份尚未开始，不能生成发放批次"
    title_en = "The month has not begun: it cannot be run yet"


class MonthClosed(Conflict):
    code = "month_closed"
    title_zh = "该地区该月份的发放已关账，迟到的认定将在下月作为补发"
    title_en = "The month is closed for this region: late decisions are paid as arrears next month"


class RunNotCompleted(Conflict):
    code = "run_not_completed"
    title_zh = "发放批次尚未完成，不能关账"
    title_en = "The run has not completed: its month cannot be closed"
