"""The reason codes of benefit decisions, with their texts in zh-CN and en."""

from __future__ import annotations

REASONS: dict[str, tuple[str, str]] = {
    "severe_disability": (
        "一、二级重度残疾人，符合条件",
        "Grade 1 or 2 (severe) disability: eligible",
    ),
    "category_visual": ("视力残疾人（盲人），符合条件", "Visual disability (blind): eligible"),
    "category_mental": ("精神残疾人，符合条件", "Mental disability: eligible"),
    "category_hearing": ("听力残疾人，符合条件", "Hearing disability: eligible"),
    "category_speech": ("言语残疾人，符合条件", "Speech disability: eligible"),
    "category_physical": ("肢体残疾人，符合条件", "Physical disability: eligible"),
    "category_intellectual": ("智力残疾人，符合条件", "Intellectual disability: eligible"),
    "category_multiple": ("多重残疾人，符合条件", "Multiple disability: eligible"),
    "age_covered": ("年龄在政策范围内，符合条件", "The age is within the policy's range: eligible"),
    "category_not_covered": (
        "残疾类别不在该项政策范围内",
        "The disability category is not covered by this policy",
    ),
    "age_not_covered": ("年龄不在该项政策范围内", "The age is outside this policy's range"),
    "age_unknown": (
        "无法确定出生日期，待核实后认定",
        "The date of birth is not known: decided once it is confirmed",
    ),
    "age_limit_reached": (
        "已超过该项政策的年龄上限，自次月起停止",
        "Past the policy's age limit: ends from the following month",
    ),
    "residence_not_covered": (
        "常住地不在该项政策的适用地区",
        "The place of residence is outside the area of this policy",
    ),
    "no_long_term_care": (
        "经认定不需要长期照护，不符合护理补贴条件",
        "Reported as not needing long-term care: not eligible for the nursing subsidy",
    ),
    "long_term_care_started": (
        "经认定需要长期照护，按规定认定",
        "Reported as needing long-term care: decided again",
    ),
    "long_term_care_ended": (
        "经认定不再需要长期照护，自次月起停发",
        "No longer needs long-term care: paid no more from the following month",
    ),
    "low_income_started": (
        "民政部门认定为低保家庭，重新认定",
        "Subsistence allowance (dibao) started: decided again",
    ),
    "policy_changed": (
        "补贴政策调整，自新政策生效月起按新标准执行",
        "The policy changed: the new rule applies from the month it takes effect",
    ),
    "transferred": (
        "残疾人证迁移，原地区发放至当月，新地区自次月起接续",
        "The certificate moved: the old region pays to the end of the month, the new one from the next",
    ),
    "certificate_renewed": (
        "残疾人证已换领，自换领当月起继续享受",
        "The certificate was renewed: paid again from that month",
    ),
    "certificate_expired": (
        "残疾人证已过有效期，自次月起停发",
        "The certificate expired: paid no more from the following month",
    ),
    "certificate_voluntary": (
        "残疾人证已应本人申请注销，自次月起停发",
        "The certificate was cancelled at the holder's request: paid no more from the following month",
    ),
    "certificate_death": (
        "持证人身故，残疾人证已注销，自次月起停发",
        "The holder died and the certificate was cancelled",
    ),
    "certificate_no_longer_eligible": (
        "经复核不再符合残疾标准，残疾人证已注销，自次月起停发",
        "No longer meets the disability standard: certificate cancelled, paid no more from the following month",
    ),
    "certificate_fraud": (
        "残疾人证因弄虚作假被注销，自次月起停发",
        "The certificate was cancelled for fraud: paid no more from the following month",
    ),
    "certificate_settled_abroad": (
        "持证人定居国外，残疾人证已注销，自次月起停发",
        "The holder settled abroad and the certificate was cancelled: paid no more from the following month",
    ),
    "grade_covered": ("残疾等级在本地政策范围内", "The grade is covered by the local policy"),
    "local_extension_intellectual_mental": (
        "本地政策将护理补贴扩展至三、四级智力、精神残疾人",
        "The local policy extends the subsidy to grade 3-4 intellectual and mental disability",
    ),
    "low_income_family": (
        "低保家庭的残疾人，符合生活补贴条件",
        "Member of a subsistence-allowance (dibao) family: eligible",
    ),
    "no_low_income_fact": (
        "尚无民政部门的低保（最低生活保障）认定",
        "No subsistence-allowance (dibao) status reported by civil affairs yet",
    ),
    "low_income_ended": (
        "低保已停止，自次月起停发",
        "The subsistence allowance (dibao) ended: paid no more from the following month",
    ),
    "grade_not_covered": (
        "残疾等级不在本地补贴范围内",
        "The disability grade is not covered by the local policy",
    ),
    "excluded_orphan_basic_living_support": (
        "已享受孤儿基本生活保障，不再享受本补贴",
        "Receives the orphans' basic living support, which excludes this subsidy",
    ),
    "excluded_extreme_poverty_support": (
        "已纳入特困人员救助供养，按本地规定不享受本补贴",
        "Supported as a person in extreme poverty, which the local rule excludes",
    ),
    "excluded_work_injury_nursing_allowance": (
        "已享受工伤保险生活护理费，不再享受护理补贴",
        "Receives the work-injury nursing allowance, which excludes this subsidy",
    ),
    "no_policy_in_effect": ("该日期尚无有效的补贴政策", "No policy in effect at that date"),
    "no_local_amount": ("户籍地尚未公布补贴标准", "The household region has not set an amount"),
    "holder_deceased": ("持证人已身故", "The holder has died"),
    "death": ("持证人已身故，自次月起停发", "The holder died: paid no more from the following month"),
    "household_moved": (
        "户籍迁移，原地区发放至当月，新地区自次月起接续",
        "Household moved: the old region pays to the end of the month, the new one from the next",
    ),
    "certificate_changed": (
        "残疾人证变更，按新证重新认定",
        "The certificate changed: decided again on the new one",
    ),
}


def reason_text(code: str, language: str) -> str:
    zh, en = REASONS.get(code, (code, code))
    return en if language == "en" else zh
