"""The message catalogue: every user-facing text in zh-CN (the default) and en, keyed by a stable code.

Problem titles are keyed `problem.<code>`, field-level messages `field.<code>`. Both languages of a
message take the same `{named}` parameters (a test checks it).
"""

from __future__ import annotations

from typing import Final

DEFAULT_LANGUAGE: Final = "zh-CN"
LANGUAGES: Final = ("zh-CN", "en")

MESSAGES: Final[dict[str, dict[str, str]]] = {
    # Problem titles shared by every service (services add their own on their error classes).
    "problem.validation_failed": {"zh-CN": "提交的内容不符合要求", "en": "The request is not valid"},
    "problem.unauthenticated": {"zh-CN": "需要登录", "en": "Authentication required"},
    "problem.token_missing": {"zh-CN": "缺少访问令牌", "en": "An access token is required"},
    "problem.token_expired": {"zh-CN": "访问令牌已过期", "en": "The access token has expired"},
    "problem.token_invalid": {"zh-CN": "访问令牌无效", "en": "The access token is not valid"},
    "problem.forbidden": {"zh-CN": "无权进行此操作", "en": "You are not allowed to do this"},
    "problem.not_found": {"zh-CN": "未找到", "en": "Not found"},
    "problem.method_not_allowed": {"zh-CN": "不支持该请求方法", "en": "Method not allowed"},
    "problem.conflict": {"zh-CN": "与当前状态冲突", "en": "Conflict with the current state"},
    "problem.idempotency_key_reused": {
        "zh-CN": "该幂等键已用于内容不同的请求",
        "en": "This Idempotency-Key was already used with a different request",
    },
    "problem.concurrency_conflict": {
        "zh-CN": "数据已被他人同时修改，请重试",
        "en": "The record was changed at the same time; please try again",
    },
    "problem.service_unavailable": {"zh-CN": "服务暂时不可用", "en": "Service temporarily unavailable"},
    "problem.internal_error": {"zh-CN": "服务器内部错误", "en": "Internal server error"},
    "problem.bad_request": {"zh-CN": "请求格式不正确", "en": "Bad request"},
    "problem.not_acceptable": {"zh-CN": "无法提供所要求的格式", "en": "Not acceptable"},
    "problem.payload_too_large": {"zh-CN": "请求内容过大", "en": "Request too large"},
    "problem.unsupported_media_type": {"zh-CN": "不支持的内容类型", "en": "Unsupported media type"},
    "problem.too_many_requests": {"zh-CN": "请求过于频繁", "en": "Too many requests"},
    "problem.http_error": {"zh-CN": "请求无法处理", "en": "The request could not be processed"},
    # 居民身份证号码 (GB 11643-1999)
    "problem.id_format": {
        "zh-CN": "身份证号码格式不正确（应为18位）",
        "en": "The identity number must be 18 characters: 17 digits and a check character",
    },
    "problem.id_check_digit": {
        "zh-CN": "身份证号码校验码不正确",
        "en": "The identity number's check character is wrong",
    },
    "problem.id_birth_date": {
        "zh-CN": "身份证号码中的出生日期不存在",
        "en": "The identity number's birth date is not a real date",
    },
    "problem.id_future_birth_date": {
        "zh-CN": "身份证号码中的出生日期晚于今天",
        "en": "The identity number's birth date is in the future",
    },
    "problem.id_region": {
        "zh-CN": "身份证号码中的地区码不正确",
        "en": "The identity number's region code is not a Chinese province-level code",
    },
    # 行政区划代码
    "problem.region_format": {"zh-CN": "行政区划代码应为6位数字", "en": "A region code is 6 digits"},
    "problem.region_province": {
        "zh-CN": "行政区划代码的省级部分不存在",
        "en": "The region code's province part is not a real province-level code",
    },
    # 残疾类别与等级, 残疾人证号
    "problem.category_invalid": {
        "zh-CN": "残疾类别不正确",
        "en": "Unknown disability category",
    },
    "problem.level_invalid": {"zh-CN": "残疾等级应为一级至四级", "en": "A disability grade is 1 to 4"},
    "problem.certificate_number_format": {
        "zh-CN": "残疾人证号格式不正确",
        "en": "A certificate number is the identity number, a category digit, a grade digit and an optional B<n>",
    },
    "problem.certificate_number_category": {
        "zh-CN": "残疾人证号中的类别位应为1至7",
        "en": "The certificate number's category digit must be 1 to 7",
    },
    "problem.certificate_number_level": {
        "zh-CN": "残疾人证号中的等级位应为1至4",
        "en": "The certificate number's grade digit must be 1 to 4",
    },
    "problem.certificate_number_replacement": {
        "zh-CN": "残疾人证号的补领后缀应为B加正整数",
        "en": "The certificate number's replacement suffix must be B and a positive number",
    },
    # Field-level messages (pydantic error types and our own codes).
    "field.missing": {"zh-CN": "必填", "en": "Field required"},
    "field.extra_forbidden": {"zh-CN": "不允许的字段", "en": "Unknown field"},
    "field.string_type": {"zh-CN": "应为字符串", "en": "Should be a string"},
    "field.string_too_short": {
        "zh-CN": "至少应有{min_length}个字符",
        "en": "Should have at least {min_length} characters",
    },
    "field.string_too_long": {
        "zh-CN": "最多{max_length}个字符",
        "en": "Should have at most {max_length} characters",
    },
    "field.string_pattern_mismatch": {"zh-CN": "格式不正确", "en": "Has the wrong format"},
    "field.literal_error": {"zh-CN": "应为以下之一：{expected}", "en": "Should be {expected}"},
    "field.enum": {"zh-CN": "应为以下之一：{expected}", "en": "Should be {expected}"},
    "field.int_type": {"zh-CN": "应为整数", "en": "Should be an integer"},
    "field.int_parsing": {"zh-CN": "应为整数", "en": "Should be an integer"},
    "field.int_from_float": {"zh-CN": "应为整数", "en": "Should be an integer"},
    "field.float_type": {"zh-CN": "应为数字", "en": "Should be a number"},
    "field.float_parsing": {"zh-CN": "应为数字", "en": "Should be a number"},
    "field.bool_type": {"zh-CN": "应为 true 或 false", "en": "Should be true or false"},
    "field.bool_parsing": {"zh-CN": "应为 true 或 false", "en": "Should be true or false"},
    "field.greater_than": {"zh-CN": "应大于{gt}", "en": "Should be greater than {gt}"},
    "field.greater_than_equal": {"zh-CN": "应不小于{ge}", "en": "Should be at least {ge}"},
    "field.less_than": {"zh-CN": "应小于{lt}", "en": "Should be less than {lt}"},
    "field.less_than_equal": {"zh-CN": "应不大于{le}", "en": "Should be at most {le}"},
    "field.too_short": {"zh-CN": "至少应有{min_length}项", "en": "Should have at least {min_length} items"},
    "field.too_long": {"zh-CN": "最多{max_length}项", "en": "Should have at most {max_length} items"},
    "field.list_type": {"zh-CN": "应为列表", "en": "Should be a list"},
    "field.dict_type": {"zh-CN": "应为对象", "en": "Should be an object"},
    "field.model_attributes_type": {"zh-CN": "应为对象", "en": "Should be an object"},
    "field.date_parsing": {"zh-CN": "应为日期（YYYY-MM-DD）", "en": "Should be a date (YYYY-MM-DD)"},
    "field.date_from_datetime_parsing": {
        "zh-CN": "应为日期（YYYY-MM-DD）",
        "en": "Should be a date (YYYY-MM-DD)",
    },
    "field.datetime_parsing": {
        "zh-CN": "应为日期时间（RFC 3339）",
        "en": "Should be a date and time (RFC 3339)",
    },
    "field.json_invalid": {"zh-CN": "请求体不是有效的JSON", "en": "The body is not valid JSON"},
    "field.character_not_allowed": {
        "zh-CN": "含有不允许的字符（空字符或不成对的代理项）",
        "en": "Contains a character that is not allowed (NUL or an unpaired surrogate)",
    },
    "field.unknown_role": {"zh-CN": "未知角色：{roles}之一", "en": "Unknown role; one of {roles}"},
    "field.unknown_claim": {"zh-CN": "不支持的声明", "en": "Unsupported claim"},
    "field.claim_required": {"zh-CN": "该角色必须提供此声明", "en": "Required for this role"},
    "field.claim_invalid": {"zh-CN": "声明值不正确", "en": "Not a valid value"},
    "field.ttl_out_of_range": {
        "zh-CN": "有效期应在1至{max_seconds}秒之间",
        "en": "Should be 1 to {max_seconds} seconds",
    },
    "field.cursor_invalid": {"zh-CN": "分页标记无效", "en": "Not a page marker this service gave"},
    "field.phone_format": {"zh-CN": "电话号码应为数字", "en": "A phone number of digits"},
    "field.consent_required": {
        "zh-CN": "须同意处理个人信息才能申请",
        "en": "Consent to process personal data is required",
    },
    "field.duplicate_category": {"zh-CN": "每个类别只能填写一次", "en": "Each category once"},
    # 访问记录 (dcert_shared.access_log): who read a person's record, shown to the person.
    "access.role.applicant": {"zh-CN": "代理人", "en": "Agent"},
    "access.role.reviewer": {"zh-CN": "残联审核人员", "en": "Federation reviewer"},
    "access.role.doctor": {"zh-CN": "评定医生", "en": "Assessment doctor"},
    "access.role.card_centre": {"zh-CN": "制卡中心", "en": "Card centre"},
    "access.role.partner": {"zh-CN": "合作机构", "en": "Partner agency"},
    "access.role.admin": {"zh-CN": "管理人员", "en": "Administrator"},
    "access.kind.application": {"zh-CN": "办证申请", "en": "Application"},
    "access.kind.application_timeline": {"zh-CN": "申请进度", "en": "Application timeline"},
    "access.kind.certificate": {"zh-CN": "残疾人证", "en": "Certificate"},
    "access.kind.agents": {"zh-CN": "代办人", "en": "Agents"},
    "access.kind.e_certificate": {"zh-CN": "电子证照", "en": "E-certificate"},
    "access.kind.card": {"zh-CN": "证卡制作与寄送", "en": "Card production and delivery"},
    "access.kind.assessment": {"zh-CN": "残疾评定", "en": "Disability assessment"},
    "access.kind.benefits": {"zh-CN": "两项补贴", "en": "Benefits"},
    "access.kind.benefit_payment": {"zh-CN": "补贴发放名单", "en": "Benefit payment list"},
    "access.kind.entitlement_review": {"zh-CN": "应享未享核查", "en": "Entitlement check"},
    "access.kind.benefit_transfer": {"zh-CN": "补贴跨省转移", "en": "Benefit transfer between regions"},
    "access.kind.partner_delivery": {"zh-CN": "向合作机构推送的数据", "en": "Data sent to a partner agency"},
    "access.kind.access_log": {"zh-CN": "访问记录", "en": "Access log"},
    "access.purpose.acting_as_agent": {"zh-CN": "代为办理", "en": "Acting for the person"},
    "access.purpose.review": {"zh-CN": "审核", "en": "Review"},
    "access.purpose.assessment": {"zh-CN": "残疾评定", "en": "Disability assessment"},
    "access.purpose.card_production": {"zh-CN": "制卡", "en": "Card production"},
    "access.purpose.partner_sharing": {
        "zh-CN": "按数据共享协议提供给合作机构",
        "en": "Shared with a partner agency under its data-sharing policy",
    },
    "access.purpose.supervision": {"zh-CN": "监督管理", "en": "Supervision"},
    "access.purpose.benefit_payment": {"zh-CN": "补贴发放", "en": "Benefit payment"},
    "access.purpose.entitlement_review": {"zh-CN": "应享未享核查", "en": "Checking entitlements"},
    "access.purpose.transfer": {"zh-CN": "跨省转移", "en": "Transfer between regions"},
    "access.purpose.unspecified": {"zh-CN": "未说明", "en": "Not stated"},
    "access.service.certificate": {"zh-CN": "残疾人证服务", "en": "Certificate service"},
    "access.service.assessment": {"zh-CN": "残疾评定服务", "en": "Assessment service"},
    "access.service.benefits": {"zh-CN": "补贴服务", "en": "Benefits service"},
    "access.service.notification": {"zh-CN": "通知服务", "en": "Notification service"},
    # 存量导入 (the operator's console, `dcert import holders`; docs/import.md).
    "import.progress": {"zh-CN": "导入持证人", "en": "Importing holders"},
    "import.progress_dry_run": {"zh-CN": "检查持证人（试运行）", "en": "Checking holders (dry run)"},
    "import.rows_per_second": {"zh-CN": "{rate} 行/秒", "en": "{rate} rows/s"},
    "import.summary": {
        "zh-CN": "已导入 {imported}，跳过 {skipped}，已存在 {present}",
        "en": "imported {imported}, skipped {skipped}, already present {present}",
    },
    "import.summary_dry_run": {
        "zh-CN": "试运行，未写入任何数据；可导入 {imported}，跳过 {skipped}，已存在 {present}",
        "en": "dry run, nothing written; would import {imported}, skipped {skipped}, already present {present}",
    },
    "import.report_written": {
        "zh-CN": "未导入的行及原因见 {path}",
        "en": "Rows not imported, and why: {path}",
    },
    "import.report_header_line": {"zh-CN": "行号", "en": "line"},
    "import.report_header_field": {"zh-CN": "字段", "en": "field"},
    "import.report_header_reason": {"zh-CN": "原因", "en": "reason"},
    "import.file_unreadable": {"zh-CN": "无法读取文件：{path}", "en": "Cannot read the file: {path}"},
    "import.columns_missing": {
        "zh-CN": "表头缺少以下列：{columns}",
        "en": "The header row lacks these columns: {columns}",
    },
    "import.arrears_from_invalid": {
        "zh-CN": "补发起始月份应为 YYYY-MM，且不晚于导入当月",
        "en": "--arrears-from is a month YYYY-MM no later than the month of the import",
    },
    "import.reason.missing": {"zh-CN": "必填项为空", "en": "Required, but empty"},
    "import.reason.number_mismatch": {
        "zh-CN": "残疾人证号与身份证号、类别、等级不一致",
        "en": "The certificate number is not the identity number, category digit and grade digit of this row",
    },
    "import.reason.date_format": {"zh-CN": "日期应为 YYYY-MM-DD", "en": "A date is YYYY-MM-DD"},
    "import.reason.issued_in_future": {"zh-CN": "发证日期晚于今天", "en": "The issue date is after today"},
    "import.reason.issued_before_birth": {
        "zh-CN": "发证日期早于出生日期",
        "en": "The issue date is before the holder's birth",
    },
    "import.reason.expiry_before_issue": {
        "zh-CN": "有效期截止日期不晚于发证日期",
        "en": "The certificate expires on or before its issue date",
    },
    "import.reason.expired": {
        "zh-CN": "残疾人证已过有效期，请持证人办理换领",
        "en": "The certificate has expired; the holder applies for a renewal",
    },
    "import.reason.card_status_invalid": {
        "zh-CN": "证卡状态应为以下之一：{expected}",
        "en": "The card status is one of {expected}",
    },
    "import.reason.card_generation_invalid": {
        "zh-CN": "证卡代别应为 2 或 3",
        "en": "The card generation is 2 or 3",
    },
    "import.reason.too_long": {"zh-CN": "最多{max_length}个字符", "en": "At most {max_length} characters"},
    "import.reason.phone_format": {"zh-CN": "电话号码格式不正确", "en": "Not a phone number"},
    "import.reason.guardian_missing": {
        "zh-CN": "未满18周岁的持证人须填写监护人",
        "en": "A holder under 18 needs a guardian",
    },
    "import.reason.guardian_is_holder": {
        "zh-CN": "监护人不能是持证人本人",
        "en": "The guardian cannot be the holder",
    },
    "import.reason.guardian_relationship_invalid": {
        "zh-CN": "监护关系应为以下之一：{expected}",
        "en": "The guardian relationship is one of {expected}",
    },
    "import.reason.duplicate_row": {
        "zh-CN": "与第 {line} 行是同一人，只导入第一行",
        "en": "The same person as line {line}; only the first is imported",
    },
    "import.reason.live_certificate_exists": {
        "zh-CN": "此人在本系统已持有有效的残疾人证",
        "en": "This person already holds a live certificate here",
    },
    "import.reason.open_application_exists": {
        "zh-CN": "此人在本系统有正在办理的新办申请",
        "en": "This person has an open application for a new certificate here",
    },
    "import.reason.person_erased": {
        "zh-CN": "此人的个人信息已依法删除",
        "en": "This person's personal data has been erased by law",
    },
    "import.reason.reapplication_barred": {
        "zh-CN": "此人自愿注销后一年内不能再持证",
        "en": "This person cancelled their certificate less than a year ago",
    },
    # The operator's console, `dcert` (console/dcert_console/texts.py: `say`).
    "console.no_database_url": {
        "zh-CN": "未配置 {service} 服务的数据库：请设置 {variable} 或 DATABASE_URL（数据库服务器地址）",
        "en": "No database for the {service} service: set {variable}, or DATABASE_URL (the database server)",
    },
    "console.settings_invalid": {
        "zh-CN": "{service} 服务的配置不完整：{problem}",
        "en": "The settings of the {service} service are incomplete: {problem}",
    },
    "console.database_unreachable": {
        "zh-CN": "无法连接 {service} 服务的数据库（{error}）",
        "en": "The database of the {service} service does not answer ({error})",
    },
    "console.failed": {
        "zh-CN": "操作失败（{error}），详见服务日志；已完成的部分保持不变",
        "en": "It failed ({error}); see the services' logs; what was done before stays done",
    },
    "console.not_confirmed": {"zh-CN": "未执行：操作未获确认", "en": "Nothing done: not confirmed"},
    "console.confirm": {"zh-CN": "确认执行吗？", "en": "Go ahead?"},
    "console.import_plan": {
        "zh-CN": "将把 {path} 中的持证人（{rows} 行）导入证件服务的数据库；未通过检查的行跳过并写入报告。",
        "en": "Will import the holders of {path} ({rows} rows) into the certificate service's database;"
        " rows that fail the checks are skipped and reported.",
    },
    "console.unknown_service": {
        "zh-CN": "没有名为 {service} 的服务（可选：{choices}）",
        "en": "There is no service called {service} (one of: {choices})",
    },
    # status
    "console.status.title": {"zh-CN": "各服务状态", "en": "The services"},
    "console.status.service": {"zh-CN": "服务", "en": "service"},
    "console.status.version": {"zh-CN": "版本", "en": "version"},
    "console.status.health": {"zh-CN": "健康", "en": "health"},
    "console.status.relay_lag": {"zh-CN": "待转发事件", "en": "relay lag"},
    "console.status.consumer_lag": {"zh-CN": "待消费消息", "en": "consumer lag"},
    "console.status.dead_letters": {"zh-CN": "死信", "en": "dead letters"},
    "console.status.oldest_parked": {"zh-CN": "最早未处理事件", "en": "oldest unhandled"},
    "console.status.unreachable": {"zh-CN": "无法访问", "en": "unreachable"},
    "console.status.not_configured": {"zh-CN": "未配置", "en": "not configured"},
    # dead letters
    "console.dead.title": {"zh-CN": "未处理的死信", "en": "Open dead letters"},
    "console.dead.id": {"zh-CN": "编号", "en": "id"},
    "console.dead.consumer": {"zh-CN": "消费者", "en": "consumer"},
    "console.dead.event_type": {"zh-CN": "事件类型", "en": "event type"},
    "console.dead.error": {"zh-CN": "错误", "en": "error"},
    "console.dead.tries": {"zh-CN": "尝试次数", "en": "tries"},
    "console.dead.when": {"zh-CN": "时间", "en": "when"},
    "console.dead.none": {"zh-CN": "{service}：没有未处理的死信", "en": "{service}: no open dead letters"},
    "console.dead.plan": {
        "zh-CN": "将按顺序重放 {service} 服务的 {count} 封死信（各消费者按通道顺序）",
        "en": "{count} dead letters of the {service} service will be replayed, in order per lane",
    },
    "console.dead.nothing_matches": {
        "zh-CN": "{service} 服务没有符合条件的未处理死信",
        "en": "No open dead letter of the {service} service matches",
    },
    "console.dead.replayed": {
        "zh-CN": "死信 {id}（{consumer}）：{outcome}",
        "en": "dead letter {id} ({consumer}): {outcome}",
    },
    "console.dead.handled": {"zh-CN": "已处理", "en": "handled"},
    "console.dead.had_been_handled": {"zh-CN": "此前已处理过", "en": "had been handled before"},
    "console.dead.failed": {
        "zh-CN": "死信 {id}（{consumer}）再次失败（{error}），其后的死信未重放",
        "en": "dead letter {id} ({consumer}) failed again ({error}); the ones after it were not replayed",
    },
    "console.dead.webhooks_plan": {
        "zh-CN": "将把 {count} 个失败的 Webhook 投递重新排队",
        "en": "{count} dead webhook deliveries will be queued again",
    },
    "console.dead.webhooks_replayed": {
        "zh-CN": "已重新排队 {count} 个 Webhook 投递，由运行中的通知服务按原顺序发送",
        "en": "{count} webhook deliveries queued again; the running notification service sends them in order",
    },
    "console.dead.webhooks_need_criterion": {
        "zh-CN": "重放 Webhook 死信至少需要一个条件（--id、--partner、--subscription 等）",
        "en": "Replaying webhook dead letters needs at least one criterion (--id, --partner, --subscription, ...)",
    },
    # projections
    "console.projections.plan": {
        "zh-CN": "将根据事件重建 {service} 服务的读模型（{tables}），服务可继续运行",
        "en": "The read models of the {service} service ({tables}) will be rebuilt from the events, "
        "while the service runs",
    },
    "console.projections.all": {"zh-CN": "全部", "en": "all"},
    "console.projections.progress": {"zh-CN": "已投影事件", "en": "events projected"},
    "console.projections.done": {
        "zh-CN": "{service} 服务的读模型已根据 {count} 个事件重建",
        "en": "The read models of the {service} service were rebuilt from {count} events",
    },
    "console.projections.unknown_table": {
        "zh-CN": "{service} 服务没有名为 {name} 的读模型（可选：{choices}）",
        "en": "The {service} service has no read model called {name} (one of: {choices})",
    },
    "console.projections.none": {
        "zh-CN": "{service} 服务没有读模型",
        "en": "The {service} service has no read models",
    },
    # monthly runs
    "console.runs.run_plan": {
        "zh-CN": "将生成（或继续）{region} 地区 {month} 的月度发放",
        "en": "The monthly run of {month} for region {region} will be made (or resumed)",
    },
    "console.runs.close_plan": {
        "zh-CN": "将关闭发放批次 {run_id} 所在的月份，关闭后不能再改",
        "en": "The month of run {run_id} will be closed; it cannot change afterwards",
    },
    "console.runs.bad_region": {"zh-CN": "地区代码应为6位数字", "en": "A region is six digits"},
    "console.runs.bad_month": {"zh-CN": "月份格式应为 YYYY-MM", "en": "A month is YYYY-MM"},
    "console.runs.written": {"zh-CN": "已写入 {file}", "en": "Written to {file}"},
    # keys
    "console.keys.use_title": {
        "zh-CN": "数据密钥由哪个主密钥包装",
        "en": "Data keys by the master key that wraps them",
    },
    "console.keys.master_key": {"zh-CN": "主密钥", "en": "master key"},
    "console.keys.data_keys": {"zh-CN": "数据密钥数", "en": "data keys"},
    "console.keys.current": {"zh-CN": "（当前）", "en": " (current)"},
    "console.keys.unknown_wrapping": {
        "zh-CN": "{service} 服务有 {count} 个数据密钥由未配置的主密钥 {key_id} 包装：请先在 DCERT_PREVIOUS_MASTER_KEYS 中加入该密钥",
        "en": "{count} data keys of the {service} service are wrapped by {key_id}, a master key not "
        "configured: add it to DCERT_PREVIOUS_MASTER_KEYS first",
    },
    "console.keys.rotate_plan": {
        "zh-CN": "将用当前主密钥 {key_id} 重新包装 {service} 服务的 {count} 个数据密钥（服务可继续运行）",
        "en": "{count} data keys of the {service} service will be re-wrapped by the current master key "
        "{key_id}, while the service runs",
    },
    "console.keys.progress": {"zh-CN": "已重新包装", "en": "re-wrapped"},
    "console.keys.rotated": {
        "zh-CN": "{service}：所有数据密钥已由 {key_id} 包装，可从 DCERT_PREVIOUS_MASTER_KEYS 中删除旧主密钥并重启服务",
        "en": "{service}: every data key is wrapped by {key_id}; remove the old master keys from "
        "DCERT_PREVIOUS_MASTER_KEYS and restart the service",
    },
    "console.keys.ecert_plan": {
        "zh-CN": "将生成新的电子证照签名密钥；旧密钥签发的二维码仍可验证",
        "en": "A new e-certificate signing key will sign from now on; codes of the earlier keys keep verifying",
    },
    "console.keys.ecert_from_configuration": {
        "zh-CN": "签名密钥由部署配置提供（DCERT_ECERT_SIGNING_SEED）：请修改配置并重启服务",
        "en": "The signing keys come from configuration (DCERT_ECERT_SIGNING_SEED): change it and restart",
    },
    "console.keys.ecert_rotated": {
        "zh-CN": "新签名密钥 {key_id} 已生效（各实例在 {seconds} 秒内加载）",
        "en": "The new signing key {key_id} signs now (every process loads it within {seconds} s)",
    },
    # pruning
    "console.prune.plan": {
        "zh-CN": "将清理 {service} 服务中超过保留期且不再需要的数据（事件本身永不清理）",
        "en": "What the {service} service keeps only for a while and no longer needs will be removed "
        "(events never are)",
    },
    "console.prune.removed": {
        "zh-CN": "{service}：已清理 {what} {count} 条",
        "en": "{service}: {count} {what} removed",
    },
    "console.prune.nothing": {"zh-CN": "{service}：没有需要清理的数据", "en": "{service}: nothing to remove"},
    "console.broker_unreachable": {
        "zh-CN": "无法连接消息服务器（{error}）：请检查 NATS_URL",
        "en": "The broker does not answer ({error}): check NATS_URL",
    },
}


