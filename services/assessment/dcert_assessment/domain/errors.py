"""Errors of the assessment context, each with a stable code and texts in zh-CN and en."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dcert_shared.problems import Bilingual, Conflict, FieldError, Forbidden, NotFound, ValidationFailed

if TYPE_CHECKING:
    from .assessment import Contradiction


class InstitutionNotFound(ValidationFailed):
    code = "institution_not_found"
    title_zh = "评定机构不存在"
    title_en = "No such assessment institution"


class CategoriesOutsideInstitution(ValidationFailed):
    code = "categories_outside_institution"
    title_zh = "医生的评定类别须在所属评定机构的类别之内"
    title_en = "A doctor's categories must be among their institution's categories"


class LicenceAlreadyRegistered(Conflict):
    code = "licence_already_registered"
    title_zh = "该执业证号已在本机构登记"
    title_en = "A doctor with this licence number is already registered at this institution"


class AssessmentNotFound(NotFound):
    code = "assessment_not_found"
    title_zh = "未找到该评定"
    title_en = "Assessment not found"


class NotTheAssignedDoctor(Forbidden):
    code = "not_the_assigned_doctor"
    title_zh = "只有受指派的医生可以查看或录入该评定"
    title_en = "Only the doctor assigned to this assessment may see it or record its result"


class NotYourAssessment(Forbidden):
    code = "not_your_assessment"
    title_zh = "只有被评定人本人、其代办人和案件所属地区的审核人员可以查看该评定"
    title_en = "Only the person assessed, their agent and the reviewers of the case may see this assessment"


class DoctorNotQualified(Forbidden):
    code = "doctor_not_qualified"
    title_zh = "医生无该残疾类别的评定资格"
    title_en = "The doctor is not qualified to assess this category"


class AssessmentCancelledError(Conflict):
    code = "assessment_cancelled"
    title_zh = "该评定已取消（申请已撤回或终止），不能录入结果"
    title_en = "This assessment was cancelled (the application was withdrawn or ended)"


class DoctorSuspendedError(Forbidden):
    code = "doctor_suspended"
    title_zh = "该医生已停止执业，不能录入评定结果"
    title_en = "This doctor is suspended and cannot record results"


class DoctorNotFound(NotFound):
    code = "doctor_not_found"
    title_zh = "未找到该医生"
    title_en = "Doctor not found"


class ResultAlreadyRecorded(Conflict):
    code = "result_already_recorded"
    title_zh = "该评定结果已录入，不能再次录入"
    title_en = "The result of this assessment has already been recorded"


class InvalidComposition(ValidationFailed):
    """多重残疾: two or more different categories, each graded; other results have no components."""

    code = "invalid_composition"
    title_zh = "多重残疾须包含两个及以上不同类别的分项评定，其他类别不得填写分项"
    title_en = (
        "A multiple disability needs two or more graded components of different categories; others none"
    )


class MeasurementsNotForCategory(ValidationFailed):
    code = "measurement_not_for_category"
    title_zh = "录入的测量项目不属于该残疾类别"
    title_en = "A measurement recorded is not a measure of this disability category"


class LevelRequired(ValidationFailed):
    code = "level_required"
    title_zh = "须填写残疾等级（多重残疾除外，其等级由各分项得出）"
    title_en = "A level is required (except for a multiple disability, whose level comes from its components)"


class GradeOutsideStandard(ValidationFailed):
    """The grade contradicts the measurements (GB/T 26341-2010) and no reason was given.

    The problem names the grades the measurements give (`expected_levels`, empty when they
    reach no grade), for the result or, for a multiple disability, its first such component;
    `contradictions` lists every one.
    """

    code = "grade_outside_standard"
    title_zh = "评定等级与测量结果不符（GB/T 26341-2010），请改正等级或填写理由"
    title_en = "The grade contradicts the measurements (GB/T 26341-2010): correct it or give a reason"

    @classmethod
    def for_contradictions(cls, contradictions: Sequence[Contradiction]) -> GradeOutsideStandard:
        return cls(
            detail=Bilingual(
                "；".join(
                    f"{c.category} {c.level} 级：{'、'.join(c.measured)} 对应 {list(c.expected_levels) or '无等级'}"
                    for c in contradictions
                ),
                "; ".join(
                    f"{c.category} level {c.level}: {', '.join(c.measured)} give {list(c.expected_levels) or 'no level'}"
                    for c in contradictions
                ),
            ),
            errors=[
                FieldError(
                    field=c.field,
                    code=cls.code,
                    message=Bilingual(
                        f"测量结果对应的等级：{list(c.expected_levels)}",
                        f"expected levels: {list(c.expected_levels)}",
                    ),
                )
                for c in contradictions
            ],
            expected_levels=list(contradictions[0].expected_levels),
            contradictions=[
                {
                    "category": c.category,
                    "level": c.level,
                    "expected_levels": list(c.expected_levels),
                    "measured": list(c.measured),
                }
                for c in contradictions
            ],
        )

    @property
    def expected_levels(self) -> list[int]:
        return list(self.extra["expected_levels"])


class SlotNotOffered(ValidationFailed):
    code = "slot_not_offered"
    title_zh = "所选时间不在可预约的时段内"
    title_en = "The time chosen is not one of the offered slots"


class SlotTaken(Conflict):
    code = "slot_taken"
    title_zh = "该时段已被预约，请另选时间"
    title_en = "This slot has just been taken; choose another"


class NotBookable(Conflict):
    code = "not_bookable"
    title_zh = "该评定尚未安排医生或已完成，不能预约"
    title_en = "This assessment has no doctor yet or is finished; it cannot be booked"
