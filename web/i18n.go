package web

import (
	"sort"
	"strconv"
	"strings"
)

// Languages the pages speak, in the order of the language switch.
var Languages = []string{"en", "zh-CN"}

// Catalogue holds every message of the staff pages in each language; the
// pages' scripts get the same messages (see Page.Messages), so a key is
// written once. A test keeps the languages complete.
type Catalogue map[string]map[string]string

// Messages returns the catalogue of the staff pages.
func Messages() Catalogue {
	return Catalogue{"en": en(), "zh-CN": zh()}
}

// T returns the message key in lang, falling back to English and then to
// the key itself, so a missing message shows as its key, never as nothing.
func (c Catalogue) T(lang, key string) string {
	if m, ok := c[lang][key]; ok {
		return m
	}
	if m, ok := c["en"][key]; ok {
		return m
	}
	return key
}

// Keys lists the keys of lang, sorted.
func (c Catalogue) Keys(lang string) []string {
	keys := make([]string, 0, len(c[lang]))
	for k := range c[lang] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Negotiate picks the page language: an explicit choice (the switch's
// cookie) first, else the browser's Accept-Language by quality, else English.
func Negotiate(choice, acceptLanguage string) string {
	if l := match(choice); l != "" {
		return l
	}
	type pref struct {
		lang string
		q    float64
	}
	var prefs []pref
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if l := match(tag); l != "" && q > 0 {
			prefs = append(prefs, pref{l, q})
		}
	}
	sort.SliceStable(prefs, func(i, j int) bool { return prefs[i].q > prefs[j].q })
	if len(prefs) > 0 {
		return prefs[0].lang
	}
	return "en"
}

// match maps a language tag to one of Languages ("" for none): any
// Chinese tag is shown Simplified Chinese, any English tag English.
func match(tag string) string {
	t := strings.ToLower(strings.TrimSpace(tag))
	switch {
	case t == "en" || strings.HasPrefix(t, "en-"):
		return "en"
	case t == "zh" || strings.HasPrefix(t, "zh-"):
		return "zh-CN"
	}
	return ""
}

func en() map[string]string {
	return map[string]string{
		"app.name":                 "Remote identity verification",
		"nav.skip":                 "Skip to the content",
		"nav.console":              "Schedule",
		"nav.review":               "Review queue",
		"nav.audit":                "Audit",
		"nav.admin":                "Staff",
		"nav.logout":               "Log out",
		"nav.language":             "Language",
		"nav.signed_in_as":         "Signed in as",
		"login.title":              "Staff login",
		"login.username":           "Username",
		"login.password":           "Password",
		"login.submit":             "Log in",
		"login.failed":             "Wrong username or password, or the account is disabled.",
		"forbidden.title":          "Not allowed",
		"forbidden.text":           "Your role may not open this page.",
		"common.loading":           "Loading…",
		"common.error":             "Something went wrong",
		"common.none":              "Nothing here yet.",
		"common.save":              "Save",
		"common.reason":            "Reason",
		"common.open":              "Open",
		"common.state":             "State",
		"common.account":           "Account",
		"common.case":              "Case",
		"common.actions":           "Actions",
		"common.back":              "Back",
		"common.yes":               "yes",
		"common.no":                "no",
		"common.refresh":           "Refresh",
		"console.title":            "Today's calls",
		"console.customer_tz":      "Customer's time",
		"console.branch_tz":        "Branch time",
		"console.new":              "New case",
		"console.lookup":           "Find the account (number or holder name)",
		"console.search":           "Search",
		"console.choose":           "Account",
		"console.purpose":          "Service",
		"console.statement":        "Transaction statement",
		"console.from":             "Period from",
		"console.to":               "Period to",
		"console.slot":             "Call at (customer's local time)",
		"console.slot_tz":          "Customer's time zone",
		"console.create":           "Create and schedule",
		"console.created":          "Case created",
		"console.upcoming":         "Scheduled and running cases",
		"case.title":               "Case",
		"case.slot":                "Call slot",
		"case.requirements":        "Requirements before submission",
		"case.ready":               "Everything is in place: the case can be submitted.",
		"case.invite":              "Invite",
		"case.invite_issue":        "Issue an invite link",
		"case.invite_email":        "Email the invite to the registered address",
		"case.invite_sent":         "The invite is on its way to the registered address.",
		"case.invite_link":         "Invite link (single use)",
		"case.call":                "Video call",
		"case.call_join":           "Join the call",
		"case.call_leave":          "End the call",
		"case.call_capture":        "Capture",
		"case.call_challenge":      "Start the liveness challenge",
		"case.call_quality":        "Connection quality",
		"case.call_customer":       "Customer's video",
		"case.call_self":           "Your camera",
		"case.face":                "Face checks",
		"case.face_upload":         "Photo to match (JPEG or PNG)",
		"case.face_run":            "Match the photo",
		"case.distance":            "Distance",
		"case.threshold":           "Threshold",
		"case.decision":            "Decision",
		"case.fmr":                 "Expected false-match rate",
		"case.confirm":             "Same person: confirm",
		"case.reject":              "Not the same person",
		"case.confirmed":           "Clerk's confirmation",
		"case.letter":              "Authorization letter",
		"case.letter_file":         "Signed letter (PDF, JPEG or PNG)",
		"case.letter_upload":       "Upload the letter",
		"case.letter_scope":        "Record its scope (this account, this period, the registered email)",
		"case.statement":           "Statement",
		"case.release_note":        "Once the case is sealed, release the statement: it is mailed to the registered address only.",
		"case.release":             "Release the statement",
		"case.released":            "The statement is released and on its way to the registered address.",
		"case.statement_pdf":       "Statement PDF for printing",
		"case.scope_account":       "Account number on the letter",
		"case.scope_email":         "Delivery to the registered email address",
		"case.scope_saved":         "Scope recorded.",
		"case.sig_saved":           "Signature verdict recorded.",
		"case.no_letter":           "No letter on file yet.",
		"case.confirm_note":        "Note (why)",
		"case.not_calibrated":      "not calibrated",
		"case.abort":               "Abort: poor video or suspected fraud",
		"case.reference":           "Reference photo",
		"case.capture_live":        "Live capture: the customer's video above",
		"case.play":                "Play the recording",
		"case.signature":           "Signature",
		"case.specimen":            "Specimen on file",
		"case.region":              "Signature region on the letter (pixels); drag on the letter to mark it",
		"case.region_x":            "Left",
		"case.region_y":            "Top",
		"case.region_w":            "Width",
		"case.region_h":            "Height",
		"case.verdict":             "Verdict",
		"case.verdict_pass":        "Pass",
		"case.verdict_fail":        "Fail",
		"case.verdict_inc":         "Inconclusive",
		"case.sig_record":          "Record the verdict",
		"case.registry":            "National ID registry",
		"case.registry_run":        "Run the registry check",
		"case.checks":              "Checks on record",
		"case.kind":                "Kind",
		"case.result":              "Result",
		"case.submit":              "Submit for review",
		"case.submitted":           "Submitted for review.",
		"case.end":                 "End the case",
		"case.cancel":              "Cancel the case",
		"case.timeline":            "Timeline",
		"case.evidence":            "Evidence",
		"review.title":             "Cases waiting for review",
		"review.case":              "Review",
		"review.decide":            "Decision",
		"review.approve":           "Approve",
		"review.reject":            "Reject",
		"review.password":          "Your password (step-up)",
		"review.send":              "Send the decision",
		"review.done":              "Decision recorded.",
		"review.capture":           "Capture",
		"review.specimen":          "Specimen",
		"review.letter":            "Letter",
		"audit.title":              "Find a case",
		"audit.account":            "Account number",
		"audit.state":              "State",
		"audit.any":                "any",
		"audit.search":             "Search",
		"audit.verify":             "Verify the audit chain",
		"audit.chain_ok":           "The audit chain is intact",
		"audit.chain_bad":          "The audit chain has problems",
		"audit.events":             "events",
		"audit.bundle":             "Download the evidence bundle",
		"audit.bundle_note":        "Check it offline with: idv evidence verify bundle.zip",
		"audit.sha256":             "SHA-256",
		"audit.size":               "Size",
		"audit.kind":               "Kind",
		"audit.archived":           "Archived",
		"audit.at":                 "Time",
		"audit.actor":              "Actor",
		"audit.action":             "Action",
		"admin.title":              "Staff users",
		"admin.username":           "Username",
		"admin.name":               "Name",
		"admin.roles":              "Roles",
		"admin.status":             "Status",
		"admin.active":             "active",
		"admin.disabled":           "disabled",
		"admin.disable":            "Disable",
		"admin.enable":             "Enable",
		"admin.add":                "Add a staff member",
		"admin.password":           "Initial password (at least 12 characters)",
		"admin.create":             "Add",
		"state.scheduled":          "scheduled",
		"state.in_session":         "in session",
		"state.pending_review":     "pending review",
		"state.approved":           "approved",
		"state.sealed":             "sealed",
		"state.released":           "released",
		"state.closed":             "closed",
		"state.rejected":           "rejected",
		"state.cancelled":          "cancelled",
		"state.expired":            "expired",
		"state.aborted":            "aborted",
		"req.consent":              "Recording and biometric consent",
		"req.face_match":           "Face match, confirmed by the clerk",
		"req.liveness":             "Liveness challenge passed",
		"req.signature":            "Signature checked: pass",
		"req.authorization_letter": "Authorization letter with its scope",
		"req.registry_check":       "National ID registry check passed",
		"req.email_code":           "Email code verified",
		"req.recording":            "Call recording complete",
		"req.done":                 "done",
		"req.missing":              "missing",
	}
}

func zh() map[string]string {
	return map[string]string{
		"app.name":                 "远程身份核验",
		"nav.skip":                 "跳到正文",
		"nav.console":              "日程",
		"nav.review":               "待审核",
		"nav.audit":                "审计",
		"nav.admin":                "员工",
		"nav.logout":               "退出登录",
		"nav.language":             "语言",
		"nav.signed_in_as":         "当前用户",
		"login.title":              "员工登录",
		"login.username":           "用户名",
		"login.password":           "密码",
		"login.submit":             "登录",
		"login.failed":             "用户名或密码错误，或账号已停用。",
		"forbidden.title":          "无权访问",
		"forbidden.text":           "您的角色不能打开此页面。",
		"common.loading":           "加载中…",
		"common.error":             "出错了",
		"common.none":              "暂无内容。",
		"common.save":              "保存",
		"common.reason":            "原因",
		"common.open":              "打开",
		"common.state":             "状态",
		"common.account":           "账户",
		"common.case":              "案件",
		"common.actions":           "操作",
		"common.back":              "返回",
		"common.yes":               "是",
		"common.no":                "否",
		"common.refresh":           "刷新",
		"console.title":            "今日视频通话",
		"console.customer_tz":      "客户当地时间",
		"console.branch_tz":        "网点时间",
		"console.new":              "新建案件",
		"console.lookup":           "查找账户（账号或户名）",
		"console.search":           "搜索",
		"console.choose":           "账户",
		"console.purpose":          "业务",
		"console.statement":        "交易流水",
		"console.from":             "起始日期",
		"console.to":               "截止日期",
		"console.slot":             "通话时间（客户当地时间）",
		"console.slot_tz":          "客户时区",
		"console.create":           "创建并预约",
		"console.created":          "案件已创建",
		"console.upcoming":         "已预约和进行中的案件",
		"case.title":               "案件",
		"case.slot":                "通话时段",
		"case.requirements":        "提交前的要求",
		"case.ready":               "要求均已满足，可以提交。",
		"case.invite":              "邀请",
		"case.invite_issue":        "生成邀请链接",
		"case.invite_email":        "将邀请发送到预留邮箱",
		"case.invite_sent":         "邀请正在发送到预留邮箱。",
		"case.invite_link":         "邀请链接（仅限使用一次）",
		"case.call":                "视频通话",
		"case.call_join":           "加入通话",
		"case.call_leave":          "结束通话",
		"case.call_capture":        "抓拍",
		"case.call_challenge":      "开始活体检测",
		"case.call_quality":        "连接质量",
		"case.call_customer":       "客户视频",
		"case.call_self":           "您的摄像头",
		"case.face":                "人脸比对",
		"case.face_upload":         "待比对照片（JPEG 或 PNG）",
		"case.face_run":            "比对照片",
		"case.distance":            "距离",
		"case.threshold":           "阈值",
		"case.decision":            "结论",
		"case.fmr":                 "预计误识率",
		"case.confirm":             "同一人：确认",
		"case.reject":              "不是同一人",
		"case.confirmed":           "柜员确认",
		"case.letter":              "授权书",
		"case.letter_file":         "已签署的授权书（PDF、JPEG 或 PNG）",
		"case.letter_upload":       "上传授权书",
		"case.letter_scope":        "登记授权范围（本账户、本期间、预留邮箱）",
		"case.statement":           "对账单",
		"case.release_note":        "案件封存后即可发送对账单：只会发送到预留邮箱。",
		"case.release":             "发送对账单",
		"case.released":            "对账单已发出，正在发送到预留邮箱。",
		"case.statement_pdf":       "打印用对账单 PDF",
		"case.scope_account":       "授权书上的账号",
		"case.scope_email":         "发送至预留邮箱",
		"case.scope_saved":         "授权范围已登记。",
		"case.sig_saved":           "签名结论已记录。",
		"case.no_letter":           "尚无授权书。",
		"case.confirm_note":        "备注（原因）",
		"case.not_calibrated":      "未校准",
		"case.abort":               "终止：视频质量差或疑似欺诈",
		"case.reference":           "开户留存照片",
		"case.capture_live":        "实时抓拍：见上方客户视频",
		"case.play":                "播放录音",
		"case.signature":           "签名",
		"case.specimen":            "预留签名样本",
		"case.region":              "授权书上的签名区域（像素）；可在授权书上拖动标记",
		"case.region_x":            "左",
		"case.region_y":            "上",
		"case.region_w":            "宽",
		"case.region_h":            "高",
		"case.verdict":             "结论",
		"case.verdict_pass":        "通过",
		"case.verdict_fail":        "不通过",
		"case.verdict_inc":         "无法确定",
		"case.sig_record":          "记录结论",
		"case.registry":            "公民身份信息核查",
		"case.registry_run":        "执行身份核查",
		"case.checks":              "已记录的核查",
		"case.kind":                "类型",
		"case.result":              "结果",
		"case.submit":              "提交审核",
		"case.submitted":           "已提交审核。",
		"case.end":                 "终止案件",
		"case.cancel":              "取消案件",
		"case.timeline":            "时间线",
		"case.evidence":            "证据",
		"review.title":             "待审核案件",
		"review.case":              "审核",
		"review.decide":            "审批结论",
		"review.approve":           "批准",
		"review.reject":            "拒绝",
		"review.password":          "您的密码（二次验证）",
		"review.send":              "提交审批结论",
		"review.done":              "审批结论已记录。",
		"review.capture":           "抓拍",
		"review.specimen":          "签名样本",
		"review.letter":            "授权书",
		"audit.title":              "查找案件",
		"audit.account":            "账号",
		"audit.state":              "状态",
		"audit.any":                "全部",
		"audit.search":             "搜索",
		"audit.verify":             "校验审计链",
		"audit.chain_ok":           "审计链完整",
		"audit.chain_bad":          "审计链存在问题",
		"audit.events":             "条事件",
		"audit.bundle":             "下载证据包",
		"audit.bundle_note":        "离线校验：idv evidence verify bundle.zip",
		"audit.sha256":             "SHA-256",
		"audit.size":               "大小",
		"audit.kind":               "类型",
		"audit.archived":           "归档时间",
		"audit.at":                 "时间",
		"audit.actor":              "操作人",
		"audit.action":             "操作",
		"admin.title":              "员工账号",
		"admin.username":           "用户名",
		"admin.name":               "姓名",
		"admin.roles":              "角色",
		"admin.status":             "状态",
		"admin.active":             "启用",
		"admin.disabled":           "停用",
		"admin.disable":            "停用",
		"admin.enable":             "启用",
		"admin.add":                "新增员工",
		"admin.password":           "初始密码（至少 12 个字符）",
		"admin.create":             "新增",
		"state.scheduled":          "已预约",
		"state.in_session":         "通话中",
		"state.pending_review":     "待审核",
		"state.approved":           "已批准",
		"state.sealed":             "已封存",
		"state.released":           "已发送",
		"state.closed":             "已结案",
		"state.rejected":           "已拒绝",
		"state.cancelled":          "已取消",
		"state.expired":            "已过期",
		"state.aborted":            "已终止",
		"req.consent":              "录像及生物特征同意",
		"req.face_match":           "人脸比对（柜员已确认）",
		"req.liveness":             "活体检测通过",
		"req.signature":            "签名核对通过",
		"req.authorization_letter": "授权书及其范围",
		"req.registry_check":       "身份核查通过",
		"req.email_code":           "邮箱验证码已验证",
		"req.recording":            "通话录像完整",
		"req.done":                 "已完成",
		"req.missing":              "未完成",
	}
}