def negotiate(accept_language: str | None) -> str:
    """The best of our languages for an `Accept-Language` header: zh-CN unless en is preferred."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    best, best_quality = DEFAULT_LANGUAGE, 0.0
    for item in accept_language.split(",")[:20]:
        tag, _, parameters = item.strip().partition(";")
        language = _supported(tag.strip().lower())
        quality = _quality(parameters)
        if language is not None and quality > best_quality:
            best, best_quality = language, quality
    return best


def _supported(tag: str) -> str | None:
    if tag == "en" or tag.startswith("en-"):
        return "en"
    if tag in ("zh", "*") or tag.startswith("zh-"):
        return "zh-CN"
    return None


def _quality(parameters: str) -> float:
    name, _, value = parameters.strip().partition("=")
    if name.strip().lower() != "q":
        return 1.0
    try:
        quality = float(value)
    except ValueError:
        return 0.0
    return quality if 0.0 <= quality <= 1.0 else 0.0


def has_text(code: str) -> bool:
    return code in MESSAGES


def import_reason(code: str, lang: str = DEFAULT_LANGUAGE, **params: object) -> str:
    """Why a row of an import was not imported: the import's own reason, else the problem's title."""
    own = f"import.reason.{code}"
    return text(own if own in MESSAGES else f"problem.{code}", lang, **params)


def text(code: str, lang: str = DEFAULT_LANGUAGE, **params: object) -> str:
    """The message `code` in `lang` (zh-CN for an unknown language), formatted with `params`."""
    texts = MESSAGES[code]
    template = texts.get(lang, texts[DEFAULT_LANGUAGE])
    return template.format(**params) if params else template
