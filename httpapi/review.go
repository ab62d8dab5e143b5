package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"remoteidv/access"
	"remoteidv/models"
	"remoteidv/verify"
)

// supervisor is the role set of the decision endpoint.
var supervisor = []models.Role{models.RoleSupervisor}

func caseID(c *gin.Context) models.CaseID { return models.CaseID(c.Param("id")) }

func (s *Server) requirements(c *gin.Context) error {
	d := s.desk
	r, err := d.Requirements(c.Request.Context(), actor(c), caseID(c))
	if err != nil {
		return err
	}
	hours, open := d.RegistryHours(s.verify.Now())
	missing := r.Missing()
	if missing == nil {
		missing = []string{}
	}
	c.JSON(http.StatusOK, gin.H{"missing": missing, "ready": len(missing) == 0, "registry_hours": hours, "registry_open_now": open,
		"statement_code": r.StatementCode, "statement_problem": r.StatementProblem})
	return nil
}

func (s *Server) submit(c *gin.Context) error {
	d := s.desk
	cs, err := d.Submit(c.Request.Context(), actor(c), caseID(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"id": cs.ID, "state": cs.State})
	return nil
}

// idempotent runs a decision endpoint under its Idempotency-Key: the key
// is scoped by the caller and the route, and the stored answer (status and
// JSON body: run's 200 answer or its error's, errorAnswer) is replayed for
// the same key and body.
func (s *Server) idempotent(c *gin.Context, body []byte, run func() (any, error)) error {
	key := c.GetHeader("Idempotency-Key")
	if len(key) == 0 || len(key) > 255 {
		return models.Errorf(models.EINVALID, "an Idempotency-Key header of 1 to 255 characters is required")
	}
	scoped := principal(c).Actor() + " " + c.Request.Method + " " + c.Request.URL.Path + " " + key
	res, err := s.verify.Idempotent(c.Request.Context(), scoped, body, func() (int, []byte) {
		status := http.StatusOK
		v, err := run()
		if err != nil {
			var eb errorBody
			status, eb = s.errorAnswer(c, err)
			v = eb
		}
		b, err := json.Marshal(v)
		if err != nil {
			return http.StatusInternalServerError, nil
		}
		return status, b
	})
	if err != nil {
		return err
	}
	if res.Replay {
		c.Header("Idempotent-Replayed", "true")
	}
	c.Data(res.Status, "application/json; charset=utf-8", res.Body)
	return nil
}

func (s *Server) decide(c *gin.Context) error {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return err
	}
	var req struct {
		Decision        models.Decision `json:"decision"`
		Reason          string          `json:"reason"`
		StatementSHA256 string          `json:"statement_sha256"`
		// WebAuthn is the security key's answer (the PublicKeyCredential
		// as JSON) to POST /api/cases/{id}/decision/challenge for this
		// decision.
		WebAuthn json.RawMessage `json:"webauthn"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return models.Errorf(models.EINVALID, "body must be JSON {\"decision\": \"approve\"|\"reject\", \"reason\": \"...\", \"statement_sha256\": \"<the statement approved>\", \"webauthn\": <the key's answer, where your role decides with a key>}")
	}
	return s.idempotent(c, body, func() (any, error) {
		p := principal(c)
		in := verify.DecisionInput{Decision: req.Decision, Reason: req.Reason, StatementSHA256: req.StatementSHA256}
		if p.Session != nil {
			in.StepUpAt = p.Session.StepUpAt
		}
		// Where the role requires a key the password step-up is not
		// enough: the key signs this case, this decision and this
		// statement, once, so a stolen session cannot decide.
		if len(req.WebAuthn) > 0 || (s.access.KeysOn() && s.access.KeyRequired(p.Staff)) {
			if len(req.WebAuthn) == 0 {
				return nil, models.Errorf(models.EFORBIDDEN, "your role decides with a security key: sign the decision's challenge (POST /api/cases/%s/decision/challenge) and send the answer as webauthn", caseID(c))
			}
			bind := access.DecisionBinding{CaseID: caseID(c), Decision: req.Decision}
			if req.Decision == models.DecisionApprove {
				bind.StatementSHA256 = req.StatementSHA256
			}
			if err := s.access.VerifyDecisionKey(c.Request.Context(), p, bind, req.WebAuthn, clientIP(c)); err != nil {
				return nil, err
			}
			in.StepUpAt = s.access.Now()
		}
		apr, cs, err := s.desk.Decide(c.Request.Context(), actor(c), caseID(c), in)
		if err != nil {
			return nil, err
		}
		return gin.H{"id": cs.ID, "state": cs.State, "approval": gin.H{"id": apr.ID, "decision": apr.Decision, "reason": apr.Reason,
			"action": apr.Action, "supervisor": apr.Actor, "created_at": apr.CreatedAt}}, nil
	})
}

func (s *Server) release(c *gin.Context) error {
	return s.idempotent(c, nil, func() (any, error) {
		rel, err := s.desk.Release(c.Request.Context(), actor(c), caseID(c))
		if err != nil {
			return nil, err
		}
		return gin.H{"id": rel.Case.ID, "state": rel.Case.State, "statement": gin.H{"id": rel.StatementID, "evidence_id": rel.Statement.ID, "sha256": rel.Statement.SHA256,
			"size": rel.Statement.Size}, "mail": gin.H{"id": rel.Mail.ID, "to": rel.Mail.To, "message_id": rel.Mail.MessageID, "queued_at": rel.Mail.CreatedAt,
			"encrypted": rel.Encrypted, "attachment_sha256": rel.AttachmentSHA256}}, nil
	})
}

func (s *Server) statementPDF(c *gin.Context) error {
	d := s.desk
	b, ev, err := d.StatementPDF(c.Request.Context(), actor(c), caseID(c))
	if err != nil {
		return err
	}
	c.Header("X-Content-SHA256", ev.SHA256)
	c.Header("Content-Length", strconv.Itoa(len(b)))
	sendFile(c, "application/pdf", "statement-"+string(caseID(c))+".pdf", b)
	return nil
}

func (s *Server) statementPreview(c *gin.Context) error {
	b, ev, err := s.desk.StatementPreview(c.Request.Context(), actor(c), caseID(c))
	if err != nil {
		return err
	}
	c.Header("X-Statement-SHA256", ev.SHA256) // the file the picture shows
	c.Header("Cache-Control", "private, no-store")
	c.Data(http.StatusOK, "image/png", b)
	return nil
}

func (s *Server) revokeStatement(c *gin.Context) error {
	var req reasonRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	st, err := s.desk.RevokeStatement(c.Request.Context(), actor(c), caseID(c), req.Reason)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"id": st.ID, "sha256": st.SHA256, "released_at": st.ReleasedAt, "revoked_at": st.RevokedAt, "reason": st.RevokeReason})
	return nil
}
