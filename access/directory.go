package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"remoteidv/models"
)

// DirectoryActor is the audit actor of what the directory decides: staff
// rows created, updated, disabled or re-enabled from its answers.
const DirectoryActor = "system:directory"

// ProviderActor is the audit actor of what the identity provider's answers
// decide: staff rows created, updated, disabled or re-enabled.
const ProviderActor = "system:oidc"

// actorOf is the audit actor of an outside source's decisions.
func actorOf(source models.StaffSource) string {
	if source == models.SourceOIDC {
		return ProviderActor
	}
	return DirectoryActor
}

// sourceOf is st's source, SourceLocal when unset.
func sourceOf(st *models.Staff) models.StaffSource {
	if st.Source == "" {
		return models.SourceLocal
	}
	return st.Source
}

var errDirectoryDown = models.Errorf(models.EUNAVAILABLE,
	"the staff directory cannot be reached; try again in a moment (local accounts, such as the break-glass admin, still sign in)")

// Reasons a directory sign-in fails or a directory member is disabled.
const (
	reasonNotInDirectory = "not in the directory (gone or disabled)"
	reasonNoMappedGroup  = "no directory group mapped to a role"
)

// directoryLogin checks username and password with the directory for a
// name without a local row of source local (st: its directory row, or
// nil). On success it sets a.sync to write the directory's answer with the
// new session and returns the row as it is now; on failure it has counted
// and audited the attempt and returns the error for the caller.
func (s *Service) directoryLogin(ctx context.Context, a *attempt, st *models.Staff, password string) (*models.Staff, error) {
	e, err := s.Directory.Authenticate(ctx, a.username, password)
	switch models.ErrorCodeOf(err) {
	case "":
	case models.EUNAVAILABLE:
		s.release(ctx, a.account, a.addr) // an outage is nobody's failed attempt
		s.Log.WarnContext(ctx, "directory sign-in", "err", err)
		s.recordDirectoryDown(ctx, a, st)
		return nil, errDirectoryDown
	case models.EUNAUTHORIZED:
		s.loginFailed(ctx, a, st, "wrong password")
		return nil, errBadLogin
	case models.ENOTFOUND:
		reason := "unknown user"
		if st != nil {
			reason = reasonNotInDirectory
			if st.Active() {
				if err := s.disableFromDirectory(ctx, st.Username, reason); err != nil {
					s.Log.ErrorContext(ctx, "disable staff gone from the directory", "err", err)
				}
			}
		}
		s.loginFailed(ctx, a, st, reason)
		return nil, errBadLogin
	default:
		s.release(ctx, a.account, a.addr)
		return nil, fmt.Errorf("directory sign-in %q: %w", a.username, err)
	}
	// The directory spells the name its way (AD names ignore case): the
	// row is the one of that spelling.
	var row *models.Staff
	err = s.Store.Transact(ctx, func(tx models.Tx) (err error) { row, err = tx.StaffByUsername(ctx, e.Username); return })
	if err != nil && models.ErrorCodeOf(err) != models.ENOTFOUND {
		s.release(ctx, a.account, a.addr)
		return nil, fmt.Errorf("directory sign-in %q: %w", a.username, err)
	}
	if err != nil {
		row = nil
	}
	switch {
	case row != nil && !row.FromDirectory():
		// A local account keeps its name: the directory cannot take it over.
		s.loginFailed(ctx, a, row, "the name belongs to a local account")
		return nil, errBadLogin
	case row != nil && !row.Active() && row.DisabledBy != models.DisabledByDirectory:
		s.loginFailed(ctx, a, row, "disabled")
		return nil, errBadLogin
	case len(e.Roles) == 0:
		if row != nil && row.Active() {
			if err := s.disableFromDirectory(ctx, row.Username, reasonNoMappedGroup); err != nil {
				s.Log.ErrorContext(ctx, "disable staff without a mapped group", "err", err)
			}
		}
		s.loginFailed(ctx, a, row, reasonNoMappedGroup)
		return nil, models.Errorf(models.EFORBIDDEN, "your directory account is in no group that may use this service; ask an administrator")
	}
	a.sync = func(tx models.Tx) (*models.Staff, error) { return s.syncEntry(ctx, tx, e, models.SourceLDAP) }
	if row == nil {
		return &models.Staff{Username: e.Username}, nil
	}
	return row, nil
}

