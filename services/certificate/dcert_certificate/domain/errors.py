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


class NotYourApplication(Forbidden):
    code = "not_your_application"
    title_zh = "只能为本人或被代办人提交申请"
    title_en = "You may apply only for yourself or for the person you act for"


class MatterNotAvailable(ValidationFailed):
    code = "matter_not_available"
    title_zh = "该事项暂未开通网上办理"
    title_en = "This matter cannot be applied for here yet"
