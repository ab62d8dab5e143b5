package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"remoteidv/access"
	"remoteidv/models"
)

func runUsers(ctx context.Context, e *cliEnv, args []string) error {
	if len(args) == 0 {
		return usageError("usage: idv users add|list|disable|enable|enrol|hours|contact [flags] [-- config flags]")
	}
	verb, args := args[0], args[1:]
	fs := subFlags("users "+verb, e)
	username := fs.String("username", "", "login name")
	name := fs.String("name", "", "display name")
	email := fs.String("email", "", `email: where staff notifications are mailed (add, contact; contact with "none" clears it)`)
	lang := fs.String("language", "", "language of those mails: en or zh-CN (add, contact; empty: English)")
	hours := fs.String("set", "", `hours: weekly working hours in the branch's time zone, e.g. "mon-fri 09:00-17:00, sat 20:00-02:00"; "none" clears them`)
	var roles []models.Role
	fs.Func("role", "role: clerk, supervisor, auditor or admin (repeatable)", func(s string) error {
		for _, part := range strings.Split(s, ",") {
			r, err := models.ParseRole(part)
			if err != nil {
				return err
			}
			roles = append(roles, r)
		}
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	return withApp(ctx, e, "users "+verb, fs.Args(), func(a *app, _ []string) error {
		switch verb {
		case "add":
			pw := e.getenv("IDV_NEW_PASSWORD")
			if pw == "" {
				fmt.Fprint(e.stderr, "password (at least 12 characters): ")
				line, err := bufio.NewReader(e.stdin).ReadString('\n')
				if err != nil && line == "" {
					return fmt.Errorf("users add: read password: %w", err)
				}
				pw = strings.TrimRight(line, "\r\n")
			}
			if err := access.CheckContact(*email, *lang); err != nil {
				return fmt.Errorf("users add: %w", err)
			}
			st, err := a.access.CreateStaff(ctx, "cli", *username, *name, pw, roles)
			if err != nil {
				return fmt.Errorf("users add: %w", err)
			}
			if *email != "" || *lang != "" {
				if st, err = a.access.SetContact(ctx, "cli", st.Username, *email, *lang); err != nil {
					return fmt.Errorf("users add: %w", err)
				}
			}
			fmt.Fprintf(e.stdout, "added %s (%s) with roles %v\n", st.Username, st.ID, st.Roles)
		case "list":
			var all []*models.Staff
			if err := a.store.Transact(ctx, func(tx models.Tx) (err error) { all, err = tx.ListStaff(ctx); return }); err != nil {
				return err
			}
			for _, st := range all {
				state := "active"
				if !st.Active() {
					state = "disabled"
				}
				source := models.SourceLocal
				if st.External() {
					source = st.Source // ldap or oidc
				}
				fmt.Fprintf(e.stdout, "%-20s %-28s %-8s %-5s %v %s\n", st.Username, st.DisplayName, state, source, st.Roles, st.Email)
			}
		case "disable", "enable":
			if err := a.access.SetDisabled(ctx, "cli", *username, verb == "disable"); err != nil {
				return fmt.Errorf("users %s: %w", verb, err)
			}
			fmt.Fprintf(e.stdout, "%sd %s\n", verb, *username)
		case "enrol":
			// The operator vouches for a first security key (the first
			// admin's, when no admin has a key to issue codes with).
			code, until, err := a.access.IssueEnrolment(ctx, "cli", "", *username, "cli")
			if err != nil {
				return fmt.Errorf("users enrol: %w", err)
			}
			fmt.Fprintf(e.stdout, "enrolment code for %s, valid until %s, once:\n%s\n", *username, until.Format(time.RFC3339), code)
		case "hours":
			if *hours != "" {
				text := *hours
				if text == "none" {
					text = ""
				}
				h, err := models.ParseWorkingHours(text)
				if err != nil {
					return fmt.Errorf("users hours: %w", err)
				}
				if _, err := a.access.SetWorkingHours(ctx, "cli", *username, h); err != nil {
					return fmt.Errorf("users hours: %w", err)
				}
			}
			st, h, err := a.access.WorkingHours(ctx, *username)
			if err != nil {
				return fmt.Errorf("users hours: %w", err)
			}
			shown := h.String()
			if shown == "" {
				shown = "none recorded"
			}
			fmt.Fprintf(e.stdout, "%s working hours (%s): %s\n", st.Username, a.cfg.BranchTZ, shown)
		case "contact":
			addr := *email
			if addr == "none" {
				addr = ""
			}
			st, err := a.access.SetContact(ctx, "cli", *username, addr, *lang)
			if err != nil {
				return fmt.Errorf("users contact: %w", err)
			}
			shown := st.Email
			if shown == "" {
				shown = "no email"
			}
			language := st.Language
			if language == "" {
				language = "en"
			}
			fmt.Fprintf(e.stdout, "%s notifications: %s (%s)\n", st.Username, shown, language)
		default:
			return usageError("usage: idv users add|list|disable|enable|enrol|hours|contact")
		}
		return nil
	})
}