// recordDirectoryDown audits a sign-in the directory could not answer.
func (s *Service) recordDirectoryDown(ctx context.Context, a *attempt, st *models.Staff) {
	ctx = context.WithoutCancel(ctx)
	if st == nil {
		s.recordThrottled(ctx, "auth.login_failed", a.remote, "", a.detail("", "directory unavailable"))
		return
	}
	err := s.Store.Transact(ctx, func(tx models.Tx) error {
		return s.event(ctx, tx, models.StaffActor(st.ID), "auth.login_failed", a.detail(st.Username, "directory unavailable"))
	})
	if err != nil {
		s.Log.ErrorContext(ctx, "record failed login", "err", err)
	}
}

// syncEntry creates or updates the staff row of entry e from source (the
// directory or the identity provider) in tx: display name, roles and
// entry, re-enabling a member the source had disabled; each change is
// audited as the source's (actorOf). It refuses (ECONFLICT) a name held by
// an account of another source or disabled by an admin.
func (s *Service) syncEntry(ctx context.Context, tx models.Tx, e *models.DirectoryEntry, source models.StaffSource) (*models.Staff, error) {
	actor := actorOf(source)
	name := e.DisplayName
	if name == "" {
		name = e.Username
	}
	if utf8.RuneCountInString(name) > 200 {
		name = string([]rune(name)[:200])
	}
	st, err := tx.StaffByUsername(ctx, e.Username)
	if models.ErrorCodeOf(err) == models.ENOTFOUND {
		id, err := models.NewID(s.Rand, "stf")
		if err != nil {
			return nil, err
		}
		st = &models.Staff{ID: models.StaffID(id), Username: e.Username, DisplayName: name, Roles: e.Roles, PasswordHash: models.NoPassword,
			CreatedAt: s.Now().UTC(), Source: source, DirectoryDN: e.DN}
		if err := tx.CreateStaff(ctx, st); err != nil {
			return nil, err
		}
		return st, s.event(ctx, tx, actor, "staff.created", map[string]string{"staff": id, "username": st.Username,
			"roles": rolesString(st.Roles), "source": string(source)})
	}
	if err != nil {
		return nil, err
	}
	if st.Source != source {
		return nil, models.Errorf(models.ECONFLICT, "staff %q is an account of source %s", st.Username, sourceOf(st))
	}
	if !st.Active() && st.DisabledBy != models.DisabledByDirectory {
		return nil, models.Errorf(models.ECONFLICT, "staff %q was disabled by an administrator", st.Username)
	}
	old := *st
	st.DisplayName, st.Roles, st.DirectoryDN = name, e.Roles, e.DN
	enabled := !st.Active()
	st.DisabledAt, st.DisabledBy = nil, ""
	if old.DisplayName == st.DisplayName && slices.Equal(old.Roles, st.Roles) && old.DirectoryDN == st.DirectoryDN && !enabled {
		return st, nil
	}
	if err := tx.UpdateStaff(ctx, st); err != nil {
		return nil, err
	}
	if enabled {
		if err := s.event(ctx, tx, actor, "staff.enabled", map[string]string{"staff": string(st.ID), "source": string(source)}); err != nil {
			return nil, err
		}
	}
	return st, s.event(ctx, tx, actor, "staff.directory_updated", map[string]string{"staff": string(st.ID), "username": st.Username,
		"roles": rolesString(st.Roles), "old_roles": rolesString(old.Roles), "display_name": st.DisplayName})
}

// disableFromDirectory disables the directory member named username
// because the directory says so (reason), ending every session at once.
func (s *Service) disableFromDirectory(ctx context.Context, username, reason string) error {
	return s.disableFrom(ctx, models.SourceLDAP, username, reason)
}

