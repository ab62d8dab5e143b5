package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
)

// Staff members and API tokens, for admins.

type staffView struct {
	ID          models.StaffID `json:"id"`
	Username    string         `json:"username"`
	DisplayName string         `json:"display_name"`
	Roles       []models.Role  `json:"roles"`
	Disabled    bool           `json:"disabled"`
	CreatedAt   time.Time      `json:"created_at"`
}

func (s *Server) listStaff(c *gin.Context) error {
	all, err := s.access.ListStaff(c.Request.Context())
	if err != nil {
		return err
	}
	out := make([]staffView, 0, len(all))
	for _, st := range all {
		out = append(out, staffView{ID: st.ID, Username: st.Username, DisplayName: st.DisplayName, Roles: st.Roles, Disabled: !st.Active(), CreatedAt: st.CreatedAt})
	}
	c.JSON(http.StatusOK, gin.H{"staff": out})
	return nil
}

type newStaffRequest struct {
	Username    string   `json:"username"`
	DisplayName string   `json:"display_name"`
	Password    string   `json:"password"`
	Roles       []string `json:"roles"`
}

func (s *Server) createStaff(c *gin.Context) error {
	var req newStaffRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	var roles []models.Role
	for _, r := range req.Roles {
		role, err := models.ParseRole(r)
		if err != nil {
			return err
		}
		roles = append(roles, role)
	}
	st, err := s.access.CreateStaff(c.Request.Context(), principal(c).Actor(), req.Username, req.DisplayName, req.Password, roles)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, staffView{ID: st.ID, Username: st.Username, DisplayName: st.DisplayName, Roles: st.Roles, CreatedAt: st.CreatedAt})
	return nil
}

func (s *Server) setDisabled(disabled bool) func(*gin.Context) error {
	return func(c *gin.Context) error {
		p := principal(c)
		if disabled && c.Param("username") == p.Staff.Username {
			return models.Errorf(models.ECONFLICT, "you cannot disable yourself")
		}
		ctx := c.Request.Context()
		if err := s.access.SetDisabled(ctx, p.Actor(), c.Param("username"), disabled); err != nil {
			return err
		}
		if disabled {
			// Their sessions are gone; their live call sockets go now too.
			st, err := s.access.StaffByUsername(ctx, c.Param("username"))
			if err != nil {
				return err
			}
			s.call.hub.EndStaff(st.ID, "staff member disabled")
		}
		c.Status(http.StatusNoContent)
		return nil
	}
}

type newTokenRequest struct {
	Username string `json:"username"`
	Name     string `json:"name"`
}

func (s *Server) createToken(c *gin.Context) error {
	var req newTokenRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	raw, tok, err := s.access.CreateToken(c.Request.Context(), principal(c).Actor(), req.Username, req.Name)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"id": tok.ID, "name": tok.Name, "token": raw, "note": "shown once; only its hash is kept"})
	return nil
}
