"""The reason codes of benefit decisions, with their texts in zh-CN and en."""

from __future__ import annotations

REASONS: dict[str, tuple[str, str]] = {
    "severe_disability": (
        "一、二级重度残疾人，符合护理补贴条件",
        "Grade 1 or 2 (severe) disability: eligible",
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
