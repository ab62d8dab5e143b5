package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/access"
	"remoteidv/models"
)

// keyView is a security key as its owner sees it (never the public key).
type keyView struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt *string `json:"last_used_at,omitempty"`
}

// keysResponse is GET /api/me/keys: the caller's keys and what the
// session still waits for.
type keysResponse struct {
	Keys []keyView `json:"keys"`
	// Required: the caller's role requires a key.
	Required bool `json:"required"`
	// Pending: role work waits until a key is presented (or, with no
	// keys, registered) in this session.
	Pending bool `json:"pending"`
	// Enabled: security keys are configured on this server.
	Enabled bool `json:"enabled"`
	// Enrolment: registering (the first key) needs the one-time code an
	// admin issued (IDV_WEBAUTHN_ENROLMENT=admin).
	Enrolment bool `json:"enrolment"`
}

func (s *Server) listMyKeys(c *gin.Context) error {
	p := principal(c)
	keys, err := s.access.ListKeys(c.Request.Context(), p.Staff.ID)
	if err != nil {
		return err
	}
	out := keysResponse{Keys: []keyView{}, Required: s.access.KeyRequired(p.Staff), Enabled: s.access.KeysOn(),
		Pending: p.Session != nil && p.Session.KeyPending()}
	if out.Enrolment, err = s.access.EnrolmentNeeded(c.Request.Context(), p.Staff); err != nil {
		return err
	}
	for _, k := range keys {
		v := keyView{ID: k.ID, Name: k.Name, CreatedAt: k.CreatedAt.UTC().Format(time.RFC3339)}
		if k.LastUsedAt != nil {
			t := k.LastUsedAt.UTC().Format(time.RFC3339)
			v.LastUsedAt = &t
		}
		out.Keys = append(out.Keys, v)
	}
	c.JSON(http.StatusOK, out)
	return nil
}

type keyNameRequest struct {
	Name          string `json:"name"`
	EnrolmentCode string `json:"enrolment_code"`
}

// beginKeyRegistration answers the options for navigator.credentials.create.
func (s *Server) beginKeyRegistration(c *gin.Context) error {
	var req keyNameRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	opts, err := s.access.BeginKeyRegistration(c.Request.Context(), principal(c), req.Name, req.EnrolmentCode, clientIP(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, opts)
	return nil
}

// rawBody reads a body that is handed on as it is (a key's answer).
func rawBody(c *gin.Context) ([]byte, error) {
	b, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return nil, err
	}
	if !json.Valid(b) {
		return nil, models.Errorf(models.EINVALID, "body must be the PublicKeyCredential as JSON")
	}
	return b, nil
}

func (s *Server) finishKeyRegistration(c *gin.Context) error {
	b, err := rawBody(c)
	if err != nil {
		return err
	}
	k, err := s.access.FinishKeyRegistration(c.Request.Context(), principal(c), b, clientIP(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, keyView{ID: k.ID, Name: k.Name, CreatedAt: k.CreatedAt.UTC().Format(time.RFC3339)})
	return nil
}

func (s *Server) removeMyKey(c *gin.Context) error {
	if err := s.access.RemoveKey(c.Request.Context(), principal(c), c.Param("key"), clientIP(c)); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) beginKeySignIn(c *gin.Context) error {
	opts, err := s.access.BeginKeySignIn(c.Request.Context(), principal(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, opts)
	return nil
}

func (s *Server) finishKeySignIn(c *gin.Context) error {
	b, err := rawBody(c)
	if err != nil {
		return err
	}
	p := principal(c)
	if err := s.access.FinishKeySignIn(c.Request.Context(), p, b, clientIP(c)); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"home": homeOf(p.Staff)})
	return nil
}

type decisionChallengeRequest struct {
	Decision        models.Decision `json:"decision"`
	StatementSHA256 string          `json:"statement_sha256"`
}

// decisionChallenge answers the options for navigator.credentials.get
// whose challenge covers this case, the decision and the statement.
func (s *Server) decisionChallenge(c *gin.Context) error {
	var req decisionChallengeRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	opts, err := s.access.BeginDecisionKey(c.Request.Context(), principal(c),
		access.DecisionBinding{CaseID: caseID(c), Decision: req.Decision, StatementSHA256: req.StatementSHA256})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, opts)
	return nil
}

func (s *Server) resetKeys(c *gin.Context) error {
	var req reasonRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	n, err := s.access.ResetKeys(c.Request.Context(), principal(c), c.Param("username"), req.Reason, clientIP(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"username": c.Param("username"), "removed": n})
	return nil
}

// issueEnrolment issues a one-time code for the member's first key; an
// admin does not issue their own.
func (s *Server) issueEnrolment(c *gin.Context) error {
	p := principal(c)
	code, expires, err := s.access.IssueEnrolment(c.Request.Context(), p.Actor(), p.Staff.ID, c.Param("username"), clientIP(c))
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"username": c.Param("username"), "code": code, "expires_at": expires.UTC().Format(time.RFC3339)})
	return nil
}
