package mail

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	texttemplate "text/template"
)

// Kinds of message the service sends.
const (
	KindInvite    = "invite"
	KindCode      = "code"
	KindStatement = "statement"
)

// Languages the templates are written in; any other falls back to English.
const (
	LangEnglish = "en"
	LangChinese = "zh-CN"
)

// Data fills a template. Only the fields a kind uses need be set.
type Data struct {
	BankName   string
	HolderName string
	Link       string // invite
	SlotLocal  string // invite: the call time in the customer's zone
	Code       string // code: the six digits
	Minutes    int    // code: validity
	PeriodFrom string // statement
	PeriodTo   string
	CaseRef    string
}

type template struct {
	subject, text, html string
}

var templates = map[string]map[string]template{
	KindInvite: {
		LangEnglish: {
			subject: "{{.BankName}}: your video verification call",
			text:    "Dear {{.HolderName}},\n\nyour video call with {{.BankName}} is at {{.SlotLocal}}.\nJoin from a browser with camera and microphone: {{.Link}}\nThe link works from 15 minutes before to 30 minutes after the call, once.\nThe calendar entry is attached.\n\n{{.BankName}}\n",
			html:    "<p>Dear {{.HolderName}},</p><p>your video call with {{.BankName}} is at <b>{{.SlotLocal}}</b>.</p><p><a href=\"{{.Link}}\">Join the call</a> from a browser with camera and microphone. The link works from 15 minutes before to 30 minutes after the call, once.</p><p>{{.BankName}}</p>",
		},
		LangChinese: {
			subject: "{{.BankName}}：您的视频核验通话",
			text:    "{{.HolderName}}，您好：\n\n您与{{.BankName}}的视频通话时间为 {{.SlotLocal}}。\n请使用带摄像头和麦克风的浏览器打开：{{.Link}}\n链接在通话前15分钟至通话后30分钟内有效，仅可使用一次。日历文件见附件。\n\n{{.BankName}}\n",
			html:    "<p>{{.HolderName}}，您好：</p><p>您与{{.BankName}}的视频通话时间为 <b>{{.SlotLocal}}</b>。</p><p>请使用带摄像头和麦克风的浏览器<a href=\"{{.Link}}\">加入通话</a>。链接在通话前15分钟至通话后30分钟内有效，仅可使用一次。</p><p>{{.BankName}}</p>",
		},
	},
	KindCode: {
		LangEnglish: {
			subject: "{{.BankName}}: your verification code",
			text:    "Your verification code is {{.Code}}.\nIt is valid for {{.Minutes}} minutes and can be used once. {{.BankName}} staff will never ask you for it.\n",
			html:    "<p>Your verification code is <b>{{.Code}}</b>.</p><p>It is valid for {{.Minutes}} minutes and can be used once. {{.BankName}} staff will never ask you for it.</p>",
		},
		LangChinese: {
			subject: "{{.BankName}}：您的验证码",
			text:    "您的验证码是 {{.Code}}。\n{{.Minutes}}分钟内有效，仅可使用一次。{{.BankName}}工作人员不会向您索取验证码。\n",
			html:    "<p>您的验证码是 <b>{{.Code}}</b>。</p><p>{{.Minutes}}分钟内有效，仅可使用一次。{{.BankName}}工作人员不会向您索取验证码。</p>",
		},
	},
	KindStatement: {
		LangEnglish: {
			subject: "{{.BankName}}: your transaction statement {{.PeriodFrom}} to {{.PeriodTo}}",
			text:    "Dear {{.HolderName}},\n\nas you authorized, your transaction statement for {{.PeriodFrom}} to {{.PeriodTo}} is attached (PDF).\nReference: {{.CaseRef}}\n\n{{.BankName}}\n",
			html:    "<p>Dear {{.HolderName}},</p><p>as you authorized, your transaction statement for {{.PeriodFrom}} to {{.PeriodTo}} is attached (PDF).</p><p>Reference: {{.CaseRef}}</p><p>{{.BankName}}</p>",
		},
		LangChinese: {
			subject: "{{.BankName}}：您的交易明细 {{.PeriodFrom}} 至 {{.PeriodTo}}",
			text:    "{{.HolderName}}，您好：\n\n根据您的授权，附件为您 {{.PeriodFrom}} 至 {{.PeriodTo}} 的交易明细（PDF）。\n业务编号：{{.CaseRef}}\n\n{{.BankName}}\n",
			html:    "<p>{{.HolderName}}，您好：</p><p>根据您的授权，附件为您 {{.PeriodFrom}} 至 {{.PeriodTo}} 的交易明细（PDF）。</p><p>业务编号：{{.CaseRef}}</p><p>{{.BankName}}</p>",
		},
	},
}

// Render fills the kind's template in lang (English when the language has
// no template) and returns the subject, the plain text and the HTML body.
// HTML values are escaped.
func Render(kind, lang string, d Data) (subject, text, html string, err error) {
	byLang, ok := templates[kind]
	if !ok {
		return "", "", "", fmt.Errorf("render mail: unknown kind %q", kind)
	}
	t, ok := byLang[lang]
	if !ok {
		t = byLang[LangEnglish]
	}
	run := func(name, src string, html bool) (string, error) {
		var b bytes.Buffer
		var err error
		if html {
			var tpl *htmltemplate.Template
			if tpl, err = htmltemplate.New(name).Option("missingkey=error").Parse(src); err == nil {
				err = tpl.Execute(&b, d)
			}
		} else {
			var tpl *texttemplate.Template
			if tpl, err = texttemplate.New(name).Option("missingkey=error").Parse(src); err == nil {
				err = tpl.Execute(&b, d)
			}
		}
		if err != nil {
			return "", fmt.Errorf("render %s mail %s: %w", kind, name, err)
		}
		return b.String(), nil
	}
	if subject, err = run("subject", t.subject, false); err != nil {
		return "", "", "", err
	}
	if text, err = run("text", t.text, false); err != nil {
		return "", "", "", err
	}
	if html, err = run("html", t.html, true); err != nil {
		return "", "", "", err
	}
	return subject, text, html, nil
}