// disableFrom disables the member of source named username because the
// source says so (reason), ending every session at once.
func (s *Service) disableFrom(ctx context.Context, source models.StaffSource, username, reason string) error {
	return s.Store.Transact(ctx, func(tx models.Tx) error {
		st, err := tx.StaffByUsername(ctx, username)
		if err != nil {
			return err
		}
		if st.Source != source || !st.Active() {
			return nil
		}
		now := s.Now().UTC()
		st.DisabledAt, st.DisabledBy = &now, models.DisabledByDirectory
		if err := tx.DeleteStaffSessions(ctx, st.ID); err != nil {
			return err
		}
		if err := tx.UpdateStaff(ctx, st); err != nil {
			return err
		}
		return s.event(ctx, tx, actorOf(source), "staff.disabled", map[string]string{"staff": string(st.ID), "username": st.Username, "reason": reason})
	})
}

// DirectorySync is what one SyncDirectory round did.
type DirectorySync struct {
	Checked, Updated, Disabled, Failed int
}

// SyncDirectory checks every enabled directory member against the
// directory: one it no longer finds (gone or disabled) or whose groups map
// to no role is disabled and its sessions end at once; changed roles and
// names are written. A directory that cannot be reached ends the round
// with its error and disables nobody. Without a directory it does nothing.
func (s *Service) SyncDirectory(ctx context.Context) (DirectorySync, error) {
	var rep DirectorySync
	if s.Directory == nil {
		return rep, nil
	}
	all, err := s.ListStaff(ctx)
	if err != nil {
		return rep, err
	}
	var errs []error
	for _, st := range all {
		if !st.FromDirectory() || !st.Active() {
			continue
		}
		rep.Checked++
		e, err := s.Directory.Lookup(ctx, st.Username)
		reason := ""
		switch models.ErrorCodeOf(err) {
		case "":
			if len(e.Roles) == 0 {
				reason = reasonNoMappedGroup
			}
		case models.ENOTFOUND:
			reason = reasonNotInDirectory
		case models.EUNAVAILABLE:
			return rep, fmt.Errorf("sync staff with the directory: %w", err)
		default:
			rep.Failed++
			errs = append(errs, fmt.Errorf("look up %q: %w", st.Username, err))
			continue
		}
		if reason != "" {
			if err := s.disableFromDirectory(ctx, st.Username, reason); err != nil {
				rep.Failed++
				errs = append(errs, fmt.Errorf("disable %q: %w", st.Username, err))
				continue
			}
			rep.Disabled++
			continue
		}
		if e.Username != st.Username {
			e.Username = st.Username // the row keeps its name; the directory matched it
		}
		var after *models.Staff
		err = s.Store.Transact(ctx, func(tx models.Tx) (err error) { after, err = s.syncEntry(ctx, tx, e, models.SourceLDAP); return })
		if err != nil {
			rep.Failed++
			errs = append(errs, fmt.Errorf("update %q: %w", st.Username, err))
			continue
		}
		if after.DisplayName != st.DisplayName || !slices.Equal(after.Roles, st.Roles) || after.DirectoryDN != st.DirectoryDN {
			rep.Updated++
		}
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("sync staff with the directory: %w", errors.Join(errs...))
	}
	return rep, nil
}

// checkStepUp checks the password p re-entered: a local member's against
// its hash, a directory member's by a bind to the directory.
func (s *Service) checkStepUp(ctx context.Context, p *Principal, password string) (bool, error) {
	if !p.Staff.FromDirectory() {
		return s.checkPassword(ctx, p.Staff.PasswordHash, password)
	}
	if s.Directory == nil {
		return false, errDirectoryDown
	}
	_, err := s.Directory.Authenticate(ctx, p.Staff.Username, password)
	switch models.ErrorCodeOf(err) {
	case "":
		return true, nil
	case models.EUNAUTHORIZED, models.ENOTFOUND:
		return false, nil
	case models.EUNAVAILABLE:
		return false, errDirectoryDown
	}
	return false, fmt.Errorf("step-up with the directory: %w", err)
}
