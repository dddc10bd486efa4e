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
    "field.json_invalid": {"zh-CN": "请求体不是有效的JSON", "en": "The body is not valid JSON"},
    "field.unknown_role": {"zh-CN": "未知角色：{roles}之一", "en": "Unknown role; one of {roles}"},
    "field.unknown_claim": {"zh-CN": "不支持的声明", "en": "Unsupported claim"},
    "field.claim_required": {"zh-CN": "该角色必须提供此声明", "en": "Required for this role"},
    "field.claim_invalid": {"zh-CN": "声明值不正确", "en": "Not a valid value"},
    "field.ttl_out_of_range": {
        "zh-CN": "有效期应在1至{max_seconds}秒之间",
        "en": "Should be 1 to {max_seconds} seconds",
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


def text(code: str, lang: str = DEFAULT_LANGUAGE, **params: object) -> str:
    """The message `code` in `lang` (zh-CN for an unknown language), formatted with `params`."""
    texts = MESSAGES[code]
    template = texts.get(lang, texts[DEFAULT_LANGUAGE])
    return template.format(**params) if params else template
