"""Errors of the notification context, each with a stable code and texts in zh-CN and en."""

from __future__ import annotations

from dcert_shared.problems import Forbidden, NotFound, ValidationFailed


class PolicyInvalid(ValidationFailed):
    code = "policy_invalid"
    title_zh = "数据共享策略含未知的事件类型、字段或事实类型"
    title_en = "The data-sharing policy names an unknown event type, field or fact type"


class PartnerNotFound(NotFound):
    code = "partner_not_found"
    title_zh = "未找到该合作单位"
    title_en = "Partner not found"


class PartnerNotRegistered(Forbidden):
    code = "partner_not_registered"
    title_zh = "令牌所属的合作单位未登记"
    title_en = "The partner named by this token is not registered"


class EventTypesOutsidePolicy(Forbidden):
    code = "event_types_outside_policy"
    title_zh = "订阅的事件类型超出本单位数据共享策略的授权范围"
    title_en = "The subscription asks for event types the partner's data-sharing policy does not grant"


class WebhookUrlRefused(ValidationFailed):
    code = "webhook_url_refused"
    title_zh = "回调地址不被允许（须为 http/https，且不得指向链路本地、云元数据或内部地址）"
    title_en = "Webhook URL refused (http/https only; no link-local, cloud metadata or internal address)"


class SubscriptionNotFound(NotFound):
    code = "subscription_not_found"
    title_zh = "未找到该订阅"
    title_en = "Subscription not found"


class RegionInvalid(ValidationFailed):
    code = "region_invalid"
    title_zh = "地区代码应为六位行政区划代码"
    title_en = "A region is a six-digit administrative division code"


class ReplayTooBroad(ValidationFailed):
    code = "replay_too_broad"
    title_zh = "请至少给出一个条件（编号、合作单位、订阅、事件类型或时间）以免误重发全部死信"
    title_en = "Give at least one criterion (ids, partner, subscription, event type or time) to replay"


class RegionsOutsidePolicy(Forbidden):
    code = "regions_outside_policy"
    title_zh = "订阅的地区超出本单位数据共享策略的管辖范围"
    title_en = "The subscription names regions outside the partner's data-sharing policy"


class NoticeNotFound(NotFound):
    code = "notice_not_found"
    title_zh = "未找到该通知"
    title_en = "Notice not found"
