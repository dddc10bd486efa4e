"""Errors of the certificate context, each with a stable code and texts in zh-CN and en."""

from __future__ import annotations

from dcert_shared.problems import Conflict, Forbidden, NotFound, ValidationFailed


class OpenApplicationExists(Conflict):
    code = "open_application_exists"
    title_zh = "该申请人已有一件正在办理的新办申请"
    title_en = "This person already has an open application for a new certificate"


class LiveCertificateExists(Conflict):
    code = "live_certificate_exists"
    title_zh = "该申请人已持有有效的残疾人证，请办理换领、补领或变更"
    title_en = "This person already holds a live certificate; apply for renewal, replacement or a change"


class PersonHasLiveRecords(Conflict):
    code = "person_has_live_records"
    title_zh = "此人仍有正在办理的申请或有效的残疾人证，须先办结或注销后才能删除其个人信息"
    title_en = (
        "This person still has an open application or a live certificate; "
        "close or cancel it before erasing their personal data"
    )


class PersonErasedError(Conflict):
    code = "person_erased"
    title_zh = "此人的个人信息已依法删除，不能再受理其申请，请与残联联系"
    title_en = "This person's personal data has been erased by law; no application can be taken for them"


class ApplicationNotInReviewableState(Conflict):
    code = "application_not_reviewable"
    title_zh = "申请当前状态不能作出该审核决定"
    title_en = "The application is not in a state that allows this decision"


class ApplicationNotFound(NotFound):
    code = "application_not_found"
    title_zh = "未找到该申请"
    title_en = "Application not found"


class CertificateNotFound(NotFound):
    code = "certificate_not_found"
    title_zh = "未找到该残疾人证"
    title_en = "Certificate not found"


class AgencyNotFound(NotFound):
    code = "agency_not_found"
    title_zh = "未找到该代办人"
    title_en = "Agent not found"


class NotYourApplication(Forbidden):
    code = "not_your_application"
    title_zh = "只能为本人或被代办人提交申请"
    title_en = "You may apply only for yourself or for the person you act for"


class CertificateNotActive(Conflict):
    """Raised with `certificate_status`: the matter needs a live certificate in another state."""

    code = "certificate_not_active"
    title_zh = "该残疾人证当前状态不能办理此事项"
    title_en = "The certificate is not in a state that allows this matter"


class AlreadyReportedLost(Conflict):
    code = "already_reported_lost"
    title_zh = "该残疾人证已挂失，请直接申请补领"
    title_en = "This certificate was already reported lost; apply for a replacement"


class OpenMatterExists(Conflict):
    code = "open_matter_exists"
    title_zh = "该残疾人证已有一件正在办理的事项，请办结或撤回后再申请"
    title_en = "Another matter on this certificate is open; finish or withdraw it first"


class RenewalWindowNotOpen(Conflict):
    code = "renewal_window_not_open"
    title_zh = "尚未到换领期，请在有效期届满前的换领期内申请"
    title_en = "The renewal window has not opened yet"


class SameRegion(ValidationFailed):
    code = "same_region"
    title_zh = "迁入地与当前户籍地相同，无需迁移"
    title_en = "The destination is the certificate's current region"


class SameGrade(ValidationFailed):
    code = "same_grade"
    title_zh = "申请变更的类别和等级与现证相同"
    title_en = "The requested category and grade are those of the current certificate"


class GradeUnchanged(Conflict):
    code = "grade_unchanged"
    title_zh = "评定结果与现证类别等级相同，不能按变更批准，请作不予变更处理"
    title_en = "The assessment found the same category and grade; reject the change instead"


class ReapplicationBarredError(Conflict):
    code = "reapplication_barred"
    title_zh = "自愿注销后一年内不能重新申请"
    title_en = "A new application is not possible within one year of a voluntary cancellation"


class NotWithdrawable(Conflict):
    code = "not_withdrawable"
    title_zh = "申请已作出决定，不能撤回"
    title_en = "A decision has been made; the application can no longer be withdrawn"


class NotReturned(Conflict):
    code = "not_returned"
    title_zh = "只有被退回补正的申请才能重新提交"
    title_en = "Only an application returned for correction can be resubmitted"


class NotYourPart(Forbidden):
    code = "not_your_part"
    title_zh = "该申请当前环节由其他地区办理"
    title_en = "The current step of this application belongs to another region's staff"


class DisputeWindowClosed(Conflict):
    code = "dispute_window_closed"
    title_zh = "已超过申请复核的期限（知道评定结果之日起10个工作日）"
    title_en = "The time to ask for a re-assessment has passed (10 working days from the result)"


class DisputeFinal(Conflict):
    code = "dispute_final"
    title_zh = "省级专家委员会的评定结论为最终结论，不能再申请"
    title_en = "The provincial expert committee's answer is final"


class NotDisputable(Conflict):
    code = "not_disputable"
    title_zh = "只有已出评定结果、尚未作出审核决定的申请才能申请复核"
    title_en = "Only an assessed application not yet decided can be disputed"
